"""Reading one business day's items back from the table, by the keys of `domain/table_keys.py`.

The report and the BI export both start here, so they can never disagree about what a day
holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sales_platform.domain.table_keys import INSIGHT_PREFIX, PRODUCT_PREFIX, STORE_PREFIX, company_summary_key, day_key
from sales_platform.resources.metrics_table import MetricsTable

Item = dict[str, Any]


def company_summary(table: MetricsTable, day: dt.date) -> Item | None:
    return table.get_item(*company_summary_key(day))


def store_summaries(table: MetricsTable, day: dt.date) -> list[Item]:
    return table.query_index(day_key(day), STORE_PREFIX)


def product_days(table: MetricsTable, day: dt.date) -> list[Item]:
    return table.query(day_key(day), PRODUCT_PREFIX)


def insights(table: MetricsTable, day: dt.date, insight_type: str | None = None) -> list[Item]:
    """The day's insight items, optionally of one type (`anomaly`, `trend`, `recommendation`).
    Filtered on the item's `insight_type` rather than the spelling of the sort key."""
    items = table.query(day_key(day), INSIGHT_PREFIX)
    return [item for item in items if insight_type is None or item.get("insight_type") == insight_type]


def days_ending(day: dt.date, count: int) -> list[dt.date]:
    """`count` days up to and including `day`, oldest first."""
    return [day - dt.timedelta(days=back) for back in range(count - 1, -1, -1)]
