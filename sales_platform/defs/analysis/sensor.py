"""What starts a day's analysis when its stores are in: the completeness sensor. (The fallback
schedule is schedule.py; a person needs nothing from here: the UI's materialize, re-execute
and backfill.)

Why a sensor and not an automation condition: "due" is a rule about the table, not about
materializations alone. A day is due when every expected store's upload tracking is in, or a
late or corrected upload changed a day already analysed within REANALYSIS_WINDOW_DAYS, and not
while uploads of that day or an earlier one are still on their way in (a backlog is analysed in
date order, each day with its history); consecutive due days go in one run. Automation
conditions can say "after all store-days updated", not "the fingerprint of the uploads changed
since the summary was written" or "wait for the inbox".

The sensor looks only at days whose store metrics were materialized since its last look (the
event log answers that with one indexed query), so a tick costs the same after a year as after
a day. Whether such a day is due is decided from the table (`analysis_verdict`), so the same
data is never analysed twice, whoever evaluates the sensor: the daemon, or `sales-platform
process`, which starts without a cursor.
"""

import datetime as dt
import hashlib

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from sales_platform.defs.analysis.job import ANALYSIS_JOB, JOB_ASSETS, daily_analysis
from sales_platform.defs.analysis.steps import TRIGGER_TAG
from sales_platform.defs.ingest.events import STORE_METRICS
from sales_platform.defs.ingest.ingest_job import INGEST_JOB
from sales_platform.defs.ingest.upload_sensor import IN_FLIGHT, uploads_of
from sales_platform.defs.loading import load_time_settings
from sales_platform.defs.partitions import business_days, store_and_day
from sales_platform.domain.analysis_due import analysis_verdict
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.table_keys import company_summary_key
from sales_platform.domain.upload_contract import parse_upload_name
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.services.analysis_reads import upload_tracking

ANALYSIS_SENSOR = "daily_analysis_sensor"
PENDING_UPLOADS_HOLD = dt.timedelta(hours=1)


def look_for_complete_days(
    context: dg.SensorEvaluationContext,
    table: dg.ResourceParam[MetricsTable],
    bucket: dg.ResourceParam[ObjectStore],
    platform: PlatformConfig,
) -> dg.SensorResult:
    # A day's anomalies and trends compare it with the days before: while an upload for that
    # day or an earlier one is still on its way in, the day waits, so a backlog (or the work a
    # crash left) is analysed in date order with its whole history.
    pending = _pending_upload_days(context.instance, bucket, platform.storage_layout)
    first_pending = min(pending) if pending else None
    analysing = _days_being_analysed(context.instance)
    newest = context.instance.fetch_materializations(STORE_METRICS, limit=1).records
    if not newest:
        return dg.SensorResult(skip_reason="no store has reported yet", cursor=context.cursor)
    last_seen = int(context.cursor) if context.cursor else None
    top = newest[0].storage_id
    if last_seen is not None and last_seen >= top:
        return dg.SensorResult(skip_reason="no store metrics since the last look", cursor=str(top))
    changed = context.instance.get_materialized_partitions(STORE_METRICS, after_cursor=last_seen, before_cursor=top + 1)
    today = platform.today()
    days = business_days(platform)
    due: list[tuple[dt.date, str]] = []
    waiting: list[str] = []
    deferred: list[str] = []
    for day in sorted({store_and_day(partition)[1] for partition in changed}):
        key = day.isoformat()
        if not days.has_partition_key(key):
            continue  # a request outside the partitions would fail the whole tick
        verdict = analysis_verdict(
            day,
            upload_tracking(table, day, platform.expected_stores),
            platform.expected_stores,
            table.get_item(*company_summary_key(day)),
            today,
            platform.reanalysis_window_days,
        )
        if verdict.due and day in analysing:
            waiting.append(f"{key} being analysed")
            deferred.append(key)
        elif verdict.due and first_pending is not None and day >= first_pending:
            deferred.append(key)
        elif verdict.due:
            context.log.info(f"{key}: analysis due ({verdict.reason})")
            due.append((day, verdict.fingerprint))
        else:
            waiting.append(f"{key} {verdict.reason}")
    held = [key for key in deferred if dt.date.fromisoformat(key) not in analysing]
    if held:
        waiting.append(f"{', '.join(held)} due, waiting for the uploads of {first_pending} and later to be ingested")
    # A deferred day has no new store metrics to come: look at it again from the same place.
    cursor = context.cursor if deferred else str(top)
    requests = [_range_request(group) for group in _consecutive(due)]
    if requests:
        for reason in waiting:
            context.log.info(reason)
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    return dg.SensorResult(skip_reason="no day became due: " + "; ".join(waiting[:10]), cursor=cursor)


