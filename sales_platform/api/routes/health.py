"""`GET /health`: whether the bucket and the table answer. Open without a key, for load
balancers and uptime checks; it tells nothing about the data."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sales_platform.api.context import ApiContext, get_context
from sales_platform.api.schemas import HealthResponse

# A dead backend is retried by botocore for much longer than a health check may take.
CHECK_TIMEOUT_SECONDS = 5.0
router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


async def _reachable(name: str, check) -> bool:
    try:
        await asyncio.wait_for(run_in_threadpool(check), CHECK_TIMEOUT_SECONDS)
        return True
    except Exception as error:  # noqa: BLE001 - any failure means unreachable
        logger.warning("health check: %s unreachable (%s)", name, type(error).__name__)
        return False


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "The bucket or the table does not answer."}},
    summary="Whether storage and table are reachable",
)
async def health(context: Annotated[ApiContext, Depends(get_context)]) -> JSONResponse:
    storage, table = await asyncio.gather(
        _reachable("storage", context.bucket.ping), _reachable("table", context.table.ping)
    )
    body = HealthResponse(
        status="ok" if storage and table else "unavailable",
        storage="ok" if storage else "unreachable",
        table="ok" if table else "unreachable",
        storage_backend=context.settings.resolved_storage_backend,
        table_backend=context.settings.resolved_table_backend,
    )
    return JSONResponse(body.model_dump(), status_code=200 if storage and table else 503)
