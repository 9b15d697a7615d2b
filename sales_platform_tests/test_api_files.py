"""`GET /files` on a folder bucket: what became of each file, with refusal reasons read once."""

from __future__ import annotations

import json
import os
import re
import time

from sales_platform_tests.api_support import Api

PROCESSED = "processed/year=2025/month=11/day=27/store_id=0001/data.parquet"


def _write(api: Api, key: str, data: bytes, age_seconds: float = 0) -> None:
    api.bucket.write_bytes(key, data)
    moment = time.time() - age_seconds
    os.utime(api.settings.bucket_path / key, (moment, moment))


def _report(summary: str, **extra) -> bytes:
    return json.dumps(
        {"summary": summary, "problem_count": 3, "status": "rejected", "rejected_at": "2025-11-28T01:00:00Z", **extra}
    ).encode()


def test_files_are_listed_with_status_partitions_and_errors_newest_first(api: Api) -> None:
    _write(api, PROCESSED, b"PAR1", age_seconds=300)
    _write(api, "processed/year=2025/month=11/day=26/store_id=0002/data.parquet", b"PAR1PAR1", age_seconds=600)
    _write(api, "processed/notes.txt", b"not a store-day", age_seconds=10)
    _write(api, "rejected/store_0003_2025-11-27.json", b"{", age_seconds=200)
    _write(
        api,
        "rejected/store_0003_2025-11-27.json.error.json",
        _report("line 1, column 2: unexpected end of the file"),
        age_seconds=200,
    )
    # A file that was itself named like a report, and its own report.
    _write(api, "rejected/weird.error.json", b"?", age_seconds=100)
    _write(
        api,
        "rejected/weird.error.json.error.json",
        _report("file name 'weird.error.json' does not match"),
        age_seconds=100,
    )
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
    assert processed["partitions"] == {
        "year": "2025",
        "month": "11",
        "day": "27",
        "store_id": "0001",
        "date": "2025-11-27",
    }
    assert processed["last_modified"].endswith("Z")
    assert refused["error"] == "line 1, column 2: unexpected end of the file"
    assert (refused["problem_count"], refused["refusal_status"], refused["error_report_key"]) == (
        3,
        "rejected",
        "rejected/store_0003_2025-11-27.json.error.json",
    )
    assert weird["error"].startswith("file name 'weird.error.json'")

    assert {f["status"] for f in api.client.get("/files", params={"status": "processed"}).json()["files"]} == {
        "processed"
    }
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
        "store_0004_2025-11-27.json",
        "row 1 quantity: must be at least 1",
        report,
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
    _write(
        api,
        "rejected/store_0007_2025-11-27.json.error.json",
        _report("problem 7", status="superseded", superseded_by=PROCESSED),
        age_seconds=-5,
    )
    entry = next(f for f in api.client.get("/files").json()["files"] if f["name"] == "store_0007_2025-11-27.json")
    assert lister.reports_read == 41
    assert entry["refusal_status"] == "superseded" and entry["superseded_by"] == PROCESSED


def test_an_unreadable_report_does_not_break_the_listing(api: Api) -> None:
    _write(api, "rejected/store_0001_2025-11-27.json", b"{")
    _write(api, "rejected/store_0001_2025-11-27.json.error.json", b"not json")
    entry = api.client.get("/files").json()["files"][0]
    assert entry["error"] == "refused (the error report cannot be read)"


def test_a_listing_taken_at_any_moment_of_a_refusal_never_shows_it_without_its_reason(tmp_path) -> None:
    """Also when a second refusal of the same name sets the first one aside."""
    import datetime as dt

    from sales_platform.api.file_listing import FileLister
    from sales_platform.domain.storage_layout import StorageLayout
    from sales_platform.domain.upload_contract import Problem, Refusal
    from sales_platform.resources.local_object_store import LocalObjectStore
    from sales_platform.services.upload_intake import leave_inbox, refuse

    snapshots: list[list[dict]] = []

    class Watched(LocalObjectStore):
        """Lists rejected/ as the dashboard would, before and after every step of the refusal."""

        def _watch(self, step, *args):
            snapshots.append(lister.list_files("rejected"))
            step(*args)
            snapshots.append(lister.list_files("rejected"))

        def write_bytes(self, key, data, content_type=None):
            self._watch(super().write_bytes, key, data, content_type)

        def copy(self, source, destination):
            self._watch(super().copy, source, destination)

        def move(self, source, destination):
            self._watch(super().move, source, destination)

        def delete(self, key):
            self._watch(super().delete, key)

    bucket = Watched(tmp_path / "bucket")
    lister = FileLister(bucket, StorageLayout())
    for content, reason in ((b"{", "the file is not valid JSON"), (b"[]", "the file holds no records")):
        LocalObjectStore(tmp_path / "bucket").write_bytes("uploads/store_0001_2025-11-27.json", content)
        info = bucket.head("uploads/store_0001_2025-11-27.json")
        refuse(bucket, StorageLayout(), info, Refusal([Problem(reason)], 1), None, dt.datetime.now(dt.UTC))
        leave_inbox(bucket, StorageLayout(), info)
    lister.close()

    assert len(snapshots) == 6 + 10  # the second: the first's report and file aside, then as the first
    assert all(entry["error"] for snapshot in snapshots for entry in snapshot)
    latest, first = sorted(snapshots[-1], key=lambda entry: entry["name"] != "store_0001_2025-11-27.json")
    assert (latest["error"], bucket.read_bytes(latest["key"])) == ("the file holds no records", b"[]")
    assert re.fullmatch(r"store_0001_2025-11-27\.\d{8}T\d{6}(\.\d{6})?Z\.json", first["name"])
    assert (first["error"], bucket.read_bytes(first["key"])) == ("the file is not valid JSON", b"{")
    assert first["error_report_key"] == first["key"] + ".error.json"


