"""The `sales-platform` command as a user runs it: a real process, a real local bucket, a real
Dagster instance under SALES_PLATFORM_HOME, nothing patched.

Every command runs in a temporary folder with an environment from which every setting the
platform reads (and every AWS_* variable) has been removed, so neither the developer's shell
nor a `.env` file can change what these tests see.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sales_platform.samples.store_files import default_end_date, generate_store_day, render_json
from sales_platform_tests.command_line import processed_file, run_cli

# The command line, the daemon and the webserver as programs: seconds to start each.
pytestmark = pytest.mark.slow

STORES = "0001,0002"
NEW_YORK = "America/New_York"


# --------------------------------------------------------------------------- running the command


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def platform_env(home: Path) -> dict[str, str]:
    return {"SALES_PLATFORM_HOME": str(home), "EXPECTED_STORES": STORES}


def drop_upload(home: Path, name: str, data: bytes, staging: Path) -> Path:
    """Put a file into the inbox the way a finished copy lands: whole, in one rename, and (as
    for a file that arrived before this cron run) no longer changing."""
    inbox = home / "bucket" / "uploads"
    inbox.mkdir(parents=True, exist_ok=True)
    staging.mkdir(parents=True, exist_ok=True)
    partial = staging / name
    partial.write_bytes(data)
    arrived = time.time() - 60
    os.utime(partial, (arrived, arrived))
    os.replace(partial, inbox / name)
    return inbox / name


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


# --------------------------------------------------------------------------- help


SUBCOMMAND_OPTIONS = {
    "generate-sample-data": [
        "--out",
        "--stores",
        "--days",
        "--end-date",
        "--seed",
        "--timezone",
        "--lines-per-day",
        "--with-bad-files",
    ],
    "process": ["--verbose"],
    "demo": ["--days", "--end-date", "--seed", "--no-bad-files"],
    "dev": ["--host", "--port", "--api-port", "--no-api", "--insecure"],
    "api": ["--host", "--port", "--workers", "--insecure"],
}


def test_help_lists_every_command_and_works_even_with_a_broken_configuration(tmp_path: Path) -> None:
    # Help is what someone reads to fix their configuration, so a bad setting must not hide it.
    result = run_cli(tmp_path, "--help", EXPECTED_STORES="12")

    assert result.returncode == 0
    for command in SUBCOMMAND_OPTIONS:
        assert re.search(rf"^\s+{command}\b", result.stdout, re.MULTILINE), f"{command} missing from --help"
    assert "environment" in result.stdout  # says where configuration comes from


@pytest.mark.parametrize("command", sorted(SUBCOMMAND_OPTIONS))
def test_each_command_help_lists_its_options(tmp_path: Path, command: str) -> None:
    result = run_cli(tmp_path, command, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: sales-platform {command}")
    for option in SUBCOMMAND_OPTIONS[command]:
        assert re.search(rf"^\s+(-\w, )?{option}\b", result.stdout, re.MULTILINE), f"{option} not described"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "dev-box.example.com"])
def test_dev_refuses_an_address_others_can_reach_unless_told_it_is_insecure(tmp_path: Path, host: str) -> None:
    result = run_cli(tmp_path, "dev", "--host", host, "--port", "1", SALES_PLATFORM_HOME=str(tmp_path / "home"))

    assert result.returncode == 2
    assert f"refusing to serve the Dagster UI on {host}" in result.stderr
    assert "no login" in result.stderr and "--insecure" in result.stderr
    assert not (tmp_path / "home").exists(), "nothing was started or prepared"


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path)

    assert result.returncode == 2
    assert "usage: sales-platform" in result.stderr


# --------------------------------------------------------------------------- generate-sample-data


SAMPLE_ARGS = ("--stores", STORES, "--days", "3", "--end-date", "2026-11-20")
SAMPLE_NAMES = [f"store_{store}_2026-11-{day}.json" for store in ("0001", "0002") for day in ("18", "19", "20")]


def _contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_generate_sample_data_writes_one_file_per_store_and_day_and_the_same_seed_gives_the_same_bytes(
    tmp_path: Path,
) -> None:
    first = run_cli(tmp_path, "generate-sample-data", "--out", "first", *SAMPLE_ARGS, "--seed", "7")
    again = run_cli(tmp_path, "generate-sample-data", "--out", "again", *SAMPLE_ARGS, "--seed", "7")
    other = run_cli(tmp_path, "generate-sample-data", "--out", "other", *SAMPLE_ARGS, "--seed", "8")

    assert (first.returncode, again.returncode, other.returncode) == (0, 0, 0)
    assert sorted(_contents(tmp_path / "first")) == sorted(SAMPLE_NAMES)
    assert "wrote 6 files" in first.stdout
    assert "for 2 stores from 2026-11-18 to 2026-11-20" in first.stdout
    assert _contents(tmp_path / "again") == _contents(tmp_path / "first")
    assert sorted(_contents(tmp_path / "other")) == sorted(SAMPLE_NAMES)
    for name, data in _contents(tmp_path / "other").items():
        assert data != _contents(tmp_path / "first")[name], f"{name}: another seed gave the same bytes"
    for name, data in _contents(tmp_path / "first").items():
        records = json.loads(data)
        assert records and all(record["transaction_id"].startswith(f"TXN-{name[6:10]}-") for record in records)


def test_generate_sample_data_with_bad_files_reports_each_one_and_leaves_the_good_files_alone(tmp_path: Path) -> None:
    good = run_cli(tmp_path, "generate-sample-data", "--out", "good", *SAMPLE_ARGS, "--seed", "7")
    mixed = run_cli(tmp_path, "generate-sample-data", "--out", "mixed", *SAMPLE_ARGS, "--seed", "7", "--with-bad-files")

    assert (good.returncode, mixed.returncode) == (0, 0)
    reported = dict(re.findall(r"^\s+bad file (\S+): (.+)$", mixed.stdout, re.MULTILINE))
    written = _contents(tmp_path / "mixed")
    assert len(reported) >= 5
    assert set(written) == set(SAMPLE_NAMES) | set(reported)
    assert not set(reported) & set(SAMPLE_NAMES), "a bad file replaced a good one"
    assert all(reason.strip() for reason in reported.values())
    assert {name: written[name] for name in SAMPLE_NAMES} == _contents(tmp_path / "good")


def test_generate_sample_data_sizes_the_files_to_the_lines_per_day_asked_for(tmp_path: Path) -> None:
    stores = ("--stores", "0001,0002,0003,0004", "--days", "7", "--end-date", "2026-11-20")
    full = run_cli(tmp_path, "generate-sample-data", "--out", "full", *stores)
    small = run_cli(tmp_path, "generate-sample-data", "--out", "small", *stores, "--lines-per-day", "120")

    assert (full.returncode, small.returncode) == (0, 0)
    lines = [len(json.loads(path.read_bytes())) for path in (tmp_path / "small").iterdir()]
    assert len(lines) == 28
    # The weekly incidents (a 40% day, a 250% day) stay, so the mean is near, not exact.
    assert 100 <= statistics.mean(lines) <= 140, statistics.mean(lines)
    full_lines = [len(json.loads(path.read_bytes())) for path in (tmp_path / "full").iterdir()]
    assert statistics.mean(full_lines) > 4 * statistics.mean(lines)


def test_generate_sample_data_defaults_to_the_expected_stores(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "generate-sample-data",
        "--out",
        "out",
        "--days",
        "1",
        "--end-date",
        "2026-11-20",
        EXPECTED_STORES="0003,0007",
    )

    assert result.returncode == 0
    assert sorted(_contents(tmp_path / "out")) == ["store_0003_2026-11-20.json", "store_0007_2026-11-20.json"]


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--stores", "０００１", "four-digit"),  # digits, but not the ASCII ones every other part accepts
        ("--stores", "²³⁴⁵", "four-digit"),
        ("--end-date", "20251127", "YYYY-MM-DD"),  # date.fromisoformat would take it; the API would not
    ],
)
def test_the_command_line_holds_store_ids_and_days_to_the_rule_the_api_uses(
    tmp_path: Path, option: str, value: str, said: str
) -> None:
    result = run_cli(tmp_path, "generate-sample-data", "--out", "out", option, value)

    assert result.returncode == 2
    assert said in result.stderr
    assert not (tmp_path / "out").exists()


def test_generate_sample_data_refuses_malformed_store_ids(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "generate-sample-data", "--out", "out", "--stores", "1,2")

    assert result.returncode == 2
    assert "four-digit" in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- demo


SUMMARY = re.compile(
    r"(\d+) runs in [\d.]+ s: (\d+) files processed \(([\d,]+) lines\), (\d+) refused, (\d+) failed, "
    r"(\d+) day\(s\) analysed, (\d+) report\(s\)"
)


def test_demo_processes_every_file_prints_a_summary_and_records_the_runs_in_dagster(
    tmp_path: Path, home: Path, platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(tmp_path, "demo", "--days", "2", **platform_env)

    assert result.returncode == 0
    dropped = re.search(r"dropped (\d+) files \(([\d,]+) good lines, (\d+) deliberately bad files\)", result.stdout)
    assert dropped, "the demo does not say what it dropped into the inbox"
    files, good_lines, bad = int(dropped[1]), int(dropped[2].replace(",", "")), int(dropped[3])
    good = 2 * 2  # two stores, two days
    assert files == good + bad and bad >= 5
    summary = SUMMARY.search(result.stdout)
    assert summary, "no summary line"
    days = 2  # every store reported on both days, so both are analysed and reported
    runs_total, *counts = (int(group.replace(",", "")) for group in summary.groups())
    assert tuple(counts) == (good, good_lines, bad, 0, days, days)
    refused = re.findall(r"^\s+refused\s+(\S+): (.+)$", result.stdout, re.MULTILINE)
    assert len(refused) == bad and all(reason.strip() for _, reason in refused)
    assert "where to look" in result.stdout
    assert str(home / "bucket") in result.stdout
    assert str(home / "sales.db") in result.stdout
    assert "sales-platform dev" in result.stdout
    # Only the command's own words: Dagster's narration is in the daemon's log.
    assert "alembic" not in result.stdout + result.stderr and "dagster.daemon" not in result.stdout + result.stderr
    assert "Warning" not in result.stderr

    bucket = home / "bucket"
    assert files_under(bucket / "uploads") == []
    assert len([name for name in files_under(bucket / "processed") if name.endswith("data.parquet")]) == good
    rejected = files_under(bucket / "rejected")
    assert sorted(name for name, _ in refused) == sorted(name for name in rejected if not name.endswith(".error.json"))
    assert len(rejected) == 2 * bad  # each refused file with its reasons beside it
    assert (home / "sales.db").is_file()

    # The runs are in the local Dagster instance, launched by its daemon with their code
    # location's origin, so `sales-platform dev` shows them and can re-execute any of them.
    import dagster as dg

    from sales_platform.defs.ingest.upload_sensor import uploads_of

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
        assert len(runs) == runs_total
        assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert all(run.remote_job_origin is not None for run in runs)
        uploads = {key for run in runs if run.job_name == "ingest_store_uploads" for key in uploads_of(run)}
        analysed = sorted(instance.get_materialized_partitions(dg.AssetKey("daily_insights")))
    assert uploads == {f"uploads/{name}" for name in files_under(bucket / "archive")} | {
        f"uploads/{name}" for name, _ in refused
    }
    end = default_end_date(NEW_YORK)
    assert analysed == [str(end - dt.timedelta(days=1)), str(end)]

    # Every day's analysis is in the table: company summary, products and insights.
    with sqlite3.connect(home / "sales.db") as connection:
        for day in analysed:
            kinds = dict(
                connection.execute(
                    "SELECT substr(SK, 1, instr(SK, '#')), count(*) FROM items WHERE PK = ? GROUP BY 1",
                    (f"DATE#{day}",),
                ).fetchall()
            )
            assert kinds["SUMMARY#"] == 1 and kinds["PRODUCT#"] > 20 and kinds["INSIGHT#"] >= 1, kinds
    assert len(list((home / "outbox").glob("*-report-*.eml"))) == days


# --------------------------------------------------------------------------- process


def test_process_with_an_empty_inbox_says_so(tmp_path: Path, platform_env: dict[str, str]) -> None:
    result = run_cli(tmp_path, "process", **platform_env)

    assert result.returncode == 0
    assert "nothing to do: no new files in uploads/" in result.stdout


def test_process_accepts_a_good_file_and_refuses_a_bad_one(
    tmp_path: Path, home: Path, platform_env: dict[str, str]
) -> None:
    day = default_end_date(NEW_YORK)  # yesterday where the stores are
    good_records = generate_store_day("0001", day, stores=["0001", "0002"])
    bad_records = generate_store_day("0002", day, stores=["0001", "0002"])
    del bad_records[len(bad_records) // 2]["customer_id"]
    good_name, bad_name = f"store_0001_{day}.json", f"store_0002_{day}.json"
    bad_bytes = render_json(bad_records)
    drop_upload(home, good_name, render_json(good_records), tmp_path / "copying")
    drop_upload(home, bad_name, bad_bytes, tmp_path / "copying")

    result = run_cli(tmp_path, "process", "--verbose", **platform_env)

    assert result.returncode == 0
    assert re.search(rf"processed {good_name}: {len(good_records):,} lines", result.stdout)
    assert re.search(rf"refused\s+{bad_name}: .*customer_id", result.stdout)
    assert re.search(r"1 files processed .*, 1 refused, 0 failed", result.stdout)

    bucket = home / "bucket"
    assert files_under(bucket / "uploads") == []
    parquet = pq.read_table(processed_file(home / "bucket", day, "0001"))
    assert parquet.num_rows == len(good_records)
    assert (bucket / "archive" / good_name).read_bytes() == render_json(good_records)
    assert not processed_file(home / "bucket", day, "0002").exists()
    assert (bucket / "rejected" / bad_name).read_bytes() == bad_bytes  # the original bytes, untouched
    report = json.loads((bucket / "rejected" / f"{bad_name}.error.json").read_text())
    assert "customer_id" in json.dumps(report)

    again = run_cli(tmp_path, "process", **platform_env)
    assert again.returncode == 0
    assert "nothing to do" in again.stdout


def test_process_analyses_a_day_once_every_expected_store_has_reported(
    tmp_path: Path, home: Path, platform_env: dict[str, str]
) -> None:
    day = default_end_date(NEW_YORK)
    for store_id in ("0001", "0002"):
        records = generate_store_day(store_id, day, stores=["0001", "0002"])
        drop_upload(home, f"store_{store_id}_{day}.json", render_json(records), tmp_path / "copying")
        result = run_cli(tmp_path, "process", "--verbose", **platform_env)
        assert result.returncode == 0
        analysed = store_id == "0002"  # the second of the two expected stores completes the day
        assert re.search(rf"1 files processed .*, {int(analysed)} day\(s\) analysed", result.stdout)
        assert (f"analysed  {day}" in result.stdout) == analysed

    with sqlite3.connect(home / "sales.db") as connection:
        [(summary,)] = connection.execute(
            "SELECT data FROM items WHERE PK = ? AND SK = 'SUMMARY#COMPANY'", (f"DATE#{day}",)
        )
    assert json.loads(summary)["stores_reported"] == 2
    assert "nothing to do" in run_cli(tmp_path, "process", **platform_env).stdout


def test_process_exits_non_zero_when_a_run_fails_and_keeps_the_upload(
    tmp_path: Path, home: Path, platform_env: dict[str, str]
) -> None:
    day = default_end_date(NEW_YORK)
    name = f"store_0001_{day}.json"
    records = generate_store_day("0001", day, stores=["0001", "0002"])
    drop_upload(home, name, render_json(records), tmp_path / "copying")
    # Something (a stray folder, a broken sync) sits where the store-day's Parquet file goes,
    # so writing it fails for real.
    obstacle = processed_file(home / "bucket", day, "0001")
    obstacle.mkdir(parents=True)
    (obstacle / "not-a-parquet-file").write_text("in the way")
    env = {**platform_env, "UPLOAD_RETRY_SECONDS": "15"}

    failed = run_cli(tmp_path, "process", **env)

    assert failed.returncode == 1
    failure = re.search(r"FAILED\s+1 upload\(s\) \(ingest_store_uploads, run [0-9a-f-]+\): (.+)", failed.stdout)
    assert failure, "the failed run is not named"
    assert name in failure[1] and "data.parquet" in failure[1], "the failure does not say what went wrong"
    assert re.search(r"0 files processed .*, 0 refused, 1 failed", failed.stdout)
    assert "stay in uploads/" in failed.stdout
    assert files_under(home / "bucket" / "uploads") == [name], "a failed run lost the upload"
    assert files_under(home / "bucket" / "rejected") == []

    # Once the obstacle is gone, and the retry delay has passed, a pass processes the same file.
    (obstacle / "not-a-parquet-file").unlink()
    obstacle.rmdir()
    time.sleep(16)  # the delay counts from when its run ended
    retried = run_cli(tmp_path, "process", **env)

    assert retried.returncode == 0
    assert re.search(r"1 files processed .*, 0 refused, 0 failed", retried.stdout)
    assert pq.read_table(processed_file(home / "bucket", day, "0001")).num_rows == len(records)
    assert files_under(home / "bucket" / "uploads") == []


def test_process_waits_for_a_file_copied_in_a_moment_ago(
    tmp_path: Path, home: Path, platform_env: dict[str, str]
) -> None:
    day = default_end_date(NEW_YORK)
    inbox = home / "bucket" / "uploads"
    inbox.mkdir(parents=True)
    (inbox / f"store_0001_{day}.json").write_bytes(
        render_json(generate_store_day("0001", day, stores=["0001", "0002"]))
    )

    result = run_cli(tmp_path, "process", **platform_env)  # at once: the file is younger than the settle time

    assert result.returncode == 0
    assert "nothing to do" not in result.stdout
    assert re.search(r"1 files processed .*, 0 refused, 0 failed", result.stdout)


def test_a_file_held_open_is_reported_not_hidden_and_one_dated_in_the_future_is_taken_naming_the_clock(
    tmp_path: Path, home: Path, platform_env: dict[str, str]
) -> None:
    day = default_end_date(NEW_YORK)
    inbox = home / "bucket" / "uploads"
    inbox.mkdir(parents=True)
    held = inbox / f"store_0001_{day}.jsonl"
    # A store script that wrote part of its file and paused, holding it open.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; f = open(sys.argv[1], 'w'); f.write('{}\\n'); f.flush(); sys.stdin.read()",
            str(held),
        ],
        stdin=subprocess.PIPE,
    )
    dated_ahead = inbox / f"store_0002_{day}.json"
    dated_ahead.write_bytes(render_json(generate_store_day("0002", day, stores=["0001", "0002"])))
    future = time.time() + 3 * 3600  # a clock that is off where it was written
    os.utime(dated_ahead, (future, future))
    try:
        time.sleep(3)  # the held file's time is no longer what keeps it waiting
        result = run_cli(tmp_path, "process", **platform_env)
    finally:
        writer.communicate(b"")

    assert result.returncode == 0
    assert re.search(r"1 files processed .*, 0 refused, 0 failed", result.stdout)
    assert re.search(rf"clock +store_0002_{day}\.json: modified \S+Z, 3 h ahead of the platform's clock", result.stdout)
    assert "1 file(s) dated in the future" in result.stdout
    assert "1 file(s) in uploads/ still being written (changing, or held open by a program)" in result.stdout
    assert held.read_bytes() == b"{}\n" and not dated_ahead.exists()


# --------------------------------------------------------------------------- bad settings


BAD_SETTINGS = {
    "unknown store id": ({"EXPECTED_STORES": "12"}, "EXPECTED_STORES"),
    "unknown time zone": ({"DAILY_ANALYSIS_TIMEZONE": "Mars/Olympus"}, "DAILY_ANALYSIS_TIMEZONE"),
    "s3 without a bucket": ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
}


@pytest.mark.parametrize("command", [("process",), ("demo", "--days", "1"), ("dev", "--port", "1")], ids=lambda c: c[0])
@pytest.mark.parametrize("problem", sorted(BAD_SETTINGS))
def test_a_bad_setting_stops_the_command_naming_the_variable(
    tmp_path: Path, problem: str, command: tuple[str, ...]
) -> None:
    bad, variable = BAD_SETTINGS[problem]
    settings = {"SALES_PLATFORM_HOME": str(tmp_path / "home"), "EXPECTED_STORES": STORES, **bad}

    started = time.monotonic()
    result = run_cli(tmp_path, *command, **settings)

    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("sales-platform: invalid configuration")
    assert time.monotonic() - started < 60  # `dev` stops before starting any server
