"""The load balancer's side of a login, for the tests: its public key endpoint (PEM at
`<base>/<key id>`) on a real HTTP server on loopback, and `x-amzn-oidc-data` tokens signed as the
ALB signs them, with a key the test generates."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

OUR_ALB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/sales-public/50dc6c495c0c9188"
OTHER_ALB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/someone-else/1234567890abcdef"
KID = "8f1a3c1e-2b7d-4c55-9a0e-3f6b2d9e7a10"
HEADER = "x-amzn-oidc-data"


@dataclass
class KeyServer:
    """The ALB's public key endpoint, on loopback."""

    url: str
    pems: dict[str, bytes]
    asked: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serving_keys() -> Iterator[KeyServer]:
    """The key endpoint on a free loopback port; its `pems` are what it serves."""
    pems: dict[str, bytes] = {}
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kid = self.path.strip("/")
            asked.append(kid)
            pem = pems.get(kid)
            self.send_response(200 if pem else 404)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(pem or b"not found")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield KeyServer(f"http://127.0.0.1:{server.server_address[1]}", pems, asked)
    finally:
        server.shutdown()
        server.server_close()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def segment(value: dict | bytes, padded: bool) -> str:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    text = base64.urlsafe_b64encode(data).decode()
    return text if padded else text.rstrip("=")


def alb_token(
    key: ec.EllipticCurvePrivateKey,
    *,
    signer: str = OUR_ALB,
    kid: str = KID,
    expires_in: float = 60,
    email: str = "manager@store.example",
    padded: bool = True,
) -> str:
    """A token as the ALB makes it: ES256, the signer and key id in the header, base64url with
    '=' padding (which the ALB keeps and most JWT libraries do not)."""
    expiry = int(time.time() + expires_in)
    header = {
        "typ": "JWT",
        "kid": kid,
        "alg": "ES256",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/pool",
        "client": "dagster-ui-load-balancer",
        "signer": signer,
        "exp": expiry,
    }
    claims = {
        "sub": "5e1b-person",
        "email": email,
        "email_verified": "true",
        "exp": expiry,
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/pool",
    }
    signed = f"{segment(header, padded)}.{segment(claims, padded)}"
    r, s = decode_dss_signature(key.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signed}.{segment(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'), padded)}"
