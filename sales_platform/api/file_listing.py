"""`GET /files`: the processed and refused files, from one paginated listing per prefix.

A refused file's error summary lives in its `.error.json` beside it, which a listing does not
show. One listing of rejected/ pairs each file with its report; reports are then read in a
bounded thread pool and remembered by (key, version), so a dashboard that polls the list reads
each report once, and again only when it changes (a corrected re-upload marks it superseded).
A refusal is listed once both its file and its report are there, never half-written with no
reason.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from sales_platform.domain.bucket_files import download_name, pair_rejected, processed_partitions, refusal_summary
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.utc_time import utc_timestamp
from sales_platform.resources.object_store import ObjectInfo, ObjectNotFound, ObjectStore

FileStatus = Literal["all", "processed", "rejected", "pending"]
REPORT_READ_THREADS = 16
MAX_REMEMBERED_REPORTS = 100_000
logger = logging.getLogger(__name__)


class FileLister:
    def __init__(self, bucket: ObjectStore, layout: StorageLayout) -> None:
        self.bucket = bucket
        self.layout = layout
        self._pool = ThreadPoolExecutor(max_workers=REPORT_READ_THREADS, thread_name_prefix="report-read")
        self._summaries: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.reports_read = 0  # how many report documents were fetched: for tests and benchmarks

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def list_files(self, status: FileStatus) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = []
        if status in ("all", "processed"):
            files += self._processed()
        if status in ("all", "rejected"):
            files += self._rejected()
        if status == "pending":
            files += self._pending()
        files.sort(key=lambda entry: (entry["last_modified"], entry["key"]), reverse=True)
        return files

    def _entry(self, info: ObjectInfo, status: str, name: str | None = None) -> dict[str, Any]:
        return {
            "key": info.key,
            "name": name or info.name,
            "size": info.size,
            "last_modified": utc_timestamp(info.last_modified),
            "status": status,
            "partitions": None,
            "error": None,
        }

    def _processed(self) -> list[dict[str, Any]]:
        prefix = self.layout.processed_prefix
        entries = []
        for info in self.bucket.list(prefix):
            partitions = processed_partitions(info.key, prefix)
            if partitions is None:  # not a store-day file (e.g. a stray upload by hand)
                continue
            entry = self._entry(info, "processed", download_name(info.key, prefix))
            entry["partitions"] = partitions
            entries.append(entry)
        return entries

    def _pending(self) -> list[dict[str, Any]]:
        """What the upload sensor will take: hidden files (another program's, before their rename)
        are never taken, and a file in a subfolder waits only to be refused."""
        return [
            self._entry(info, "pending")
            for info in self.bucket.list(self.layout.upload_prefix)
            if not self.layout.hidden_in_inbox(info.key)
        ]

    def _rejected(self) -> list[dict[str, Any]]:
        listed = {info.key: info for info in self.bucket.list(self.layout.rejected_prefix)}
        pairs = pair_rejected(listed)
        wanted = [listed[report] for _, report in pairs if report is not None]
        summaries = self._report_summaries(wanted)
        entries = []
        for key, report in pairs:
            summary = summaries.get(report) if report else None
            if summary is None:
                # Being refused right now (the report is written first, then the file copied),
                # or a report whose file is not there yet, which pairs with nothing.
                continue
            entry = self._entry(listed[key], "rejected")
            entry.update(summary)
            entries.append(entry)
        return entries

    def _report_summaries(self, reports: list[ObjectInfo]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        missing = []
        with self._lock:
            for info in reports:
                summary = self._summaries.get((info.key, info.version))
                if summary is None:
                    missing.append(info)
                else:
                    found[info.key] = summary
        for info, summary in zip(missing, self._pool.map(self._read_summary, missing)):
            if summary is not None:
                found[info.key] = summary
        return found

    def _read_summary(self, info: ObjectInfo) -> dict[str, Any] | None:
        try:
            document = json.loads(self.bucket.read_bytes(info.key))
        except ObjectNotFound:
            return None  # removed since the listing
        except ValueError:
            logger.warning("refusal report %s is not valid JSON", info.key)
            document = {"summary": "refused (the error report cannot be read)"}
        summary = refusal_summary(document if isinstance(document, dict) else {}, info.key)
        with self._lock:
            self.reports_read += 1
            self._summaries[(info.key, info.version)] = summary
            while len(self._summaries) > MAX_REMEMBERED_REPORTS:
                self._summaries.popitem(last=False)
        return summary
