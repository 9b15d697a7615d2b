"""`sales-platform dev` for real: the Dagster webserver, daemon and code server start with the REST
API beside them, the upload sensor picks up files copied into the local inbox with nobody clicking
anything, the API shows the result, and stopping the command stops every process it started.

The server runs in a temporary SALES_PLATFORM_HOME on a free port, from an environment without
any of the developer's platform or AWS settings. Each test tells the processes it started apart
from everything else on the machine by that home, which every one of them inherits in its
environment, so it can check that none survives and kill leftovers if a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from sales_platform.samples.store_files import default_end_date, generate_store_day, render_json
from sales_platform_tests.command_line import (
    clean_environment,
    cli_command,
    free_port,
    interruptible,
    processed_file,
    processes_using,
)

# The command line, the daemon and the webserver as programs: seconds to start each.
pytestmark = pytest.mark.slow

STORES = ["0001", "0002"]
NEW_YORK = "America/New_York"
START_DEADLINE = 120.0  # first start imports Dagster in four processes
PROCESSING_DEADLINE = 90.0
STOP_DEADLINE = 30.0


# --------------------------------------------------------------------------- the server


@dataclass
class DevServer:
    process: subprocess.Popen
    home: Path
    port: int
    log: Path
    api_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bucket(self) -> Path:
        return self.home / "bucket"

    def output_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def diagnostics(self) -> str:
        files = (
            sorted(str(p.relative_to(self.bucket)) for p in self.bucket.rglob("*") if p.is_file())
            if self.bucket.exists()
            else []
        )
        return (
            f"\n--- bucket files: {files}\n--- processes: {processes_using(self.home)}"
            f"\n--- last lines of `sales-platform dev` output:\n{self.output_tail()}"
        )

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return response.status, response.read()

    def api_get(self, path: str, timeout: float = 5.0) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}{path}", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def graphql(self, query: str) -> dict:
        return self.graphql_with(query)

    def graphql_with(self, query: str, **variables: object) -> dict:
        body = {"query": query, "variables": variables}
        request = urllib.request.Request(
            self.url + "/graphql", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"`sales-platform dev` exited with {self.process.returncode} before serving{self.diagnostics()}"
                )
            try:
                status, _ = self.get("/server_info", timeout=2)
                api_status, _ = self.api_get("/health", timeout=2)
                if status == 200 and api_status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        pytest.fail(
            f"the Dagster webserver on {self.url} and the API on port {self.api_port} did not both answer within "
            f"{START_DEADLINE:.0f} s{self.diagnostics()}"
        )

    def assert_stops_completely(self, started: float) -> None:
        """The command exits, no process it started survives and the port is free again."""
        try:
            self.process.wait(timeout=max(1.0, started + STOP_DEADLINE - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"`sales-platform dev` still running {STOP_DEADLINE:.0f} s after the signal{self.diagnostics()}"
            )
        survivors = processes_using(self.home)
        while survivors and time.monotonic() < started + STOP_DEADLINE:
            time.sleep(0.5)
            survivors = processes_using(self.home)
        assert not survivors, f"still running {STOP_DEADLINE:.0f} s after the signal: {survivors}{self.diagnostics()}"
        for port in (self.port, self.api_port):
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()


def start_dev(tmp_path: Path, api_port: int | None = None) -> DevServer:
    home = tmp_path / "home"
    port = free_port()
    api_port = api_port or free_port()
    log = tmp_path / "dev.log"
    env = clean_environment(
        SALES_PLATFORM_HOME=str(home),
        EXPECTED_STORES=",".join(STORES),
        UPLOAD_SENSOR_INTERVAL_SECONDS="5",
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*cli_command(), "dev", "--port", str(port), "--api-port", str(api_port)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=interruptible,
        )
    return DevServer(process, home, port, log, api_port)


def kill_everything(server: DevServer) -> None:
    """Whatever the test did, nothing it started outlives it."""
    leftovers = processes_using(server.home)
    if server.process.poll() is None:
        leftovers[server.process.pid] = "sales-platform dev"
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.process.wait(timeout=30)


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    server = start_dev(tmp_path)
    try:
        yield server
    finally:
        kill_everything(server)


# --------------------------------------------------------------------------- helpers


def copy_into_inbox(inbox: Path, name: str, data: bytes, elsewhere: Path) -> None:
    """Like a user's copy: the bytes are written outside the inbox and end in one rename."""
    elsewhere.mkdir(parents=True, exist_ok=True)
    (elsewhere / name).write_bytes(data)
    os.replace(elsewhere / name, inbox / name)


