"""After each daily analysis, the BI export: the last BI_EXPORT_DAYS days under
QUICKSIGHT_PREFIX, replaced as a whole set (`services.bi_export_versions`)."""

import dagster as dg

from sales_platform.defs.analysis.steps import business_dates
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import business_days
from sales_platform.defs.reporting.automation import AFTER_NEW_INSIGHTS, BI_EXPORT
from sales_platform.defs.reporting.daily_report import DAILY_INSIGHTS, REPORTING_GROUP
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.services.bi_export_versions import write_export


def materialize_bi_export(
    context: dg.AssetExecutionContext,
    bucket: dg.ResourceParam[ObjectStore],
    table: dg.ResourceParam[MetricsTable],
    platform: PlatformConfig,
) -> dg.MaterializeResult:
    days = business_dates(context)
    # One export covers every day of the window, so a range of days needs just one.
    result = write_export(bucket, table, platform, days[-1])
    if result.superseded:
        context.log.warning(f"a newer export than {result.version} was already current; this one withdrew")
    else:
        context.log.info(f"export {result.version}: {result.first_day} to {result.last_day}, {result.rows}")
    context.add_asset_metadata(
        {
            "version": result.version,
            "first_day": result.first_day.isoformat(),
            "last_day": result.last_day.isoformat(),
            **{f"rows_{name}": count for name, count in result.rows.items()},
            "superseded": result.superseded,
            "deleted_versions": ", ".join(result.deleted_versions) or "none",
        }
    )
    return dg.MaterializeResult()


@dg.definitions
def defs() -> dg.Definitions:
    bi_export = dg.asset(
        name=BI_EXPORT.to_user_string(),
        partitions_def=business_days(load_time_settings().stores),
        deps=[DAILY_INSIGHTS],
        group_name=REPORTING_GROUP,
        kinds={"parquet", "json"},
        automation_condition=AFTER_NEW_INSIGHTS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description="The last BI_EXPORT_DAYS days of store summaries, top products, anomalies, trends and "
        "recommendations under QUICKSIGHT_PREFIX as NDJSON and Parquet with QuickSight manifests, replaced as a "
        "whole set.",
    )(materialize_bi_export)
    return dg.Definitions(assets=[bi_export])
