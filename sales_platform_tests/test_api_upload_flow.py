"""The whole local flow over real HTTP, as a store and the dashboard live it: `sales-platform
api` serving on 127.0.0.1, a signed upload URL, a PUT of the file to it, `sales-platform
process`, then the file listed as processed, the day in /analytics, and the Parquet
downloadable through a signed download URL. Nothing patched, nothing in-process."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import pytest

from sales_platform.samples.store_files import default_end_date, generate_store_day, render_json
from sales_platform_tests.api_server import ApiServer, running_api
from sales_platform_tests.command_line import run_cli

# An upload through the API, a real `process` pass, then the API again.
pytestmark = pytest.mark.slow

KEY = "flow-test-key-0123456789abcdef"
STORES = ["0001", "0002"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SALES_PLATFORM_HOME": str(tmp_path / "home"), "EXPECTED_STORES": ",".join(STORES), "API_KEYS": KEY}


@pytest.fixture
def api_server(tmp_path: Path, env: dict[str, str]) -> Iterator[ApiServer]:
    with running_api(tmp_path, env, KEY) as server:
        yield server


def _net_sales(records: list[dict]) -> Decimal:
    return sum((Decimal(str(r["line_total"])) - Decimal(str(r["discount_amount"])) for r in records), Decimal(0))


def test_upload_through_a_signed_url_then_process_then_see_it(
    tmp_path: Path, env: dict[str, str], api_server: ApiServer
) -> None:
    day: dt.date = default_end_date("America/New_York")
    records = generate_store_day("0001", day, stores=STORES)
    good, bad = f"store_0001_{day}.json", f"store_0002_{day}.json"
    uploads = {good: render_json(records), bad: render_json(generate_store_day("0002", day, stores=STORES))[:4000]}

    for name, data in uploads.items():
        issued = api_server.client.post("/generate-upload-url", json={"filename": name})
        assert issued.status_code == 200, issued.text
        url = issued.json()["uploadUrl"]
        assert url.startswith(f"{api_server.url}/bucket/uploads/{name}?"), "the URL points at the server that issued it"
        put = httpx.put(
            url, content=data, headers={"Content-Type": "application/json"}
        )  # no API key: the URL is enough
        assert put.status_code == 200, put.text

    pending = api_server.client.get("/files", params={"status": "pending"}).json()
    assert {entry["name"] for entry in pending["files"]} == set(uploads)
    nothing_yet = api_server.client.get("/analytics")
    assert nothing_yet.status_code == 200 and nothing_yet.json()["message"] == "No data available"

    time.sleep(2.5)  # the inbox leaves a local file alone until it has stopped changing for 2 s
    result = run_cli(tmp_path, "process", **env)
    assert result.returncode == 0, result.stderr
    assert "1 files processed" in result.stdout and "1 refused" in result.stdout

    files = api_server.client.get("/files").json()
    by_status = {entry["status"]: entry for entry in files["files"]}
    assert files["count"] == 2
    processed, rejected = by_status["processed"], by_status["rejected"]
    assert processed["name"] == f"store_0001_{day}.parquet"
    assert processed["partitions"]["date"] == day.isoformat() and processed["partitions"]["store_id"] == "0001"
    assert rejected["name"] == bad and "JSON" in rejected["error"]

    analytics = api_server.client.get("/analytics").json()
    assert analytics["date"] == day.isoformat() and analytics["available_dates"] == [day.isoformat()]
    assert [store["store_id"] for store in analytics["stores"]] == ["0001"]
    assert Decimal(str(analytics["kpis"]["net_sales"])) == _net_sales(records)
    assert analytics["kpis"]["transaction_count"] == len({r["transaction_id"] for r in records})
    assert analytics["kpis"]["missing_stores"] == ["0002"]
    assert analytics["analysis"]["status"] == "pending" and analytics["anomalies"] == []
    trends = api_server.client.get("/trends", params={"days": 7}).json()
    assert trends["dates"] == [day.isoformat()] and trends["stores"] == ["0001"]

    link = api_server.client.post("/generate-download-url", json={"key": processed["key"]}).json()
    download = httpx.get(link["downloadUrl"])
    assert download.status_code == 200 and download.content[:4] == b"PAR1"
    assert f'filename="store_0001_{day}.parquet"' in download.headers["content-disposition"]

    log = api_server.output()
    signature = link["downloadUrl"].split("signature=")[1]
    assert signature not in log and "signature=REDACTED" in log, "signed URLs are redacted in the access log"

    os.killpg(api_server.process.pid, signal.SIGINT)
    assert api_server.process.wait(timeout=30) == 0