RUNS_QUERY = """
{ runsOrError { __typename ... on Runs { results { runId status jobName runConfigYaml } } } }
"""


def runs_by_upload(server: DevServer) -> dict[str, tuple[str, str]]:
    """What the Dagster UI lists: upload key -> (job, status) of the run that took it."""
    answer = server.graphql(RUNS_QUERY)["data"]["runsOrError"]
    assert answer["__typename"] == "Runs", answer
    runs = {}
    for run in answer["results"]:
        config = yaml.safe_load(run["runConfigYaml"]) or {}
        for key in config.get("ops", {}).get("ingest_uploads", {}).get("config", {}).get("uploads", []):
            runs[key] = (run["jobName"], run["status"])
    return runs


# --------------------------------------------------------------------------- tests


def test_dev_processes_copied_uploads_by_itself_and_ctrl_c_stops_everything(
    tmp_path: Path, dev_server: DevServer
) -> None:
    dev_server.wait_until_serving()

    inbox = dev_server.bucket / "uploads"
    assert inbox.is_dir(), f"no inbox to copy store files into at {inbox}{dev_server.diagnostics()}"
    day = default_end_date(NEW_YORK)  # yesterday where the stores are
    records = generate_store_day("0001", day, stores=STORES)
    good, bad = f"store_0001_{day}.json", f"store_0002_{day}.json"
    cut_off = render_json(generate_store_day("0002", day, stores=STORES))[:5000]
    copy_into_inbox(inbox, good, render_json(records), tmp_path / "downloads")
    copy_into_inbox(inbox, bad, cut_off, tmp_path / "downloads")

    parquet = processed_file(dev_server.bucket, day, "0001")
    rejected = dev_server.bucket / "rejected"
    expected_runs = {
        f"uploads/{good}": ("ingest_store_uploads", "SUCCESS"),
        f"uploads/{bad}": ("ingest_store_uploads", "SUCCESS"),
    }
    deadline = time.monotonic() + PROCESSING_DEADLINE
    runs: dict[str, tuple[str, str]] = {}
    while time.monotonic() < deadline:
        done = parquet.is_file() and (rejected / f"{bad}.error.json").is_file() and not any(inbox.iterdir())
        if done:
            runs = runs_by_upload(dev_server)
            if runs == expected_runs:
                break
        time.sleep(1)
    else:
        pytest.fail(
            f"within {PROCESSING_DEADLINE:.0f} s of copying two files into {inbox}, expected {parquet.relative_to(dev_server.bucket)} "
            f"and {bad} refused into rejected/ with the inbox empty and both runs successful; runs: {runs}{dev_server.diagnostics()}"
        )

    assert pq.read_table(parquet).num_rows == len(records)
    assert (dev_server.bucket / "archive" / good).read_bytes() == render_json(records)
    assert (rejected / bad).read_bytes() == cut_off  # the original bytes, untouched
    assert "JSON" in (rejected / f"{bad}.error.json").read_text()
    assert not processed_file(dev_server.bucket, day, "0002").exists()

    # The API beside Dagster reads the same bucket and table.
    status, analytics = dev_server.api_get("/analytics")
    assert status == 200, analytics
    assert analytics["date"] == day.isoformat() and [s["store_id"] for s in analytics["stores"]] == ["0001"]
    status, files = dev_server.api_get("/files")
    assert sorted((f["name"], f["status"]) for f in files["files"]) == [
        (f"store_0001_{day}.parquet", "processed"),
        (bad, "rejected"),
    ]

    # Ctrl-C in the terminal: SIGINT to the command's process group.
    started = time.monotonic()
    os.killpg(dev_server.process.pid, signal.SIGINT)
    dev_server.assert_stops_completely(started)
    assert dev_server.process.returncode == 0


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="kill-sigterm"),
        pytest.param(lambda pid: os.killpg(pid, signal.SIGHUP), id="terminal-closed-sighup"),
        # No handler runs: the guards notice their parent is gone and stop what they started.
        pytest.param(lambda pid: os.kill(pid, signal.SIGKILL), id="kill-9"),
    ],
)
def test_dev_stopped_without_ctrl_c_leaves_no_server_behind(dev_server: DevServer, stop) -> None:
    # `kill`, a process manager or an IDE's stop button (SIGTERM), or closing the terminal
    # window (SIGHUP): the webserver and daemon must not keep running, holding the port and
    # processing uploads, after the command is gone.
    dev_server.wait_until_serving()

    started = time.monotonic()
    stop(dev_server.process.pid)
    dev_server.assert_stops_completely(started)


