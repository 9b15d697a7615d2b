"""Reading one business day's items back from the table, by the keys docs/table-items.md fixes.

The report and the BI export both start here, so they can never disagree about what a day
holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sales_platform.resources.metrics_table import MetricsTable

Item = dict[str, Any]


def company_summary(table: MetricsTable, day: dt.date) -> Item | None:
    return table.get_item(f"DATE#{day.isoformat()}", "SUMMARY#COMPANY")


def store_summaries(table: MetricsTable, day: dt.date) -> list[Item]:
    return table.query_index(f"DATE#{day.isoformat()}", "STORE#")


def product_days(table: MetricsTable, day: dt.date) -> list[Item]:
    return table.query(f"DATE#{day.isoformat()}", "PRODUCT#")


def insights(table: MetricsTable, day: dt.date, insight_type: str | None = None) -> list[Item]:
    """The day's insight items, optionally of one type (`anomaly`, `trend`, `recommendation`).
    Filtered on the item's `insight_type` rather than the spelling of the sort key."""
    items = table.query(f"DATE#{day.isoformat()}", "INSIGHT#")
    return [item for item in items if insight_type is None or item.get("insight_type") == insight_type]


def days_ending(day: dt.date, count: int) -> list[dt.date]:
    """`count` days up to and including `day`, oldest first."""
    return [day - dt.timedelta(days=back) for back in range(count - 1, -1, -1)]
