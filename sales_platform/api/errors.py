"""Every error the API gives is JSON `{"message": ...}` a person can act on, and nothing more:
no stack trace, no file path, no secret. Unexpected failures are logged with an id that the
answer repeats, so an operator can find them; the traceback is logged at DEBUG only.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("sales_platform.api")
_SIGNATURE = re.compile(r"(signature=)[^&\s\"]+")
SIGNED_OBJECT_PATH = "/bucket/"


def route_path(scope: Scope) -> str:
    """The path below where the app is mounted (API_PATH_PREFIX): `/api/files` -> `/files`."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def redact(text: str) -> str:
    """A request line without the signature of a signed URL, which works as a password."""
    return _SIGNATURE.sub(r"\1REDACTED", text)


class RedactSignatures(logging.Filter):
    """For uvicorn's access log, which prints every request's path with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def error_body(message: str, **extra: Any) -> bytes:
    return json.dumps({"message": message, **extra}, ensure_ascii=False).encode()


def json_error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return Response(error_body(message, **extra), status_code=status, media_type="application/json", headers=headers)


def _location(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("query", "path", "header"):
        return f"{parts[0]} parameter {'.'.join(parts[1:])}"
    if parts and parts[0] == "body":
        return "request body" + (f" field {'.'.join(parts[1:])}" if len(parts) > 1 else "")
    return ".".join(parts)


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    problems = [
        f"{_location(tuple(problem.get('loc', ())))}: {problem.get('msg', 'invalid')}" for problem in error.errors()
    ]
    return json_error(422, "; ".join(problems) or "invalid request", errors=problems)


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    message = error.detail if isinstance(error.detail, str) else "request refused"
    extra: dict[str, Any] = dict(error.detail) if isinstance(error.detail, dict) else {}
    message = extra.pop("message", message)
    return json_error(error.status_code, message, headers=getattr(error, "headers", None), **extra)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]


class RequestGuard:
    """Caps request bodies and turns anything unexpected into a JSON 500.

    JSON bodies may not exceed MAX_REQUEST_BYTES, by Content-Length or as streamed; the signed
    upload URL (`/bucket/...`) enforces MAX_UPLOAD_BYTES itself while it streams to disk.
    """

    def __init__(self, app: ASGIApp, max_request_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_request_bytes
        too_large = f"the request body is larger than {limit:,} bytes (MAX_REQUEST_BYTES)"
        if not route_path(scope).startswith(SIGNED_OBJECT_PATH):
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await json_error(
                    413 if length.isdigit() else 400, too_large if length.isdigit() else "bad Content-Length"
                )(scope, receive, send)
                return
            received = 0
            inner_receive = receive

            async def receive() -> Message:  # counts chunked bodies that announce no length
                nonlocal received
                message = await inner_receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise HTTPException(413, too_large)
                return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:  # noqa: BLE001 - the last line of defence
            error_id = uuid.uuid4().hex[:12]
            logger.error(
                "error %s on %s %s: %s: %s",
                error_id,
                scope.get("method"),
                redact(scope.get("path", "")),
                type(error).__name__,
                redact(str(error)),
            )
            logger.debug("traceback of error %s", error_id, exc_info=True)
            if not started:
                await json_error(500, f"internal error (id {error_id}); the server log has the details")(
                    scope, receive, send
                )


class JsonCorsMiddleware(CORSMiddleware):
    """Starlette's CORS, with its refusal of a preflight in JSON like every other error."""

    def preflight_response(self, request_headers: Any) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code >= 400:
            reason = bytes(response.body).decode(errors="replace").removeprefix("Disallowed CORS ")
            kept = {
                name: value
                for name, value in response.headers.items()
                if name.lower() not in ("content-length", "content-type")
            }
            return json_error(
                response.status_code, f"CORS preflight refused: this {reason} is not allowed", headers=kept
            )
        return response
