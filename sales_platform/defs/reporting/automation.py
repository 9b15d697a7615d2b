"""When the report and the BI export run outside the `daily_analysis` job: declaratively, after
new insights of their day written by a run that did not also report.

A person materializing `daily_insights` on its own (the UI, a backfill of the analysis assets
alone) still gets the day's report and export; the analysis job includes both, so its runs need
nothing. Not `eager()`, which only looks at the latest day and would send a report for every
old day it finds without one.
"""

import dagster as dg

from sales_platform.defs.loading import load_time_settings

REPORT_AUTOMATION_SENSOR = "daily_report_automation"
DAILY_REPORT = dg.AssetKey("daily_report")
BI_EXPORT = dg.AssetKey("bi_export")

AFTER_NEW_INSIGHTS = (
    dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.newly_updated() & ~dg.AutomationCondition.executed_with_root_target()
    ).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after new insights from a run that did not report")


@dg.definitions
def defs() -> dg.Definitions:
    sensor = dg.AutomationConditionSensorDefinition(
        REPORT_AUTOMATION_SENSOR,
        target=dg.AssetSelection.assets(DAILY_REPORT, BI_EXPORT),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=load_time_settings().analysis.automation_interval_seconds,
        description="Reports and exports a day whose insights were materialized outside the daily_analysis job.",
    )
    return dg.Definitions(sensors=[sensor])
