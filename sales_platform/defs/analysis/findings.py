"""What stands out and where sales are heading: `anomalies` and `trends`, each day against the
days before it, written as working documents for the recommendations and the insights."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg

from sales_platform.defs.analysis.steps import ANALYSIS_GROUP, ONE_RUN_FOR_A_RANGE, each_day, md_table, publish
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import business_days
from sales_platform.domain.analysis_items import anomalies_document, trends_document
from sales_platform.domain.anomalies import basket_days, detect_anomalies, history_window
from sales_platform.domain.trends import detect_trends, product_window, summary_window
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.services.analysis_reads import (
    earlier_product_units,
    store_days,
    store_days_by_date,
    stored_baskets,
    stored_products,
    units_by_sku,
)


def anomalies_day(
    context: dg.AssetExecutionContext, table: MetricsTable, bucket: ObjectStore, platform: PlatformConfig, day: dt.date
) -> dict[str, object]:
    layout = platform.storage_layout
    earlier = store_days_by_date(table, history_window(day))
    history: dict[str, list] = {}
    for stores in earlier.values():
        for store in stores:
            history.setdefault(store.store_id, []).append(store)
    report = detect_anomalies(
        store_days(table, day),
        history,
        business_date=day,
        expected_stores=platform.expected_stores,
        baskets=stored_baskets(bucket, layout, day, *basket_days(day)),
    )
    published = publish(context, bucket, layout, day, "anomalies", anomalies_document(day, report), report.notes)
    return {
        "anomalies": len(report.anomalies),
        "critical": sum(a.severity == "critical" for a in report.anomalies),
        "warning": sum(a.severity == "warning" for a in report.anomalies),
        "stores_compared": f"{len(report.compared_stores)}/{len(report.compared_stores) + len(report.not_compared)}",
        "found": md_table(
            ["severity", "type", "store", "value", "baseline", "deviation %", "robust z", "against"],
            [
                [
                    a.severity,
                    a.type,
                    a.store_id,
                    a.metric_value,
                    a.historical_average,
                    a.deviation_percent,
                    a.robust_z,
                    a.baseline,
                ]
                for a in report.anomalies
            ],
        ),
        **published,
    }


def trends_day(
    context: dg.AssetExecutionContext, table: MetricsTable, bucket: ObjectStore, platform: PlatformConfig, day: dt.date
) -> dict[str, object]:
    window = store_days_by_date(table, summary_window(day))
    products_today = units_by_sku(stored_products(table, day))
    earlier = earlier_product_units(table, bucket, window, product_window(day))
    report = detect_trends(day, window, products_today, earlier, expected_stores=platform.expected_stores)
    published = publish(
        context, bucket, platform.storage_layout, day, "trends", trends_document(day, report), report.notes
    )
    return {
        "trends": len(report.trends),
        "found": md_table(
            ["significance", "type", "direction", "change %", "title"],
            [[t.significance, t.type, t.trend_direction, t.metric_change_percent, t.title] for t in report.trends],
        ),
        **published,
    }


def materialize_anomalies(
    context: dg.AssetExecutionContext,
    table: dg.ResourceParam[MetricsTable],
    bucket: dg.ResourceParam[ObjectStore],
    platform: PlatformConfig,
) -> Iterator[dg.MaterializeResult]:
    yield from each_day(context, lambda day: anomalies_day(context, table, bucket, platform, day))


def materialize_trends(
    context: dg.AssetExecutionContext,
    table: dg.ResourceParam[MetricsTable],
    bucket: dg.ResourceParam[ObjectStore],
    platform: PlatformConfig,
) -> Iterator[dg.MaterializeResult]:
    yield from each_day(context, lambda day: trends_day(context, table, bucket, platform, day))


@dg.definitions
def defs() -> dg.Definitions:
    common: dict[str, Any] = dict(
        partitions_def=business_days(load_time_settings().stores),
        group_name=ANALYSIS_GROUP,
        backfill_policy=ONE_RUN_FOR_A_RANGE,
        deps=["company_metrics", "product_metrics"],
    )
    anomalies = dg.asset(
        name="anomalies",
        description="Stores that stand out, each against the median of its last 5 same weekdays, in its own "
        "day-to-day spread, and against the other stores today: net sales, transactions, basket size, payment "
        "mix, products it always sells and sold none of, and expected stores without a file.",
        **common,
    )(materialize_anomalies)
    trends = dg.asset(
        name="trends",
        description="Where sales are heading: week over week, each store's momentum over 14 days, rising and "
        "falling products against their usual same weekday, the sales pace and shifts in the payment mix; days "
        "without every store are kept out of the company comparisons, and the texts say so.",
        **common,
    )(materialize_trends)
    return dg.Definitions(assets=[anomalies, trends])
