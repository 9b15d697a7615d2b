"""Checks the Dagster UI shows beside each analysed day: the company figures add up to the
stores', every expected store is in, and the products add up to the company.

They read back what the step just wrote to the table, and are recorded for each day of the run
by the step itself (a run may cover a range of days; a separate check step would see the range,
not the day)."""

from decimal import Decimal
from typing import Any

import dagster as dg

from sales_platform.domain.table_keys import company_summary_key
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.services.analysis_reads import store_days, stored_products

COMPANY = dg.AssetKey("company_metrics")
PRODUCTS = dg.AssetKey("product_metrics")
NET_MATCHES_STORES = "company_net_matches_store_nets"
EVERY_STORE_REPORTED = "every_expected_store_reported"
PRODUCTS_MATCH_COMPANY = "product_revenue_matches_company_net"


def company_check_specs(days: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            NET_MATCHES_STORES,
            asset=COMPANY,
            partitions_def=days,
            description="Company net sales equal the sum of the reported stores' net sales in their store-day summaries.",
        ),
        dg.AssetCheckSpec(
            EVERY_STORE_REPORTED,
            asset=COMPANY,
            partitions_def=days,
            description="Every expected store's file is in the analysis. A warning, not a failure, when the 23:00 "
            "fallback ran before all stores reported.",
        ),
    ]


def product_check_specs(days: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            PRODUCTS_MATCH_COMPANY,
            asset=PRODUCTS,
            partitions_def=days,
            additional_deps=[COMPANY],
            description="The net revenue of all products adds up to the company's net sales.",
        )
    ]


def _evaluation(asset: dg.AssetKey, name: str, day, passed: bool, **extra: Any) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(asset_key=asset, check_name=name, passed=passed, partition=day.isoformat(), **extra)


def _no_summary(asset: dg.AssetKey, name: str, day) -> dg.AssetCheckEvaluation:
    return _evaluation(asset, name, day, False, metadata={"reason": "no company summary in the table for the day"})


def company_checks(table: MetricsTable, day) -> list[dg.AssetCheckEvaluation]:
    summary = table.get_item(*company_summary_key(day))
    if summary is None:
        return [_no_summary(COMPANY, NET_MATCHES_STORES, day), _no_summary(COMPANY, EVERY_STORE_REPORTED, day)]
    reported = set(summary["reported_stores"])
    stores_net = sum((s.net_sales for s in store_days(table, day) if s.store_id in reported), Decimal(0))
    missing = list(summary["missing_stores"])
    return [
        _evaluation(
            COMPANY,
            NET_MATCHES_STORES,
            day,
            Decimal(summary["net_sales"]) == stores_net,
            metadata={"company_net_sales": float(summary["net_sales"]), "sum_of_store_net_sales": float(stores_net)},
        ),
        _evaluation(
            COMPANY,
            EVERY_STORE_REPORTED,
            day,
            not missing,
            severity=dg.AssetCheckSeverity.WARN if summary["trigger"] == "scheduled" else dg.AssetCheckSeverity.ERROR,
            description=f"missing: {', '.join(missing)}" if missing else None,
            metadata={
                "stores_reported": f"{summary['stores_reported']}/{summary['stores_expected']}",
                "missing_stores": ", ".join(missing) or "none",
                "trigger": summary["trigger"],
            },
        ),
    ]


def product_checks(table: MetricsTable, day) -> list[dg.AssetCheckEvaluation]:
    summary = table.get_item(*company_summary_key(day))
    if summary is None:
        return [_no_summary(PRODUCTS, PRODUCTS_MATCH_COMPANY, day)]
    products_net = sum((Decimal(p.net_revenue) for p in stored_products(table, day)), Decimal(0))
    return [
        _evaluation(
            PRODUCTS,
            PRODUCTS_MATCH_COMPANY,
            day,
            products_net == Decimal(summary["net_sales"]),
            metadata={"product_net_revenue": float(products_net), "company_net_sales": float(summary["net_sales"])},
        )
    ]
