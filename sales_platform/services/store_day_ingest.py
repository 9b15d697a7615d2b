"""One upload through the store-day pipeline: validated, kept as Parquet, its store metrics
and tracking item written, and only then out of the inbox.

The order is what makes a crash harmless. Until the original leaves `uploads/`, nothing is
lost: a rerun (Dagster's run retry, the sensor's next request, a re-execution) does the same
writes again to the same keys. The caller records the day's events between `ingest_upload`
(or `supersede_upload`) and `finish_upload`, so an upload never leaves the inbox unrecorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.store_metrics import StoreDayMetrics, compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item, upload_tracking_item
from sales_platform.domain.upload_contract import Problem, Refusal, UploadName, route_upload
from sales_platform.domain.upload_validation import UploadRefused, ValidationRules, validate_upload
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectInfo, ObjectIsLink, ObjectStore
from sales_platform.services.upload_intake import archive, leave_inbox, refuse, write_processed


class IngestRules(Protocol):
    """What deciding on an upload takes from the configuration: the `PlatformConfig` resource
    the assets get."""

    @property
    def storage_layout(self) -> StorageLayout: ...
    @property
    def partitions_start_date(self) -> dt.date: ...
    @property
    def timezone(self) -> ZoneInfo: ...
    @property
    def expected_stores(self) -> list[str]: ...
    @property
    def max_upload_bytes(self) -> int: ...
    @property
    def validation_rules(self) -> ValidationRules: ...


@dataclass(frozen=True)
class Accepted:
    info: ObjectInfo
    upload: UploadName
    processed_key: str
    rows: int
    bytes: int
    metrics: StoreDayMetrics
    duplicate_lines: int  # validation refuses a file with repeated lines: 0 once accepted


@dataclass(frozen=True)
class Refused:
    info: ObjectInfo
    upload: UploadName | None  # None: the name gives it no store-day
    refusal: Refusal
    rejected_key: str
    report_key: str


@dataclass(frozen=True)
class Superseded:
    """Never read: a newer file for the same store-day was accepted instead."""

    info: ObjectInfo
    upload: UploadName
    by: Accepted
    refusal: Refusal  # the one reason, as its report gives it
    rejected_key: str
    report_key: str


@dataclass(frozen=True)
class StillWritten:
    """The file changed while it was read: it stays in the inbox, and the sensor asks for it
    again once it has settled."""

    info: ObjectInfo


def _link_problem(layout_prefix: str) -> Problem:
    return Problem(
        "this is a symbolic link, which the platform never follows (it may point anywhere on the machine); "
        f"put the file itself in {layout_prefix}",
        field="file name",
    )


def ingest_upload(
    bucket: ObjectStore, table: MetricsTable, settings: IngestRules, info: ObjectInfo, now: dt.datetime
) -> Accepted | Refused | StillWritten:
    """Validate the upload and write everything it feeds; refused files are copied to rejected/.
    Storage errors propagate: the upload then stays where it is, for the next attempt."""
    layout = settings.storage_layout
    if info.is_link:
        return _refused(bucket, settings, info, None, Refusal([_link_problem(layout.upload_prefix)], 1), now)
    if layout.in_inbox_subfolder(info.key):
        folder = info.key[: -len(info.name)]
        problem = Problem(
            f"uploads go at the top of the inbox, as {layout.upload_key(info.name)}; this file is in the folder {folder}, "
            "which is never read",
            field="file name",
        )
        return _refused(bucket, settings, info, None, Refusal([problem], 1), now)
    first_day, last_day = settings.partitions_start_date, now.astimezone(settings.timezone).date()
    upload, problems = route_upload(info.name, settings.expected_stores, first_day, last_day)
    if upload is None:
        refusal = Refusal(problems or [Problem("the file has no place in the platform")], len(problems) or 1)
        return _refused(bucket, settings, info, None, refusal, now)
    try:
        if info.size > settings.max_upload_bytes:
            problem = Problem(f"the file has {info.size:,} bytes, over the {settings.max_upload_bytes:,}-byte limit")
            raise UploadRefused(Refusal([problem], 1))
        with bucket.local_copy(info.key) as path:
            line_items = validate_upload(path, upload, settings.validation_rules)
    except ObjectIsLink:  # swapped for a link since it was listed
        link = bucket.head(info.key)
        if link is None or not link.is_link:
            raise
        return _refused(bucket, settings, link, None, Refusal([_link_problem(layout.upload_prefix)], 1), now)
    except UploadRefused as refused:
        if info.key.startswith(layout.archive_prefix):
            raise RuntimeError(
                f"the archived original {info.key} no longer passes validation: {refused.refusal.summary}"
            ) from None
        if _changed(bucket, info):
            return StillWritten(info)
        return _refused(bucket, settings, info, upload, refused.refusal, now)
    if _changed(bucket, info):
        return StillWritten(info)
    processed_key, size = write_processed(bucket, layout, info, upload, line_items)
    metrics = compute_store_metrics(line_items)
    table.put_items(
        [
            store_day_summary_item(
                upload.store_id,
                upload.business_date,
                metrics,
                source_file=info.name,
                processed_key=processed_key,
                processed_at=now,
            ),
            upload_tracking_item(
                upload.store_id,
                upload.business_date,
                source_file=info.name,
                source_version=info.version,
                rows=metrics.line_item_count,
                processed_at=now,
            ),
        ]
    )
    return Accepted(info, upload, processed_key, line_items.num_rows, size, metrics, duplicate_lines=0)


def _changed(bucket: ObjectStore, info: ObjectInfo) -> bool:
    """Written to while it was read, or open for writing still (a local writer that had paused):
    what was read may be half of it."""
    current = bucket.head(info.key)
    return current is None or current.version != info.version or bool(bucket.open_for_writing([info.key]))


def supersede_upload(
    bucket: ObjectStore, settings: IngestRules, info: ObjectInfo, by: Accepted, now: dt.datetime
) -> Superseded:
    """An older file of a store-day whose newer file was accepted: to rejected/, unread, with a
    report naming the file that replaced it."""
    problem = Problem(
        f"{by.info.name}, a newer file for the same store and day, was used instead, and none of this file's lines: "
        "a store-day is one file, the newest (send all of a day's lines in one file)",
        field="file name",
    )
    refusal = Refusal([problem], 1)
    rejected_key, report_key = refuse(
        bucket, settings.storage_layout, info, refusal, by.upload, now, superseded_by=by.processed_key
    )
    return Superseded(info, by.upload, by, refusal, rejected_key, report_key)


def finish_upload(bucket: ObjectStore, settings: IngestRules, outcome: Accepted | Refused | Superseded) -> str | None:
    """The upload leaves the inbox, once its day is written (or its refusal is) and recorded: an
    accepted original to archive/ (returns where it is kept), a refused one is removed from the
    inbox, its copy being in rejected/."""
    if isinstance(outcome, Accepted):
        return archive(bucket, settings.storage_layout, outcome.info, outcome.upload, outcome.processed_key)
    leave_inbox(bucket, settings.storage_layout, outcome.info)
    return None


def _refused(
    bucket: ObjectStore,
    settings: IngestRules,
    info: ObjectInfo,
    upload: UploadName | None,
    refusal: Refusal,
    now: dt.datetime,
) -> Refused:
    rejected_key, report_key = refuse(bucket, settings.storage_layout, info, refusal, upload, now)
    return Refused(info, upload, refusal, rejected_key, report_key)
