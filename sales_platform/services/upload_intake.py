"""What happens to an upload's bytes: found, refused or kept, and never lost.

Every step writes its result before it removes its input, so a run stopped at any point leaves
the upload in the inbox (or already archived) and a rerun finishes the job with the same result.
Nothing is overwritten either: a second refusal of a name, or a second accepted original of a
store-day, first moves the one before it to a kept-version name beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sales_platform.domain.bucket_files import REPORT_SUFFIX
from sales_platform.domain.refusal_report import refusal_document, render_refusal
from sales_platform.domain.storage_layout import StorageLayout, kept_version_name, original_name
from sales_platform.domain.upload_contract import Refusal, UploadName, UploadNameError, parse_upload_name
from sales_platform.domain.utc_time import utc_timestamp
from sales_platform.resources.object_store import ObjectInfo, ObjectNotFound, ObjectStore

UPLOAD_EXTENSIONS = ("json", "jsonl", "ndjson", "csv")
# Recorded in every Parquet file so a processed file says where it came from.
SOURCE_FILE_KEY = b"sales_platform.source_file"
SOURCE_VERSION_KEY = b"sales_platform.source_version"
# A modification time this far ahead of the platform's clock is a wrong clock, not clock skew.
FUTURE_TOLERANCE_SECONDS = 60.0


def inbox_group(layout: StorageLayout, key: str) -> str:
    """Files of one store-day at the top of the inbox belong together (one is the day's data, the
    newest); anything else stands alone."""
    if not layout.in_inbox_subfolder(key):
        try:
            upload = parse_upload_name(layout.file_name(key))
            return f"{upload.business_date}|{upload.store_id}"
        except UploadNameError:
            pass
    return f"~{key}"


def dated_ahead(info: ObjectInfo, now: dt.datetime) -> float | None:
    """How far the file's modification time is ahead of `now`, when that is a wrong clock."""
    ahead = (info.last_modified - now).total_seconds()
    return ahead if ahead > FUTURE_TOLERANCE_SECONDS else None


def _store_day_names(bucket: ObjectStore, prefix: str, store_id: str, day: dt.date) -> list[ObjectInfo]:
    """The store-day's files directly under `prefix` by their own names (kept versions aside)."""
    stem = f"store_{store_id}_{day.isoformat()}."
    return [
        info
        for info in bucket.list(prefix + stem)
        if info.key.count("/") == prefix.count("/") and info.name[len(stem) :] in UPLOAD_EXTENSIONS
    ]


def find_uploads(bucket: ObjectStore, layout: StorageLayout, store_id: str, day: dt.date) -> list[ObjectInfo]:
    """The files to process for a store-day: those waiting in the inbox, else its latest accepted
    original (re-processing a day that was already accepted), or none."""
    waiting = _store_day_names(bucket, layout.upload_prefix, store_id, day)
    if waiting:
        return waiting
    archived = [info for info in _store_day_names(bucket, layout.archive_prefix, store_id, day) if not info.is_link]
    # One per day once its archiving finished; the newest should a run have stopped half-way.
    return [max(archived, key=lambda info: info.arrival)] if archived else []


# --------------------------------------------------------------------------- refused


def refuse(
    bucket: ObjectStore,
    layout: StorageLayout,
    info: ObjectInfo,
    refusal: Refusal,
    upload: UploadName | None,
    now: dt.datetime,
    superseded_by: str | None = None,
) -> tuple[str, str]:
    """Put a refused upload in rejected/ with its reasons beside it; returns both keys. Its
    original stays in the inbox until `leave_inbox` (a link is moved itself: it cannot be copied).

    `superseded_by` (the day's processed data) marks a file that was never read because a newer
    file for the same store-day was accepted instead."""
    rejected_key = layout.rejected_key(info.name)
    report_key = layout.rejection_report_key(info.name)
    _keep_earlier_refusal(bucket, layout, info)
    document = refusal_document(
        file_name=info.name,
        original_key=info.key,
        original_version=info.version,
        original_modified=info.last_modified,
        rejected_key=rejected_key,
        refused_at=now,
        refusal=refusal,
        upload=upload,
    )
    if superseded_by is not None:
        _mark_superseded(document, superseded_by, now)
    # The reason first: a listing that sees the refused file then always sees why.
    bucket.write_bytes(report_key, render_refusal(document), content_type="application/json")
    if info.is_link:
        bucket.move_link(info.key, rejected_key)
    else:
        bucket.copy(info.key, rejected_key)
    return rejected_key, report_key


def leave_inbox(bucket: ObjectStore, layout: StorageLayout, info: ObjectInfo) -> None:
    """A refused upload's original leaves the inbox, once its copy and its reasons are written
    (a link was moved into rejected/ itself; nothing outside the inbox is ever removed)."""
    if not info.is_link and info.key.startswith(layout.upload_prefix):
        bucket.delete(info.key)


