"""A person logged in at the load balancer: the ALB's signed `x-amzn-oidc-data` header.

When a listener rule authenticates a browser (Cognito or OIDC, as for the Dagster UI), the ALB
adds the user's claims to the request as a JWT signed with ES256 by the load balancer itself.
The header is only believed once its signature checks out against the public key the ALB
publishes for the key id (`<ALB_PUBLIC_KEYS_URL>/<kid>`, a PEM document), its header names our
load balancer as the signer (ALB_ARN) and it has not expired: a client that reaches the API
some other way could send any header it likes.

Keys never change for a key id, so each is fetched once and kept; a key id that could not be
fetched is not asked for again for a minute, so forged tokens cannot make the API hammer the
key endpoint.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

LOGIN_HEADER = "x-amzn-oidc-data"
# ALB key ids are UUIDs; anything else never reaches a URL.
_KEY_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
KEY_FETCH_TIMEOUT_SECONDS = 5.0
RETRY_FAILED_KEY_AFTER_SECONDS = 60.0
MAX_REMEMBERED_KEYS = 64
MAX_TOKEN_BYTES = 16 * 1024
logger = logging.getLogger(__name__)


class LoginRefused(Exception):
    """The login header is not one our load balancer signed, or no longer valid; says which."""


@dataclass(frozen=True)
class LoggedIn:
    """Who the load balancer says is calling."""

    subject: str
    email: str | None
    claims: dict[str, Any]


def _segment(text: str) -> bytes:
    # The ALB pads its base64url segments with '='; other issuers leave padding out.
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LoginRefused("the login token is not a JWT (a part is not base64url)") from None


def _json_segment(text: str) -> dict[str, Any]:
    try:
        value = json.loads(_segment(text))
    except ValueError:
        raise LoginRefused("the login token is not a JWT (a part is not JSON)") from None
    if not isinstance(value, dict):
        raise LoginRefused("the login token is not a JWT (a part is not a JSON object)")
    return value


def fetch_pem(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/x-pem-file, text/plain"})
    with urllib.request.urlopen(request, timeout=KEY_FETCH_TIMEOUT_SECONDS) as response:
        return response.read(64 * 1024)


class AlbLogin:
    """Checks `x-amzn-oidc-data` tokens of one load balancer."""

    def __init__(
        self,
        signer_arn: str,
        public_keys_url: str,
        clock: Callable[[], float] = time.time,
        fetch: Callable[[str], bytes] = fetch_pem,
    ) -> None:
        self.signer_arn = signer_arn
        self.public_keys_url = public_keys_url.rstrip("/")
        self._clock = clock
        self._fetch = fetch
        self._keys: OrderedDict[str, ec.EllipticCurvePublicKey] = OrderedDict()
        self._failed: dict[str, float] = {}
        self._lock = threading.Lock()
        self.keys_fetched = 0  # for tests: how often the key endpoint was asked

    def verify(self, token: str) -> LoggedIn:
        """The person the token names, or LoginRefused. Blocks on the key endpoint the first time
        a key id is seen: call it from a worker thread."""
        if len(token) > MAX_TOKEN_BYTES:
            raise LoginRefused("the login token is too long")
        parts = token.split(".")
        if len(parts) != 3:
            raise LoginRefused("the login token is not a JWT (three dot-separated parts expected)")
        header, claims = _json_segment(parts[0]), _json_segment(parts[1])
        if header.get("alg") != "ES256":
            raise LoginRefused(
                f"the login token is signed with {header.get('alg')!r}, not ES256 as the load balancer signs"
            )
        # The signer is checked before anything is fetched: only our load balancer's key ids count.
        if header.get("signer") != self.signer_arn:
            raise LoginRefused("the login token was not signed by this platform's load balancer (ALB_ARN)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KEY_ID.match(kid):
            raise LoginRefused("the login token names no usable key id")
        signature = _segment(parts[2])
        if len(signature) != 64:
            raise LoginRefused("the login token's signature does not match")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            self._key(kid).verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise LoginRefused("the login token's signature does not match: it was changed or forged") from None
        expiry = claims.get("exp", header.get("exp"))
        if not isinstance(expiry, (int, float)) or isinstance(expiry, bool):
            raise LoginRefused("the login token has no expiry")
        if expiry <= self._clock():
            raise LoginRefused("the login has expired: reload the page to log in again")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise LoginRefused("the login token names nobody (no sub claim)")
        email = claims.get("email")
        return LoggedIn(subject, email if isinstance(email, str) else None, claims)

    def _key(self, kid: str) -> ec.EllipticCurvePublicKey:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(kid)  # fetched by another request meanwhile
            if key is not None:
                return key
            failed_at = self._failed.get(kid)
            if failed_at is not None and self._clock() - failed_at < RETRY_FAILED_KEY_AFTER_SECONDS:
                raise LoginRefused("the load balancer's public key for this login could not be fetched")
            # Held while fetching: a burst of requests with a new key id fetches it once.
            try:
                self.keys_fetched += 1
                loaded = load_pem_public_key(self._fetch(f"{self.public_keys_url}/{kid}"))
            except (OSError, urllib.error.URLError, ValueError) as error:
                self._failed[kid] = self._clock()
                while len(self._failed) > MAX_REMEMBERED_KEYS:
                    self._failed.pop(next(iter(self._failed)))
                logger.warning("could not fetch the load balancer's public key %s: %s", kid, type(error).__name__)
                raise LoginRefused("the load balancer's public key for this login could not be fetched") from None
            if not isinstance(loaded, ec.EllipticCurvePublicKey) or loaded.curve.name != "secp256r1":
                self._failed[kid] = self._clock()
                raise LoginRefused("the load balancer's public key is not a P-256 key")
            self._keys[kid] = loaded
            while len(self._keys) > MAX_REMEMBERED_KEYS:
                self._keys.popitem(last=False)
            return loaded
