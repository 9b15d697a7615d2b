"""The chain's day in figures: `company_metrics` (the company summary) and `product_metrics`
(every SKU), from every store's metrics and Parquet of the day, with their checks.

store_metrics[d|*] -> company_metrics[d], product_metrics[d]; each step reads its inputs
through the `bucket` and `table` resources and writes its results there, so any day can be
re-run on its own.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from sales_platform.defs.analysis.checks import company_check_specs, company_checks, product_check_specs, product_checks
from sales_platform.defs.analysis.steps import (
    ANALYSIS_GROUP,
    ONE_RUN_FOR_A_RANGE,
    each_day,
    every_store_of_the_day,
    md_table,
    now,
    run_trigger,
)
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import business_days
from sales_platform.domain.analysis_items import (
    analysis_fingerprint,
    company_summary_item,
    product_day_items,
    render_document,
)
from sales_platform.domain.company_metrics import compute_company_metrics
from sales_platform.domain.money import to_cents
from sales_platform.domain.store_baskets import baskets_documents
from sales_platform.domain.table_keys import PRODUCT_PREFIX, day_key
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.services.analysis_reads import day_products_and_baskets, store_days, upload_tracking


def company_day(
    context: dg.AssetExecutionContext, table: MetricsTable, platform: PlatformConfig, day: dt.date, trigger: str
) -> dict[str, object]:
    metrics = compute_company_metrics(day, store_days(table, day), platform.expected_stores)
    fingerprint = analysis_fingerprint(upload_tracking(table, day, platform.expected_stores))
    table.put_items([company_summary_item(metrics, trigger=trigger, fingerprint=fingerprint, analyzed_at=now())])
    if metrics.missing_stores:
        context.log.warning(f"{day}: analysed without store(s) {', '.join(metrics.missing_stores)} ({trigger})")
    return {
        "net_sales": float(to_cents(metrics.net_sales)),
        "total_sales": float(to_cents(metrics.total_sales)),
        "total_discount": float(to_cents(metrics.total_discount)),
        "transaction_count": metrics.transaction_count,
        "item_count": metrics.item_count,
        "stores_reported": f"{len(metrics.reported_stores)}/{len(metrics.expected_stores)}",
        "missing_stores": ", ".join(metrics.missing_stores) or "none",
        "best_store": metrics.best_store.store_id if metrics.best_store else "none",
        "worst_store": metrics.worst_store.store_id if metrics.worst_store else "none",
        "trigger": trigger,
        "source_fingerprint": fingerprint,
    }


def product_day(table: MetricsTable, bucket: ObjectStore, platform: PlatformConfig, day: dt.date) -> dict[str, object]:
    stores = store_days(table, day)
    products, baskets, names = day_products_and_baskets(bucket, stores)
    table.replace_items(day_key(day), PRODUCT_PREFIX, product_day_items(day, products))
    for name, document in baskets_documents(day, baskets, names).items():
        key = platform.storage_layout.analysis_document_key(day, name)
        bucket.write_bytes(key, render_document(document), content_type="application/json")
    return {
        "products": len(products),
        "stores": len(stores),
        "units": sum(p.units for p in products),
        "net_revenue": float(to_cents(sum((p.net_revenue for p in products), start=to_cents(0)))),
        "top_products": md_table(
            ["rank", "sku", "product", "units", "net revenue", "stores"],
            [[p.rank, p.sku, p.name, p.units, to_cents(p.net_revenue), p.stores_sold] for p in products],
            limit=10,
        ),
    }


def materialize_company_metrics(
    context: dg.AssetExecutionContext, table: dg.ResourceParam[MetricsTable], platform: PlatformConfig
) -> Iterator[dg.MaterializeResult]:
    trigger = run_trigger(context.run)
    yield from each_day(
        context, lambda day: company_day(context, table, platform, day, trigger), lambda day: company_checks(table, day)
    )


def materialize_product_metrics(
    context: dg.AssetExecutionContext,
    table: dg.ResourceParam[MetricsTable],
    bucket: dg.ResourceParam[ObjectStore],
    platform: PlatformConfig,
) -> Iterator[dg.MaterializeResult]:
    yield from each_day(
        context, lambda day: product_day(table, bucket, platform, day), lambda day: product_checks(table, day)
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_time_settings()
    days = business_days(settings.stores)
    company_metrics = dg.multi_asset(
        name="company_metrics",
        specs=[
            dg.AssetSpec(
                "company_metrics",
                deps=[every_store_of_the_day()],
                kinds={settings.resolved_table_backend},
                partitions_def=days,
                group_name=ANALYSIS_GROUP,
                description="The chain's day: gross, discounts, net, distinct transactions, units, averages per "
                "transaction and per store, best and worst store, net payment mix, and which expected stores are "
                "missing. Written to the table as the company summary (SUMMARY#COMPANY).",
            )
        ],
        check_specs=company_check_specs(days),
        can_subset=True,
        backfill_policy=ONE_RUN_FOR_A_RANGE,
    )(materialize_company_metrics)
    product_metrics = dg.multi_asset(
        name="product_metrics",
        specs=[
            dg.AssetSpec(
                "product_metrics",
                deps=[every_store_of_the_day(), "company_metrics"],
                kinds={"duckdb", settings.resolved_table_backend},
                partitions_def=days,
                group_name=ANALYSIS_GROUP,
                description="Every SKU sold that day across all stores, from every line of every store's Parquet "
                "file: units, gross and net revenue, stores sold at, rank by net revenue. Written to the table "
                "(PRODUCT#<sku>), with each store's transactions by SKU and by payment method beside the analysis "
                "documents (store_products.json, store_payments.json).",
            )
        ],
        check_specs=product_check_specs(days),
        can_subset=True,
        backfill_policy=ONE_RUN_FOR_A_RANGE,
    )(materialize_product_metrics)
    return dg.Definitions(assets=[company_metrics, product_metrics])
