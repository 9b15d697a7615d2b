"""Every product sold in a day across the chain, from every line of every store's Parquet file,
not from each store's top 5 (a product that is third everywhere can be first overall)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sales_platform.domain import duckdb_connections


@dataclass(frozen=True)
class ProductDay:
    sku: str
    name: str
    units: int
    gross_revenue: Decimal
    net_revenue: Decimal
    stores_sold: int
    rank: int  # 1 = highest net revenue of the day


def compute_product_metrics(parquet_files: Sequence[Path]) -> list[ProductDay]:
    """One entry per SKU over the given store-day files (one file per store), ranked by net
    revenue, ties by SKU. The name is the one on the SKU's latest line, as in store metrics."""
    if not parquet_files:
        return []
    connection = duckdb_connections.connection()
    try:
        rows = connection.execute(
            """
            SELECT item_sku, arg_max(item_name, transaction_timestamp), sum(quantity), sum(line_total),
                   sum(line_total - discount_amount) AS net, count(DISTINCT filename)
            FROM read_parquet(?, filename = true)
            GROUP BY item_sku
            ORDER BY net DESC, item_sku
            """,
            [[str(path) for path in parquet_files]],
        ).fetchall()
    finally:
        connection.close()
    return [
        ProductDay(sku, name, int(units), Decimal(gross), Decimal(net), int(stores), rank)
        for rank, (sku, name, units, gross, net, stores) in enumerate(rows, start=1)
    ]
