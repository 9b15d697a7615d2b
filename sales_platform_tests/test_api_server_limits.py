"""What `sales-platform api` does with hostile or broken clients, over real sockets on loopback:
oversized and too many headers are refused before they cost memory, a client that trickles its
headers or goes silent mid-upload is disconnected, and a server killed in the middle of an
upload leaves no half-written file behind."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_platform_tests.api_server import ApiServer, running_api

KEY = "limits-test-key-0123456789abcdef"
NAME = "store_0001_2025-11-27.json"
TIMEOUT = 2  # API_HEADER_TIMEOUT_SECONDS and API_BODY_IDLE_TIMEOUT_SECONDS for these servers


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "SALES_PLATFORM_HOME": str(tmp_path / "home"),
        "EXPECTED_STORES": "0001",
        "API_KEYS": KEY,
        "API_HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
        "API_BODY_IDLE_TIMEOUT_SECONDS": str(TIMEOUT),
    }


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str]) -> Iterator[ApiServer]:
    with running_api(tmp_path, env, KEY) as running:
        yield running


def _connect(server: ApiServer) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port))
    connection.settimeout(15)
    return connection


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def _upload_url(server: ApiServer) -> str:
    answer = server.client.post("/generate-upload-url", json={"filename": NAME})
    assert answer.status_code == 200, answer.text
    return answer.json()["uploadUrl"].removeprefix(server.url)


def _leftovers(home: Path) -> list[str]:
    """Every file in the bucket folder, and any temporary file beside it in the home."""
    bucket = [path for path in (home / "bucket").rglob("*") if path.is_file()]
    return sorted(str(path.relative_to(home)) for path in [*bucket, *home.glob(".*upload*")])


@pytest.mark.slow
def test_oversized_and_too_many_headers_are_refused_with_431(server: ApiServer) -> None:
    for head in (
        b"GET /health HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 80_000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Header-%d: y\r\n" % n for n in range(150)) + b"\r\n",
    ):
        connection = _connect(server)
        connection.sendall(head)
        answer = _answer(connection)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b'"message"' in answer
    # Ordinary requests, with a header as large as browsers send, are served as before.
    fine = server.client.get("/files", headers={"Cookie": "c" * 8000})
    assert fine.status_code == 200


@pytest.mark.slow
def test_ten_clients_sending_60_mib_of_headers_do_not_grow_the_server(server: ApiServer) -> None:
    before = server.rss_bytes()
    refused: list[bool] = []

    def flood() -> None:
        connection = _connect(server)
        sent = 0
        try:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Flood: ")
            while sent < 60 << 20:
                connection.sendall(b"a" * (1 << 20))
                sent += 1 << 20
        except (BrokenPipeError, ConnectionResetError):
            pass
        refused.append(sent < 60 << 20)
        connection.close()

    threads = [threading.Thread(target=flood) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    time.sleep(0.5)

    assert refused == [True] * 10, "every flood is cut off long before its 60 MiB"
    assert server.rss_bytes() - before < 30 << 20
    assert server.client.get("/health").status_code == 200


def test_a_client_that_trickles_its_headers_is_disconnected(server: ApiServer) -> None:
    connection = _connect(server)
    started = time.monotonic()
    connection.sendall(b"GET /health HTTP/1.1\r\n")
    closed = None
    for n in range(40):  # one header line every 0.25 s: never a complete head
        time.sleep(0.25)
        try:
            connection.sendall(b"X-%d: y\r\n" % n)
        except (BrokenPipeError, ConnectionResetError):
            closed = time.monotonic() - started
            break
    answer = _answer(connection)
    closed = closed or time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ") or answer == b""
    assert TIMEOUT - 0.5 < closed < TIMEOUT + 3


def test_a_connection_that_never_sends_anything_is_closed(server: ApiServer) -> None:
    connection = _connect(server)
    started = time.monotonic()
    answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < TIMEOUT + 3


def test_an_upload_that_goes_silent_is_cut_off_and_leaves_nothing(server: ApiServer, env: dict[str, str]) -> None:
    connection = _connect(server)
    started = time.monotonic()
    connection.sendall(
        f"PUT {_upload_url(server)} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".encode()
        + b"["
        + b" " * 5000
    )
    _answer(connection)  # the server closes it
    assert TIMEOUT - 0.5 < time.monotonic() - started < TIMEOUT + 3
    time.sleep(0.3)
    assert _leftovers(Path(env["SALES_PLATFORM_HOME"])) == []


@pytest.mark.slow
def test_a_server_killed_in_the_middle_of_an_upload_leaves_no_file(tmp_path: Path, env: dict[str, str]) -> None:
    home = Path(env["SALES_PLATFORM_HOME"])
    with running_api(tmp_path, env, KEY) as server:
        connection = _connect(server)
        connection.sendall(
            f"PUT {_upload_url(server)} HTTP/1.1\r\nHost: x\r\nContent-Length: {150 << 20}\r\n\r\n".encode()
        )
        for _ in range(40):  # 40 MiB of a 150 MiB upload
            connection.sendall(b" " * (1 << 20))
        time.sleep(0.5)
        assert server.process.poll() is None
        server.kill()
        connection.close()
        left = _leftovers(home)
        # Where the filesystem has no anonymous files, what a killed writer leaves in the staging
        # folder is removed when the API starts again, once it is old enough to be abandoned.
        for name in left:
            assert name.startswith("bucket/.staging/"), left
            old = time.time() - 3600
            os.utime(home / name, (old, old))
    with running_api(tmp_path, env, KEY, log_name="api-again.log"):
        assert _leftovers(home) == []
