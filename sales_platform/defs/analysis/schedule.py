"""The fallback: at DAILY_ANALYSIS_SCHEDULE (23:00 where the stores are) the day is analysed with
whatever stores are in, unless its analysis already ran, as the old scheduled Lambda did.

A schedule rather than `AutomationCondition.on_cron`: that condition waits for the day's store
metrics to be updated, where this one must run precisely when some are missing, and it skips
on what the table says (the company summary's fingerprint), not on materializations.
"""

import datetime as dt

import dagster as dg

from sales_platform.defs.analysis.job import ANALYSIS_JOB, JOB_ASSETS, daily_analysis
from sales_platform.defs.analysis.steps import TRIGGER_TAG
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import accepted_days
from sales_platform.domain.table_keys import company_summary_key
from sales_platform.domain.wording import names
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.services.analysis_reads import upload_tracking

ANALYSIS_SCHEDULE = "daily_analysis_schedule"
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def analyse_what_is_in(
    context: dg.ScheduleEvaluationContext, table: dg.ResourceParam[MetricsTable], platform: PlatformConfig
) -> dg.RunRequest | dg.SkipReason:
    moment = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = moment.astimezone(platform.timezone).date()
    key = day.isoformat()
    first, last = accepted_days(platform, moment)
    if not first <= day <= last:
        return dg.SkipReason(f"{key} is before PARTITIONS_START_DATE={first}")
    summary = table.get_item(*company_summary_key(day))
    if summary is not None and summary.get("source_fingerprint"):
        return dg.SkipReason(
            f"the analysis of {key} already ran ({summary['trigger']}, {summary['stores_reported']}/"
            f"{summary['stores_expected']} stores, at {summary['analyzed_at']}); nothing to do"
        )
    running = context.instance.get_runs(
        dg.RunsFilter(job_name=ANALYSIS_JOB, tags={"dagster/partition": key}, statuses=_UNFINISHED), limit=1
    )
    if running:
        return dg.SkipReason(f"the analysis of {key} is already under way (run {running[0].run_id})")
    reported = {item["store_id"] for item in upload_tracking(table, day, platform.expected_stores)}
    missing = [store for store in platform.expected_stores if store not in reported]
    context.log.info(
        f"{key}: analysing {len(reported)}/{len(platform.expected_stores)} stores"
        + (f"; missing {names(missing, limit=20)}" if missing else "")
    )
    return dg.RunRequest(
        run_key=f"scheduled:{key}", partition_key=key, tags={TRIGGER_TAG: "scheduled"}, asset_selection=JOB_ASSETS
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_time_settings()
    schedule = dg.schedule(
        name=ANALYSIS_SCHEDULE,
        cron_schedule=settings.analysis.daily_analysis_schedule,
        execution_timezone=settings.stores.daily_analysis_timezone,
        job=daily_analysis,
        default_status=dg.DefaultScheduleStatus.RUNNING
        if settings.analysis.enable_scheduled_analysis
        else dg.DefaultScheduleStatus.STOPPED,
        description="The fallback: analyses the day with whatever stores are in, unless its analysis already ran.",
    )(analyse_what_is_in)
    return dg.Definitions(schedules=[schedule])
