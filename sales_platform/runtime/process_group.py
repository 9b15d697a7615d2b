"""Child programs (the Dagster daemon, `dagster dev`, the API) that stop as one, whatever
happens to the command that started them.

Each runs under a small guard at the head of a process group of its own: everything the
program starts (Dagster's code server, every run's process) joins that group. The guard stops
the whole group when asked (SIGINT, then SIGKILL after a grace period), when its program exits,
and when the command that started it disappears, even by `kill -9`, so nothing is left running
and nothing goes on writing into a home another command then takes over.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO

_POLL_SECONDS = 0.25


class GuardedGroup:
    """A program running under the guard, in a process group of its own."""

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        output: IO | int | None = None,
        keep_fds: Sequence[int] = (),
        grace_seconds: float = 15.0,
    ) -> None:
        # `keep_fds` stay open in the guard (the home lock), so they outlive this command until
        # the group is gone.
        guard = [sys.executable, "-m", __name__, str(os.getpid()), str(grace_seconds), "--"]
        self.process = subprocess.Popen(
            [*guard, *command],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
            pass_fds=tuple(keep_fds),
        )
        self.grace_seconds = grace_seconds

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def stop(self) -> int:
        """Ask the group to stop and wait for it; the guard kills what does not stop in time."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=self.grace_seconds + 5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _guard(parent: int, grace: float, command: Sequence[str]) -> int:
    asked_at: float | None = None

    def ask_to_stop(signum, frame) -> None:
        nonlocal asked_at
        if asked_at is None:
            asked_at = time.monotonic()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGHUP, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    # The program leads a group of its own, which everything it starts joins: the guard can stop
    # that group without stopping itself. Handlers set in Python are reset in the program, so it
    # starts with Ctrl-C at its default even when the guard was started from a shell that
    # ignores Ctrl-C (a background job), which an ignored signal would pass on.
    child = subprocess.Popen(list(command), process_group=0)
    group = child.pid
    interrupted = False
    while True:
        code = child.poll()
        if code is not None:
            _signal_group(group, signal.SIGKILL)  # whatever it left behind goes with it
            return code
        if os.getppid() != parent:
            _signal_group(group, signal.SIGKILL)
            return 137
        if asked_at is not None and not interrupted:
            _signal_group(group, signal.SIGINT)  # the way Ctrl-C stops them
            interrupted = True
        if asked_at is not None and time.monotonic() - asked_at > grace:
            _signal_group(group, signal.SIGKILL)
        time.sleep(_POLL_SECONDS)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def main(argv: Sequence[str]) -> int:
    parent, grace, separator, *command = argv
    assert separator == "--" and command, "usage: process_group PARENT_PID GRACE -- COMMAND..."
    return _guard(int(parent), float(grace), command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
