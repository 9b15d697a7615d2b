"""People in the dashboard on AWS: the load balancer logs them in and signs who they are into the
`x-amzn-oidc-data` header; the API lets such a call in only once the signature checks out
against the load balancer's public key, the signer is our load balancer and the login has not
expired. Store systems and scripts keep their X-Api-Key.

The public key is served, as the ALB's key endpoint serves it (PEM at `<base>/<key id>`), by a
real HTTP server on loopback that ALB_PUBLIC_KEYS_URL points at; the tokens are signed with a
key the test generates.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sales_platform.settings import SettingsError, load_settings
from sales_platform_tests.alb_support import (
    HEADER,
    KID,
    OTHER_ALB,
    OUR_ALB,
    KeyServer,
    alb_token,
    new_key,
    public_pem,
    segment,
    serving_keys,
)
from sales_platform_tests.api_support import API_KEY, Api


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    with serving_keys() as server:
        yield server


@pytest.fixture
def alb_key(key_server: KeyServer) -> ec.EllipticCurvePrivateKey:
    key = new_key()
    key_server.pems[KID] = public_pem(key)
    return key


@pytest.fixture
def behind_alb(make_api: Callable[..., Api], key_server: KeyServer) -> Api:
    return make_api(ALB_ARN=OUR_ALB, ALB_PUBLIC_KEYS_URL=key_server.url)


def _browser(api: Api, token: str | None = None):
    """What the dashboard sends: no key, and the header the ALB adds after the login."""

    def get(path: str):
        return api.anonymous().get(path, headers={HEADER: token} if token else {})

    return get


# --------------------------------------------------------------------------- accepted


def test_a_person_the_load_balancer_logged_in_reads_the_dashboard_without_a_key(
    behind_alb: Api, alb_key: ec.EllipticCurvePrivateKey, key_server: KeyServer
) -> None:
    get = _browser(behind_alb, alb_token(alb_key))
    for path in ("/analytics", "/trends", "/files"):
        answer = get(path)
        assert answer.status_code == 200, (path, answer.text)
    assert _browser(behind_alb, alb_token(alb_key, padded=False))("/files").status_code == 200
    assert key_server.asked == [KID], "the key is fetched once and kept"


def test_store_systems_keep_their_api_key(behind_alb: Api, alb_key: ec.EllipticCurvePrivateKey) -> None:
    assert behind_alb.anonymous().get("/files", headers={"X-Api-Key": API_KEY}).status_code == 200
    wrong_key = behind_alb.anonymous().get("/files", headers={"X-Api-Key": "x" * 20, HEADER: alb_token(alb_key)})
    assert wrong_key.status_code == 403, "a key, when sent, is what counts"


# --------------------------------------------------------------------------- refused


def test_no_token_and_no_key_is_401(behind_alb: Api) -> None:
    answer = _browser(behind_alb)("/analytics")
    assert answer.status_code == 401
    assert answer.json()["message"] == (
        "this endpoint needs an X-Api-Key header with one of the API keys, or a login through the load balancer"
    )


def test_a_changed_token_is_refused(behind_alb: Api, alb_key: ec.EllipticCurvePrivateKey) -> None:
    header, claims, signature = alb_token(alb_key).split(".")
    someone_else = json.loads(base64.urlsafe_b64decode(claims))
    someone_else["email"] = "owner@store.example"
    for token in (
        f"{header}.{segment(someone_else, True)}.{signature}",  # claims changed
        f"{header}.{claims}.{segment(bytes(64), True)}",  # signature replaced
        alb_token(new_key()),  # signed by another key under our key id
    ):
        answer = _browser(behind_alb, token)("/analytics")
        assert answer.status_code == 401
        assert "signature does not match" in answer.json()["message"]
    for garbage in ("not-a-token", "a.b", "e30.e30.e30"):
        assert _browser(behind_alb, garbage)("/analytics").status_code == 401, garbage


def test_an_expired_login_is_refused(behind_alb: Api, alb_key: ec.EllipticCurvePrivateKey) -> None:
    answer = _browser(behind_alb, alb_token(alb_key, expires_in=-5))("/analytics")
    assert answer.status_code == 401
    assert answer.json()["message"] == "the login has expired: reload the page to log in again"


def test_a_token_from_another_load_balancer_is_refused_without_fetching_its_key(
    behind_alb: Api, key_server: KeyServer
) -> None:
    theirs = new_key()
    key_server.pems["their-kid"] = public_pem(theirs)  # a perfectly valid key, of another load balancer
    answer = _browser(behind_alb, alb_token(theirs, signer=OTHER_ALB, kid="their-kid"))("/analytics")
    assert answer.status_code == 401
    assert "not signed by this platform's load balancer" in answer.json()["message"]
    assert key_server.asked == []


def test_without_alb_arn_the_header_is_never_trusted(
    make_api: Callable[..., Api], alb_key: ec.EllipticCurvePrivateKey, key_server: KeyServer
) -> None:
    api = make_api(ALB_PUBLIC_KEYS_URL=key_server.url)
    answer = _browser(api, alb_token(alb_key))("/analytics")
    assert answer.status_code == 401 and "X-Api-Key" in answer.json()["message"]
    assert key_server.asked == []


def test_an_unknown_key_id_is_refused_and_not_asked_for_again_at_once(
    behind_alb: Api, alb_key: ec.EllipticCurvePrivateKey, key_server: KeyServer
) -> None:
    token = alb_token(alb_key, kid="no-such-key")
    for _ in range(3):
        answer = _browser(behind_alb, token)("/analytics")
        assert answer.status_code == 401
        assert answer.json()["message"] == "the load balancer's public key for this login could not be fetched"
    assert key_server.asked == ["no-such-key"]
    assert _browser(behind_alb, alb_token(alb_key, kid="../../etc/passwd"))("/analytics").status_code == 401
    assert key_server.asked == ["no-such-key"], "a key id that is no key id never reaches a URL"


# --------------------------------------------------------------------------- settings


def test_the_key_endpoint_follows_the_load_balancers_region(make_settings) -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/sales-public/0123456789abcdef"
    assert (
        make_settings(ALB_ARN=arn).resolved_alb_public_keys_url
        == "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
    )
    assert make_settings(ALB_ARN=arn, ALB_PUBLIC_KEYS_URL="https://keys.example/x/").resolved_alb_public_keys_url == (
        "https://keys.example/x"
    )
    assert make_settings().resolved_alb_public_keys_url is None
    with pytest.raises(SettingsError, match="ALB_ARN"):
        make_settings(ALB_ARN="arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/0123")
    with pytest.raises(SettingsError, match="ALB_PUBLIC_KEYS_URL"):
        load_settings(ALB_PUBLIC_KEYS_URL="ftp://keys")
