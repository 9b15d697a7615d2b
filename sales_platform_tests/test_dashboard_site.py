"""The dashboard and the API on one host, as on AWS: the dashboard's static build from the
bucket's DASHBOARD_PREFIX at `/`, the API under API_PATH_PREFIX (`/api`), so the browser calls
the API on its own origin with the load balancer's login, and the dashboard's own pages
(`/analytics`, `/trends`) never meet the API's paths.

The last test runs `sales-platform api` for real on a free port and talks HTTP to it as the
dashboard in a browser would.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sales_platform.settings import SettingsError
from sales_platform_tests.alb_support import (
    HEADER,
    KID,
    OUR_ALB,
    KeyServer,
    alb_token,
    new_key,
    public_pem,
    serving_keys,
)
from sales_platform_tests.api_support import API_KEY, Api, store_day_item
from sales_platform_tests.command_line import clean_environment, cli_command, free_port, interruptible

INDEX = b'<!doctype html><html><body><div id="root"></div><script src="/static/js/main.1a2b.js"></script></body></html>'
SCRIPT = b"fetch(process.env.REACT_APP_API_URL + '/analytics')"
BUILD = {
    "dashboard/index.html": INDEX,
    "dashboard/static/js/main.1a2b.js": SCRIPT,
    "dashboard/favicon.ico": b"\x00\x00",
}
DAY = "2025-11-27"


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    with serving_keys() as server:
        yield server


@pytest.fixture
def site(make_api: Callable[..., Api]) -> Api:
    api = make_api(API_PATH_PREFIX="/api", DASHBOARD_PREFIX="dashboard/")
    for key, data in BUILD.items():
        api.bucket.write_bytes(key, data)
    api.table.put_items([store_day_item("0001", DAY, transaction_count=3)])
    return api


def test_the_dashboard_is_served_at_the_root_of_the_host(site: Api) -> None:
    browser = site.anonymous()
    page = browser.get("/")
    assert page.status_code == 200 and page.content == INDEX
    assert page.headers["content-type"].startswith("text/html") and page.headers["cache-control"] == "no-cache"
    script = browser.get("/static/js/main.1a2b.js")
    assert script.content == SCRIPT and "javascript" in script.headers["content-type"]
    for page_of_the_app in ("/analytics", "/trends", "/files/processed"):
        assert browser.get(page_of_the_app).content == INDEX, "the app's own pages get its index.html"
    assert browser.get("/static/js/gone.js").status_code == 404
    for sneaky in ("/%2e%2e/processed/x", "/static//x.js"):
        assert browser.get(sneaky).status_code == 404, sneaky
    assert browser.post("/", content=b"x").status_code == 405


def test_the_api_answers_under_its_prefix(site: Api) -> None:
    answer = site.client.get("/api/analytics")
    assert answer.status_code == 200 and answer.json()["date"] == DAY
    assert site.anonymous().get("/api/analytics").status_code == 401
    assert site.anonymous().get("/api/health").json()["status"] == "ok"
    docs = site.anonymous().get("/api/docs")
    assert (
        docs.status_code == 200
        and "/api/docs/assets/swagger-ui-bundle.js" in docs.text
        and "/api/openapi.json" in docs.text
    )
    assert site.anonymous().get("/api/docs/assets/swagger-ui.css").status_code == 200
    assert "/analytics" in site.anonymous().get("/api/openapi.json").json()["paths"]


def test_signed_upload_urls_point_under_the_prefix(site: Api) -> None:
    body = site.client.post("/api/generate-upload-url", json={"filename": f"store_0001_{DAY}.json"}).json()
    assert body["uploadUrl"].startswith(f"http://testserver/api/bucket/uploads/store_0001_{DAY}.json?")
    stored = site.anonymous().put(body["uploadUrl"], content=b"[]")
    assert stored.status_code == 200 and site.bucket.read_bytes(body["key"]) == b"[]"


def test_without_a_build_the_root_says_where_it_goes(make_api: Callable[..., Api]) -> None:
    api = make_api(API_PATH_PREFIX="/api", DASHBOARD_PREFIX="dashboard/")
    answer = api.anonymous().get("/")
    assert answer.status_code == 404 and "no dashboard build under dashboard/" in answer.text


def test_the_dashboard_needs_the_api_under_a_prefix(make_settings) -> None:
    with pytest.raises(SettingsError, match="DASHBOARD_PREFIX needs API_PATH_PREFIX"):
        make_settings(DASHBOARD_PREFIX="dashboard/")
    with pytest.raises(SettingsError, match="overlaps"):
        make_settings(API_PATH_PREFIX="/api", DASHBOARD_PREFIX="reports/")
    with pytest.raises(SettingsError, match="API_PATH_PREFIX"):
        make_settings(API_PATH_PREFIX="api/../x")
    assert make_settings(API_PATH_PREFIX="/api/").api.api_path_prefix == "/api"


# --------------------------------------------------------------------------- for real


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except urllib.error.URLError as error:  # not listening yet
        return 0, str(error.reason).encode()


@pytest.mark.slow
def test_sales_platform_api_serves_the_dashboard_and_its_logged_in_calls(tmp_path: Path, key_server: KeyServer) -> None:
    """As on AWS, on loopback: the same command and settings the API task runs with."""
    home = tmp_path / "home"
    (home / "bucket" / "dashboard" / "static" / "js").mkdir(parents=True)
    for key, data in BUILD.items():
        (home / "bucket" / key).write_bytes(data)
    signing_key = new_key()
    key_server.pems[KID] = public_pem(signing_key)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*cli_command(), "api", "--port", str(port)],
        cwd=tmp_path,
        env=clean_environment(
            SALES_PLATFORM_HOME=str(home),
            API_KEYS=API_KEY,
            API_PATH_PREFIX="/api",
            DASHBOARD_PREFIX="dashboard/",
            ALB_ARN=OUR_ALB,
            ALB_PUBLIC_KEYS_URL=key_server.url,
            EXPECTED_STORES="0001,0002",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=interruptible,
    )
    try:
        deadline = time.monotonic() + 60
        while _get(f"{base}/api/health")[0] != 200:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        assert _get(f"{base}/") == (200, INDEX)
        assert _get(f"{base}/trends") == (200, INDEX)
        status, body = _get(f"{base}/api/analytics", {HEADER: alb_token(signing_key)})
        assert status == 200, body
        assert json.loads(body)["message"] == "No data available"
        assert _get(f"{base}/api/trends", {"X-Api-Key": API_KEY})[0] == 200
        status, body = _get(f"{base}/api/analytics")
        assert status == 401 and "login through the load balancer" in json.loads(body)["message"]
        assert _get(f"{base}/api/analytics", {HEADER: alb_token(signing_key, expires_in=-1)})[0] == 401
        assert _get(f"{base}/api/docs")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