def _days_being_analysed(instance: dg.DagsterInstance) -> set[dt.date]:
    """Days of analysis runs not finished yet: a day whose run is under way is not asked for again
    (its fingerprint is stamped once the run is through)."""
    days: set[dt.date] = set()
    for run in instance.get_runs(dg.RunsFilter(job_name=ANALYSIS_JOB, statuses=IN_FLIGHT)):
        first = run.tags.get(ASSET_PARTITION_RANGE_START_TAG) or run.tags.get("dagster/partition")
        last = run.tags.get(ASSET_PARTITION_RANGE_END_TAG) or first
        if first and last:
            day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
            while day <= end:
                days.add(day)
                day += dt.timedelta(days=1)
    return days


def _pending_upload_days(instance: dg.DagsterInstance, bucket: ObjectStore, layout: StorageLayout) -> set[dt.date]:
    """Business days of the uploads on their way in: in a run not finished yet, or waiting in the
    inbox. An upload that has waited longer than an hour is left out: whatever holds it up (a
    failing run, a file that keeps changing) must not hold up every analysis after it."""
    keys = {
        key
        for run in instance.get_runs(dg.RunsFilter(job_name=INGEST_JOB, statuses=IN_FLIGHT))
        for key in uploads_of(run)
    }
    recent = dt.datetime.now(dt.UTC) - PENDING_UPLOADS_HOLD
    keys |= {
        info.key
        for info in bucket.list(layout.upload_prefix)
        if not (layout.in_inbox_subfolder(info.key) or layout.hidden_in_inbox(info.key)) and info.last_modified > recent
    }
    days = set()
    for key in keys:
        try:
            days.add(parse_upload_name(layout.file_name(key)).business_date)
        except ValueError:
            continue  # no store-day: refused, it changes no day's history
    return days


def _consecutive(due: list[tuple[dt.date, str]]) -> list[list[tuple[dt.date, str]]]:
    groups: list[list[tuple[dt.date, str]]] = []
    for day, fingerprint in due:
        if groups and (day - groups[-1][-1][0]).days == 1:
            groups[-1].append((day, fingerprint))
        else:
            groups.append([(day, fingerprint)])
    return groups


def _range_request(group: list[tuple[dt.date, str]]) -> dg.RunRequest:
    """Consecutive due days in one run, each its own partition in the UI, analysed oldest first;
    a single day is an ordinary partitioned run."""
    first, last = group[0][0].isoformat(), group[-1][0].isoformat()
    tags = {TRIGGER_TAG: "complete"}
    if first == last:
        return dg.RunRequest(
            run_key=f"{first}@{group[0][1]}", partition_key=first, tags=tags, asset_selection=JOB_ASSETS
        )
    versions = hashlib.sha1("\n".join(fingerprint for _, fingerprint in group).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"{first}..{last}@{versions}",
        tags={**tags, ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        asset_selection=JOB_ASSETS,
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_time_settings()
    sensor = dg.sensor(
        name=ANALYSIS_SENSOR,
        job=daily_analysis,
        minimum_interval_seconds=settings.analysis.automation_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a day's analysis when every expected store's upload is processed, and again when a "
        f"late or corrected upload changes a complete day up to {settings.analysis.reanalysis_window_days} days back.",
    )(look_for_complete_days)
    return dg.Definitions(sensors=[sensor])
