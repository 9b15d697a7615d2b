"""Reads the table for the dashboard's two views; the views themselves are pure functions in
`domain/dashboard_analytics.py` and `domain/dashboard_trends.py`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sales_platform.domain.dashboard_analytics import analytics_view
from sales_platform.domain.dashboard_trends import trends_view, window
from sales_platform.domain.table_keys import (
    DATE_PREFIX,
    PRODUCT_PREFIX,
    STORE_PREFIX,
    day_key,
    days_from_keys,
    store_key,
)
from sales_platform.resources.metrics_table import Item, MetricsTable

# DynamoDB answers one query per round trip; a window of days is read several at a time.
READ_THREADS = 8


class DashboardReader:
    def __init__(self, table: MetricsTable, expected_stores: list[str]) -> None:
        self.table = table
        self.expected_stores = list(expected_stores)
        self._pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="dashboard-read")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def available_dates(self) -> list[str]:
        """Days with at least one store-day summary, newest first (keys only, no items read)."""
        sort_keys = self._pool.map(
            lambda store: self.table.query_sort_keys(store_key(store), DATE_PREFIX), self.expected_stores
        )
        return days_from_keys(key for keys in sort_keys for key in keys)

    def _store_summaries(self, day: str) -> list[Item]:
        return self.table.query_index(day_key(day), STORE_PREFIX)

    def analytics(self, day: str, available_dates: list[str], requested_date: str | None = None) -> dict[str, Any]:
        day_items = self._pool.submit(self.table.query, day_key(day))
        stores = self._store_summaries(day)
        return analytics_view(day, available_dates, day_items.result(), stores, self.expected_stores, requested_date)

    def trends(self, days: int, store_id: str | None, available_dates: list[str]) -> dict[str, Any]:
        _, _, dates = window(available_dates, days)
        summaries = self._pool.map(self._store_summaries, dates)
        products = self._pool.map(lambda day: self.table.query(day_key(day), PRODUCT_PREFIX), dates)
        return trends_view(
            days,
            available_dates,
            [item for items in summaries for item in items],
            [item for items in products for item in items],
            store_id=store_id,
        )
