"""Checks the Dagster UI shows beside each analysed day: the company figures add up to the
stores', every expected store is in, and the products add up to the company."""

from decimal import Decimal

import dagster as dg

from sales_platform.defs.analysis_assets import business_date
from sales_platform.defs.analysis_reads import store_days, stored_products
from sales_platform.defs.partitions import business_days
from sales_platform.domain.analysis_items import COMPANY_SUMMARY_SK, day_pk
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.settings import Settings

NO_SUMMARY = dg.AssetCheckResult(passed=False, metadata={"reason": "no company summary in the table for the day"})


def _company_summary(context: dg.AssetCheckExecutionContext, table: MetricsTable) -> dict | None:
    return table.get_item(day_pk(business_date(context)), COMPANY_SUMMARY_SK)


def build_analysis_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    days = business_days(settings)

    @dg.asset_check(
        asset="company_metrics",
        partitions_def=days,
        description="Company net sales equal the sum of the reported stores' net sales in their store-day summaries.",
    )
    def company_net_matches_store_nets(context: dg.AssetCheckExecutionContext, table: dg.ResourceParam[MetricsTable]):
        summary = _company_summary(context, table)
        if summary is None:
            return NO_SUMMARY
        reported = set(summary["reported_stores"])
        stores = store_days(table, business_date(context))
        stores_net = sum((s.net_sales for s in stores if s.store_id in reported), Decimal(0))
        return dg.AssetCheckResult(
            passed=Decimal(summary["net_sales"]) == stores_net,
            metadata={"company_net_sales": float(summary["net_sales"]), "sum_of_store_net_sales": float(stores_net)},
        )

    @dg.asset_check(
        asset="company_metrics",
        partitions_def=days,
        description="Every expected store's file is in the analysis. A warning, not a failure, when the 23:00 "
        "fallback ran before all stores reported.",
    )
    def every_expected_store_reported(context: dg.AssetCheckExecutionContext, table: dg.ResourceParam[MetricsTable]):
        summary = _company_summary(context, table)
        if summary is None:
            return NO_SUMMARY
        missing = list(summary["missing_stores"])
        return dg.AssetCheckResult(
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN if summary["trigger"] == "scheduled" else dg.AssetCheckSeverity.ERROR,
            description=f"missing: {', '.join(missing)}" if missing else None,
            metadata={
                "stores_reported": f"{summary['stores_reported']}/{summary['stores_expected']}",
                "missing_stores": ", ".join(missing) or "none",
                "trigger": summary["trigger"],
            },
        )

    @dg.asset_check(
        asset="product_metrics",
        partitions_def=days,
        additional_deps=["company_metrics"],
        description="The net revenue of all products adds up to the company's net sales.",
    )
    def product_revenue_matches_company_net(context: dg.AssetCheckExecutionContext, table: dg.ResourceParam[MetricsTable]):
        summary = _company_summary(context, table)
        if summary is None:
            return NO_SUMMARY
        products_net = sum((Decimal(p.net_revenue) for p in stored_products(table, business_date(context))), Decimal(0))
        return dg.AssetCheckResult(
            passed=products_net == Decimal(summary["net_sales"]),
            metadata={"product_net_revenue": float(products_net), "company_net_sales": float(summary["net_sales"])},
        )

    return [company_net_matches_store_nets, every_expected_store_reported, product_revenue_matches_company_net]
