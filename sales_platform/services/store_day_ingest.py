"""One upload through the store-day pipeline: validated, kept as Parquet, its store metrics
and tracking item written, and only then out of the inbox.

The order is what makes a crash harmless. Until the original leaves `uploads/`, nothing is
lost: a rerun (Dagster's run retry, the sensor's next request, a re-execution) does the same
writes again to the same keys. The caller records the day's materializations between
`ingest_upload` and `finish_upload`, so an upload never leaves the inbox unrecorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sales_platform.domain.store_metrics import StoreDayMetrics, compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item, upload_tracking_item
from sales_platform.domain.upload_contract import Problem, Refusal, UploadName, route_upload
from sales_platform.domain.upload_validation import UploadRefused, validate_upload
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectInfo, ObjectStore
from sales_platform.services.upload_intake import archive, refuse, write_processed
from sales_platform.settings import Settings


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


def ingest_upload(
    bucket: ObjectStore, table: MetricsTable, settings: Settings, info: ObjectInfo, now: dt.datetime
) -> Accepted | Refused:
    """Validate the upload and write everything it feeds; refused files go to rejected/.
    Storage errors propagate: the upload then stays where it is, for the next attempt."""
    layout = settings.storage_layout
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
    except UploadRefused as refused:
        if info.key.startswith(layout.archive_prefix):
            raise RuntimeError(
                f"the archived original {info.key} no longer passes validation: {refused.refusal.summary}"
            ) from None
        return _refused(bucket, settings, info, upload, refused.refusal, now)
    processed_key, size = write_processed(bucket, layout, info, upload, line_items)
    metrics = compute_store_metrics(line_items)
    table.put_items(
        [
            store_day_summary_item(
                upload.store_id, upload.business_date, metrics,
                source_file=info.name, processed_key=processed_key, processed_at=now,
            ),
            upload_tracking_item(
                upload.store_id, upload.business_date,
                source_file=info.name, source_version=info.version, rows=metrics.line_item_count, processed_at=now,
            ),
        ]
    )
    return Accepted(info, upload, processed_key, line_items.num_rows, size, metrics, duplicate_lines=0)


def finish_upload(bucket: ObjectStore, settings: Settings, accepted: Accepted) -> str:
    """Move an accepted original out of the inbox, once its day is written and recorded; returns
    where it is kept."""
    return archive(bucket, settings.storage_layout, accepted.info, accepted.processed_key)


def _refused(
    bucket: ObjectStore, settings: Settings, info: ObjectInfo, upload: UploadName | None, refusal: Refusal, now: dt.datetime
) -> Refused:
    rejected_key, report_key = refuse(bucket, settings.storage_layout, info, refusal, upload, now)
    return Refused(info, upload, refusal, rejected_key, report_key)
