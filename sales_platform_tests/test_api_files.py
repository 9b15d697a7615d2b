"""`GET /files` on a folder bucket: what became of each file, with refusal reasons read once."""

from __future__ import annotations

import json
import os
import time

from sales_platform_tests.api_support import Api

PROCESSED = "processed/year=2025/month=11/day=27/store_id=0001/data.parquet"


def _write(api: Api, key: str, data: bytes, age_seconds: float = 0) -> None:
    api.bucket.write_bytes(key, data)
    moment = time.time() - age_seconds
    os.utime(api.settings.bucket_path / key, (moment, moment))


def _report(summary: str, **extra) -> bytes:
    return json.dumps({"summary": summary, "problem_count": 3, "status": "rejected", "rejected_at": "2025-11-28T01:00:00Z", **extra}).encode()


def test_files_are_listed_with_status_partitions_and_errors_newest_first(api: Api) -> None:
    _write(api, PROCESSED, b"PAR1", age_seconds=300)
    _write(api, "processed/year=2025/month=11/day=26/store_id=0002/data.parquet", b"PAR1PAR1", age_seconds=600)
    _write(api, "processed/notes.txt", b"not a store-day", age_seconds=10)
    _write(api, "rejected/store_0003_2025-11-27.json", b"{", age_seconds=200)
    _write(api, "rejected/store_0003_2025-11-27.json.error.json", _report("line 1, column 2: unexpected end of the file"), age_seconds=200)
    # A file that was itself named like a report, and its own report.
    _write(api, "rejected/weird.error.json", b"?", age_seconds=100)
    _write(api, "rejected/weird.error.json.error.json", _report("file name 'weird.error.json' does not match"), age_seconds=100)
    _write(api, "uploads/store_0005_2025-11-27.json", b"[]")
    _write(api, "archive/store_0001_2025-11-27.json", b"[]")

    body = api.client.get("/files").json()
    assert body["count"] == 4
    assert [(f["name"], f["status"]) for f in body["files"]] == [
        ("weird.error.json", "rejected"),
        ("store_0003_2025-11-27.json", "rejected"),
        ("store_0001_2025-11-27.parquet", "processed"),
        ("store_0002_2025-11-26.parquet", "processed"),
    ]
    weird, refused, processed, _ = body["files"]
    assert processed["key"] == PROCESSED and processed["size"] == 4 and processed["error"] is None
    assert processed["partitions"] == {"year": "2025", "month": "11", "day": "27", "store_id": "0001", "date": "2025-11-27"}
    assert processed["last_modified"].endswith("Z")
    assert refused["error"] == "line 1, column 2: unexpected end of the file"
    assert (refused["problem_count"], refused["refusal_status"], refused["error_report_key"]) == (
        3, "rejected", "rejected/store_0003_2025-11-27.json.error.json",
    )
    assert weird["error"].startswith("file name 'weird.error.json'")

    assert {f["status"] for f in api.client.get("/files", params={"status": "processed"}).json()["files"]} == {"processed"}
    assert api.client.get("/files", params={"status": "rejected"}).json()["count"] == 2
    pending = api.client.get("/files", params={"status": "pending"}).json()["files"]
    assert [(f["key"], f["status"]) for f in pending] == [("uploads/store_0005_2025-11-27.json", "pending")]


def test_a_refusal_is_listed_only_once_its_file_and_its_report_are_both_there(api: Api) -> None:
    """The pipeline writes the report, then copies the refused file: a listing in between must
    show neither a refusal without a reason nor the report as a refused file of its own."""
    report = "rejected/store_0004_2025-11-27.json.error.json"
    _write(api, report, _report("row 1 quantity: must be at least 1"))
    assert api.client.get("/files", params={"status": "rejected"}).json()["files"] == []
    _write(api, "rejected/store_0004_2025-11-27.json", b"[]")
    [entry] = api.client.get("/files", params={"status": "rejected"}).json()["files"]
    assert (entry["name"], entry["error"], entry["error_report_key"]) == (
        "store_0004_2025-11-27.json", "row 1 quantity: must be at least 1", report,
    )
    # A file put into rejected/ by hand, with no report: not a refusal anyone can explain.
    _write(api, "rejected/notes.txt", b"hello")
    assert [f["name"] for f in api.client.get("/files").json()["files"]] == ["store_0004_2025-11-27.json"]


def test_reports_are_read_once_and_again_when_they_change(api: Api) -> None:
    for n in range(1, 41):
        _write(api, f"rejected/store_{n:04d}_2025-11-27.json", b"{")
        _write(api, f"rejected/store_{n:04d}_2025-11-27.json.error.json", _report(f"problem {n}"))
    lister = api.context.files
    assert api.client.get("/files").json()["count"] == 40
    assert lister.reports_read == 40
    api.client.get("/files")
    assert lister.reports_read == 40
    # A corrected re-upload was accepted: the pipeline rewrites the report as superseded.
    _write(api, "rejected/store_0007_2025-11-27.json.error.json",
           _report("problem 7", status="superseded", superseded_by=PROCESSED), age_seconds=-5)
    entry = next(f for f in api.client.get("/files").json()["files"] if f["name"] == "store_0007_2025-11-27.json")
    assert lister.reports_read == 41
    assert entry["refusal_status"] == "superseded" and entry["superseded_by"] == PROCESSED


def test_an_unreadable_report_does_not_break_the_listing(api: Api) -> None:
    _write(api, "rejected/store_0001_2025-11-27.json", b"{")
    _write(api, "rejected/store_0001_2025-11-27.json.error.json", b"not json")
    entry = api.client.get("/files").json()["files"][0]
    assert entry["error"] == "refused (the error report cannot be read)"
