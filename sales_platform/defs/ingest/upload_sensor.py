"""The inbox watcher: what a tick finds new in uploads/ is ingested together, in one run (or a
few, to use every run slot when there is a backlog), each store-day its own partition.

Accepted and refused files leave the inbox, so a tick lists only what is still waiting and its
cost does not grow with history. The cursor remembers which version of each waiting file was
requested and how often. A file still waiting after its run ended (the run failed: a table that
could not be written, a crash after Dagster's own retries) is requested again UPLOAD_RETRY_SECONDS
after that run ended, then after twice that, up to an hour, until it is processed or replaced.

A store-day's files always go together, all of those waiting, since only the newest of them is
the day's data; and never while a run still has one of them, so two runs never write one day.
A file is taken once it is whole: unchanged for the settle time (by its modification time, or,
when that is in the future, by the sensor's own looks) and open for writing nowhere it can see.

Why a sensor and not an automation condition: the inbox is outside Dagster (files in a bucket,
not materializations), and what to ask for depends on the files themselves (settled, held open,
retried, split into runs), which only code that looks at the bucket can tell.
"""

import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import WILL_RETRY_TAG

from sales_platform.defs.ingest.ingest_job import INGEST_JOB, INGEST_OP, ingest_store_uploads
from sales_platform.defs.loading import load_time_settings
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.services.upload_intake import dated_ahead, inbox_group

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


@dataclass(frozen=True)
class Sighting:
    """A file not yet whole, as first seen at this version."""

    version: str
    at: float


def _load(cursor: str | None) -> tuple[dict[str, Request], dict[str, Sighting]]:
    data = json.loads(cursor) if cursor else {}
    if "requested" not in data:  # written before uploads were batched: {key: version}
        data = {"requested": {key: {"v": version, "at": 0, "n": 1} for key, version in data.items()}}
    requested = {key: Request(entry["v"], entry["at"], entry["n"]) for key, entry in data["requested"].items()}
    settling = data.get("settling", {})
    if isinstance(settling, list):  # written before sightings were kept: keys only
        settling = {}
    return requested, {key: Sighting(entry["v"], entry["at"]) for key, entry in settling.items()}


def _dump(requested: dict[str, Request], settling: dict[str, Sighting]) -> str:
    entries = {key: {"v": r.version, "at": r.at, "n": r.attempts} for key, r in requested.items()}
    sightings = {key: {"v": s.version, "at": s.at} for key, s in settling.items()}
    return json.dumps({"requested": entries, "settling": sightings}, sort_keys=True)


def settling_files(cursor: str | None) -> list[str]:
    """The files the last tick saw still being written (a local copy in progress)."""
    return sorted(_load(cursor)[1])


def uploads_of(run: dg.DagsterRun) -> list[str]:
    """The upload keys an ingest run was asked to process."""
    ops = run.run_config.get("ops")
    if not isinstance(ops, dict):
        return []
    return list(ops.get(INGEST_OP, {}).get("config", {}).get("uploads", []))


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


def _settled(info: ObjectInfo, earlier: Sighting | None, now: dt.datetime, clock: float, settle_seconds: float) -> bool:
    """Unchanged for the settle time, so whole if it is local (a copy in progress keeps changing):
    by its modification time, or by the sensor's own looks when that time is in the future."""
    if (now - info.last_modified).total_seconds() >= settle_seconds:
        return True
    unchanged = earlier is not None and earlier.version == info.version
    return info.last_modified > now and unchanged and clock - earlier.at >= settle_seconds  # type: ignore[union-attr]


def _due_again(earlier: Request | None, info: ObjectInfo, clock: float, retry_seconds: float) -> bool:
    """New or written again since it was asked for, or asked for and still waiting (its run
    failed) long enough: the retry delay, doubled at each attempt, up to an hour."""
    if earlier is None or earlier.version != info.version:
        return True
    return clock - earlier.at >= min(retry_seconds * 2 ** (earlier.attempts - 1), _LONGEST_RETRY_WAIT)


def _sighting(info: ObjectInfo, earlier: Sighting | None, clock: float) -> Sighting:
    return earlier if earlier is not None and earlier.version == info.version else Sighting(info.version, clock)


