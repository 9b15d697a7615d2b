"""`sales-platform process` as cron and people run it, through the real Dagster daemon: killed at
any moment, run twice at once, stopped with Ctrl-C, or facing a table it cannot write. Nothing
is lost, nothing is done twice, nothing is left running, and a failure is never reported as
success."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest

from sales_platform.samples.store_files import default_end_date, generate_store_day, render_json
from sales_platform_tests.command_line import clean_environment, cli_command, interruptible, processes_using, run_cli

# The command line, the daemon and the webserver as programs: seconds to start each.
pytestmark = pytest.mark.slow

NEW_YORK = "America/New_York"
STORES = [f"{n:04d}" for n in range(1, 6)]
# CI kills a few times; benchmarks/crash_safety.py runs the same test with many more kills.
KILLS = int(os.environ.get("SALES_PLATFORM_TEST_KILLS", "4"))
# What differs between two homes doing the same work: when, by which run, and the versions
# of the uploads (file times and inodes), which the fingerprints are made of.
_VOLATILE = {
    "processed_at",
    "analyzed_at",
    "created_at",
    "generated_at",
    "written_at",
    "source_version",
    "source_fingerprint",
    "analysing_fingerprint",
    "trigger",
}


def write_inbox(folder: Path, days: int, lines_per_store_day: int = 120) -> dict[str, bytes]:
    """Small store-days, so a pass is quick and a kill lands anywhere in it."""
    folder.mkdir(parents=True, exist_ok=True)
    end = default_end_date(NEW_YORK)
    files = {}
    for back in range(days):
        day = end - dt.timedelta(days=back)
        for store in STORES:
            records = generate_store_day(store, day, stores=STORES)[:lines_per_store_day]
            files[f"store_{store}_{day}.json"] = render_json(records)
    arrived = time.time() - 60
    for name, data in files.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (arrived, arrived))
    return files


def environment(home: Path, **extra: str) -> dict[str, str]:
    return clean_environment(SALES_PLATFORM_HOME=str(home), EXPECTED_STORES=",".join(STORES), **extra)


def start_process(cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            [*cli_command(), "process"],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=interruptible,
        )


def wait_until_nothing_runs(home: Path, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while processes_using(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_using(home), f"left running: {processes_using(home)}"


def table_items(home: Path) -> dict[tuple[str, str], dict]:
    import json

    with sqlite3.connect(home / "sales.db") as connection:
        rows = connection.execute("SELECT PK, SK, data FROM items").fetchall()
    items = {}
    for pk, sk, data in rows:
        item = {name: value for name, value in json.loads(data).items() if name not in _VOLATILE}
        items[(pk, sk)] = item
    return items


def assert_same_outcome(home: Path, reference: Path, files: dict[str, bytes]) -> None:
    """Every file accepted once, its bytes kept, and the table exactly as a clean pass left it."""
    bucket = home / "bucket"
    assert sorted(p.name for p in (bucket / "uploads").iterdir()) == []
    assert sorted(p.name for p in (bucket / "archive").iterdir()) == sorted(files)
    for name, data in files.items():
        assert (bucket / "archive" / name).read_bytes() == data
    assert not (bucket / "rejected").exists() or not any((bucket / "rejected").iterdir())
    clean = reference / "bucket" / "processed"
    for parquet in clean.rglob("data.parquet"):
        mine = bucket / "processed" / parquet.relative_to(clean)
        assert pq.read_table(mine).num_rows == pq.read_table(parquet).num_rows, mine
    assert table_items(home) == table_items(reference)
    reports = {p.name.rsplit("-report-", 1)[1] for p in (home / "outbox").glob("*-report-*.eml")}
    assert reports == {p.name.rsplit("-report-", 1)[1] for p in (reference / "outbox").glob("*-report-*.eml")}


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, bytes]]]:
    """The same work done by one clean pass."""
    folder = tmp_path_factory.mktemp("reference")
    home = folder / "home"
    files = write_inbox(home / "bucket" / "uploads", days=10)
    result = run_cli(folder, "process", timeout=600, **environment(home))
    assert result.returncode == 0
    yield home, files


def crash_before_archive_hook(folder: Path) -> Path:
    """Python started with this folder on its path kills its whole process group, once, at the
    moment an accepted upload is about to leave the inbox: its day written and recorded, the
    file still there."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import os, signal\n"
        "marker = os.environ.get('CRASH_MARKER')\n"
        "if marker:\n"
        "    from sales_platform.services import upload_intake\n"
        "    keep = upload_intake.archive\n"
        "    def archive(*args, **kwargs):\n"
        "        try:\n"
        "            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))\n"
        "        except FileExistsError:\n"
        "            return keep(*args, **kwargs)\n"
        "        os.killpg(os.getpgrp(), signal.SIGKILL)\n"
        "    upload_intake.archive = archive\n"
    )
    return folder


