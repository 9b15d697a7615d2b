"""What happens to an upload's bytes: found, refused or kept, and never lost.

Every step writes its result before it removes its input, so a run stopped at any point leaves
the upload in the inbox (or already archived) and a rerun finishes the job with the same result.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sales_platform.domain.refusal_report import refusal_document, render_refusal
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.upload_contract import Refusal, UploadName
from sales_platform.resources.object_store import ObjectInfo, ObjectStore

UPLOAD_EXTENSIONS = ("json", "jsonl", "ndjson", "csv")
# Recorded in every Parquet file so a processed file says where it came from.
SOURCE_FILE_KEY = b"sales_platform.source_file"
SOURCE_VERSION_KEY = b"sales_platform.source_version"


def find_upload(
    bucket: ObjectStore, layout: StorageLayout, store_id: str, day: dt.date, preferred_key: str | None = None
) -> ObjectInfo | None:
    """The file to process for a store-day: the one named, else the newest in the inbox, else the
    archived original (re-processing a day that was already accepted)."""
    if preferred_key:
        info = bucket.head(preferred_key)
        if info is not None:
            return info
        # Already handled by an earlier run of the same request: its original is archived.
        archived = bucket.head(layout.archive_key(layout.file_name(preferred_key)))
        if archived is not None:
            return archived
    stem = f"store_{store_id}_{day.isoformat()}."
    for prefix in (layout.upload_prefix, layout.archive_prefix):
        candidates = [
            info
            for info in bucket.list(prefix + stem)
            if info.key.count("/") == prefix.count("/") and info.name.rsplit(".", 1)[-1] in UPLOAD_EXTENSIONS
        ]
        if candidates:
            return max(candidates, key=lambda info: (info.last_modified, info.key))
    return None


def refuse(
    bucket: ObjectStore,
    layout: StorageLayout,
    info: ObjectInfo,
    refusal: Refusal,
    upload: UploadName | None,
    now: dt.datetime,
) -> tuple[str, str]:
    """Move a refused upload to rejected/ with its reasons beside it; returns both keys."""
    rejected_key = layout.rejected_key(info.name)
    report_key = layout.rejection_report_key(info.name)
    document = refusal_document(
        file_name=info.name,
        original_key=info.key,
        rejected_key=rejected_key,
        refused_at=now,
        refusal=refusal,
        upload=upload,
    )
    # The reason first: a listing that sees the refused file then always sees why.
    bucket.write_bytes(report_key, render_refusal(document), content_type="application/json")
    bucket.copy(info.key, rejected_key)
    bucket.delete(info.key)
    return rejected_key, report_key


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


def archive(bucket: ObjectStore, layout: StorageLayout, info: ObjectInfo, processed_key: str) -> str:
    """Move an accepted original from the inbox to archive/ (a no-op for one read from there)."""
    archived_key = layout.archive_key(info.name)
    if info.key != archived_key:
        bucket.move(info.key, archived_key)
    _mark_earlier_refusal_superseded(bucket, layout, info.name, processed_key)
    return archived_key


def _mark_earlier_refusal_superseded(bucket: ObjectStore, layout: StorageLayout, file_name: str, processed_key: str) -> None:
    """A corrected re-upload was accepted: the refused version stays (nothing is thrown away),
    but its report now says it no longer stands, so the day does not look refused."""
    report_key = layout.rejection_report_key(file_name)
    if bucket.head(report_key) is None:
        return
    document = json.loads(bucket.read_bytes(report_key))
    if document.get("status") == "superseded":
        return
    document["status"] = "superseded"
    document["superseded_at"] = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    document["superseded_by"] = processed_key
    bucket.write_bytes(report_key, render_refusal(document), content_type="application/json")


def read_line_items(bucket: ObjectStore, key: str) -> tuple[pa.Table, dict[bytes, bytes]]:
    """A processed store-day and the metadata saying which upload it came from."""
    with bucket.local_copy(key) as path:
        table = pq.read_table(path)
    return table, dict(table.schema.metadata or {})
