"""Table items for a known business day, written as the daily analysis writes them
(docs/table-items.md): store summaries for several days, the company summary, product days and
insights. Reports and the BI export are built from these in the tests, so every number a test
asserts is traceable to a line here.

The known day (`day`) has stores 0001 and 0002 reporting and 0003 missing; the days before
it have all three stores with smaller, regular figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import dagster as dg

from sales_platform.resources.metrics_table import MetricsTable

D = Decimal
STORES_OF_THE_DAY = {"0001": D("1500.25"), "0002": D("734.50")}
MISSING_STORE = "0003"
TOP_PRODUCT = ("SKU-042", "Papa Smurf Figurine")


def _store_item(store_id: str, day: dt.date, net: Decimal) -> dict[str, Any]:
    iso = day.isoformat()
    return {
        "PK": f"STORE#{store_id}",
        "SK": f"DATE#{iso}",
        "GSI1PK": f"DATE#{iso}",
        "GSI1SK": f"STORE#{store_id}",
        "item_type": "STORE_DAY_SUMMARY",
        "store_id": store_id,
        "date": iso,
        "total_sales": net + D("50.00"),
        "total_discount": D("50.00"),
        "net_sales": net,
        "transaction_count": 40,
        "line_item_count": 90,
        "item_count": 120,
        "unique_customers": 35,
        "avg_transaction": (net / 40).quantize(D("0.01")),
        "top_products": [{"sku": "SKU-042", "name": TOP_PRODUCT[1], "units": 10, "net_revenue": D("99.90")}],
        "payment_breakdown": {
            "cash": (net * D("0.4")).quantize(D("0.01")),
            "gift_card": (net * D("0.6")).quantize(D("0.01")),
        },
        "first_sale_at": f"{iso}T13:00:00Z",
        "last_sale_at": f"{iso}T22:00:00Z",
        "source_file": f"store_{store_id}_{iso}.json",
        "processed_key": f"processed/x/store_id={store_id}/data.parquet",
        "processed_at": f"{iso}T23:00:00Z",
    }


def _company_item(day: dt.date, nets: dict[str, Decimal], expected: list[str]) -> dict[str, Any]:
    iso = day.isoformat()
    net = sum(nets.values(), D(0))
    best = max(nets, key=lambda s: nets[s])
    worst = min(nets, key=lambda s: nets[s])
    return {
        "PK": f"DATE#{iso}",
        "SK": "SUMMARY#COMPANY",
        "item_type": "COMPANY_SUMMARY",
        "date": iso,
        "total_sales": net + D("50.00") * len(nets),
        "total_discount": D("50.00") * len(nets),
        "net_sales": net,
        "transaction_count": 40 * len(nets),
        "line_item_count": 90 * len(nets),
        "item_count": 120 * len(nets),
        "avg_transaction": (net / (40 * len(nets))).quantize(D("0.01")),
        "avg_net_sales_per_store": (net / len(nets)).quantize(D("0.01")),
        "stores_reported": len(nets),
        "stores_expected": len(expected),
        "reported_stores": sorted(nets),
        "missing_stores": [s for s in expected if s not in nets],
        "best_store": {"store_id": best, "net_sales": nets[best]},
        "worst_store": {"store_id": worst, "net_sales": nets[worst]},
        "payment_breakdown": {
            "cash": (net * D("0.4")).quantize(D("0.01")),
            "gift_card": (net * D("0.6")).quantize(D("0.01")),
        },
        "trigger": "scheduled",
        "analyzed_at": f"{iso}T23:00:00Z",
    }


def _product_items(day: dt.date) -> list[dict[str, Any]]:
    iso = day.isoformat()
    products = [
        (TOP_PRODUCT[0], TOP_PRODUCT[1], 31, D("620.00"), D("600.00")),
        ("SKU-007", "Smurfette Plush", 22, D("330.00"), D("310.50")),
        ("SKU-100", "Mushroom House", 5, D("250.00"), D("245.00")),
    ]
    return [
        {
            "PK": f"DATE#{iso}",
            "SK": f"PRODUCT#{sku}",
            "GSI1PK": f"PRODUCT#{sku}",
            "GSI1SK": f"DATE#{iso}",
            "item_type": "PRODUCT_DAY",
            "date": iso,
            "sku": sku,
            "name": name,
            "units": units,
            "gross_revenue": gross,
            "net_revenue": net,
            "stores_sold": 2,
            "rank": rank,
        }
        for rank, (sku, name, units, gross, net) in enumerate(products, 1)
    ]


def _insight(day: dt.date, kind: str, insight_id: str, engine: str, **fields: Any) -> dict[str, Any]:
    iso = day.isoformat()
    return {
        "PK": f"DATE#{iso}",
        "SK": f"INSIGHT#{kind.upper()}#{insight_id}",
        "GSI1PK": f"INSIGHT#{kind}",
        "GSI1SK": f"DATE#{iso}",
        "item_type": "INSIGHT",
        "date": iso,
        "insight_type": kind,
        "insight_id": insight_id,
        "engine": engine,
        "written_at": f"{iso}T23:01:00Z",
        **fields,
    }


def _insight_items(day: dt.date, engine: str) -> list[dict[str, Any]]:
    return [
        _insight(
            day,
            "anomaly",
            "historical_low-0002",
            "rules",
            type="historical_low",
            severity="critical",
            store_id="0002",
            title="Store 0002 far below its usual day",
            description="Net sales of $734.50 are 48% under the store's 4-week average.",
            metric_value=D("734.50"),
            historical_average=D("1412.00"),
            deviation_percent=D("-48.0"),
        ),
        _insight(
            day,
            "anomaly",
            "basket_high-0001",
            "rules",
            type="basket_high",
            severity="info",
            store_id="0001",
            title="Bigger baskets at store 0001",
            description="Average transaction up a fifth.",
            metric_value=D("37.51"),
            historical_average=D("31.00"),
            deviation_percent=D("21.0"),
        ),
        _insight(
            day,
            "trend",
            "week_over_week-company",
            "rules",
            type="week_over_week",
            title="Company sales down week over week",
            description="Net sales are 12.5% lower than the same day last week.",
            affected_items=["0001", "0002"],
            significance="high",
            trend_direction="down",
            metric_change_percent=D("-12.5"),
        ),
        _insight(
            day,
            "trend",
            "payment_mix_shift-mobile",
            "rules",
            type="payment_mix_shift",
            title="Mobile share of sales up 3.2 points",
            description="Mobile payments took 18.4% of net sales against 15.2% over the week before.",
            affected_items=["mobile"],
            significance="medium",
            trend_direction="up",
            metric_change_percent=D("3.2"),
        ),
        _insight(
            day,
            "recommendation",
            "restock-sku-042",
            engine,
            priority="high",
            category="inventory",
            title="Restock Papa Smurf Figurine",
            description="It sold 31 units across two stores; stock runs out within two days.",
            affected_stores=["0001", "0002"],
            affected_products=["SKU-042"],
            expected_impact="Avoid about $600 of lost sales a day",
        ),
        _insight(
            day,
            "recommendation",
            "call-store-0003",
            engine,
            priority="low",
            category="operations",
            title="Call store 0003 about its missing upload",
            description="No file arrived for the day.",
            affected_stores=["0003"],
            affected_products=[],
            expected_impact="A complete picture of the day",
        ),
    ]


@dataclass(frozen=True)
class KnownDays:
    day: dt.date
    history_days: int

    @property
    def company_net(self) -> Decimal:
        return sum(STORES_OF_THE_DAY.values(), D(0))


def write_known_days(
    table: MetricsTable,
    day: dt.date,
    expected: list[str],
    engine: str = "bedrock",
    history_days: int = 3,
) -> KnownDays:
    """The known day plus `history_days` complete days before it."""
    items: list[dict[str, Any]] = []
    for back in range(history_days, 0, -1):
        earlier = day - dt.timedelta(days=back)
        nets = {store: D(1000 + 100 * back + 10 * n) for n, store in enumerate(expected)}
        items += [_store_item(store, earlier, net) for store, net in nets.items()]
        items.append(_company_item(earlier, nets, expected))
        items += _product_items(earlier)
        items += _insight_items(earlier, "rules")
    items += [_store_item(store, day, net) for store, net in STORES_OF_THE_DAY.items()]
    items.append(_company_item(day, dict(STORES_OF_THE_DAY), expected))
    items += _product_items(day)
    items += _insight_items(day, engine)
    table.put_items(items)
    return KnownDays(day, history_days)


def write_company_only(table: MetricsTable, day: dt.date, expected: list[str], net: Decimal) -> None:
    """A day with one store and nothing else, for reports whose content must change."""
    nets = {expected[0]: net}
    table.put_items([_store_item(expected[0], day, net), _company_item(day, nets, expected)])


def analysis_finished(platform, day: dt.date, **recommendations_metadata: Any) -> None:
    """What the daily analysis leaves in the Dagster instance when it completes a day: a
    `daily_insights` materialization (and, when given, the recommendations' metadata)."""
    if recommendations_metadata:
        platform.instance.report_runless_asset_event(
            dg.AssetMaterialization("recommendations", partition=day.isoformat(), metadata=recommendations_metadata)
        )
    platform.instance.report_runless_asset_event(dg.AssetMaterialization("daily_insights", partition=day.isoformat()))
