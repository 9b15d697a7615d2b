"""One store's business day in numbers, by the definitions everyone quotes (architecture.md).

Sums stay exact decimals here; rounding to cents happens once, where a number leaves the
platform (table items, reports, API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from sales_platform.domain import duckdb_connections

TOP_PRODUCTS = 5


@dataclass(frozen=True)
class ProductSales:
    sku: str
    name: str
    units: int
    net_revenue: Decimal


@dataclass(frozen=True)
class StoreDayMetrics:
    total_sales: Decimal  # gross: sum of line_total, the old meaning of the name
    total_discount: Decimal
    net_sales: Decimal
    transaction_count: int  # distinct transaction ids
    line_item_count: int
    item_count: int  # units: sum of quantity
    unique_customers: int
    top_products: list[ProductSales] = field(default_factory=list)  # by net revenue
    payment_breakdown: dict[str, Decimal] = field(default_factory=dict)  # net by method
    first_sale_at: str | None = None
    last_sale_at: str | None = None

    @property
    def avg_transaction(self) -> Decimal:
        """Net sales per transaction (exact; rounded where it is shown)."""
        return self.net_sales / self.transaction_count if self.transaction_count else Decimal(0)


def compute_store_metrics(line_items: pa.Table) -> StoreDayMetrics:
    """Metrics of one store-day from its validated line items (`LINE_ITEM_SCHEMA`)."""
    connection = duckdb_connections.connection()
    try:
        connection.register("lines", line_items)
        totals = connection.execute(
            """
            SELECT coalesce(sum(line_total), 0), coalesce(sum(discount_amount), 0),
                   count(DISTINCT transaction_id), count(*), coalesce(sum(quantity), 0),
                   count(DISTINCT customer_id),
                   strftime(min(transaction_timestamp) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                   strftime(max(transaction_timestamp) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')
            FROM lines
            """
        ).fetchone()
        products = connection.execute(
            f"""
            SELECT item_sku, arg_max(item_name, transaction_timestamp), sum(quantity),
                   sum(line_total - discount_amount) AS net
            FROM lines GROUP BY item_sku ORDER BY net DESC, item_sku LIMIT {TOP_PRODUCTS}
            """
        ).fetchall()
        payments = connection.execute(
            "SELECT payment_method, sum(line_total - discount_amount) FROM lines GROUP BY payment_method ORDER BY 1"
        ).fetchall()
    finally:
        connection.close()
    if totals is None:  # an aggregate without GROUP BY always has its one row
        raise ValueError("the store-day's totals could not be computed")
    gross, discount, transactions, lines, units, customers, first, last = totals
    return StoreDayMetrics(
        total_sales=Decimal(gross),
        total_discount=Decimal(discount),
        net_sales=Decimal(gross) - Decimal(discount),
        transaction_count=transactions,
        line_item_count=lines,
        item_count=int(units),
        unique_customers=customers,
        top_products=[ProductSales(sku, name, int(units), Decimal(net)) for sku, name, units, net in products],
        payment_breakdown={method: Decimal(net) for method, net in payments},
        first_sale_at=first,
        last_sale_at=last,
    )
