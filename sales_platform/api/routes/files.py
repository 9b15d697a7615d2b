"""`GET /files`: processed and refused files, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from sales_platform.api.context import ApiContext, get_context
from sales_platform.api.encoding import to_json
from sales_platform.api.file_listing import FileStatus
from sales_platform.api.schemas import FilesResponse

router = APIRouter(tags=["files"])


@router.get("/files", response_model=FilesResponse, summary="Files in the bucket and what became of them")
def list_files(
    context: Annotated[ApiContext, Depends(get_context)],
    status: Annotated[
        FileStatus,
        Query(description="processed, rejected, or all (both); pending lists what waits in the inbox."),
    ] = "all",
) -> Response:
    files = context.files.list_files(status)
    # Written directly: thousands of entries need no second round through the response model.
    return Response(to_json({"files": files, "count": len(files)}), media_type="application/json")
