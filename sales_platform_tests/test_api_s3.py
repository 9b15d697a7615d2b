"""On S3 the API hands out URLs presigned by S3 itself, and they work: an S3 server (moto's, on
127.0.0.1) takes a PUT to the upload URL and serves the download URL with the friendly name.
The listing reads S3 page by page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx2 as httpx
import pytest
from moto.server import ThreadedMotoServer

from sales_platform_tests.api_support import Api
from sales_platform_tests.conftest import TEST_BUCKET
from sales_platform_tests.fake_aws import REGION, fake_aws

NAME = "store_0001_2025-11-27.json"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(name, value)
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(Bucket=TEST_BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_api(make_api, s3_endpoint: str) -> Api:
    return make_api(STORAGE_BACKEND="s3", S3_BUCKET=TEST_BUCKET, AWS_ENDPOINT_URL=s3_endpoint, AWS_REGION=REGION)


def test_a_presigned_upload_url_takes_the_file_on_s3(s3_api: Api, s3_endpoint: str) -> None:
    answer = s3_api.client.post("/generate-upload-url", json={"filename": NAME})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["key"] == f"uploads/{NAME}"
    url = body["uploadUrl"]
    assert url.startswith(f"{s3_endpoint}/{TEST_BUCKET}/uploads/{NAME}?")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    assert not (s3_api.settings.home_path / "api-url-signing-secret").exists(), "S3 signs; no local secret needed"

    # As a store's script or the browser does it: the bytes, no API key, any content type.
    put = httpx.put(url, content=b'[{"line": 1}]', headers={"Content-Type": "application/json"})
    assert put.status_code == 200, put.text
    assert s3_api.bucket.read_bytes(f"uploads/{NAME}") == b'[{"line": 1}]'
    assert [entry["key"] for entry in s3_api.client.get("/files", params={"status": "pending"}).json()["files"]] == [
        f"uploads/{NAME}"
    ]


def test_a_presigned_download_url_serves_the_file_with_its_name(s3_api: Api) -> None:
    key = "processed/year=2025/month=11/day=27/store_id=0001/data.parquet"
    s3_api.bucket.write_bytes(key, b"PAR1 data")
    answer = s3_api.client.post("/generate-download-url", json={"key": key})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["expiresIn"] == 3600 and body["filename"] == "store_0001_2025-11-27.parquet"
    fetched = httpx.get(body["downloadUrl"])
    assert fetched.status_code == 200 and fetched.content == b"PAR1 data"
    assert 'filename="store_0001_2025-11-27.parquet"' in fetched.headers["content-disposition"]
    assert parse_qs(urlsplit(body["downloadUrl"]).query)["X-Amz-Expires"] == ["3600"]

    missing = s3_api.client.post("/generate-download-url", json={"key": key.replace("day=27", "day=28")})
    assert missing.status_code == 404
    assert s3_api.client.get("/health").json() == {
        "status": "ok",
        "storage": "ok",
        "table": "ok",
        "storage_backend": "s3",
        "table_backend": "sqlite",
    }


def test_the_local_signed_route_is_closed_on_s3(s3_api: Api) -> None:
    answer = s3_api.anonymous().put(f"/bucket/uploads/{NAME}?expires=9999999999&signature=x", content=b"[]")
    assert answer.status_code == 404 and "presigned" in answer.json()["message"]


@pytest.mark.slow
def test_listing_more_than_one_s3_page_with_reports_paired(make_api, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_aws(monkeypatch):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=TEST_BUCKET)
        api = make_api(STORAGE_BACKEND="s3", S3_BUCKET=TEST_BUCKET, AWS_REGION=REGION)
        client = api.bucket.client
        files = 520  # with their reports, more than the 1,000 keys of one S3 page
        for n in range(1, files + 1):
            name = f"store_{n:04d}_2025-11-27.json"
            client.put_object(Bucket=TEST_BUCKET, Key=f"rejected/{name}", Body=b"{")
            client.put_object(
                Bucket=TEST_BUCKET,
                Key=f"rejected/{name}.error.json",
                Body=json.dumps({"summary": f"problem {n}"}).encode(),
            )
        listed = api.client.get("/files", params={"status": "rejected"}).json()
        assert listed["count"] == files
        assert {entry["error"] for entry in listed["files"]} == {f"problem {n}" for n in range(1, files + 1)}
        assert api.context.files.reports_read == files
        api.client.get("/files", params={"status": "rejected"})
        assert api.context.files.reports_read == files, "unchanged reports are not read again"


def test_a_refused_file_whose_name_holds_control_characters_downloads_from_s3(s3_api: Api) -> None:
    name = "store_0001_2025-11-27\t\x07.json"
    s3_api.bucket.write_bytes(f"rejected/{name}", b"{broken")
    s3_api.bucket.write_bytes(f"rejected/{name}.error.json", json.dumps({"summary": "bad name"}).encode())
    [entry] = s3_api.client.get("/files", params={"status": "rejected"}).json()["files"]
    answer = s3_api.client.post("/generate-download-url", json={"key": entry["key"]})
    assert answer.status_code == 200, answer.text
    fetched = httpx.get(answer.json()["downloadUrl"])
    assert fetched.status_code == 200 and fetched.content == b"{broken"
    assert 'filename="store_0001_2025-11-27__.json"' in fetched.headers["content-disposition"]
