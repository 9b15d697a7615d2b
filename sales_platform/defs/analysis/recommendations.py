"""The analysis' last steps: `recommendations` (by the rules or by Bedrock) and
`daily_insights`, the day's findings as insight items in the table."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg

from sales_platform.defs.analysis.steps import (
    ANALYSIS_GROUP,
    ONE_RUN_FOR_A_RANGE,
    each_day,
    md_table,
    now,
    publish,
    read,
)
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import business_days
from sales_platform.domain.analysis_items import (
    analysis_finished,
    anomaly_report_from,
    coverage_items,
    engine_answer_from,
    insight_items,
    recommendations_document,
    trend_report_from,
)
from sales_platform.domain.company_metrics import compute_company_metrics
from sales_platform.domain.recommendations import AnalysisFacts, EngineAnswer
from sales_platform.domain.table_keys import INSIGHT_PREFIX, company_summary_key, day_key
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.resources.recommendation_engines import RecommendationEngine
from sales_platform.services.analysis_reads import store_days, stored_products

TOP_PRODUCTS_FOR_ENGINES = 10


def analysis_facts(table: MetricsTable, bucket: ObjectStore, platform: PlatformConfig, day: dt.date) -> AnalysisFacts:
    """What an engine is told about the day: the figures, the top products, the findings."""
    layout = platform.storage_layout
    anomaly_report = anomaly_report_from(read(bucket, layout, day, "anomalies"))
    return AnalysisFacts(
        business_date=day,
        company=compute_company_metrics(day, store_days(table, day), platform.expected_stores),
        top_products=sorted(stored_products(table, day), key=lambda p: p.rank)[:TOP_PRODUCTS_FOR_ENGINES],
        anomalies=anomaly_report.anomalies,
        trends=trend_report_from(read(bucket, layout, day, "trends")).trends,
        compared_stores=anomaly_report.compared_stores,
        not_compared=anomaly_report.not_compared,
    )


def engine_details(answer: EngineAnswer) -> dict[str, object]:
    """Whether the engine fell back, and what Bedrock was asked and cost."""
    metadata: dict[str, object] = {}
    if answer.fallback_reason:  # only when it happened, so "is there a reason" means "did it fall back"
        metadata["fallback_reason"] = answer.fallback_reason
    if answer.requested_engine == "bedrock":
        metadata |= {
            "model_id": answer.model_id or "",
            "attempts": answer.attempts,
            "input_tokens": answer.input_tokens,
            "output_tokens": answer.output_tokens,
            "estimated_cost_usd": float(answer.estimated_cost_usd)
            if answer.estimated_cost_usd is not None
            else "unknown for this model",
            "reworded_descriptions": len(answer.descriptions),
            "rejected_descriptions": answer.rejected_descriptions,
        }
    return metadata


def recommendations_day(
    context: dg.AssetExecutionContext,
    table: MetricsTable,
    bucket: ObjectStore,
    engine: RecommendationEngine,
    platform: PlatformConfig,
    day: dt.date,
) -> dict[str, object]:
    answer = engine.recommend(analysis_facts(table, bucket, platform, day))
    if answer.fallback_reason:
        context.log.warning(f"{day}: recommendations by the rules engine instead of Bedrock: {answer.fallback_reason}")
    return {
        "engine": answer.engine,
        "requested_engine": answer.requested_engine,
        "recommendations": len(answer.recommendations),
        "found": md_table(
            ["priority", "category", "title"], [[r.priority, r.category, r.title] for r in answer.recommendations]
        ),
        **publish(
            context, bucket, platform.storage_layout, day, "recommendations", recommendations_document(day, answer)
        ),
        **engine_details(answer),
    }


def insights_day(table: MetricsTable, bucket: ObjectStore, platform: PlatformConfig, day: dt.date) -> dict[str, object]:
    layout = platform.storage_layout
    answer = engine_answer_from(read(bucket, layout, day, "recommendations"))
    anomaly_report = anomaly_report_from(read(bucket, layout, day, "anomalies"))
    trend_report = trend_report_from(read(bucket, layout, day, "trends"))
    moment = now()
    items = insight_items(day, anomaly_report.anomalies, trend_report.trends, answer, moment)
    items += coverage_items(day, anomaly_report, trend_report, moment)
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


def materialize_recommendations(
    context: dg.AssetExecutionContext,
    table: dg.ResourceParam[MetricsTable],
    bucket: dg.ResourceParam[ObjectStore],
    recommendation_engine: dg.ResourceParam[RecommendationEngine],
    platform: PlatformConfig,
) -> Iterator[dg.MaterializeResult]:
    yield from each_day(
        context, lambda day: recommendations_day(context, table, bucket, recommendation_engine, platform, day)
    )


def materialize_daily_insights(
    context: dg.AssetExecutionContext,
    table: dg.ResourceParam[MetricsTable],
    bucket: dg.ResourceParam[ObjectStore],
    platform: PlatformConfig,
) -> Iterator[dg.MaterializeResult]:
    yield from each_day(context, lambda day: insights_day(table, bucket, platform, day))


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_time_settings()
    common: dict[str, Any] = dict(
        partitions_def=business_days(settings.stores), group_name=ANALYSIS_GROUP, backfill_policy=ONE_RUN_FOR_A_RANGE
    )
    recommendations = dg.asset(
        name="recommendations",
        deps=["anomalies", "trends", "company_metrics", "product_metrics"],
        description="Actions for store and category managers, from the anomalies, trends and metrics: by the "
        "rules engine, or by Amazon Bedrock (RECOMMENDATION_ENGINE=bedrock) with the rules as fallback.",
        **common,
    )(materialize_recommendations)
    daily_insights = dg.asset(
        name="daily_insights",
        deps=["anomalies", "trends", "recommendations"],
        kinds={settings.resolved_table_backend},
        description="The day's anomalies, trends and recommendations as insight items in the table, with stable "
        "ids, and what the analysis could not look at (coverage: stores not compared and why): a rerun replaces "
        "the day's insights, never adds to them.",
        **common,
    )(materialize_daily_insights)
    return dg.Definitions(assets=[recommendations, daily_insights])