def test_killed_at_any_moment_again_and_again_nothing_is_lost_or_doubled(tmp_path: Path, reference) -> None:
    reference_home, files = reference
    home = tmp_path / "home"
    assert write_inbox(home / "bucket" / "uploads", days=10) == files
    env = environment(home, UPLOAD_RETRY_SECONDS="5")
    log = tmp_path / "passes.log"
    rng = random.Random(20261201)

    # Once exactly where an upload is about to leave the inbox, its day already written.
    hooked = {
        **env,
        "PYTHONPATH": str(crash_before_archive_hook(tmp_path / "hook")),
        "CRASH_MARKER": str(tmp_path / "crashed"),
    }
    crashed = start_process(tmp_path, hooked, log)
    assert crashed.wait(timeout=120) != 0
    assert (tmp_path / "crashed").exists()
    wait_until_nothing_runs(home)
    waiting = sorted(p.name for p in (home / "bucket" / "uploads").iterdir())
    assert waiting, "the crash came before any upload was written"

    # Then killed at random moments: the command alone (`kill -9 <pid>`), or everything at
    # once, as a power cut would.
    for attempt in range(KILLS):
        started = start_process(tmp_path, env, log)
        time.sleep(rng.uniform(0.5, 12.0))
        if attempt % 2:
            os.kill(started.pid, signal.SIGKILL)
        else:
            for pid in [started.pid, *processes_using(home)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        started.wait(timeout=30)
        wait_until_nothing_runs(home)

    # Passes as cron would start them, until one finishes cleanly.
    for _ in range(4):
        final = run_cli(tmp_path, "process", timeout=300, **env)
        if final.returncode == 0 and not list((home / "bucket" / "uploads").iterdir()):
            break
        time.sleep(6)  # the retry delay of uploads whose run was killed
    assert final.returncode == 0, log.read_text()[-3000:]
    wait_until_nothing_runs(home)
    assert_same_outcome(home, reference_home, files)
    # No run the kills interrupted is left STARTED: monitoring failed each, and it was retried.
    import dagster as dg

    from sales_platform.defs.ingest.upload_sensor import IN_FLIGHT

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_runs_count(dg.RunsFilter(statuses=IN_FLIGHT)) == 0


def test_a_second_pass_on_the_same_home_waits_and_nothing_is_ingested_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = write_inbox(home / "bucket" / "uploads", days=4)
    env = environment(home)
    first = start_process(tmp_path, env, tmp_path / "first.log")
    time.sleep(1.0)
    second = run_cli(tmp_path, "process", timeout=300, **env)
    assert first.wait(timeout=300) == 0, (tmp_path / "first.log").read_text()

    assert second.returncode == 0
    assert "waiting for `sales-platform process`" in second.stdout
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        materializations = instance.fetch_materializations(dg.AssetKey("store_sales"), limit=1000).records
        analyses = instance.fetch_materializations(dg.AssetKey("daily_insights"), limit=1000).records
    assert len(materializations) == len(files)  # each store-day once, by one of the two passes
    assert len(analyses) == 4
    assert sorted(p.name for p in (home / "bucket" / "archive").iterdir()) == sorted(files)


def test_a_pass_refuses_to_run_beside_dev_which_already_does_the_work(tmp_path: Path) -> None:
    from sales_platform.runtime.home_lock import HomeLock

    home = tmp_path / "home"
    lock = HomeLock(home, "dev")
    lock.acquire()
    try:
        result = run_cli(tmp_path, "process", **environment(home))
    finally:
        lock.release()

    assert result.returncode == 3
    assert "`sales-platform dev`" in result.stderr and "already processes" in result.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_pass_stops_everything_it_started_and_the_next_one_finishes(tmp_path: Path, stop) -> None:
    home = tmp_path / "home"
    files = write_inbox(home / "bucket" / "uploads", days=6)
    env = environment(home, UPLOAD_RETRY_SECONDS="5")
    running = start_process(tmp_path, env, tmp_path / "pass.log")
    deadline = time.monotonic() + 60
    while not (home / "bucket" / "archive").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # stopped in the middle of the work

    stopped_at = time.monotonic()
    os.killpg(running.pid, stop)
    assert running.wait(timeout=30) == 130
    wait_until_nothing_runs(home, within=20)
    assert time.monotonic() - stopped_at < 20
    assert "interrupted" in (tmp_path / "pass.log").read_text()

    time.sleep(6)
    finished = run_cli(tmp_path, "process", timeout=300, **env)
    assert finished.returncode == 0
    assert sorted(p.name for p in (home / "bucket" / "archive").iterdir()) == sorted(files)


def test_a_locked_table_fails_the_pass_naming_it_and_the_uploads_wait(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inbox = home / "bucket" / "uploads"
    files = write_inbox(inbox, days=1)
    for name in sorted(files)[1:]:  # one file: each write waits out the table's 30 s busy timeout
        (inbox / name).unlink()
        del files[name]
    home.mkdir(exist_ok=True)
    holder = sqlite3.connect(home / "sales.db", isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS held (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the table's write lock throughout
    try:
        result = run_cli(tmp_path, "process", timeout=300, **environment(home))
    finally:
        holder.rollback()
        holder.close()

    assert result.returncode == 1
    assert "FAILED" in result.stdout and "database is locked" in result.stdout
    assert re.search(r"0 files processed .*, 1 failed", result.stdout)
    assert sorted(p.name for p in (home / "bucket" / "uploads").iterdir()) == sorted(files)


def test_a_missing_dynamodb_table_fails_the_pass_and_the_uploads_wait(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        credentials = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="sales")
        day = default_end_date(NEW_YORK)
        name = f"store_0001_{day}.json"
        s3.put_object(
            Bucket="sales", Key=f"uploads/{name}", Body=render_json(generate_store_day("0001", day, stores=STORES))
        )
        env = environment(
            tmp_path / "home",
            STORAGE_BACKEND="s3",
            S3_BUCKET="sales",
            TABLE_BACKEND="dynamodb",
            DYNAMODB_TABLE="NoSuchTable",
            AWS_ENDPOINT_URL=endpoint,
            **credentials,
        )
        result = run_cli(tmp_path, "process", timeout=300, **env)
        waiting = [obj["Key"] for obj in s3.list_objects_v2(Bucket="sales", Prefix="uploads/").get("Contents", [])]
    finally:
        server.stop()

    assert result.returncode == 1
    assert re.search(r"FAILED .*ResourceNotFoundException", result.stdout), result.stdout
    assert "0 files processed" in result.stdout
    assert waiting == [f"uploads/{name}"]
