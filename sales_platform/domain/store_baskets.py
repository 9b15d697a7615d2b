"""How many of each store's transactions of a day included each SKU and used each payment
method: what the anomalies of later days compare a store's day with (`anomalies.Baskets`).

Transactions rather than units or money: a product bought by the six-pack sells many units in
few baskets, and a few large baskets paid by card swing a small store's payment mix by money
every day; counted in transactions, a product missing for a whole day, or a card reader down,
stands out from chance. The company's product figures add every store together and a store's
summary keeps only its top 5 products, so the daily analysis keeps these counts in one small
document per day beside its other working documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb


@dataclass(frozen=True)
class StoreBaskets:
    products: Mapping[str, int] = field(default_factory=dict)  # SKU -> transactions that included it
    payments: Mapping[str, int] = field(default_factory=dict)  # method -> transactions paid with it


def baskets_by_store(files: Mapping[str, Path]) -> dict[str, StoreBaskets]:
    """Each store's baskets, from its Parquet file of the day."""
    if not files:
        return {}
    store_of = {str(path): store_id for store_id, path in files.items()}
    files_list = [list(store_of)]
    connection = duckdb.connect()
    try:
        # A product is on one line of a transaction (its quantity counts the units), so its lines
        # are its baskets: counting them spares the distinct count, which doubles the time.
        products = connection.execute(
            "SELECT filename, item_sku, count(*) FROM read_parquet(?, filename = true) GROUP BY ALL", files_list
        ).fetchall()
        payments = connection.execute(
            "SELECT filename, payment_method, count(DISTINCT transaction_id) FROM read_parquet(?, filename = true) "
            "GROUP BY ALL",
            files_list,
        ).fetchall()
    finally:
        connection.close()
    by_product: dict[str, dict[str, int]] = {store_id: {} for store_id in files}
    by_payment: dict[str, dict[str, int]] = {store_id: {} for store_id in files}
    for filename, sku, count in products:
        by_product[store_of[filename]][sku] = int(count)
    for filename, method, count in payments:
        by_payment[store_of[filename]][method] = int(count)
    return {store_id: StoreBaskets(by_product[store_id], by_payment[store_id]) for store_id in files}


# Two documents a day: the product counts are read for a few same weekdays, the small payment
# counts for every day of the last weeks.
DOCUMENTS = ("store_products", "store_payments")


def baskets_documents(
    business_date: dt.date, stores: Mapping[str, StoreBaskets], names: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """The day's counts as the two documents, by name."""
    day = business_date.isoformat()
    return {
        "store_products": {
            "date": day,
            "stores": {store_id: dict(sorted(b.products.items())) for store_id, b in sorted(stores.items())},
            "names": dict(sorted(names.items())),
        },
        "store_payments": {
            "date": day,
            "stores": {store_id: dict(sorted(b.payments.items())) for store_id, b in sorted(stores.items())},
        },
    }


def counts_from(document: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """store -> key -> count, from either document (an empty mapping from an empty one)."""
    return {
        store_id: {key: int(n) for key, n in counts.items()} for store_id, counts in document.get("stores", {}).items()
    }
