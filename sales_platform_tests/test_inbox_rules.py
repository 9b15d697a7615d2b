"""What the inbox does with anything but one whole file per store-day: several files for one day,
a file still being written, files in folders, links, hidden files, a wrong clock, and second
versions of refused and accepted files. Nothing is read half, nothing is lost, and the store is
told what became of each file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sales_platform.api.file_listing import FileLister
from sales_platform.defs.ingest import upload_sensor
from sales_platform.defs.ingest.upload_sensor import UPLOAD_SENSOR
from sales_platform.domain.table_keys import store_summary_key
from sales_platform.samples import store_files as sample_data
from sales_platform.services import store_day_ingest
from sales_platform_tests.conftest import Platform, days_ago, render, set_age, small_records, upload_name
from sales_platform_tests.test_ingest_pipeline import latest_checks, read_parquet, rematerialize

KEPT_STAMP = r"\d{8}T\d{6}(\.\d{6})?Z"


def day_rows(platform: Platform, store_id: str, day) -> int:
    return read_parquet(platform, platform.settings.storage.layout.processed_key(day, store_id)).num_rows


def report_of(platform: Platform, key: str) -> dict[str, Any]:
    return json.loads(platform.bucket.read_bytes(f"{key}.error.json"))


def kept_versions(platform: Platform, prefix: str, name: str) -> list[str]:
    """The earlier versions of `name` kept under `prefix`, oldest first."""
    stem, extension = name.rsplit(".", 1)
    pattern = re.compile(re.escape(f"{prefix}{stem}.") + KEPT_STAMP + re.escape(f".{extension}"))
    return sorted(key for key in platform.keys(prefix) if pattern.fullmatch(key))


def halves(records: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    """A .jsonl upload cut at a line boundary: the first half looks like a whole file."""
    lines = sample_data.render_jsonl(records).splitlines(keepends=True)
    return b"".join(lines[: len(lines) // 2]), b"".join(lines[len(lines) // 2 :])


# --------------------------------------------------------------------------- several files, one day


@pytest.mark.slow
def test_files_of_one_store_day_sent_together_the_newest_is_the_day_and_the_others_are_told(platform: Platform) -> None:
    day = days_ago(1)
    # Oldest first, which is name order too: S3 keeps times to the second, and a tie goes by name.
    sent = {
        upload_name("0001", day, "csv"): sample_data.render_csv(small_records("0001", day, transactions=2)),
        upload_name("0001", day, "json"): render(small_records("0001", day, transactions=3)),
        upload_name("0001", day, "ndjson"): sample_data.render_jsonl(small_records("0001", day, transactions=4)),
    }
    keys = [platform.upload(name, data, age_seconds=60 - 10 * n) for n, (name, data) in enumerate(sent.items())]
    newest = upload_name("0001", day, "ndjson")

    report = platform.process()

    assert report.statuses() == {keys[0]: "superseded", keys[1]: "superseded", keys[2]: "processed"}
    assert day_rows(platform, "0001", day) == len(small_records("0001", day, transactions=4))
    assert platform.keys("uploads/") == []
    assert platform.keys("archive/") == [f"archive/{newest}"]
    processed = platform.settings.storage.layout.processed_key(day, "0001")
    for name in list(sent)[:2]:
        assert platform.bucket.read_bytes(f"rejected/{name}") == sent[name], "kept byte for byte"
        document = report_of(platform, f"rejected/{name}")
        assert (document["status"], document["superseded_by"]) == ("superseded", processed)
        assert f"{newest}, a newer file for the same store and day, was used instead" in document["summary"]
        assert "none of this file's lines" in document["summary"]
    assert [file.detail for file in report.files if file.status == "superseded"] == [
        report_of(platform, f"rejected/{name}")["summary"] for name in reversed(list(sent)[:2])
    ]
    assert latest_checks(platform, f"{day}|0001")["store_sales_upload_accepted"] is True
    [run] = platform.instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS


@pytest.mark.slow
def test_a_newer_file_that_is_refused_leaves_the_day_to_the_older_one_and_still_stands(
    local_platform: Platform,
) -> None:
    day = days_ago(1)
    good = small_records("0002", day, transactions=3)
    bad = small_records("0002", day)
    bad[0]["quantity"] = 0
    # The newer file has the earlier name: the time decides, not the name.
    newer = local_platform.upload(upload_name("0002", day, "csv"), sample_data.render_csv(bad), age_seconds=20)
    older = local_platform.upload(upload_name("0002", day, "json"), render(good), age_seconds=40)

    assert local_platform.process().statuses() == {newer: "refused", older: "processed"}
    assert day_rows(local_platform, "0002", day) == len(good)
    # As if the two had come one after the other: the refusal of the newer file is not undone.
    assert report_of(local_platform, f"rejected/{upload_name('0002', day, 'csv')}")["status"] == "rejected"
    assert local_platform.keys("archive/") == [f"archive/{upload_name('0002', day, 'json')}"]


# --------------------------------------------------------------------------- a file still being written

PAUSING_WRITER = """
import sys
path, first, rest = sys.argv[1:]
with open(path, "wb") as handle:
    handle.write(open(first, "rb").read())
    handle.flush()
    print("paused", flush=True)
    sys.stdin.readline()
    handle.write(open(rest, "rb").read())