CONTROL_NAME = "store_0001_2025-11-27\t\x07.json"


def test_a_refused_file_whose_name_holds_control_characters_can_still_be_downloaded(api: Api) -> None:
    _write(api, f"rejected/{CONTROL_NAME}", b"{broken")
    _write(api, f"rejected/{CONTROL_NAME}.error.json", _report("file name does not match"))
    [entry] = api.client.get("/files", params={"status": "rejected"}).json()["files"]
    assert entry["key"] == f"rejected/{CONTROL_NAME}"

    for key, content in ((entry["key"], b"{broken"), (entry["error_report_key"], None)):
        answer = api.client.post("/generate-download-url", json={"key": key})
        assert answer.status_code == 200, answer.text
        assert answer.json()["filename"].startswith("store_0001_2025-11-27__.json"), (
            "saved under a name a browser takes"
        )
        fetched = api.anonymous().get(answer.json()["downloadUrl"])
        assert fetched.status_code == 200
        assert content is None or fetched.content == content
        assert (
            "\t" not in fetched.headers["content-disposition"] and "\x07" not in fetched.headers["content-disposition"]
        )


def test_a_link_in_the_bucket_is_never_served(api: Api, tmp_path) -> None:
    from urllib.parse import urlsplit

    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash")
    rejected = api.settings.bucket_path / "rejected"
    _write(api, "rejected/store_0001_2025-11-27.json.error.json", _report("refused"))
    (rejected / "store_0001_2025-11-27.json").symlink_to(secret)
    (rejected / "store_0002_2025-11-27.json").write_bytes(b"{")
    (rejected / "store_0002_2025-11-27.json.error.json").symlink_to(secret)

    answer = api.client.post("/generate-download-url", json={"key": "rejected/store_0001_2025-11-27.json"})
    assert answer.status_code == 404 and "symbolic link" in answer.json()["message"]
    # Even with a valid signature for the key, the signed route will not read through it.
    signed = api.context.signer.url("http://testserver", "GET", "rejected/store_0001_2025-11-27.json", 60, None)
    fetched = api.anonymous().get(urlsplit(signed)._replace(scheme="", netloc="").geturl())
    assert fetched.status_code == 404 and b"root:x" not in fetched.content
    # A refusal whose report is a link has no readable reason: it is not listed.
    listed = [entry["name"] for entry in api.client.get("/files", params={"status": "rejected"}).json()["files"]]
    assert "store_0002_2025-11-27.json" not in listed


def test_every_refused_version_is_listed_and_served_and_an_accepted_upload_supersedes_them_all(api: Api) -> None:
    import datetime as dt

    from sales_platform.domain.upload_contract import Problem, Refusal, parse_upload_name
    from sales_platform.resources.object_store import ObjectInfo
    from sales_platform.services.upload_intake import archive, leave_inbox, refuse

    layout = api.settings.storage.layout
    name = "store_0001_2025-11-27.json"
    sent = {b"{": "the file is not valid JSON", b"[]": "the file holds no records"}
    for content, reason in sent.items():
        api.bucket.write_bytes(f"uploads/{name}", content)
        info = api.bucket.head(f"uploads/{name}")
        refuse(api.bucket, layout, info, Refusal([Problem(reason)], 1), None, dt.datetime.now(dt.UTC))
        leave_inbox(api.bucket, layout, info)

    listed = api.client.get("/files", params={"status": "rejected"}).json()["files"]
    assert sorted(entry["error"] for entry in listed) == sorted(sent.values())
    for entry in listed:
        for key in (entry["key"], entry["error_report_key"]):
            answer = api.client.post("/generate-download-url", json={"key": key})
            assert answer.status_code == 200, answer.text
            fetched = api.anonymous().get(answer.json()["downloadUrl"])
            assert fetched.status_code == 200
            if key == entry["key"]:
                assert sent[fetched.content] == entry["error"], "each version served with its own reason"

    # A corrected file is accepted later: every refused version of the day now says so.
    api.bucket.write_bytes(f"uploads/{name}", b"[...]")
    accepted = api.bucket.head(f"uploads/{name}")
    assert isinstance(accepted, ObjectInfo)
    processed = layout.processed_key(dt.date(2025, 11, 27), "0001")
    archive(api.bucket, layout, accepted, parse_upload_name(name), processed)
    listed = api.client.get("/files", params={"status": "rejected"}).json()["files"]
    assert [(entry["refusal_status"], entry["superseded_by"]) for entry in listed] == [("superseded", processed)] * 2


def test_pending_lists_what_the_sensor_will_take_never_hidden_files(api: Api) -> None:
    _write(api, "uploads/store_0001_2025-11-27.json", b"[]")
    _write(api, "uploads/.store_0002_2025-11-27.json.swp", b"editor")
    _write(api, "uploads/.rsync-partial/store_0003_2025-11-27.json", b"[")
    _write(api, "uploads/incoming/store_0004_2025-11-27.json", b"[]")  # taken, to be refused

    pending = api.client.get("/files", params={"status": "pending"}).json()["files"]
    assert sorted(entry["key"] for entry in pending) == [
        "uploads/incoming/store_0004_2025-11-27.json",
        "uploads/store_0001_2025-11-27.json",
    ]
