"""The daily analysis: one partition per business day, downstream of every store's metrics.

store_metrics[d|*] -> company_metrics[d], product_metrics[d] -> anomalies[d], trends[d]
-> recommendations[d] -> daily_insights[d]. Each step reads its inputs through the `bucket` and
`table` resources and writes its results there (table items, or a working document under
ANALYSIS_PREFIX), so any day and any step can be re-run on its own.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping

import dagster as dg

from sales_platform.defs.analysis_checks import company_check_specs, company_checks, product_check_specs, product_checks
from sales_platform.defs.analysis_reads import (
    day_products_and_baskets,
    earlier_product_units,
    store_days,
    store_days_by_date,
    stored_baskets,
    stored_products,
    units_by_sku,
    upload_tracking,
)
from sales_platform.defs.partitions import business_days
from sales_platform.domain.analysis_items import (
    analysis_finished,
    analysis_fingerprint,
    anomalies_document,
    anomaly_report_from,
    company_summary_item,
    coverage_items,
    engine_answer_from,
    insight_items,
    product_day_items,
    read_document,
    recommendations_document,
    render_document,
    trend_report_from,
    trends_document,
)
from sales_platform.domain.anomalies import basket_days, detect_anomalies, history_window
from sales_platform.domain.company_metrics import compute_company_metrics
from sales_platform.domain.money import to_cents
from sales_platform.domain.recommendations import AnalysisFacts
from sales_platform.domain.store_baskets import baskets_documents
from sales_platform.domain.table_keys import INSIGHT_PREFIX, PRODUCT_PREFIX, company_summary_key, day_key
from sales_platform.domain.trends import detect_trends, product_window, summary_window
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.resources.recommendation_engines import RecommendationEngine
from sales_platform.settings import Settings

ANALYSIS_GROUP = "daily_analysis"
ANALYSIS_ASSETS = ("company_metrics", "product_metrics", "anomalies", "trends", "recommendations", "daily_insights")
# Set by the completeness sensor (`complete`) and the fallback schedule (`scheduled`); a run
# started by hand (UI, backfill, re-execution) has none and counts as `manual`.
TRIGGER_TAG = "sales_platform/analysis_trigger"
TOP_PRODUCTS_FOR_ENGINES = 10


def business_date(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)


def business_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days a run covers, oldest first: one, or a range (a backlog, a backfill), which each
    step goes through in date order so a day's history is in before the day after."""
    return sorted(dt.date.fromisoformat(key) for key in context.partition_keys)


def each_day(
    context: dg.AssetExecutionContext,
    work: Callable[[dt.date], Mapping[str, object]],
    checks: Callable[[dt.date], list[dg.AssetCheckEvaluation]] = lambda day: [],
) -> Iterator[dg.MaterializeResult]:
    """Run `work` for every day of the run, oldest first; each day's materialization carries its
    own metadata and check results, whether the run covers one day or many."""
    for day in business_dates(context):
        context.add_asset_metadata(dict(work(day)), partition_key=day.isoformat())
        for evaluation in checks(day):
            context.log_event(evaluation)
    yield dg.MaterializeResult(asset_key=context.asset_key)


def run_trigger(run: dg.DagsterRun) -> str:
    """`complete`/`scheduled` as the sensor or schedule tagged the run; an automatic retry keeps
    it, a re-execution someone started is `manual`."""
    tags = run.tags
    if run.parent_run_id and "dagster/retry_number" not in tags:
        return "manual"
    return tags.get(TRIGGER_TAG, "manual")


