"""After each daily analysis: the daily report (stored, then sent) and the BI export.

Both are partitioned by business day and depend on `daily_insights`, the analysis' last asset.
The `daily_analysis` job includes them, so a day's analysis and its report are one run (one
task on ECS); when insights are materialized any other way, an automation condition asks for
the day's report and export.
"""


import datetime as dt
from decimal import Decimal

import dagster as dg

from sales_platform.defs import day_items
from sales_platform.defs.analysis_assets import business_dates
from sales_platform.defs.bi_export import write_export
from sales_platform.defs.partitions import business_days
from sales_platform.defs.report_delivery import ReportFolder, alert_sent, deliver_report, record_alert, store_report
from sales_platform.domain.alerts import engine_fallback_alert, engine_fell_back
from sales_platform.domain.daily_report import ReportInputs, build_daily_report
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.notifier import Notifier
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings

REPORTING_GROUP = "reporting"
DAILY_INSIGHTS = dg.AssetKey("daily_insights")
RECOMMENDATIONS = dg.AssetKey("recommendations")
DAILY_REPORT = dg.AssetKey("daily_report")
BI_EXPORT = dg.AssetKey("bi_export")
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


def _report_inputs(table: MetricsTable, settings: Settings, day: dt.date, fallback_reason: str | None) -> ReportInputs:
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
        insights=day_items.insights(table, day),
        history=history,
        expected_stores=settings.expected_stores,
        fallback_reason=fallback_reason,
    )


def build_report_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = business_days(settings)

    # A run may cover a range of days (a backlog analysed at once): every day gets its report,
    # and its own materialization.
    ranges = dict(backfill_policy=dg.BackfillPolicy.single_run())

    @dg.asset(
        partitions_def=partitions,
        deps=[DAILY_INSIGHTS],
        group_name=REPORTING_GROUP,
        kinds={"email"},
        **ranges,
        automation_condition=AFTER_NEW_INSIGHTS,
        description="The day's report (text, HTML, charts) stored under REPORTS_PREFIX/YYYY-MM-DD/ and sent on "
        "NOTIFY_CHANNELS; sent again only when its content changed. Also alerts once per day when Bedrock fell back "
        "to the rules.",
    )
    def daily_report(
        context: dg.AssetExecutionContext,
        bucket: dg.ResourceParam[ObjectStore],
        table: dg.ResourceParam[MetricsTable],
        notifier: dg.ResourceParam[Notifier],
    ):
        problems = []
        for day in business_dates(context):
            try:
                context.add_asset_metadata(report_day(context, bucket, table, notifier, day), partition_key=day.isoformat())
            except dg.Failure as failure:  # the other days still get theirs
                problems.append(failure.description or str(failure))
        if problems:
            raise dg.Failure(description=" ".join(problems), allow_retries=False)
        return dg.MaterializeResult()

    def report_day(context, bucket: ObjectStore, table: MetricsTable, notifier: Notifier, day: dt.date) -> dict:
        recommendation_engines = {i.get("engine") for i in day_items.insights(table, day, "recommendation")} - {None}
        fell_back, reason = engine_fell_back(
            recommendation_engines,
            settings.resolved_recommendation_engine,
            _recorded_engine_choice(context, day.isoformat()),
        )
        report = build_daily_report(_report_inputs(table, settings, day, reason if fell_back else None))
        folder = ReportFolder(settings.reports_prefix, day)
        store_report(bucket, folder, report)
        context.log.info(f"report for {day} stored under {folder.folder} (content {report.content_hash[:12]})")

        outcome = deliver_report(bucket, notifier, folder)
        context.log.info(f"report for {day}: {outcome.describe()}")
        problems = [] if outcome.status in ("sent", "unchanged") else [f"report: {outcome.result.summary()}"]

        fallback_alert = "not needed"
        if fell_back and alert_sent(bucket, folder, ENGINE_FALLBACK_ALERT):
            fallback_alert = "already sent today"
        elif fell_back:
            result = notifier.send(engine_fallback_alert(day, reason, settings.dagster_ui_url))
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

    @dg.asset(
        partitions_def=partitions,
        deps=[DAILY_INSIGHTS],
        group_name=REPORTING_GROUP,
        kinds={"parquet", "json"},
        automation_condition=AFTER_NEW_INSIGHTS,
        **ranges,
        description="The last BI_EXPORT_DAYS days of store summaries, top products, anomalies, trends and "
        "recommendations under QUICKSIGHT_PREFIX as NDJSON and Parquet with QuickSight manifests, replaced as a "
        "whole set.",
    )
    def bi_export(
        context: dg.AssetExecutionContext, bucket: dg.ResourceParam[ObjectStore], table: dg.ResourceParam[MetricsTable]
    ):
        days = business_dates(context)
        # One export covers every day of the window, so a range of days needs just one.
        result = write_export(bucket, table, settings, days[-1])
        if result.superseded:
            context.log.warning(f"a newer export than {result.version} was already current; this one withdrew")
        else:
            context.log.info(f"export {result.version}: {result.first_day} to {result.last_day}, {result.rows}")
        metadata = {
            "version": result.version,
            "first_day": result.first_day.isoformat(),
            "last_day": result.last_day.isoformat(),
            **{f"rows_{name}": count for name, count in result.rows.items()},
            "superseded": result.superseded,
            "deleted_versions": ", ".join(result.deleted_versions) or "none",
        }
        context.add_asset_metadata(metadata)
        return dg.MaterializeResult()

    return [daily_report, bi_export]


# A person materializing `daily_insights` on its own (the UI, a backfill of the analysis assets
# alone) still gets the day's report and export: they follow new insights of their day. The
# analysis job includes both, so new insights from a run that also reports (the report is in
# progress while the insights are written) count as handled. Not `eager()`, which only looks at
# the latest day and would send a report for every old day it finds without one.
_HANDLED = (
    dg.AutomationCondition.newly_requested()
    | dg.AutomationCondition.newly_updated()
    | dg.AutomationCondition.in_progress()
)
AFTER_NEW_INSIGHTS = (
    dg.AutomationCondition.any_deps_updated().since(_HANDLED)
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after new insights from another run")
REPORT_AUTOMATION_SENSOR = "daily_report_automation"


def build_report_automation(settings: Settings) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        REPORT_AUTOMATION_SENSOR,
        target=dg.AssetSelection.assets(DAILY_REPORT, BI_EXPORT),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=settings.automation_interval_seconds,
        description="Reports and exports a day whose insights were materialized outside the daily_analysis job.",
    )
