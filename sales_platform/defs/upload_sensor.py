"""The inbox watcher: each new or overwritten file in uploads/ becomes one run.

Accepted and refused files leave the inbox, so a tick lists only what is still waiting and its
cost does not grow with history. The cursor remembers which version of each waiting file was
already requested; run keys (`<key>@<version>`) make the same request twice impossible, while an
overwritten file, having a new version, is processed again.
"""


import datetime as dt
import json

import dagster as dg

from sales_platform.defs.partitions import accepted_days, store_day_key
from sales_platform.domain.upload_contract import route_upload
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.settings import Settings

UPLOAD_SENSOR = "store_upload_sensor"
INGEST_JOB = "ingest_store_upload"
REFUSAL_JOB = "refuse_upload"
UPLOAD_KEY_TAG = "sales_platform/upload_key"


def _waiting(info: ObjectInfo, now: dt.datetime, settle_seconds: float) -> bool:
    """Files worth looking at: not hidden (editors' and rsync's temporary files), not folder
    markers, and old enough to be whole when the folder is local."""
    if info.key.endswith("/") or info.name.startswith("."):
        return False
    return (now - info.last_modified).total_seconds() >= settle_seconds


def build_upload_sensor(settings: Settings, ingest_job, refusal_job) -> dg.SensorDefinition:
    prefix = settings.upload_prefix

    @dg.sensor(
        name=UPLOAD_SENSOR,
        jobs=[ingest_job, refusal_job],
        minimum_interval_seconds=settings.upload_sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Processes every new or overwritten file in {prefix}: a run per file, refused files included.",
    )
    def store_upload_sensor(context: dg.SensorEvaluationContext, bucket: dg.ResourceParam[ObjectStore]):
        requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        now = dt.datetime.now(dt.timezone.utc)
        first_day, last_day = accepted_days(settings)
        still_waiting: dict[str, str] = {}
        run_requests: list[dg.RunRequest] = []
        skipped_young = 0
        for info in bucket.list(prefix):
            if info.key.count("/") != prefix.count("/"):
                continue  # only the inbox itself, not folders inside it
            if not _waiting(info, now, settings.upload_settle_seconds):
                skipped_young += not info.name.startswith(".")
                continue
            if requested.get(info.key) == info.version:
                still_waiting[info.key] = info.version
                continue
            if len(run_requests) >= settings.max_runs_per_sensor_tick:
                break  # the rest next tick; the cursor has not recorded them
            try:
                run_requests.append(_request_for(info, settings.expected_stores, first_day, last_day, ingest_job, refusal_job))
                still_waiting[info.key] = info.version
            except Exception as error:  # one odd file must not stop the others
                context.log.exception(f"could not route {info.key}: {error}")
        cursor = json.dumps(still_waiting, sort_keys=True)
        if not run_requests:
            young = f" ({skipped_young} still being written)" if skipped_young else ""
            return dg.SensorResult(skip_reason=f"no new files in {prefix}{young}", cursor=cursor)
        context.log.info(f"{len(run_requests)} new file(s) in {prefix}")
        return dg.SensorResult(run_requests=run_requests, cursor=cursor)

    return store_upload_sensor


def _request_for(info: ObjectInfo, expected_stores, first_day, last_day, ingest_job, refusal_job) -> dg.RunRequest:
    upload, _ = route_upload(info.name, expected_stores, first_day, last_day)
    run_key = f"{info.key}@{info.version}"
    tags = {UPLOAD_KEY_TAG: info.key}
    if upload is None:
        # The name gives the file no store-day (bad name, unknown store, day out of range).
        return dg.RunRequest(
            run_key=run_key,
            job_name=refusal_job.name,
            run_config={"ops": {"refuse_upload_file": {"config": {"upload_key": info.key}}}},
            tags=tags,
        )
    return dg.RunRequest(
        run_key=run_key,
        job_name=ingest_job.name,
        partition_key=store_day_key(upload.store_id, upload.business_date),
        run_config={"ops": {"store_sales": {"config": {"upload_key": info.key}}}},
        tags=tags,
    )
