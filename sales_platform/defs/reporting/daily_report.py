"""After each daily analysis, the day's report: stored, then sent, and an alert once a day when
Bedrock fell back to the rules.

Partitioned by business day and downstream of `daily_insights`, the analysis' last asset. The
`daily_analysis` job includes it, so a day's analysis and its report are one run (one task on
ECS); when insights are materialized any other way, automation.py asks for it.
"""

import datetime as dt
from decimal import Decimal

import dagster as dg

from sales_platform.defs.analysis.steps import DAILY_INSIGHTS, business_dates
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import business_days
from sales_platform.defs.reporting.automation import AFTER_NEW_INSIGHTS, DAILY_REPORT
from sales_platform.domain.alerts import engine_fallback_alert, engine_fell_back
from sales_platform.domain.daily_report import ReportInputs, build_daily_report
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.notifier import Notifier
from sales_platform.resources.object_store import ObjectStore
from sales_platform.services import day_items
from sales_platform.services.report_delivery import ReportFolder, alert_sent, deliver_report, record_alert, store_report

REPORTING_GROUP = "reporting"
RECOMMENDATIONS = dg.AssetKey("recommendations")
HISTORY_DAYS = 30
ENGINE_FALLBACK_ALERT = "engine_fallback"


def _recorded_engine_choice(context: dg.AssetExecutionContext, partition_key: str) -> dict[str, object]:
    """What the recommendations step recorded about its engine for this day, if anything."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RECOMMENDATIONS, asset_partitions=[partition_key]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return {}
    return {name: value.value for name, value in records[0].asset_materialization.metadata.items()}


def report_inputs(
    table: MetricsTable,
    platform: PlatformConfig,
    day: dt.date,
    insights: list[day_items.Item],
    fallback_reason: str | None,
) -> ReportInputs:
    company = day_items.company_summary(table, day)
    if company is None:
        raise dg.Failure(
            description=f"no company summary for {day}: the daily analysis has not written DATE#{day}/SUMMARY#COMPANY, "
            "so there is nothing to report yet",
            allow_retries=False,
        )
    history: list[tuple[dt.date, Decimal | None]] = []
    for earlier in day_items.days_ending(day, HISTORY_DAYS):
        summary = company if earlier == day else day_items.company_summary(table, earlier)
        history.append((earlier, summary["net_sales"] if summary else None))
    return ReportInputs(
        day=day,
        company=company,
        stores=day_items.store_summaries(table, day),
        products=day_items.product_days(table, day),
        insights=insights,
        history=history,
        expected_stores=platform.expected_stores,
        fallback_reason=fallback_reason,
    )


def report_day(
    context: dg.AssetExecutionContext,
    bucket: ObjectStore,
    table: MetricsTable,
    notifier: Notifier,
    platform: PlatformConfig,
    day: dt.date,
) -> dict[str, object]:
    insights = day_items.insights(table, day)
    recommendation_engines = {
        str(i["engine"]) for i in insights if i.get("insight_type") == "recommendation" and i.get("engine")
    }
    fell_back, reason = engine_fell_back(
        recommendation_engines,
        platform.resolved_recommendation_engine,
        _recorded_engine_choice(context, day.isoformat()),
    )
    report = build_daily_report(report_inputs(table, platform, day, insights, reason if fell_back else None))
    folder = ReportFolder(platform.reports_prefix, day)
    store_report(bucket, folder, report)
    context.log.info(f"report for {day} stored under {folder.folder} (content {report.content_hash[:12]})")

    outcome = deliver_report(bucket, notifier, folder)
    context.log.info(f"report for {day}: {outcome.describe()}")
    problems = [] if outcome.status in ("sent", "unchanged") else [f"report: {outcome.result.summary()}"]

    fallback_alert = "not needed"
    if fell_back and alert_sent(bucket, folder, ENGINE_FALLBACK_ALERT):
        fallback_alert = "already sent today"
    elif fell_back:
        result = notifier.send(engine_fallback_alert(day, reason, platform.dagster_ui_url))
        if result.delivered:
            record_alert(bucket, folder, ENGINE_FALLBACK_ALERT, result)
        fallback_alert = "sent" if result.ok else "FAILED"
        if not result.ok:
            problems.append(f"Bedrock fallback alert: {result.summary()}")

    if problems:
        raise dg.Failure(
            description=f"the report for {day} is stored under {folder.folder} but did not go out everywhere "
            f"({'; '.join(problems)}). Once the channel works, send it with `sales-platform send-report --date {day}` "
            "(channels that already have it are skipped) or re-materialize this partition.",
            allow_retries=False,
        )
    return {
        "delivery": outcome.status,
        "channels": outcome.describe(),
        "content_hash": report.content_hash,
        "recommendations_engine": report.engine or "none",
        "bedrock_fallback_alert": fallback_alert,
        "folder": dg.MetadataValue.path(folder.folder),
    }


def materialize_daily_report(
    context: dg.AssetExecutionContext,
    bucket: dg.ResourceParam[ObjectStore],
    table: dg.ResourceParam[MetricsTable],
    notifier: dg.ResourceParam[Notifier],
    platform: PlatformConfig,
) -> dg.MaterializeResult:
    # A run may cover a range of days (a backlog analysed at once): every day gets its report,
    # and its own materialization; one day's failure does not keep the others from theirs.
    problems = []
    for day in business_dates(context):
        try:
            context.add_asset_metadata(
                report_day(context, bucket, table, notifier, platform, day), partition_key=day.isoformat()
            )
        except dg.Failure as failure:
            problems.append(failure.description or str(failure))
    if problems:
        raise dg.Failure(description=" ".join(problems), allow_retries=False)
    return dg.MaterializeResult()


@dg.definitions
def defs() -> dg.Definitions:
    daily_report = dg.asset(
        name=DAILY_REPORT.to_user_string(),
        partitions_def=business_days(load_time_settings().stores),
        deps=[DAILY_INSIGHTS],
        group_name=REPORTING_GROUP,
        kinds={"email"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        automation_condition=AFTER_NEW_INSIGHTS,
        description="The day's report (text, HTML, charts) stored under REPORTS_PREFIX/YYYY-MM-DD/ and sent on "
        "NOTIFY_CHANNELS; sent again only when its content changed. Also alerts once per day when Bedrock fell back "
        "to the rules.",
    )(materialize_daily_report)
    return dg.Definitions(assets=[daily_report])
