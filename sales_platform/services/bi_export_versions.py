"""The BI export under QUICKSIGHT_PREFIX, replaced as a whole set.

A QuickSight refresh (or any reader) starts from a manifest and then fetches the files it
names, possibly minutes later. Overwriting files in place would let a refresh mix yesterday's
store summaries with today's anomalies, or read a file halfway through its replacement, and a
rerun that appended would double the numbers. So every export is written to a new versioned
folder, and only when all of its files are there:

1. the dataset manifests (`<dataset>.manifest.json`, the S3 manifest format QuickSight reads)
   are switched to the new folder, then `current.json` (which version is current, for every
   other reader);
2. folders older than the one just replaced are deleted. The one just replaced is kept until
   the next export, because a refresh that read its manifest a moment ago may still be
   fetching its files; two exports later nobody can be.

Each object write is atomic on S3 and in the local folder store, so a reader always finds a
whole manifest pointing at whole files. An export that finds a newer one already current (two
runs racing) withdraws its own folder instead of switching back to older data.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sales_platform.domain import bi_datasets
from sales_platform.domain.utc_time import compact_utc_stamp, utc_timestamp
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectNotFound, ObjectStore
from sales_platform.services import day_items


class ExportPlace(Protocol):
    """Where and how far back the export goes: the `PlatformConfig` resource the asset gets."""

    @property
    def quicksight_prefix(self) -> str: ...
    @property
    def bi_export_days(self) -> int: ...
    @property
    def resolved_storage_backend(self) -> str: ...
    @property
    def s3_bucket(self) -> str | None: ...
    @property
    def bucket_path(self) -> Path: ...
    def today(self) -> dt.date: ...


CURRENT = "current.json"
VERSIONS = "exports/"


@dataclass(frozen=True)
class ExportResult:
    version: str
    first_day: dt.date
    last_day: dt.date
    rows: dict[str, int]
    manifests: list[str]
    deleted_versions: list[str]
    superseded: bool = False  # a newer export was already current; this one withdrew


def export_window(settings: ExportPlace, day: dt.date) -> tuple[dt.date, dt.date]:
    """The last BI_EXPORT_DAYS days up to today where the stores are (or up to `day` if that is
    later). Re-running an older day refreshes its figures inside the window instead of
    turning the whole export back to that day."""
    last = max(day, settings.today())
    return last - dt.timedelta(days=settings.bi_export_days - 1), last


def collect_rows(table: MetricsTable, first: dt.date, last: dt.date) -> dict[str, list[dict[str, Any]]]:
    collected: dict[str, list[dict[str, Any]]] = {dataset.name: [] for dataset in bi_datasets.DATASETS}
    for day in day_items.days_ending(last, (last - first).days + 1):
        stores = sorted(day_items.store_summaries(table, day), key=lambda item: item["store_id"])
        products = sorted(day_items.product_days(table, day), key=lambda item: (item.get("rank", 10**9), item["sku"]))
        insights = sorted(day_items.insights(table, day), key=lambda item: item["SK"])
        collected["store_summaries"] += bi_datasets.rows(bi_datasets.STORE_SUMMARIES, stores)
        collected["top_products"] += bi_datasets.rows(
            bi_datasets.TOP_PRODUCTS, [p for p in products if p.get("rank", 10**9) <= bi_datasets.TOP_PRODUCTS_PER_DAY]
        )
        for dataset, kind in (
            (bi_datasets.ANOMALIES, "anomaly"),
            (bi_datasets.TRENDS, "trend"),
            (bi_datasets.RECOMMENDATIONS, "recommendation"),
        ):
            collected[dataset.name] += bi_datasets.rows(dataset, [i for i in insights if i.get("insight_type") == kind])
    return collected


def _uri(settings: ExportPlace, key: str) -> str:
    if settings.resolved_storage_backend == "s3":
        return f"s3://{settings.s3_bucket}/{key}"
    return (settings.bucket_path / key).as_uri()


def _version_folders(bucket: ObjectStore, prefix: str) -> list[str]:
    folders = {
        info.key[len(prefix) :].split("/", 1)[0] for info in bucket.list(prefix) if "/" in info.key[len(prefix) :]
    }
    return sorted(folders)


def _delete_version(bucket: ObjectStore, prefix: str, version: str) -> None:
    for info in list(bucket.list(f"{prefix}{version}/")):
        bucket.delete(info.key)


def current_export(bucket: ObjectStore, settings: ExportPlace) -> dict[str, Any] | None:
    try:
        return json.loads(bucket.read_bytes(settings.quicksight_prefix + CURRENT))
    except ObjectNotFound:
        return None


def write_export(
    bucket: ObjectStore, table: MetricsTable, settings: ExportPlace, day: dt.date, now: dt.datetime | None = None
) -> ExportResult:
    moment = now or dt.datetime.now(dt.UTC)
    first, last = export_window(settings, day)
    collected = collect_rows(table, first, last)
    prefix = settings.quicksight_prefix
    versions_prefix = prefix + VERSIONS
    version = "v" + compact_utc_stamp(moment)
    folder = f"{versions_prefix}{version}/"

    files: dict[str, dict[str, Any]] = {}
    for dataset in bi_datasets.DATASETS:
        rows = collected[dataset.name]
        ndjson_key, parquet_key = f"{folder}{dataset.name}.ndjson", f"{folder}{dataset.name}.parquet"
        bucket.write_bytes(ndjson_key, bi_datasets.ndjson(rows), content_type="application/x-ndjson")
        bucket.write_bytes(
            parquet_key, bi_datasets.parquet(dataset, rows), content_type="application/vnd.apache.parquet"
        )
        files[dataset.name] = {"rows": len(rows), "ndjson": ndjson_key, "parquet": parquet_key}

    current = current_export(bucket, settings)
    if current is not None and current["version"] > version:
        _delete_version(bucket, versions_prefix, version)
        return ExportResult(version, first, last, {n: f["rows"] for n, f in files.items()}, [], [], superseded=True)

    manifests = []
    for name, entry in files.items():
        key = f"{prefix}{name}.manifest.json"
        manifest = bi_datasets.quicksight_manifest([_uri(settings, entry["ndjson"])])
        bucket.write_bytes(key, json.dumps(manifest, indent=2).encode() + b"\n", content_type="application/json")
        manifests.append(key)
    pointer = {
        "version": version,
        "exported_at": utc_timestamp(moment),
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "datasets": files,
    }
    bucket.write_bytes(
        prefix + CURRENT, json.dumps(pointer, indent=2).encode() + b"\n", content_type="application/json"
    )

    previous = current["version"] if current is not None else None
    deleted = []
    for old in _version_folders(bucket, versions_prefix):
        if old < version and old != previous:
            _delete_version(bucket, versions_prefix, old)
            deleted.append(old)
    return ExportResult(version, first, last, {n: f["rows"] for n, f in files.items()}, manifests, deleted)
