"""The metrics table's keys (architecture.md, "Table design"): every PK, SK and GSI1 key is
built and read back here, so a key is spelled one way only.

| item | PK | SK | GSI1PK | GSI1SK |
| --- | --- | --- | --- | --- |
| store day summary | `STORE#<id>` | `DATE#<d>` | `DATE#<d>` | `STORE#<id>` |
| upload tracking | `DATE#<d>` | `UPLOAD#STORE#<id>` | | |
| company summary | `DATE#<d>` | `SUMMARY#COMPANY` | | |
| product day | `DATE#<d>` | `PRODUCT#<sku>` | `PRODUCT#<sku>` | `DATE#<d>` |
| insight | `DATE#<d>` | `INSIGHT#<TYPE>#<stable id>` | `INSIGHT#<type>` | `DATE#<d>` |

Keys hold stable parts only (store, day, SKU, insight id), so writing an item again replaces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

DATE_PREFIX = "DATE#"
STORE_PREFIX = "STORE#"
PRODUCT_PREFIX = "PRODUCT#"
INSIGHT_PREFIX = "INSIGHT#"
UPLOAD_TRACKING_PREFIX = "UPLOAD#STORE#"
COMPANY_SUMMARY_SK = "SUMMARY#COMPANY"

KEY_ATTRIBUTES = ("PK", "SK", "GSI1PK", "GSI1SK")
Key = tuple[str, str]


def _day(business_date: dt.date | str) -> str:
    return business_date if isinstance(business_date, str) else business_date.isoformat()


def day_key(business_date: dt.date | str) -> str:
    """`DATE#<d>`: the PK of a day's items, and the key of a day in either index."""
    return f"{DATE_PREFIX}{_day(business_date)}"


def store_key(store_id: str) -> str:
    return f"{STORE_PREFIX}{store_id}"


def product_key(sku: str) -> str:
    return f"{PRODUCT_PREFIX}{sku}"


def store_summary_key(store_id: str, business_date: dt.date | str) -> Key:
    """PK and SK of a store's day summary."""
    return store_key(store_id), day_key(business_date)


def store_summary_index_key(store_id: str, business_date: dt.date | str) -> Key:
    """GSI1PK and GSI1SK of a store's day summary: every store of a day under the day."""
    return day_key(business_date), store_key(store_id)


def upload_tracking_key(store_id: str, business_date: dt.date | str) -> Key:
    return day_key(business_date), f"{UPLOAD_TRACKING_PREFIX}{store_id}"


def company_summary_key(business_date: dt.date | str) -> Key:
    return day_key(business_date), COMPANY_SUMMARY_SK


def product_day_key(business_date: dt.date | str, sku: str) -> Key:
    return day_key(business_date), product_key(sku)


def product_day_index_key(business_date: dt.date | str, sku: str) -> Key:
    """GSI1PK and GSI1SK of a product's day: a product's days under the product."""
    return product_key(sku), day_key(business_date)


def insight_key(business_date: dt.date | str, insight_type: str, insight_id: str) -> Key:
    return day_key(business_date), f"{INSIGHT_PREFIX}{insight_type.upper()}#{insight_id}"


def insight_index_key(business_date: dt.date | str, insight_type: str) -> Key:
    """GSI1PK and GSI1SK of an insight: the insights of one type under the type."""
    return f"{INSIGHT_PREFIX}{insight_type}", day_key(business_date)


def item_keys(key: Key, index_key: Key | None = None) -> dict[str, str]:
    """The key attributes an item carries: PK and SK, and GSI1PK and GSI1SK when it is in the index."""
    keys = {"PK": key[0], "SK": key[1]}
    if index_key is not None:
        keys.update(GSI1PK=index_key[0], GSI1SK=index_key[1])
    return keys


def days_from_keys(keys: Iterable[str]) -> list[str]:
    """`DATE#2025-11-27` keys -> the distinct days, newest first; other keys are skipped."""
    return sorted({key.removeprefix(DATE_PREFIX) for key in keys if key.startswith(DATE_PREFIX)}, reverse=True)
