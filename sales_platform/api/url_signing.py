"""Signed URLs to the API itself, for a bucket that is a local folder.

On S3 the bucket presigns its own URLs. Locally the API plays S3's part: an upload or download
URL points at `/bucket/<key>` on this API and carries an expiry and an HMAC-SHA256 signature
over the method, the key, the expiry and (for downloads) the file name. Holding the URL is the
authorization, as with a presigned S3 URL, so a browser can PUT to it with no other header.

The secret comes from URL_SIGNING_SECRET or, on a laptop, from a file generated once under
SALES_PLATFORM_HOME (mode 0600), so URLs stay valid across restarts and across the worker
processes of one server. Deployed (`SALES_PLATFORM_ENV=aws`) with a local-folder bucket the
API refuses to start without URL_SIGNING_SECRET: a secret generated on one container's disk
would not be shared by the next one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from sales_platform.settings import Settings, SettingsError

SECRET_FILE_NAME = "api-url-signing-secret"
logger = logging.getLogger(__name__)


class SignatureRefused(Exception):
    """The URL is not one this API signed, or no longer valid; the message says which."""


class LocalUrlSigner:
    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def _signature(self, method: str, key: str, expires: int, filename: str) -> str:
        # Newlines cannot occur in a valid key or file name, so the fields cannot run together.
        message = f"{method}\n{key}\n{expires}\n{filename}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, method: str, key: str, expires_in: int, filename: str | None = None) -> str:
        expires = int(self._clock()) + expires_in
        query = {"expires": str(expires)}
        if filename is not None:
            query["filename"] = filename
        query["signature"] = self._signature(method, key, expires, filename or "")
        return f"{base_url.rstrip('/')}/bucket/{quote(key, safe='/=')}?{urlencode(query, quote_via=quote)}"

    def verify(self, method: str, key: str, expires: str | None, signature: str | None, filename: str | None) -> None:
        if not expires or not signature:
            raise SignatureRefused("this URL is not signed: ask the API for a new one (expires and signature missing)")
        try:
            moment = int(expires)
        except ValueError:
            raise SignatureRefused("the URL's signature does not match: it was changed after it was issued") from None
        expected = self._signature(method, key, moment, filename or "")
        # Checked before the expiry, so a changed expiry reads as tampering, not as expired.
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise SignatureRefused("the URL's signature does not match: it was changed after it was issued")
        if moment < self._clock():
            raise SignatureRefused("the URL has expired: ask the API for a new one")


def _read_or_create_secret(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            # link() refuses to replace: when two workers start at once, the first file wins
            # and both read it, never a half-written one.
            os.link(staged, path)
            logger.info("generated the URL signing secret in %s", path)
        except FileExistsError:
            pass
        finally:
            staged.unlink(missing_ok=True)
    else:
        if stat.S_IMODE(mode) & 0o077:
            os.chmod(path, 0o600)
            logger.warning("%s was readable by other users; made it private (0600)", path)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise SettingsError(f"{path} holds no usable URL signing secret; delete it to have a new one generated")
    return secret.encode()


def local_url_signer(settings: Settings) -> LocalUrlSigner | None:
    """The signer for a local-folder bucket, or None when the bucket presigns its own URLs."""
    if settings.resolved_storage_backend != "local":
        return None
    if settings.api.url_signing_secret is not None:
        return LocalUrlSigner(settings.api.url_signing_secret.get_secret_value().encode())
    if settings.runtime.deployment == "aws":
        raise SettingsError(
            "invalid configuration:\n  URL_SIGNING_SECRET: required when SALES_PLATFORM_ENV=aws and the bucket is a "
            "local folder, so every API container signs and checks URLs with the same secret"
        )
    return LocalUrlSigner(_read_or_create_secret(settings.home_path / SECRET_FILE_NAME))
