"""Running the `sales-platform` command and servers as a user would: a clean environment, a free
port, Ctrl-C that reaches them."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sales_platform.settings import setting_variables


def cli_command() -> list[str]:
    """The console script installed next to this interpreter (what `make install` puts on the
    PATH); the module itself when the package was not installed with its scripts."""
    script = Path(sys.executable).with_name("sales-platform")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sales_platform.cli"]


def clean_environment(**settings: str) -> dict[str, str]:
    """os.environ without anything the platform or boto3 would pick up, plus `settings`."""
    read_by_settings = set(setting_variables())
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in read_by_settings and not name.startswith("AWS_") and name != "DAGSTER_HOME"
    }
    env.update(settings)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def interruptible() -> None:
    """For `preexec_fn`: a shell starts a foreground command with Ctrl-C at its default; a test
    runner launched in the background may have it ignored, and an ignored signal is inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(cwd: Path, *args: str, timeout: float = 180, **settings: str) -> subprocess.CompletedProcess[str]:
    """`sales-platform ARGS` in `cwd` with only `settings` configured; what it printed is shown
    when the test fails."""
    result = subprocess.run(
        [*cli_command(), *args],
        cwd=cwd,
        env=clean_environment(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(f"$ sales-platform {' '.join(args)}  -> exit {result.returncode}")
    print(f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-4000:]}")
    return result


def processes_using(home: Path) -> dict[int, str]:
    """Live processes (pid -> command line) whose environment names this SALES_PLATFORM_HOME:
    the command, dagster dev, webserver, daemon, code servers and run workers, even once
    orphaned."""
    markers = {f"SALES_PLATFORM_HOME={path}".encode() for path in (home, home.resolve())}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if markers.isdisjoint((entry / "environ").read_bytes().split(b"\0")):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":  # exited, waiting for its parent to collect it
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def processed_file(bucket: Path, day: dt.date, store_id: str) -> Path:
    """Where README says a store-day's Parquet lies in a local bucket, spelled out on purpose."""
    return (
        bucket
        / "processed"
        / f"year={day:%Y}"
        / f"month={day:%m}"
        / f"day={day:%d}"
        / f"store_id={store_id}"
        / "data.parquet"
    )
