"""Who may call the API: the X-Api-Key header, a login the load balancer signed, and where an
open API may listen.

The key is checked in front of the routes, not route by route: every path needs it unless it
is on the short open list below, so an endpoint added later is protected without anyone
remembering to say so.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from sales_platform.api.alb_login import LOGIN_HEADER, AlbLogin, LoginRefused
from sales_platform.api.docs_page import DOCS_ASSETS_PATH, DOCS_PATH, OAUTH2_REDIRECT_PATH
from sales_platform.api.errors import SIGNED_OBJECT_PATH, json_error, route_path
from sales_platform.settings import Settings

API_KEY_HEADER = "X-Api-Key"
SECURITY_SCHEME = "ApiKey"
# Open: the health check (load balancers), the docs and their assets (they describe, they hold
# no data), and the signed URLs, whose signature and expiry are their authorization as with S3's.
OPEN_PATHS = frozenset({"/health", DOCS_PATH, OAUTH2_REDIRECT_PATH, "/openapi.json"})


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith((SIGNED_OBJECT_PATH, DOCS_ASSETS_PATH + "/"))


class ApiKeys:
    """The configured keys, compared in constant time. Every key is compared, so the time taken
    says nothing about which one came close."""

    def __init__(self, settings: Settings) -> None:
        self._keys = [key.get_secret_value().encode() for key in settings.api.api_keys]

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def accepts(self, candidate: bytes) -> bool:
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(key, candidate)
        return matched


class AccessGuard:
    """Lets a request through with a valid X-Api-Key (store systems, scripts) or, when ALB_ARN
    is set, a login the load balancer signed (people in the dashboard, whose browser cannot send
    a key); otherwise 401, or 403 for a wrong key, before any route runs. A key, when sent, is
    what counts."""

    def __init__(self, app: ASGIApp, keys: ApiKeys, login: AlbLogin | None = None) -> None:
        self.app = app
        self.keys = keys
        self.login = login

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys.required and not is_open(route_path(scope)):
            headers = dict(scope["headers"])
            offered = headers.get(b"x-api-key")
            token = headers.get(LOGIN_HEADER.encode()) if self.login is not None else None
            refusal = None
            if offered:
                if not self.keys.accepts(offered):
                    refusal = json_error(403, f"the {API_KEY_HEADER} header does not hold a valid API key")
            elif token and self.login is not None:
                try:
                    person = await run_in_threadpool(self.login.verify, token.decode("latin-1"))
                except LoginRefused as refused:
                    refusal = json_error(401, str(refused))
                else:
                    scope.setdefault("state", {})["logged_in"] = person
            else:
                wanted = f"an {API_KEY_HEADER} header with one of the API keys"
                if self.login is not None:
                    wanted += ", or a login through the load balancer"
                refusal = json_error(401, f"this endpoint needs {wanted}")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def document_api_key(schema: dict[str, Any]) -> dict[str, Any]:
    """Mark every protected operation of an OpenAPI document as needing the key (so /docs has
    an Authorize button), with its 401 and 403 answers."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "One of API_KEYS.",
    }
    for path, operations in schema.get("paths", {}).items():
        if is_open(path):
            continue
        for operation in operations.values():
            operation["security"] = [{SECURITY_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": f"No {API_KEY_HEADER} header.", "content": _message_content()})
            responses.setdefault(
                "403", {"description": f"The {API_KEY_HEADER} is not valid.", "content": _message_content()}
            )
    return schema


def _message_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name could resolve anywhere


def refuse_open_bind(settings: Settings, host: str, insecure: bool) -> str | None:
    """Why the API must not start on `host`, or None. Without keys anyone who can reach the
    address reads every store's sales; on loopback that is only this machine's users."""
    if settings.api.api_keys or is_loopback(host) or insecure:
        return None
    return (
        f"refusing to listen on {host} without API_KEYS: anyone who can reach it could read and upload data. "
        "Set API_KEYS (comma-separated, 16+ characters each), bind to 127.0.0.1, or pass --insecure."
    )