"""


@pytest.mark.slow
def test_a_writer_that_pauses_longer_than_the_settle_time_is_waited_for(
    local_platform: Platform, tmp_path: Path
) -> None:
    day = days_ago(1)
    records = small_records("0001", day, transactions=10)
    first, rest = halves(records)
    (tmp_path / "first").write_bytes(first)
    (tmp_path / "rest").write_bytes(rest)
    name = upload_name("0001", day, "jsonl")
    path = local_platform.settings.bucket_path / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = subprocess.Popen(
        [sys.executable, "-c", PAUSING_WRITER, str(path), str(tmp_path / "first"), str(tmp_path / "rest")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "paused\n"
        time.sleep(local_platform.settings.upload_settle_seconds + 1)  # the store's script pauses this long

        assert local_platform.process().outcomes == []
        assert upload_sensor.settling_files(local_platform.harness.cursors[UPLOAD_SENSOR]) == [f"uploads/{name}"]
        assert path.read_bytes() == first, "left alone, still in the inbox"
        assert local_platform.keys("processed/") == [] and local_platform.keys("rejected/") == []
    finally:
        writer.communicate("go on\n", timeout=30)

    set_age(path, 30)
    assert local_platform.process().statuses() == {f"uploads/{name}": "processed"}
    assert day_rows(local_platform, "0001", day) == len(records)


@pytest.mark.slow
def test_a_file_written_to_while_it_is_read_is_left_for_the_next_look(
    local_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = days_ago(1)
    records = small_records("0003", day, transactions=8)
    first, rest = halves(records)
    key = local_platform.upload(upload_name("0003", day, "jsonl"), first)
    validate = store_day_ingest.validate_upload

    def read_while_the_writer_goes_on(path, upload, rules):
        line_items = validate(path, upload, rules)
        with open(path, "ab") as handle:  # a writer that had paused longer than the settle time
            handle.write(rest)
        return line_items

    monkeypatch.setattr(store_day_ingest, "validate_upload", read_while_the_writer_goes_on)
    report = local_platform.process()
    monkeypatch.setattr(store_day_ingest, "validate_upload", validate)

    assert [outcome.status for outcome in report.outcomes] == ["done"] and report.statuses() == {}
    assert (
        local_platform.keys("processed/") == []
        and local_platform.table.get_item(*store_summary_key("0003", day)) is None
    )
    assert local_platform.bucket.read_bytes(key) == first + rest
    set_age(local_platform.settings.bucket_path / key, 30)
    assert local_platform.process().statuses() == {key: "processed"}
    assert day_rows(local_platform, "0003", day) == len(records)


@pytest.mark.slow
def test_a_script_that_writes_under_a_hidden_name_and_renames_is_never_read_early(local_platform: Platform) -> None:
    """The convention README gives store scripts: whatever they do meanwhile, nothing is read
    before the rename, and the hidden file is not listed as pending either."""
    day = days_ago(1)
    records = small_records("0002", day, transactions=6)
    first, rest = halves(records)
    name = upload_name("0002", day, "jsonl")
    inbox = local_platform.settings.bucket_path / "uploads"
    inbox.mkdir(parents=True, exist_ok=True)
    hidden = inbox / f".{name}.part"
    hidden.write_bytes(first)
    set_age(hidden, 3600)
    lister = FileLister(local_platform.bucket, local_platform.settings.storage.layout)
    try:
        assert local_platform.process().outcomes == []
        assert lister.list_files("pending") == []

        with open(hidden, "ab") as handle:
            handle.write(rest)
        os.rename(hidden, inbox / name)
        set_age(inbox / name, 30)
        assert [entry["key"] for entry in lister.list_files("pending")] == [f"uploads/{name}"]
    finally:
        lister.close()
    assert local_platform.process().statuses() == {f"uploads/{name}": "processed"}
    assert day_rows(local_platform, "0002", day) == len(records)


# --------------------------------------------------------------------------- folders, links, hidden files


@pytest.mark.slow
def test_files_in_a_subfolder_of_the_inbox_are_refused_saying_uploads_go_at_the_top(platform: Platform) -> None:
    day = days_ago(1)
    data = render(small_records("0002", day))
    nested = platform.upload(f"incoming/{upload_name('0002', day)}", data)
    deeper = platform.upload("old/2024/notes.txt", b"hello")
    hidden = platform.upload(f".partial/{upload_name('0003', day)}", data)

    report = platform.process()

    assert report.statuses() == {nested: "refused", deeper: "refused"}
    document = report_of(platform, f"rejected/{upload_name('0002', day)}")
    assert document["original_key"] == nested
    assert f"uploads go at the top of the inbox, as uploads/{upload_name('0002', day)}" in document["summary"]
    assert "incoming/" in document["summary"]
    assert platform.bucket.read_bytes(f"rejected/{upload_name('0002', day)}") == data
    assert platform.bucket.read_bytes("rejected/notes.txt") == b"hello"
    assert platform.keys("uploads/") == [hidden], "a hidden folder is another program's and stays"
    assert platform.table.get_item(*store_summary_key("0002", day)) is None
    assert [run.status for run in platform.instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]


@pytest.mark.slow
def test_a_link_in_the_inbox_is_refused_unread_not_a_failed_run(local_platform: Platform, tmp_path: Path) -> None:
    day = days_ago(1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash")
    good = render(small_records("0002", day))
    (elsewhere / "day.json").write_bytes(good)
    inbox = local_platform.settings.bucket_path / "uploads"
    inbox.mkdir(parents=True, exist_ok=True)
    links = {
        upload_name("0001", day): elsewhere / "secret.txt",
        upload_name("0002", day): elsewhere / "day.json",  # a good file, but behind a link
        "exports": elsewhere,
    }
    for name, target in links.items():
        (inbox / name).symlink_to(target)
        moment = time.time() - 30
        os.utime(inbox / name, (moment, moment), follow_symlinks=False)

    report = local_platform.process()

    assert report.statuses() == {f"uploads/{name}": "refused" for name in links}
    assert [run.status for run in local_platform.instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
    for name in links:
        assert (
            "symbolic link, which the platform never follows"
            in report_of(local_platform, f"rejected/{name}")["summary"]
        )
        moved = local_platform.bucket.head(f"rejected/{name}")
        assert moved is not None and moved.is_link, "the link itself is set aside, never a copy of its target"
    readable = [info for info in local_platform.bucket.list("") if not info.is_link]
    assert all(b"root:x" not in local_platform.bucket.read_bytes(info.key) for info in readable)
    assert local_platform.table.get_item(*store_summary_key("0002", day)) is None
    assert (elsewhere / "day.json").read_bytes() == good and local_platform.keys("uploads/") == []


@pytest.mark.slow
def test_a_file_dated_in_the_future_is_taken_once_unchanged_naming_the_clock(
    local_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = days_ago(1)
    key = local_platform.upload(upload_name("0001", day), render(small_records("0001", day)))
    ahead = time.time() + 3 * 3600
    os.utime(local_platform.settings.bucket_path / key, (ahead, ahead))

    assert local_platform.process().outcomes == []  # first seen: it may still be being written
    clock = time.time()
    monkeypatch.setattr(upload_sensor.time, "time", lambda: clock + local_platform.settings.upload_settle_seconds)
    report = local_platform.process()

    assert report.statuses() == {key: "processed"}
    [outcome] = report.files
    assert re.fullmatch(r"modified \S+Z, 3 h ahead of the platform's clock", outcome.clock_note)


# --------------------------------------------------------------------------- second versions


@pytest.mark.slow
def test_every_refused_version_of_a_name_is_kept_with_its_report(platform: Platform) -> None:
    day = days_ago(2)
    name = upload_name("0003", day)
    no_quantity = small_records("0003", day)
    no_quantity[0]["quantity"] = 0
    bitcoin = small_records("0003", day)
    bitcoin[1]["payment_method"] = "bitcoin"
    for records in (no_quantity, bitcoin):
        key = platform.upload(name, render(records))
        assert platform.process().statuses() == {key: "refused"}

    [kept] = kept_versions(platform, "rejected/", name)
    assert platform.bucket.read_bytes(kept) == render(no_quantity)
    assert platform.bucket.read_bytes(f"rejected/{name}") == render(bitcoin)
    first, latest = report_of(platform, kept), report_of(platform, f"rejected/{name}")
    assert (first["rejected_key"], first["status"], first["problems"][0]["field"]) == (kept, "rejected", "quantity")
    assert (latest["rejected_key"], latest["status"], latest["problems"][0]["field"]) == (
        f"rejected/{name}",
        "rejected",
        "payment_method",
    )

    corrected = small_records("0003", day, transactions=4)
    key = platform.upload(name, render(corrected))
    assert platform.process().statuses() == {key: "processed"}
    processed = platform.settings.storage.layout.processed_key(day, "0003")
    for refused in (kept, f"rejected/{name}"):
        assert (report_of(platform, refused)["status"], report_of(platform, refused)["superseded_by"]) == (
            "superseded",
            processed,
        )
    assert len(platform.keys("rejected/")) == 4


@pytest.mark.slow
def test_a_reupload_keeps_the_earlier_accepted_original_and_the_day_rebuilds_from_the_latest(
    platform: Platform,
) -> None:
    day = days_ago(1)
    name, csv_name = upload_name("0002", day), upload_name("0002", day, "csv")
    versions = [render(small_records("0002", day, transactions=n)) for n in (2, 3)]
    for data in versions:
        key = platform.upload(name, data)
        assert platform.process().statuses() == {key: "processed"}
        time.sleep(1.1)  # S3 times are whole seconds: the kept versions are named apart
    assert platform.bucket.read_bytes(f"archive/{name}") == versions[1]
    assert [platform.bucket.read_bytes(key) for key in kept_versions(platform, "archive/", name)] == versions[:1]

    # The day sent again in another format: it replaces the day, and the .json is kept too.
    latest = small_records("0002", day, transactions=4)
    key = platform.upload(csv_name, sample_data.render_csv(latest))
    assert platform.process().statuses() == {key: "processed"}
    assert [platform.bucket.read_bytes(key) for key in kept_versions(platform, "archive/", name)] == versions
    archived = platform.keys("archive/")
    assert [key for key in archived if not re.search(KEPT_STAMP, key)] == [f"archive/{csv_name}"]

    result = rematerialize(platform, f"{day}|0002")
    assert result.success
    [materialization] = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("store_sales")
    ]
    assert materialization.metadata["upload"].value == f"archive/{csv_name}"
    assert day_rows(platform, "0002", day) == len(latest)
    assert platform.keys("archive/") == archived, "rebuilding keeps and moves nothing"


def test_materializing_a_store_day_by_hand_takes_its_newest_file_and_tells_the_older(local_platform: Platform) -> None:
    day = days_ago(1)
    older = local_platform.upload(
        upload_name("0003", day, "csv"), sample_data.render_csv(small_records("0003", day)), age_seconds=60
    )
    newest = small_records("0003", day, transactions=5)
    local_platform.upload(upload_name("0003", day, "json"), render(newest), age_seconds=30)

    result = rematerialize(local_platform, f"{day}|0003")

    assert result.success
    assert day_rows(local_platform, "0003", day) == len(newest)
    assert report_of(local_platform, f"rejected/{upload_name('0003', day, 'csv')}")["status"] == "superseded"
    [observation] = [
        event.asset_observation_data.asset_observation
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    ]
    assert (observation.metadata["status"].value, observation.metadata["upload"].value) == ("superseded", older)
    assert local_platform.keys("uploads/") == []
