"""The whole chain's business day, built from the store-day summaries the ingest wrote.

Store summaries hold money already rounded to cents, so the company's sums are exact and equal
the sum of what each store shows; averages are exact here and rounded where they are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class StoreDay:
    """One store's day as its summary item in the table says."""

    store_id: str
    date: dt.date
    total_sales: Decimal
    total_discount: Decimal
    net_sales: Decimal
    transaction_count: int
    line_item_count: int
    item_count: int
    avg_transaction: Decimal
    payment_breakdown: Mapping[str, Decimal] = field(default_factory=dict)
    processed_key: str = ""

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> StoreDay:
        return cls(
            store_id=item["store_id"],
            date=dt.date.fromisoformat(item["date"]),
            total_sales=Decimal(item["total_sales"]),
            total_discount=Decimal(item["total_discount"]),
            net_sales=Decimal(item["net_sales"]),
            transaction_count=int(item["transaction_count"]),
            line_item_count=int(item["line_item_count"]),
            item_count=int(item["item_count"]),
            avg_transaction=Decimal(item["avg_transaction"]),
            payment_breakdown={
                method: Decimal(amount) for method, amount in (item.get("payment_breakdown") or {}).items()
            },
            processed_key=item.get("processed_key", ""),
        )


@dataclass(frozen=True)
class StoreNet:
    """The best or worst store of a day, ranked by net sales, with its gross beside it (the
    amount the old system showed)."""

    store_id: str
    net_sales: Decimal
    total_sales: Decimal | None = None  # gross


@dataclass(frozen=True)
class CompanyDayMetrics:
    date: dt.date
    total_sales: Decimal  # gross
    total_discount: Decimal
    net_sales: Decimal
    transaction_count: int
    line_item_count: int
    item_count: int
    expected_stores: list[str]
    reported_stores: list[str]
    missing_stores: list[str]
    best_store: StoreNet | None
    worst_store: StoreNet | None
    payment_breakdown: dict[str, Decimal]

    @property
    def avg_transaction(self) -> Decimal:
        return self.net_sales / self.transaction_count if self.transaction_count else Decimal(0)

    @property
    def avg_net_sales_per_store(self) -> Decimal:
        return self.net_sales / len(self.reported_stores) if self.reported_stores else Decimal(0)

    @property
    def avg_store_sales(self) -> Decimal:
        """Gross sales per reporting store: the old system's `avg_store_sales`, kept by name and
        meaning beside the net `avg_net_sales_per_store`."""
        return self.total_sales / len(self.reported_stores) if self.reported_stores else Decimal(0)

    @property
    def complete(self) -> bool:
        return not self.missing_stores


def compute_company_metrics(
    business_date: dt.date, stores: Iterable[StoreDay], expected_stores: Iterable[str]
) -> CompanyDayMetrics:
    """Totals over every store that reported; a store that reported without being expected
    still counts, since its sales happened."""
    days = sorted(stores, key=lambda store: store.store_id)
    reported = [store.store_id for store in days]
    payments: dict[str, Decimal] = {}
    for store in days:
        for method, amount in store.payment_breakdown.items():
            payments[method] = payments.get(method, Decimal(0)) + amount
    # Ties go to the lower store id, so the answer never depends on read order.
    best = min(days, key=lambda store: (-store.net_sales, store.store_id), default=None)
    worst = min(days, key=lambda store: (store.net_sales, store.store_id), default=None)
    expected = sorted(set(expected_stores))
    return CompanyDayMetrics(
        date=business_date,
        total_sales=sum((store.total_sales for store in days), Decimal(0)),
        total_discount=sum((store.total_discount for store in days), Decimal(0)),
        net_sales=sum((store.net_sales for store in days), Decimal(0)),
        transaction_count=sum(store.transaction_count for store in days),
        line_item_count=sum(store.line_item_count for store in days),
        item_count=sum(store.item_count for store in days),
        expected_stores=expected,
        reported_stores=reported,
        missing_stores=[store for store in expected if store not in set(reported)],
        best_store=StoreNet(best.store_id, best.net_sales, best.total_sales) if best else None,
        worst_store=StoreNet(worst.store_id, worst.net_sales, worst.total_sales) if worst else None,
        payment_breakdown=dict(sorted(payments.items())),
    )