def _md_table(header: list[str], rows: list[list[object]], limit: int = 15) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"| and {len(rows) - limit} more |" + " |" * (len(header) - 1))
    return dg.MetadataValue.md("\n".join(lines))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def build_analysis_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    days = business_days(settings)
    layout = settings.storage_layout
    table_kind = "sqlite" if settings.resolved_table_backend == "sqlite" else "dynamodb"
    every_store_of_the_day = dg.AssetDep(
        "store_metrics", partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
    )
    # One run may cover a range of days (a backlog, a backfill), each day its own partition.
    common = dict(partitions_def=days, group_name=ANALYSIS_GROUP, backfill_policy=dg.BackfillPolicy.single_run())

    def publish(context, bucket: ObjectStore, day: dt.date, name: str, document: dict, notes=()) -> dict[str, object]:
        """Write a step's working document for the next steps; log and show what it could not
        look at (too little history, too few days)."""
        key = layout.analysis_document_key(day, name)
        bucket.write_bytes(key, render_document(document), content_type="application/json")
        for note in notes:
            context.log.info(note)
        return {
            "document": dg.MetadataValue.path(key),
            "left_out": dg.MetadataValue.md("\n".join(f"* {note}" for note in notes) or "nothing"),
        }

    def read(bucket: ObjectStore, day: dt.date, name: str) -> dict:
        return read_document(bucket.read_bytes(layout.analysis_document_key(day, name)))

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                "company_metrics", deps=[every_store_of_the_day], kinds={table_kind}, partitions_def=days,
                group_name=ANALYSIS_GROUP,
                description="The chain's day: gross, discounts, net, distinct transactions, units, averages per "
                "transaction and per store, best and worst store, net payment mix, and which expected stores are "
                "missing. Written to the table as the company summary (SUMMARY#COMPANY).",
            )
        ],
        check_specs=company_check_specs(days),
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def company_metrics(context: dg.AssetExecutionContext, table: dg.ResourceParam[MetricsTable]):
        trigger = run_trigger(context.run)
        yield from each_day(context, lambda day: company_day(context, table, day, trigger), lambda day: company_checks(table, day))

    def company_day(context, table: MetricsTable, day: dt.date, trigger: str) -> dict[str, object]:
        metrics = compute_company_metrics(day, store_days(table, day), settings.expected_stores)
        fingerprint = analysis_fingerprint(upload_tracking(table, day, settings.expected_stores))
        table.put_items([company_summary_item(metrics, trigger=trigger, fingerprint=fingerprint, analyzed_at=_now())])
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

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                "product_metrics", deps=[every_store_of_the_day, "company_metrics"], kinds={"duckdb", table_kind},
                partitions_def=days, group_name=ANALYSIS_GROUP,
                description="Every SKU sold that day across all stores, from every line of every store's Parquet "
                "file: units, gross and net revenue, stores sold at, rank by net revenue. Written to the table "
                "(PRODUCT#<sku>), with each store's transactions by SKU and by payment method beside the analysis "
                "documents (store_products.json, store_payments.json).",
            )
        ],
        check_specs=product_check_specs(days),
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def product_metrics(
        context: dg.AssetExecutionContext, table: dg.ResourceParam[MetricsTable], bucket: dg.ResourceParam[ObjectStore]
    ):
        yield from each_day(context, lambda day: product_day(table, bucket, day), lambda day: product_checks(table, day))

    def product_day(table: MetricsTable, bucket: ObjectStore, day: dt.date) -> dict[str, object]:
        stores = store_days(table, day)
        products, baskets, names = day_products_and_baskets(bucket, stores)
        table.replace_items(day_key(day), PRODUCT_PREFIX, product_day_items(day, products))
        for name, document in baskets_documents(day, baskets, names).items():
            bucket.write_bytes(layout.analysis_document_key(day, name), render_document(document), content_type="application/json")
        return {
                "products": len(products),
                "stores": len(stores),
                "units": sum(p.units for p in products),
                "net_revenue": float(to_cents(sum((p.net_revenue for p in products), start=to_cents(0)))),
                "top_products": _md_table(
                    ["rank", "sku", "product", "units", "net revenue", "stores"],
                    [[p.rank, p.sku, p.name, p.units, to_cents(p.net_revenue), p.stores_sold] for p in products],
                    limit=10,
                ),
        }

    @dg.asset(
        deps=[company_metrics, product_metrics],
        description="Stores that stand out, each against the median of its last 5 same weekdays, in its own "
        "day-to-day spread, and against the other stores today: net sales, transactions, basket size, payment "
        "mix, products it always sells and sold none of, and expected stores without a file.",
        **common,
    )
    def anomalies(
        context: dg.AssetExecutionContext, table: dg.ResourceParam[MetricsTable], bucket: dg.ResourceParam[ObjectStore]
    ):
        yield from each_day(context, lambda day: anomalies_day(context, table, bucket, day))

    def anomalies_day(context, table: MetricsTable, bucket: ObjectStore, day: dt.date) -> dict[str, object]:
        earlier = store_days_by_date(table, history_window(day))
        history: dict[str, list] = {}
        for stores in earlier.values():
            for store in stores:
                history.setdefault(store.store_id, []).append(store)
        report = detect_anomalies(
            store_days(table, day),
            history,
            business_date=day,
            expected_stores=settings.expected_stores,
            baskets=stored_baskets(bucket, layout, day, *basket_days(day)),
        )
        published = publish(context, bucket, day, "anomalies", anomalies_document(day, report), report.notes)
        return {
                "anomalies": len(report.anomalies),
                "critical": sum(a.severity == "critical" for a in report.anomalies),
                "warning": sum(a.severity == "warning" for a in report.anomalies),
                "stores_compared": f"{len(report.compared_stores)}/{len(report.compared_stores) + len(report.not_compared)}",
                "found": _md_table(
                    ["severity", "type", "store", "value", "baseline", "deviation %", "robust z", "against"],
                    [[a.severity, a.type, a.store_id, a.metric_value, a.historical_average, a.deviation_percent,
                      a.robust_z, a.baseline] for a in report.anomalies],
                ),
                **published,
        }

    @dg.asset(
        deps=[company_metrics, product_metrics],
        description="Where sales are heading: week over week, each store's momentum over 14 days, rising and "
        "falling products against their usual same weekday, the sales pace and shifts in the payment mix; days "
        "without every store are kept out of the company comparisons, and the texts say so.",
        **common,
    )
    def trends(
        context: dg.AssetExecutionContext, table: dg.ResourceParam[MetricsTable], bucket: dg.ResourceParam[ObjectStore]
    ):
        yield from each_day(context, lambda day: trends_day(context, table, bucket, day))

    def trends_day(context, table: MetricsTable, bucket: ObjectStore, day: dt.date) -> dict[str, object]:
        window = store_days_by_date(table, summary_window(day))
        products_today = units_by_sku(stored_products(table, day))
        earlier = earlier_product_units(table, bucket, window, product_window(day))
        report = detect_trends(day, window, products_today, earlier, expected_stores=settings.expected_stores)
        published = publish(context, bucket, day, "trends", trends_document(day, report), report.notes)
        return {
                "trends": len(report.trends),
                "found": _md_table(
                    ["significance", "type", "direction", "change %", "title"],
                    [[t.significance, t.type, t.trend_direction, t.metric_change_percent, t.title] for t in report.trends],
                ),
                **published,
        }

    @dg.asset(
        deps=[anomalies, trends, company_metrics, product_metrics],
        description="Actions for store and category managers, from the anomalies, trends and metrics: by the "
        "rules engine, or by Amazon Bedrock (RECOMMENDATION_ENGINE=bedrock) with the rules as fallback.",
        **common,
    )
    def recommendations(
        context: dg.AssetExecutionContext,
        table: dg.ResourceParam[MetricsTable],
        bucket: dg.ResourceParam[ObjectStore],
        recommendation_engine: dg.ResourceParam[RecommendationEngine],
    ):
        yield from each_day(context, lambda day: recommendations_day(context, table, bucket, recommendation_engine, day))

    def recommendations_day(
        context, table: MetricsTable, bucket: ObjectStore, recommendation_engine: RecommendationEngine, day: dt.date
    ) -> dict[str, object]:
        anomaly_report = anomaly_report_from(read(bucket, day, "anomalies"))
        facts = AnalysisFacts(
            business_date=day,
            company=compute_company_metrics(day, store_days(table, day), settings.expected_stores),
            top_products=sorted(stored_products(table, day), key=lambda p: p.rank)[:TOP_PRODUCTS_FOR_ENGINES],
            anomalies=anomaly_report.anomalies,
            trends=trend_report_from(read(bucket, day, "trends")).trends,
            compared_stores=anomaly_report.compared_stores,
            not_compared=anomaly_report.not_compared,
        )
        answer = recommendation_engine.recommend(facts)
        if answer.fallback_reason:
            context.log.warning(f"{day}: recommendations by the rules engine instead of Bedrock: {answer.fallback_reason}")
        metadata: dict[str, object] = {
            "engine": answer.engine,
            "requested_engine": answer.requested_engine,
            "recommendations": len(answer.recommendations),
            "found": _md_table(
                ["priority", "category", "title"], [[r.priority, r.category, r.title] for r in answer.recommendations]
            ),
            **publish(context, bucket, day, "recommendations", recommendations_document(day, answer)),
        }
        if answer.fallback_reason:  # only when it happened, so "is there a reason" means "did it fall back"
            metadata["fallback_reason"] = answer.fallback_reason
        if answer.requested_engine == "bedrock":
            metadata |= {
                "model_id": answer.model_id or "",
                "attempts": answer.attempts,
                "input_tokens": answer.input_tokens,
                "output_tokens": answer.output_tokens,
                "estimated_cost_usd": float(answer.estimated_cost_usd) if answer.estimated_cost_usd is not None else "unknown for this model",
                "reworded_descriptions": len(answer.descriptions),
                "rejected_descriptions": answer.rejected_descriptions,
            }
        return metadata

    @dg.asset(
        deps=[anomalies, trends, recommendations],
        kinds={table_kind},
        description="The day's anomalies, trends and recommendations as insight items in the table, with stable "
        "ids, and what the analysis could not look at (coverage: stores not compared and why): a rerun replaces "
        "the day's insights, never adds to them.",
        **common,
    )
    def daily_insights(
        context: dg.AssetExecutionContext, table: dg.ResourceParam[MetricsTable], bucket: dg.ResourceParam[ObjectStore]
    ):
        yield from each_day(context, lambda day: insights_day(table, bucket, day))

    def insights_day(table: MetricsTable, bucket: ObjectStore, day: dt.date) -> dict[str, object]:
        answer = engine_answer_from(read(bucket, day, "recommendations"))
        anomaly_report = anomaly_report_from(read(bucket, day, "anomalies"))
        trend_report = trend_report_from(read(bucket, day, "trends"))
        now = _now()
        items = insight_items(day, anomaly_report.anomalies, trend_report.trends, answer, now)
        items += coverage_items(day, anomaly_report, trend_report, now)
        table.replace_items(day_key(day), INSIGHT_PREFIX, items)
        summary = table.get_item(*company_summary_key(day))
        if summary is not None:
            table.put_items([analysis_finished(summary)])
        count = lambda kind: sum(item["insight_type"] == kind for item in items)  # noqa: E731
        return {
            "insights": len(items),
            "anomalies": count("anomaly"),
            "trends": count("trend"),
            "recommendations": count("recommendation"),
            "recommendation_engine": answer.engine,
        }

    return [company_metrics, product_metrics, anomalies, trends, recommendations, daily_insights]