def test_dev_stops_dagster_when_the_api_cannot_start(tmp_path: Path) -> None:
    # The API's port is taken: half a platform is not what `dev` promises, so it stops it all.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = start_dev(tmp_path, api_port=taken.getsockname()[1])
        try:
            started = time.monotonic()
            try:
                server.process.wait(timeout=START_DEADLINE)
            except subprocess.TimeoutExpired:
                pytest.fail(f"`sales-platform dev` kept running without its API{server.diagnostics()}")
            assert server.process.returncode != 0
            assert "API exited with" in server.output_tail()
            survivors = processes_using(server.home)
            while survivors and time.monotonic() < started + START_DEADLINE + STOP_DEADLINE:
                time.sleep(0.5)
                survivors = processes_using(server.home)
            assert not survivors, f"left running: {survivors}{server.diagnostics()}"
        finally:
            kill_everything(server)


REEXECUTE = """
mutation($parent: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parent, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
RUN_QUERY = """
query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status jobName parentRunId } } }
"""


def test_any_run_process_made_is_re_executed_from_the_ui_without_duplicating_anything(tmp_path: Path) -> None:
    from sales_platform_tests.command_line import run_cli

    home = tmp_path / "home"
    day = default_end_date(NEW_YORK)
    inbox = home / "bucket" / "uploads"
    inbox.mkdir(parents=True)
    for store in STORES:
        copy_into_inbox(
            inbox,
            f"store_{store}_{day}.json",
            render_json(generate_store_day(store, day, stores=STORES)),
            tmp_path / "downloads",
        )
    settings = {"SALES_PLATFORM_HOME": str(home), "EXPECTED_STORES": ",".join(STORES)}
    assert run_cli(tmp_path, "process", **settings).returncode == 0
    with sqlite3.connect(home / "sales.db") as connection:
        items_before = connection.execute("SELECT PK, SK, data FROM items ORDER BY PK, SK").fetchall()
    reports_before = sorted((home / "outbox").glob("*-report-*.eml"))

    server = start_dev(tmp_path)
    try:
        server.wait_until_serving()
        answer = server.graphql(RUNS_QUERY)["data"]["runsOrError"]["results"]
        parents = {run["jobName"]: run["runId"] for run in answer}
        assert set(parents) == {"ingest_store_uploads", "daily_analysis"}, answer
        children = {}
        for job, parent in parents.items():
            launched = server.graphql_with(REEXECUTE, parent=parent)["data"]["launchPipelineReexecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            children[job] = launched["run"]["runId"]
        deadline = time.monotonic() + PROCESSING_DEADLINE
        statuses = {}
        while time.monotonic() < deadline:
            statuses = {
                job: server.graphql_with(RUN_QUERY, id=run)["data"]["runOrError"] for job, run in children.items()
            }
            if all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in statuses.values()):
                break
            time.sleep(1)
        assert {job: run["status"] for job, run in statuses.items()} == dict.fromkeys(parents, "SUCCESS"), (
            f"{statuses}{server.diagnostics()}"
        )
        assert {job: run["parentRunId"] for job, run in statuses.items()} == parents
    finally:
        kill_everything(server)

    # The same items, written again with the same keys: nothing added, nothing lost.
    with sqlite3.connect(home / "sales.db") as connection:
        items_after = connection.execute("SELECT PK, SK FROM items ORDER BY PK, SK").fetchall()
    assert items_after == [(pk, sk) for pk, sk, _ in items_before]
    assert sorted((home / "outbox").glob("*-report-*.eml")) == reports_before  # same content: not sent again
