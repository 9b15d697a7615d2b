"""`sales-platform api` as a real server on a free loopback port, for tests that need HTTP
itself (uploads over signed URLs, header limits, slow clients, a server killed mid-upload)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from sales_platform_tests.command_line import clean_environment, cli_command, free_port, interruptible

START_DEADLINE = 60.0


class ApiServer:
    def __init__(self, process: subprocess.Popen, port: int, log: Path, key: str | None) -> None:
        self.process, self.port, self.log = process, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, headers={"X-Api-Key": key} if key else {}, timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`sales-platform api` exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        pytest.fail(f"the API did not answer within {START_DEADLINE:.0f} s:\n{self.output()}")

    def rss_bytes(self) -> int:
        """The server process's resident memory now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the server process")

    def kill(self) -> None:
        """SIGKILL to the server and everything it started: no cleanup of any kind runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@contextlib.contextmanager
def running_api(
    cwd: Path, env: dict[str, str], key: str | None = None, log_name: str = "api.log"
) -> Iterator[ApiServer]:
    port = free_port()
    log = cwd / log_name
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*cli_command(), "api", "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=clean_environment(**env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=interruptible,
        )
    server = ApiServer(process, port, log, key)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.client.close()
        if process.poll() is None:
            server.kill()
