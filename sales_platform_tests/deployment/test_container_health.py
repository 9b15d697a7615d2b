"""`sales-platform healthcheck`, the command ECS runs inside each container."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from sales_platform_tests.deployment.postgres_server import PostgresServer

pytestmark = pytest.mark.deployment

SALES_PLATFORM = str(Path(sys.executable).parent / "sales-platform")


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        code = int(self.path.strip("/") or 200)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def healthcheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SALES_PLATFORM, "healthcheck", *args], capture_output=True, text=True, env=env, timeout=60)


def test_healthy_when_everything_answers(http_base: str, postgres: PostgresServer) -> None:
    import os

    result = healthcheck("--database", "--http", f"{http_base}/200", env={**os.environ, **postgres.environment})
    assert (result.returncode, result.stdout.strip()) == (0, "healthy"), result.stderr


def test_unhealthy_names_each_problem(http_base: str, postgres: PostgresServer) -> None:
    import os

    env = {**os.environ, **postgres.environment, "DAGSTER_PG_PASSWORD": "rotated-away"}
    result = healthcheck("--database", "--http", f"{http_base}/503", "--grpc", "1", env=env)
    assert result.returncode == 1
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 3
    assert problems[0].startswith("unhealthy: database:") and "password authentication failed" in problems[0]
    assert problems[1] == f"unhealthy: {http_base}/503: HTTP 503"
    assert problems[2] == "unhealthy: code server 127.0.0.1:1: UNAVAILABLE"


def test_nothing_to_check_is_a_usage_error() -> None:
    result = healthcheck()
    assert result.returncode == 2 and "--database" in result.stderr