def batches(
    files: list[ObjectInfo], parallel_runs: int, max_files: int, layout: StorageLayout | None = None
) -> list[list[ObjectInfo]]:
    """Split a tick's files into runs: as many as the run slots when the backlog is big enough
    to be worth it, none larger than `max_files`, a store-day never split, days in order."""
    layout = layout or StorageLayout()
    groups: dict[str, list[ObjectInfo]] = {}
    grouped = sorted(
        ((inbox_group(layout, info.key), info) for info in files), key=lambda pair: (pair[0], *pair[1].arrival)
    )
    for group_key, info in grouped:
        groups.setdefault(group_key, []).append(info)
    count = max(min(parallel_runs, len(files) // _FILES_WORTH_A_RUN), math.ceil(len(files) / max_files), 1)
    size = math.ceil(len(files) / count)
    runs: list[list[ObjectInfo]] = [[]]
    for day_files in groups.values():
        if runs[-1] and len(runs[-1]) + len(day_files) > size:
            runs.append([])
        runs[-1].extend(day_files)
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


@dataclass
class _Look:
    """One look at the inbox: the files by store-day, and those not whole yet."""

    groups: dict[str, list[ObjectInfo]]
    settling: dict[str, Sighting]


def _look(
    bucket: ObjectStore, platform: PlatformConfig, sightings: dict[str, Sighting], now: dt.datetime, clock: float
) -> _Look:
    layout = platform.storage_layout
    look = _Look({}, {})
    for info in bucket.list(platform.upload_prefix):
        if layout.hidden_in_inbox(info.key) or info.key.endswith("/"):
            continue  # editors' and rsync's temporary files, a script's before its rename
        seen = sightings.get(info.key)
        if not _settled(info, seen, now, clock, platform.upload_settle_seconds):
            look.settling[info.key] = _sighting(info, seen, clock)
        look.groups.setdefault(inbox_group(layout, info.key), []).append(info)
    return look


def _take(
    look: _Look,
    ready: Callable[[list[ObjectInfo]], bool],
    requested: dict[str, Request],
    in_flight: set[str],
    clock: float,
    most: int,
) -> tuple[list[ObjectInfo], dict[str, Request], int]:
    """The files to ask for now (whole store-days, up to `most` files), what the cursor keeps
    of the requests, and how many of the files are asked for again."""
    due: list[ObjectInfo] = []
    kept: dict[str, Request] = {}
    retried = 0
    for files in look.groups.values():
        if not ready(files) or (due and len(due) + len(files) > most):
            # Left for a later look; the wait before asking again for a file of a run that is
            # still going counts from when it ends, however long it runs.
            for info in files:
                earlier = requested.get(info.key)
                if earlier is not None and earlier.version == info.version:
                    kept[info.key] = (
                        Request(earlier.version, clock, earlier.attempts) if info.key in in_flight else earlier
                    )
            continue
        for info in files:
            earlier = requested.get(info.key)
            again = earlier is not None and earlier.version == info.version
            retried += int(again)
            kept[info.key] = Request(info.version, clock, earlier.attempts + 1 if earlier and again else 1)
            due.append(info)
    return due, kept, retried


def look_at_inbox(
    context: dg.SensorEvaluationContext, bucket: dg.ResourceParam[ObjectStore], platform: PlatformConfig
) -> dg.SensorResult:
    prefix = platform.upload_prefix
    requested, sightings = _load(context.cursor)
    now = dt.datetime.now(dt.UTC)
    clock = time.time()
    in_flight = _in_flight(context.instance)
    look = _look(bucket, platform, sightings, now, clock)
    settling = look.settling

    def ready(files: list[ObjectInfo]) -> bool:
        """Every file of the day whole, none in a run that is still going, one new or due again."""
        if any(info.key in settling or info.key in in_flight for info in files):
            return False
        return any(_due_again(requested.get(info.key), info, clock, platform.upload_retry_seconds) for info in files)

    # A writer that paused holds its file open; asked only of what would be taken now.
    candidates = [info for files in look.groups.values() if ready(files) for info in files]
    held = bucket.open_for_writing(info.key for info in candidates)
    for info in candidates:
        if info.key in held:
            settling[info.key] = _sighting(info, sightings.get(info.key), clock)

    due, kept, retried = _take(look, ready, requested, in_flight, clock, platform.max_files_per_sensor_tick)
    cursor = _dump(kept, settling)
    ahead = [info for info in due if dated_ahead(info, now) is not None]
    if ahead:
        context.log.warning(
            f"{len(ahead)} file(s) dated in the future, up to {max(dated_ahead(i, now) or 0 for i in ahead):.0f} s ahead "
            "of this machine's clock (a wrong clock where they were written, or here): taken once unchanged for "
            f"{platform.upload_settle_seconds:g} s by this sensor's own looks"
        )
    if not due:
        still = f" ({len(settling)} still being written)" if settling else ""
        return dg.SensorResult(skip_reason=f"no new files in {prefix}{still}", cursor=cursor)
    runs = [
        _run_request(files, kept)
        for files in batches(due, platform.max_concurrent_runs, platform.max_files_per_run, platform.storage_layout)
    ]
    asked_again = f", {retried} asked for again after a failed run" if retried else ""
    context.log.info(f"{len(due)} file(s) in {prefix}{asked_again}: {len(runs)} run(s)")
    return dg.SensorResult(run_requests=runs, cursor=cursor)


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_time_settings()
    sensor = dg.sensor(
        name=UPLOAD_SENSOR,
        job=ingest_store_uploads,
        minimum_interval_seconds=settings.ingest.upload_sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Ingests every new or overwritten file in {settings.storage.upload_prefix}, refused files included: what "
        "one look finds goes into one run (a few for a backlog). A file still waiting after its run failed is asked "
        f"for again after {settings.ingest.upload_retry_seconds} s, then ever more rarely.",
    )(look_at_inbox)
    return dg.Definitions(sensors=[sensor])
