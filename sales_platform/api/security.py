"""Who may call the API: the X-Api-Key header, and where an open API may listen."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from sales_platform.settings import Settings

API_KEY_HEADER = "X-Api-Key"
# auto_error=False: the answer to a missing key is ours ({"message": ...}), not FastAPI's.
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="One of API_KEYS.")


class ApiKeys:
    """The configured keys, compared in constant time. Every key is compared, so the time taken
    says nothing about which one came close."""

    def __init__(self, settings: Settings) -> None:
        self._keys = [key.get_secret_value().encode() for key in settings.api_keys]

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def accepts(self, candidate: str) -> bool:
        offered = candidate.encode("utf-8", "replace")
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(key, offered)
        return matched


async def require_api_key(request: Request, api_key: str | None = Security(_api_key_header)) -> None:
    keys: ApiKeys = request.app.state.api_keys
    if not keys.required:
        return
    if not api_key:
        raise HTTPException(401, f"this endpoint needs an {API_KEY_HEADER} header with one of the API keys")
    if not keys.accepts(api_key):
        raise HTTPException(403, f"the {API_KEY_HEADER} header does not hold a valid API key")


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
    if settings.api_keys or is_loopback(host) or insecure:
        return None
    return (
        f"refusing to listen on {host} without API_KEYS: anyone who can reach it could read and upload data. "
        "Set API_KEYS (comma-separated, 16+ characters each), bind to 127.0.0.1, or pass --insecure."
    )
