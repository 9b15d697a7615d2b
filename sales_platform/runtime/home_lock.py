"""One orchestrator per home: `process`, `demo` and `dev` each hold SALES_PLATFORM_HOME's lock
while their Dagster daemon runs, so two of them never tick the same sensors or take the same
files. The lock is the kernel's (flock): it goes with the process that held it, however it ended.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: str

    def describe(self) -> str:
        return f"`sales-platform {self.command}` (pid {self.pid}, since {self.since})"


class HomeBusy(Exception):
    def __init__(self, home: Path, holder: Holder | None) -> None:
        who = holder.describe() if holder else "another sales-platform command"
        super().__init__(f"{who} is using {home}")
        self.holder = holder


class HomeLock:
    def __init__(self, home: Path, command: str) -> None:
        self.home = home
        self.command = command
        self._path = home / ".lock"
        self._fd: int | None = None

    def holder(self) -> Holder | None:
        try:
            data = json.loads(self._path.read_text() or "{}")
            return Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
        except (OSError, ValueError, KeyError):
            return None

    def acquire(
        self, wait_for: Callable[[Holder | None], bool] = lambda holder: False, on_wait=lambda holder: None
    ) -> None:
        """Take the lock. When it is held, `wait_for(holder)` decides between waiting for it
        (`on_wait` is told once) and raising HomeBusy."""
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if not wait_for(holder):
                    os.close(fd)
                    raise HomeBusy(self.home, holder) from None
                if not told:
                    on_wait(holder)
                    told = True
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            json.dumps({"pid": os.getpid(), "command": self.command, "since": time.strftime("%H:%M:%S")}).encode(),
            0,
        )
        self._fd = fd

    def fileno(self) -> int:
        """The locked descriptor, for a child that must hold the lock as long as it lives."""
        assert self._fd is not None, "the lock is not held"
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HomeLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
