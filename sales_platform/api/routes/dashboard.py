"""`GET /analytics` and `GET /trends`: what the dashboard shows, from the table.

Both answers are cached as JSON bytes for API_CACHE_SECONDS (see `view_cache.py`): a request
that finds one fresh never leaves the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from sales_platform.api.context import ApiContext
from sales_platform.api.encoding import to_json
from sales_platform.api.schemas import AnalyticsResponse, Message, TrendsResponse
from sales_platform.domain.dashboard_analytics import no_data_view
from sales_platform.domain.dashboard_trends import MAX_DAYS
from sales_platform.domain.identifiers import is_store_id, parse_day

router = APIRouter(tags=["dashboard"])


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get(
    "/analytics",
    response_model=AnalyticsResponse,
    responses={422: {"model": Message, "description": "The date is not a real YYYY-MM-DD date."}},
    summary="One day: KPIs, stores, top products, anomalies, trends, recommendations",
)
async def analytics(
    request: Request,
    date: Annotated[
        str | None,
        Query(description="YYYY-MM-DD; the latest day with data when left out or when that day has none."),
    ] = None,
) -> Response:
    """As the old API: always 200. Without any data, `message` with zeroed KPIs and empty lists;
    for a day without data, the latest day with data (`date` says which, `requested_date` what
    was asked)."""
    context: ApiContext = request.app.state.context  # not a dependency: it is this endpoint's main cost
    if date is not None:
        try:
            parse_day(date)
        except ValueError as error:
            raise HTTPException(422, f"query parameter date: {error}") from None
    available = await context.available_dates()
    if not available:
        return _json(to_json(no_data_view(date, context.settings.stores.expected_stores)))
    day = date if date in available else available[0]
    body = await context.views.get(
        ("analytics", day, date), lambda: to_json(context.dashboard.analytics(day, available, date))
    )
    return _json(body)


@router.get(
    "/trends",
    response_model=TrendsResponse,
    responses={
        404: {"model": Message, "description": "Not one of the stores."},
        422: {"model": Message, "description": "A malformed store id, or days outside 1..366."},
    },
    summary="Days side by side: sales and transactions per store, store and product trends",
)
async def trends(
    request: Request,
    store_id: Annotated[str | None, Query(description="Only this store, e.g. 0001.")] = None,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="How many days back from the latest day with data.")
    ] = 30,
) -> Response:
    context: ApiContext = request.app.state.context
    if store_id is not None:
        if not is_store_id(store_id):
            raise HTTPException(
                422, f"query parameter store_id: {store_id!r} is not a four-digit store id such as 0001"
            )
        if store_id not in context.settings.stores.expected_stores:
            raise HTTPException(
                404, f"store {store_id} is not one of the stores ({', '.join(context.settings.stores.expected_stores)})"
            )
    available = await context.available_dates()
    body = await context.views.get(
        ("trends", store_id, days), lambda: to_json(context.dashboard.trends(days, store_id, available))
    )
    return _json(body)
