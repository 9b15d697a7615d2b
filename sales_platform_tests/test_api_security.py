"""Secure by default: API keys, CORS, capped bodies, JSON errors that give nothing away, signed
URLs that cannot be stretched, bent or reused, and names that cannot reach outside the inbox."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sales_platform.api.app import create_app
from sales_platform.api.errors import RedactSignatures
from sales_platform.api.security import is_loopback, refuse_open_bind
from sales_platform.api.url_signing import SECRET_FILE_NAME
from sales_platform.domain.upload_contract import NAME_RULE
from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable
from sales_platform.settings import SettingsError
from sales_platform_tests.api_support import API_KEY, OTHER_API_KEY, Api
from sales_platform_tests.command_line import clean_environment

GOOD_NAME = "store_0001_2025-11-27.json"
ALLOWED_ORIGIN = "http://localhost:3000"

PROTECTED = [
    ("POST", "/generate-upload-url", {"filename": GOOD_NAME}),
    ("GET", "/files", None),
    ("GET", "/files?status=rejected", None),
    ("POST", "/generate-download-url", {"key": "processed/x.parquet"}),
    ("GET", "/analytics", None),
    ("GET", "/trends", None),
]


def _call(client, method: str, path: str, body: dict | None, **kwargs):
    return client.request(method, path, json=body, **kwargs)


def _upload_url(api: Api, name: str = GOOD_NAME) -> str:
    answer = api.client.post("/generate-upload-url", json={"filename": name})
    assert answer.status_code == 200, answer.text
    return answer.json()["uploadUrl"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


# --------------------------------------------------------------------------- API keys


@pytest.mark.parametrize("method,path,body", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_every_data_endpoint_needs_a_valid_key(api: Api, method: str, path: str, body: dict | None) -> None:
    anonymous = api.anonymous()
    missing = _call(anonymous, method, path, body)
    assert missing.status_code == 401
    assert "X-Api-Key" in missing.json()["message"]
    wrong = _call(anonymous, method, path, body, headers={"X-Api-Key": API_KEY[:-1] + "X"})
    assert wrong.status_code == 403 and wrong.json() == {
        "message": "the X-Api-Key header does not hold a valid API key"
    }
    for key in (API_KEY, OTHER_API_KEY):
        right = _call(anonymous, method, path, body, headers={"X-Api-Key": key})
        assert right.status_code not in (401, 403), right.text


def test_unknown_paths_need_a_key_too(api: Api) -> None:
    # Nothing to learn about which paths exist without a key.
    assert api.anonymous().get("/admin").status_code == 401
    assert api.client.get("/admin").status_code == 404


def test_health_and_docs_are_open_and_say_nothing_about_the_data(api: Api) -> None:
    anonymous = api.anonymous()
    health = anonymous.get("/health")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "storage": "ok",
        "table": "ok",
        "storage_backend": "local",
        "table_backend": "sqlite",
    }
    docs = anonymous.get("/docs")
    assert docs.status_code == 200
    # Swagger UI comes from the API itself: /docs works on a machine without internet.
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", docs.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    assert not [asset for asset in assets if "//" in asset], "nothing is fetched from another host"
    for asset in assets:
        fetched = anonymous.get(asset)
        assert fetched.status_code == 200 and len(fetched.content) > 100, asset
    assert "SwaggerUIBundle" in anonymous.get("/docs/assets/swagger-ui-bundle.js").text
    schema = anonymous.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "One of API_KEYS.",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            needs_key = "security" in operation
            assert needs_key == (path not in ("/health",) and not path.startswith("/bucket/")), (method, path)


def test_health_reports_an_unreachable_table(api: Api) -> None:
    api.context.table = SqliteMetricsTable(api.settings.home_path / "missing-dir" / "nested" / "x.db")
    (api.settings.home_path / "missing-dir").write_text("a file where a folder should be")
    answer = api.anonymous().get("/health")
    assert answer.status_code == 503
    assert answer.json()["table"] == "unreachable" and answer.json()["storage"] == "ok"
    assert "missing-dir" not in answer.text


def test_without_keys_the_api_is_open(make_api) -> None:
    api = make_api(API_KEYS="")
    assert api.anonymous().get("/files").status_code == 200


def test_an_open_api_only_listens_on_loopback() -> None:
    from sales_platform.settings import load_settings

    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "api.example.com"):
        assert not is_loopback(host), host
    open_settings = load_settings(API_KEYS="")
    assert "API_KEYS" in refuse_open_bind(open_settings, "0.0.0.0", insecure=False)
    assert refuse_open_bind(open_settings, "0.0.0.0", insecure=True) is None
    assert refuse_open_bind(open_settings, "127.0.0.1", insecure=False) is None
    assert refuse_open_bind(load_settings(API_KEYS=API_KEY), "0.0.0.0", insecure=False) is None


@pytest.mark.slow
def test_the_api_command_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("sales-platform")
    result = subprocess.run(
        [str(script), "api", "--host", "0.0.0.0", "--port", "1"],
        cwd=tmp_path,
        env=clean_environment(SALES_PLATFORM_HOME=str(tmp_path / "home")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API_KEYS" in result.stderr and "--insecure" in result.stderr


def test_keys_that_are_too_short_are_refused_without_being_repeated(make_settings) -> None:
    with pytest.raises(SettingsError) as refused:
        make_settings(API_KEYS=f"{API_KEY},hunter2")
    assert "API_KEYS" in str(refused.value) and "key 2 is shorter than 16" in str(refused.value)
    assert "hunter2" not in str(refused.value)


# --------------------------------------------------------------------------- CORS


def test_cors_preflight_from_the_dashboard_is_allowed(api: Api) -> None:
    answer = api.anonymous().options(
        "/analytics",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "X-Api-Key" in answer.headers["access-control-allow-headers"]
    assert answer.headers["access-control-allow-credentials"] == "true"
    other_name = api.anonymous().options(
        "/analytics", headers={"Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "GET"}
    )
    assert other_name.headers["access-control-allow-origin"] == "http://127.0.0.1:3000", "the same machine by its IP"
    put = api.anonymous().options(
        "/bucket/uploads/x.json",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert put.status_code == 200, "the browser PUTs to a signed URL from the dashboard"


def test_cors_preflight_from_a_foreign_origin_is_refused(api: Api) -> None:
    answer = api.anonymous().options(
        "/analytics", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert answer.status_code == 400
    assert answer.json() == {"message": "CORS preflight refused: this origin is not allowed"}
    assert "access-control-allow-origin" not in answer.headers
    simple = api.client.get("/files", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_headers_are_on_answers_and_errors_for_the_dashboard(api: Api) -> None:
    ok = api.client.get("/files", headers={"Origin": ALLOWED_ORIGIN})
    assert ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    refused = api.anonymous().get("/files", headers={"Origin": ALLOWED_ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_the_frontend_origins_are_a_configurable_list_and_never_a_wildcard(make_api, make_settings) -> None:
    api = make_api(FRONTEND_ORIGIN="https://dash.example.com/, http://localhost:3000,http://127.0.0.1:3000")
    for origin in ("https://dash.example.com", "http://localhost:3000", "http://127.0.0.1:3000"):
        answer = api.anonymous().options("/files", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == origin
    refused = api.anonymous().options(
        "/files", headers={"Origin": "http://127.0.0.1:3001", "Access-Control-Request-Method": "GET"}
    )
    assert refused.status_code == 400
    for bad in ("*", "dash.example.com", "https://dash.example.com/app", "http://localhost:3000,*"):
        with pytest.raises(SettingsError, match="FRONTEND_ORIGIN"):
            make_settings(FRONTEND_ORIGIN=bad)


# --------------------------------------------------------------------------- bodies and errors


def test_request_bodies_are_capped(make_api) -> None:
    api = make_api(MAX_REQUEST_BYTES="2048")
    big = {"filename": "x" * 5000}
    announced = api.client.post("/generate-upload-url", json=big)
    assert announced.status_code == 413 and "MAX_REQUEST_BYTES" in announced.json()["message"]

    def chunks():
        yield b'{"filename": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    streamed = api.client.post("/generate-upload-url", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and "2,048 bytes" in streamed.json()["message"]


def test_an_unexpected_failure_is_a_json_500_without_internals(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    class BrokenTable(SqliteMetricsTable):
        def query_sort_keys(self, pk: str, sk_prefix: str = "") -> list[str]:
            raise RuntimeError(f"database {self.path} is locked by secret-token-123")

    api.context.dashboard.table = BrokenTable(api.settings.home_path / "broken.db")
    with caplog.at_level(logging.INFO, logger="sales_platform.api"):
        answer = api.client.get("/analytics")
    assert answer.status_code == 500
    body = answer.json()
    assert set(body) == {"message"} and body["message"].startswith("internal error (id ")
    for leak in ("Traceback", str(api.settings.home_path), "secret-token", "RuntimeError", ".py"):
        assert leak not in answer.text
    error_id = body["message"].split("(id ")[1].split(")")[0]
    logged = [record for record in caplog.records if error_id in record.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR and "RuntimeError" in logged[0].getMessage()
    assert not any(record.exc_info for record in caplog.records if record.levelno >= logging.INFO)


def test_validation_errors_are_json_messages(api: Api) -> None:
    answer = api.client.post("/generate-upload-url", json={})
    assert answer.status_code == 422
    assert answer.json()["message"] == "request body field filename: Field required"
    not_json = api.client.post("/generate-upload-url", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and "message" in not_json.json()
    unknown = api.client.get("/no-such-endpoint")
    assert unknown.status_code == 404 and unknown.json() == {"message": "Not Found"}
    bad_status = api.client.get("/files", params={"status": "everything"})
    assert bad_status.status_code == 422 and "status" in bad_status.json()["message"]


def test_signatures_never_reach_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "PUT", "/bucket/uploads/a.json?expires=1&signature=abcdef0123", "1.1", 200),
        None,
    )
    RedactSignatures().filter(record)
    assert "abcdef0123" not in record.getMessage() and "signature=REDACTED" in record.getMessage()


# --------------------------------------------------------------------------- upload names


@pytest.mark.parametrize(
    "name",
    [
        "../store_0001_2025-11-27.json",
        "uploads/store_0001_2025-11-27.json",
        "..\\store_0001_2025-11-27.json",
        "/etc/passwd",
        "store_0001_2025-11-27.json\n",
        "store_0001_2025-11-27.json\x00",
        "store_0001_2025-11-27.json\u202e",
        "store_0001_2025-11-27.json ",
        "store_0001_2025-11-27.json/..",
        "STORE_0001_2025-11-27.JSON",
        "store_0001_2025-02-30.json",
        "store_1_2025-11-27.json",
        "store_\u0660\u0660\u0660\u0661_2025-11-27.json",
        "store_0001_2025-11-27.exe",
        "",
        "sales.json",
    ],
)
def test_upload_urls_only_for_names_that_follow_the_rule(api: Api, name: str) -> None:
    answer = api.client.post("/generate-upload-url", json={"filename": name})
    assert answer.status_code == 400, answer.text
    assert NAME_RULE in answer.json()["message"]


def test_upload_url_for_a_good_name(api: Api) -> None:
    answer = api.client.post("/generate-upload-url", json={"filename": GOOD_NAME}).json()
    assert answer["key"] == f"uploads/{GOOD_NAME}"
    assert answer["expiresIn"] == 3600
    assert answer["uploadUrl"].startswith(f"http://testserver/bucket/uploads/{GOOD_NAME}?expires=")


# --------------------------------------------------------------------------- signed URLs


def test_a_signed_upload_url_takes_the_file_without_an_api_key(api: Api) -> None:
    url = _upload_url(api)
    stored = api.anonymous().put(url, content=b'[{"a": 1}]')
    assert stored.status_code == 200 and stored.json() == {"key": f"uploads/{GOOD_NAME}", "size": 10}
    assert (api.settings.bucket_path / "uploads" / GOOD_NAME).read_bytes() == b'[{"a": 1}]'
    assert not list(api.settings.home_path.glob(".upload-*")), "no staged copy left behind"


def test_expired_and_tampered_upload_urls_are_refused(api: Api) -> None:
    url = _upload_url(api)
    query = parse_qs(urlsplit(url).query)
    signature, expires = query["signature"][0], query["expires"][0]
    anonymous = api.anonymous()
    cases = {
        "signature changed": _with_query(url, signature=("0" if signature[0] != "0" else "1") + signature[1:]),
        "expiry stretched": _with_query(url, expires=str(int(expires) + 86400)),
        "not a number": _with_query(url, expires="soon"),
        "other file": _with_query(url).replace(GOOD_NAME, "store_0002_2025-11-27.json"),
    }
    for case, changed in cases.items():
        answer = anonymous.put(changed, content=b"[]")
        assert answer.status_code == 403, case
        assert answer.json() == {"message": "the URL's signature does not match: it was changed after it was issued"}, (
            case
        )
    unsigned = anonymous.put(urlsplit(url).path, content=b"[]")
    assert unsigned.status_code == 403 and "not signed" in unsigned.json()["message"]
    as_download = anonymous.get(url)
    assert as_download.status_code == 403, "an upload signature does not open a download"

    api.context.signer._clock = lambda: int(expires) + 1
    expired = anonymous.put(url, content=b"[]")
    assert expired.status_code == 403 and expired.json() == {
        "message": "the URL has expired: ask the API for a new one"
    }
    assert not (api.settings.bucket_path / "uploads").exists() or not any(
        (api.settings.bucket_path / "uploads").iterdir()
    )


def test_signed_paths_cannot_climb_out_of_the_bucket(api: Api) -> None:
    for path in ("/bucket/uploads/%2e%2e/processed/x.json", "/bucket/uploads//x.json", "/bucket/%2Fetc/passwd"):
        answer = api.anonymous().put(path + "?expires=1&signature=x", content=b"[]")
        assert answer.status_code == 400, path
        assert "not a valid key" in answer.json()["message"]


def test_uploads_over_max_upload_bytes_are_refused_while_streaming(make_api) -> None:
    api = make_api(MAX_UPLOAD_BYTES="1000")
    url = _upload_url(api)
    announced = api.anonymous().put(url, content=b"x" * 1001)
    assert announced.status_code == 413 and "MAX_UPLOAD_BYTES" in announced.json()["message"]

    def chunks():
        for _ in range(20):
            yield b"x" * 100

    streamed = api.anonymous().put(url, content=chunks())
    assert streamed.status_code == 413
    assert not (api.settings.bucket_path / "uploads" / GOOD_NAME).exists()
    assert [path for path in api.settings.home_path.rglob("*") if path.is_file() and ".staging" in path.parts] == []
    fits = api.anonymous().put(url, content=b"x" * 1000)
    assert fits.status_code == 200


def test_download_urls_only_for_existing_files_under_the_download_prefixes(api: Api) -> None:
    processed = "processed/year=2025/month=11/day=27/store_id=0001/data.parquet"
    api.bucket.write_bytes(processed, b"PAR1 parquet bytes")
    api.bucket.write_bytes("archive/store_0001_2025-11-27.json", b"[]")
    api.bucket.write_bytes("reports/2025-11-27/daily-report.html", b"<h1>Report</h1>")
    client = api.client

    answer = client.post("/generate-download-url", json={"key": processed})
    assert answer.status_code == 200
    body = answer.json()
    assert (
        body["key"] == processed and body["expiresIn"] == 3600 and body["filename"] == "store_0001_2025-11-27.parquet"
    )
    fetched = api.anonymous().get(body["downloadUrl"])
    assert fetched.status_code == 200 and fetched.content == b"PAR1 parquet bytes"
    assert fetched.headers["content-disposition"] == (
        "attachment; filename=\"store_0001_2025-11-27.parquet\"; filename*=UTF-8''store_0001_2025-11-27.parquet"
    )

    named = client.post(
        "/generate-download-url", json={"key": "reports/2025-11-27/daily-report.html", "filename": "Rapport été.html"}
    )
    assert named.status_code == 200
    fetched = api.anonymous().get(named.json()["downloadUrl"])
    assert fetched.content == b"<h1>Report</h1>"
    assert "filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.html" in fetched.headers["content-disposition"]
    renamed = api.anonymous().get(_with_query(named.json()["downloadUrl"], filename="evil.exe"))
    assert renamed.status_code == 403, "the file name is part of the signature"

    missing = client.post(
        "/generate-download-url", json={"key": "processed/year=2025/month=11/day=28/store_id=0001/data.parquet"}
    )
    assert missing.status_code == 404 and "no file at" in missing.json()["message"]
    outside = client.post("/generate-download-url", json={"key": "archive/store_0001_2025-11-27.json"})
    assert outside.status_code == 400
    assert (
        outside.json()["message"] == "only files under processed/, rejected/, reports/, quicksight/ can be downloaded"
    )
    for key in (
        "processed/../archive/store_0001_2025-11-27.json",
        "/etc/passwd",
        "processed//x",
        "processed/x\\y",
        "processed/x\0",
        "",
    ):
        answer = client.post("/generate-download-url", json={"key": key})
        assert answer.status_code == 400, key
        assert "not a valid key" in answer.json()["message"], key
    for filename in ("a/b.csv", 'say "hi".csv', "line\nbreak.csv", ".."):
        answer = client.post("/generate-download-url", json={"key": processed, "filename": filename})
        assert answer.status_code == 400 and "filename" in answer.json()["message"], filename


# --------------------------------------------------------------------------- signing secret


def test_the_local_signing_secret_is_private_and_survives_a_restart(make_api) -> None:
    first = make_api()
    secret_file = first.settings.home_path / SECRET_FILE_NAME
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    url = _upload_url(first)
    restarted = create_app(first.settings)
    from fastapi.testclient import TestClient

    with TestClient(restarted) as client:
        assert client.put(url, content=b"[]").status_code == 200, "a URL issued before a restart still works"
    other = make_api(URL_SIGNING_SECRET="s" * 40)
    assert other.anonymous().put(url, content=b"[]").status_code == 403, "another secret, another signature"


def test_a_loose_secret_file_is_made_private(make_api, make_settings) -> None:
    settings = make_settings()
    settings.home_path.mkdir(parents=True)
    secret_file = settings.home_path / SECRET_FILE_NAME
    secret_file.write_text("f" * 64)
    os.chmod(secret_file, 0o644)
    make_api()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_a_deployment_with_a_local_bucket_needs_a_real_signing_secret(make_settings) -> None:
    settings = make_settings(SALES_PLATFORM_ENV="aws", STORAGE_BACKEND="local", TABLE_BACKEND="sqlite")
    with pytest.raises(SettingsError, match="URL_SIGNING_SECRET: required when SALES_PLATFORM_ENV=aws"):
        create_app(settings)
    with pytest.raises(SettingsError, match="URL_SIGNING_SECRET"):
        make_settings(URL_SIGNING_SECRET="too-short")
    create_app(
        make_settings(
            SALES_PLATFORM_ENV="aws", STORAGE_BACKEND="local", TABLE_BACKEND="sqlite", URL_SIGNING_SECRET="x" * 32
        )
    )
    assert not (settings.home_path / SECRET_FILE_NAME).exists()
