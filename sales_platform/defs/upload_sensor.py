"""The inbox watcher: what a tick finds new in uploads/ is ingested together, in one run (or a
few, to use every run slot when there is a backlog), each store-day its own partition.

Accepted and refused files leave the inbox, so a tick lists only what is still waiting and its
cost does not grow with history. The cursor remembers which version of each waiting file was
requested and how often. A file still waiting after its run ended (the run failed: a table that
could not be written, a crash after Dagster's own retries) is requested again UPLOAD_RETRY_SECONDS
after that run ended, then after twice that, up to an hour, until it is processed or replaced.
"""


import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import WILL_RETRY_TAG

from sales_platform.defs.ingest_assets import INGEST_JOB, INGEST_OP
from sales_platform.domain.upload_contract import parse_upload_name
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.settings import Settings

UPLOAD_SENSOR = "store_upload_sensor"
UPLOADS_TAG = "sales_platform/uploads"
_LONGEST_RETRY_WAIT = 3600
# Below this many files per run a backlog is not worth another run's start-up.
_FILES_WORTH_A_RUN = 25
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class Request:
    version: str
    at: float
    attempts: int


def _load(cursor: str | None) -> tuple[dict[str, Request], list[str]]:
    data = json.loads(cursor) if cursor else {}
    if "requested" not in data:  # written before uploads were batched: {key: version}
        data = {"requested": {key: {"v": version, "at": 0, "n": 1} for key, version in data.items()}}
    requested = {key: Request(entry["v"], entry["at"], entry["n"]) for key, entry in data["requested"].items()}
    return requested, list(data.get("settling", []))


def _dump(requested: dict[str, Request], settling: list[str]) -> str:
    entries = {key: {"v": r.version, "at": r.at, "n": r.attempts} for key, r in requested.items()}
    return json.dumps({"requested": entries, "settling": settling}, sort_keys=True)


def settling_files(cursor: str | None) -> list[str]:
    """The files the last tick saw still being written (a local copy in progress)."""
    return _load(cursor)[1]


def uploads_of(run: dg.DagsterRun) -> list[str]:
    """The upload keys an ingest run was asked to process."""
    return list(run.run_config.get("ops", {}).get(INGEST_OP, {}).get("config", {}).get("uploads", []))


def _in_flight(instance: dg.DagsterInstance) -> set[str]:
    """Uploads of ingest runs not yet finished, or failed and about to be retried by Dagster."""
    runs = list(instance.get_runs(dg.RunsFilter(job_name=INGEST_JOB, statuses=IN_FLIGHT)))
    runs += [
        run
        for run in instance.get_runs(
            dg.RunsFilter(job_name=INGEST_JOB, statuses=[dg.DagsterRunStatus.FAILURE], tags={WILL_RETRY_TAG: "true"}),
            limit=50,
        )
        if not instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}), limit=1)
    ]
    return {key for run in runs for key in uploads_of(run)}


def _waiting(info: ObjectInfo, now: dt.datetime, settle_seconds: float) -> bool:
    """Old enough to be whole when the folder is local (a copy in progress keeps changing)."""
    return (now - info.last_modified).total_seconds() >= settle_seconds


def _store_day(info: ObjectInfo) -> str:
    """Files of one store-day go to the same run, in the order they arrived."""
    try:
        upload = parse_upload_name(info.name)
        return f"{upload.business_date}|{upload.store_id}"
    except ValueError:
        return f"~{info.name}"


def batches(files: list[ObjectInfo], parallel_runs: int, max_files: int) -> list[list[ObjectInfo]]:
    """Split a tick's files into runs: as many as the run slots when the backlog is big enough
    to be worth it, none larger than `max_files`, a store-day never split, days in order."""
    groups: dict[str, list[ObjectInfo]] = {}
    for info in sorted(files, key=lambda info: (_store_day(info), info.last_modified, info.key)):
        groups.setdefault(_store_day(info), []).append(info)
    count = max(min(parallel_runs, len(files) // _FILES_WORTH_A_RUN), math.ceil(len(files) / max_files), 1)
    size = math.ceil(len(files) / count)
    runs: list[list[ObjectInfo]] = [[]]
    for group in groups.values():
        if runs[-1] and len(runs[-1]) + len(group) > size:
            runs.append([])
        runs[-1].extend(group)
    return runs


def _run_request(files: Iterable[ObjectInfo], requested: dict[str, Request]) -> dg.RunRequest:
    keys = [info.key for info in files]
    # The same files asked for again (a retry) make a new run key: each attempt is its own run.
    identity = "\n".join(f"{key}@{requested[key].version}#{requested[key].attempts}" for key in keys)
    return dg.RunRequest(
        run_key=f"uploads:{hashlib.sha1(identity.encode()).hexdigest()[:20]}",
        job_name=INGEST_JOB,
        run_config={"ops": {INGEST_OP: {"config": {"uploads": keys}}}},
        tags={UPLOADS_TAG: str(len(keys))},
    )


def build_upload_sensor(settings: Settings, ingest_job: dg.JobDefinition) -> dg.SensorDefinition:
    prefix = settings.upload_prefix

    @dg.sensor(
        name=UPLOAD_SENSOR,
        job=ingest_job,
        minimum_interval_seconds=settings.upload_sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Ingests every new or overwritten file in {prefix}, refused files included: what one look "
        "finds goes into one run (a few for a backlog). A file still waiting after its run failed is asked for again "
        f"after {settings.upload_retry_seconds} s, then ever more rarely.",
    )
    def store_upload_sensor(context: dg.SensorEvaluationContext, bucket: dg.ResourceParam[ObjectStore]):
        requested, _ = _load(context.cursor)
        now = dt.datetime.now(dt.timezone.utc)
        clock = time.time()
        in_flight = _in_flight(context.instance)
        kept: dict[str, Request] = {}
        settling: list[str] = []
        due: list[ObjectInfo] = []
        retried = 0
        for info in bucket.list(prefix):
            if info.key.count("/") != prefix.count("/") or info.key.endswith("/") or info.name.startswith("."):
                continue  # only the inbox itself; editors' and rsync's hidden temporary files
            if not _waiting(info, now, settings.upload_settle_seconds):
                settling.append(info.key)
                continue
            earlier = requested.get(info.key)
            if earlier is not None and earlier.version == info.version:
                if info.key in in_flight:
                    # The wait before asking again counts from when its run ended, however long it ran.
                    kept[info.key] = Request(earlier.version, clock, earlier.attempts)
                    continue
                wait = min(settings.upload_retry_seconds * 2 ** (earlier.attempts - 1), _LONGEST_RETRY_WAIT)
                if clock - earlier.at < wait:
                    kept[info.key] = earlier
                    continue
                retried += 1
                attempts = earlier.attempts + 1
            else:
                attempts = 1
            if len(due) >= settings.max_files_per_sensor_tick:
                continue  # the rest next tick; the cursor has not recorded them
            kept[info.key] = Request(info.version, clock, attempts)
            due.append(info)
        cursor = _dump(kept, settling)
        if not due:
            still = f" ({len(settling)} still being written)" if settling else ""
            return dg.SensorResult(skip_reason=f"no new files in {prefix}{still}", cursor=cursor)
        runs = [_run_request(files, kept) for files in batches(due, settings.max_concurrent_runs, settings.max_files_per_run)]
        again = f", {retried} asked for again after a failed run" if retried else ""
        context.log.info(f"{len(due)} file(s) in {prefix}{again}: {len(runs)} run(s)")
        return dg.SensorResult(run_requests=runs, cursor=cursor)

    return store_upload_sensor
