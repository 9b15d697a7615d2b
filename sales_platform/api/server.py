"""How `sales-platform api` serves HTTP: uvicorn, with the bounds uvicorn leaves open.

uvicorn's httptools protocol reads a request's headers without any limit on their size or
number, and waits as long as a client likes for them: ten connections sending 60 MiB of headers
each take hundreds of megabytes, and a client that connects and trickles a byte now and then
holds its connection for ever. This protocol refuses a request head over `MAX_HEAD_BYTES` or
`MAX_HEADERS` with 431 as soon as it passes the limit (so no more than the limit and one read is
ever buffered), closes a connection whose request head is not complete `API_HEADER_TIMEOUT_SECONDS` after it
began (or after the connection opened), and one that stays silent for
`API_BODY_IDLE_TIMEOUT_SECONDS` in the middle of a request body. Between requests, uvicorn's own
keep-alive timeout applies.

On AWS the load balancer stands in front and bounds headers too (an ALB takes at most 16 KB for
the request line and for each header, 64 KB in all) and closes a connection idle longer than
its idle timeout (60 s by default); these bounds hold wherever the API runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sales_platform.settings import ApiSettings, Settings

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
KEEP_ALIVE_SECONDS = 5
# Per header line: ": " and CRLF beside the name and the value.
_HEADER_OVERHEAD = 4

logger = logging.getLogger("sales_platform.api.server")


class _HeadRefused(Exception):
    pass


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size, count and time limit on request heads and a
    limit on silence within a body."""

    max_head_bytes = MAX_HEAD_BYTES
    max_headers = MAX_HEADERS
    head_timeout = ApiSettings.model_fields["api_header_timeout_seconds"].default
    idle_body_timeout = ApiSettings.model_fields["api_body_idle_timeout_seconds"].default

    @classmethod
    def configure(cls, settings: Settings) -> None:
        """Take the timeouts from the settings. uvicorn makes a protocol per connection from the
        class it was given, in each worker process; every worker builds the app from the
        settings first (`app_from_environment`), and calls this then."""
        cls.head_timeout = settings.api.api_header_timeout_seconds
        cls.idle_body_timeout = settings.api.api_body_idle_timeout_seconds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._refusal: str | None = None
        self._in_head = True
        self._head_size = self._raw_head_bytes = self._header_count = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._last_body_data = 0.0
        # A client that connects and sends nothing is as slow as one that sends little.
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    # ------------------------------------------------------------------ timers

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _arm_body_timer(self, delay: float | None = None) -> None:
        self._body_timer = self.loop.call_later(
            self.idle_body_timeout if delay is None else delay, self._body_timed_out
        )

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            logger.warning(
                "closed a connection from %s: no complete request head within %.0f s", self._peer(), self.head_timeout
            )
            self._answer(408, "Request Timeout", f"the request head did not arrive within {self.head_timeout:.0f} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:
            # The application is behind, not the client: nothing is being read.
            self._last_body_data = now
        silent = now - self._last_body_data
        if silent < self.idle_body_timeout:
            self._arm_body_timer(self.idle_body_timeout - silent)
            return
        logger.warning(
            "closed a connection from %s: silent for %.0f s within a request body", self._peer(), self.idle_body_timeout
        )
        self.transport.close()  # the application sees the client gone; an upload is discarded

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"

    def _answer(self, status: int, reason: str, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason.encode(), len(body), body)
        )
        self.transport.close()

    # ------------------------------------------------------------------ reading

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._in_head:
            self._raw_head_bytes += len(data)
        else:
            self._last_body_data = self.loop.time()
        super().data_received(data)
        if self._in_head and self._raw_head_bytes > self.max_head_bytes and not self.transport.is_closing():
            # Still no end of the head: everything read since it began belongs to it.
            self._refuse_head(f"the request head is larger than {self.max_head_bytes:,} bytes")
            self._answer(431, "Request Header Fields Too Large", self._refusal or "")

    def _refuse_head(self, why: str) -> None:
        self._refusal = why
        logger.warning("refused a request from %s: %s", self._peer(), why)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:  # a parser callback stopped the parse
            self._answer(431, "Request Header Fields Too Large", self._refusal)
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_size = self._header_count = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        self._check_head()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + _HEADER_OVERHEAD
        self._header_count += 1
        self._check_head()
        super().on_header(name, value)

    def _check_head(self) -> None:
        if self._header_count > self.max_headers:
            self._refuse_head(f"the request has more than {self.max_headers} headers")
        elif self._head_size > self.max_head_bytes:
            self._refuse_head(f"the request head is larger than {self.max_head_bytes:,} bytes")
        else:
            return
        raise _HeadRefused

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._raw_head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()
        if self._body_timer is None:
            self._last_body_data = self.loop.time()
            self._arm_body_timer()

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        # Whatever arrives next begins the next request's head.
        self._in_head = True
        super().on_message_complete()


def server_options() -> dict[str, Any]:
    """The uvicorn options `sales-platform api` runs with (and the API benchmark's ceiling)."""
    return {
        "http": BoundedHttpProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
