"""The Dagster daemon as a child of a command, started before that command does anything else:
it is what takes longest to be ready, and it needs nothing from the command but the home.

Kept free of Dagster imports for that reason; `daemon_pass` watches it once it runs.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sales_platform.runtime.home_lock import Holder, HomeLock
from sales_platform.runtime.local_instance import prepare_dagster_home, workspace_file
from sales_platform.runtime.process_group import GuardedGroup
from sales_platform.settings import Settings

_KEPT_LOGS = 10


@dataclass
class RunningDaemon:
    group: GuardedGroup
    lock: HomeLock
    log: IO[bytes]
    log_path: Path
    started: float  # when the home was ours: what happened before belongs to someone else

    def stop(self) -> int:
        return self.group.stop()

    def close(self) -> None:
        self.group.stop()
        self.log.close()
        self.lock.release()


def _create_storage(home: Path) -> None:
    """A new home's SQLite databases are created (and migrated) once, here, before the daemon and
    its code server open them together and race to create them."""
    if all((home / name).exists() for name in ("history/runs.db", "schedules/schedules.db", "event_log.db")):
        return
    import dagster as dg

    from sales_platform.runtime.dagster_notices import silence_dagster_notices

    silence_dagster_notices()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs_count()


def start_daemon(
    settings: Settings, command: str, on_busy: Callable[[Holder | None], bool], say: Callable[[str], None]
) -> RunningDaemon:
    """Take the home (waiting for, or refusing, whoever holds it: `on_busy`), write its instance
    files and start `dagster-daemon run` on them, its output in SALES_PLATFORM_HOME/logs/."""
    import time

    home = prepare_dagster_home(settings)
    lock = HomeLock(settings.home_path, command)
    lock.acquire(
        wait_for=on_busy,
        on_wait=lambda holder: say(f"waiting for {holder.describe() if holder else 'another command'} to finish"),
    )
    try:
        started = time.time()
        _create_storage(home)
        folder = settings.home_path / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.glob("daemon-*.log"))[:-_KEPT_LOGS]:
            old.unlink(missing_ok=True)
        path = folder / f"daemon-{dt.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
        log = open(path, "ab")  # noqa: SIM115 (closed with the daemon)
        group = GuardedGroup(
            [sys.executable, "-m", "dagster._daemon", "run", "-w", str(workspace_file(settings))],
            env={**os.environ, "DAGSTER_HOME": str(home), "SALES_PLATFORM_HOME": str(settings.home_path)},
            output=log,
            keep_fds=[lock.fileno()],
        )
    except BaseException:
        lock.release()
        raise
    return RunningDaemon(group, lock, log, path, started)