def _keep_earlier_refusal(bucket: ObjectStore, layout: StorageLayout, info: ObjectInfo) -> None:
    """An earlier refusal of the same name moves, report first, to a kept-version name, so the new
    one overwrites nothing. The same upload refused again (a rerun) replaces its own refusal."""
    rejected_key = layout.rejected_key(info.name)
    earlier = bucket.head(rejected_key)
    if earlier is None:
        return
    report_key = layout.rejection_report_key(info.name)
    try:
        document = json.loads(bucket.read_bytes(report_key))
    except (ObjectNotFound, ValueError):
        document = None
    if isinstance(document, dict) and (document.get("original_key"), document.get("original_version")) == (
        info.key,
        info.version,
    ):
        return
    kept_key = _unused(bucket, layout.rejected_key, info.name, earlier.last_modified)
    if isinstance(document, dict):
        document["rejected_key"] = kept_key
        bucket.write_bytes(kept_key + REPORT_SUFFIX, render_refusal(document), content_type="application/json")
    elif bucket.head(report_key) is not None:
        bucket.copy(report_key, kept_key + REPORT_SUFFIX)
    if earlier.is_link:
        bucket.move_link(rejected_key, kept_key)
    else:
        bucket.move(rejected_key, kept_key)


def _mark_superseded(document: dict[str, object], processed_key: str, now: dt.datetime) -> None:
    document["status"] = "superseded"
    document["superseded_at"] = utc_timestamp(now, precise=True)
    document["superseded_by"] = processed_key


def _modified(document: dict[str, object]) -> dt.datetime:
    """When the refused file was last modified (reports written before this was recorded: long ago)."""
    try:
        modified = dt.datetime.fromisoformat(str(document["original_modified_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        modified = dt.datetime.min
    return modified if modified.tzinfo else modified.replace(tzinfo=dt.UTC)


def _mark_refusals_superseded(
    bucket: ObjectStore, layout: StorageLayout, accepted: ObjectInfo, upload: UploadName, processed_key: str
) -> None:
    """A file for the store-day was accepted: its refusals (every version, every format) stay, but
    the reports of those older than it now say they no longer stand, so the day does not look
    refused. A newer file that was refused still stands: the store has something to fix."""
    prefix = layout.rejected_prefix
    listed = {info.key for info in bucket.list(f"{prefix}store_{upload.store_id}_{upload.business_date.isoformat()}.")}
    for report_key in sorted(listed):
        refused_key = report_key.removesuffix(REPORT_SUFFIX)
        if report_key == refused_key or refused_key not in listed or "/" in refused_key[len(prefix) :]:
            continue
        try:
            same_day = parse_upload_name(original_name(layout.file_name(refused_key)))
        except UploadNameError:
            continue
        if (same_day.store_id, same_day.business_date) != (upload.store_id, upload.business_date):
            continue
        try:
            document = json.loads(bucket.read_bytes(report_key))
        except (ObjectNotFound, ValueError):
            continue
        if not isinstance(document, dict) or document.get("status", "rejected") != "rejected":
            continue
        if _modified(document) > accepted.last_modified:
            continue
        _mark_superseded(document, processed_key, dt.datetime.now(dt.UTC))
        bucket.write_bytes(report_key, render_refusal(document), content_type="application/json")


# --------------------------------------------------------------------------- accepted


def write_processed(
    bucket: ObjectStore, layout: StorageLayout, info: ObjectInfo, upload: UploadName, line_items: pa.Table
) -> tuple[str, int]:
    """The validated line items as the store-day's Parquet file, saying which upload and version
    they came from; returns its key and size."""
    processed_key = layout.processed_key(upload.business_date, upload.store_id)
    metadata = dict(line_items.schema.metadata or {})
    metadata[SOURCE_FILE_KEY] = info.name.encode()
    metadata[SOURCE_VERSION_KEY] = info.version.encode()
    with tempfile.TemporaryDirectory(prefix="sales-platform-") as folder:
        path = Path(folder) / "data.parquet"
        pq.write_table(line_items.replace_schema_metadata(metadata), path, compression="zstd")
        written = bucket.write_file(processed_key, path, content_type="application/vnd.apache.parquet")
    return processed_key, written.size


def archive(
    bucket: ObjectStore, layout: StorageLayout, info: ObjectInfo, upload: UploadName, processed_key: str
) -> str:
    """Move an accepted original from the inbox to archive/ (a no-op for one read from there),
    where it becomes the day's one latest original: the ones it replaces, of the same name or of
    another format, move to kept-version names beside it. Returns where it is kept."""
    archived_key = layout.archive_key(info.name)
    # The earlier ones first: should a run stop in between, the new original is still in the
    # inbox, and the day never has two latest originals.
    for earlier in _store_day_names(bucket, layout.archive_prefix, upload.store_id, upload.business_date):
        if earlier.key != info.key:
            _keep_earlier_original(bucket, layout, earlier.key)
    if info.key != archived_key:
        bucket.move(info.key, archived_key)
    _mark_refusals_superseded(bucket, layout, info, upload, processed_key)
    return archived_key


def _keep_earlier_original(bucket: ObjectStore, layout: StorageLayout, key: str) -> None:
    earlier = bucket.head(key)
    if earlier is not None and not earlier.is_link:
        bucket.move(key, _unused(bucket, layout.archive_key, earlier.name, earlier.last_modified))


def _unused(bucket: ObjectStore, key_of: Callable[[str], str], name: str, stored_at: dt.datetime) -> str:
    """The key to keep an earlier version under: named for when it was stored, a microsecond
    later should another version of the name carry the same time (whole seconds on S3)."""
    while True:
        key = key_of(kept_version_name(name, stored_at))
        if bucket.head(key) is None:
            return key
        stored_at += dt.timedelta(microseconds=1)
