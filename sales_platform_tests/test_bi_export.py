"""The BI export under quicksight/: what a dashboard reads after each daily analysis, on the
local folder and on S3, replaced as a whole set and never duplicated by a rerun."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from sales_platform.services.bi_export_versions import current_export, write_export
from sales_platform_tests.conftest import TEST_BUCKET, Platform, days_ago, store_today
from sales_platform_tests.report_fixtures import analysis_finished, write_known_days

DATASETS = ("store_summaries", "top_products", "anomalies", "trends", "recommendations")


def ndjson_rows(platform: Platform, key: str) -> list[dict]:
    return [json.loads(line) for line in platform.bucket.read_bytes(key).decode().splitlines()]


def manifest(platform: Platform, dataset: str) -> dict:
    return json.loads(platform.bucket.read_bytes(f"quicksight/{dataset}.manifest.json"))


def version_folders(platform: Platform) -> set[str]:
    return {key.split("/")[2] for key in platform.keys("quicksight/exports/")}


@pytest.mark.slow
def test_the_export_holds_the_last_days_as_ndjson_parquet_and_quicksight_manifests(platform: Platform) -> None:
    day = days_ago(1)
    write_known_days(platform.table, day, platform.settings.stores.expected_stores, history_days=3)
    analysis_finished(platform, day)

    outcomes = platform.process().outcomes
    assert [o.status for o in outcomes] == ["done"]

    current = current_export(platform.bucket, platform.config)
    assert current["last_day"] == store_today().isoformat()
    assert current["first_day"] == (store_today() - dt.timedelta(days=29)).isoformat()
    # 3 complete days of 3 stores, and the known day with 2 of them.
    assert {name: entry["rows"] for name, entry in current["datasets"].items()} == {
        "store_summaries": 11,
        "top_products": 12,
        "anomalies": 8,
        "trends": 8,
        "recommendations": 8,
    }
    for dataset in DATASETS:
        entry = current["datasets"][dataset]
        doc = manifest(platform, dataset)
        assert doc["globalUploadSettings"] == {"format": "JSON"}
        [location] = doc["fileLocations"]
        [uri] = location["URIs"]
        expected_uri = (
            (platform.settings.bucket_path / entry["ndjson"]).as_uri()
            if platform.is_local
            else f"s3://{TEST_BUCKET}/{entry['ndjson']}"
        )
        assert uri == expected_uri
        rows = ndjson_rows(platform, entry["ndjson"])
        table = pq.read_table(io.BytesIO(platform.bucket.read_bytes(entry["parquet"])))
        assert table.num_rows == len(rows) == entry["rows"]
        assert table.column_names == list(rows[0])  # same columns, same order, in both formats

    stores = ndjson_rows(platform, current["datasets"]["store_summaries"]["ndjson"])
    known = [row for row in stores if row["date"] == day.isoformat()]
    assert [(r["store_id"], r["net_sales"], r["payment_gift_card"], r["payment_credit"]) for r in known] == [
        ("0001", 1500.25, 900.15, 0.0),
        ("0002", 734.5, 440.7, 0.0),
    ]
    parquet_stores = pq.read_table(
        io.BytesIO(platform.bucket.read_bytes(current["datasets"]["store_summaries"]["parquet"]))
    )
    assert Decimal("1500.25") in parquet_stores.column("net_sales").to_pylist()  # exact money in Parquet
    recommendations = ndjson_rows(platform, current["datasets"]["recommendations"]["ndjson"])
    restock = next(r for r in recommendations if r["date"] == day.isoformat() and r["priority"] == "high")
    assert restock["engine"] == "bedrock" and restock["affected_stores"] == "0001, 0002"
    products = ndjson_rows(platform, current["datasets"]["top_products"]["ndjson"])
    assert [(p["rank"], p["sku"]) for p in products if p["date"] == day.isoformat()] == [
        (1, "SKU-042"),
        (2, "SKU-007"),
        (3, "SKU-100"),
    ]


@pytest.mark.slow
def test_a_rerun_replaces_the_set_and_never_duplicates(local_platform: Platform) -> None:
    day = days_ago(1)
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    versions = []
    for _ in range(3):
        analysis_finished(local_platform, day)
        local_platform.process()
        versions.append(current_export(local_platform.bucket, local_platform.config)["version"])

    assert len(set(versions)) == 3 and versions == sorted(versions)
    # The newest set is current; the one it replaced stays for a refresh still reading it; older ones are gone.
    assert version_folders(local_platform) == {versions[1], versions[2]}
    for dataset in DATASETS:
        [uri] = manifest(local_platform, dataset)["fileLocations"][0]["URIs"]
        assert f"/{versions[2]}/" in uri
    current = current_export(local_platform.bucket, local_platform.config)
    stores = ndjson_rows(local_platform, current["datasets"]["store_summaries"]["ndjson"])
    keys = [(row["date"], row["store_id"]) for row in stores]
    assert len(keys) == len(set(keys)) == 11


@pytest.mark.slow
def test_the_window_follows_bi_export_days_and_an_older_rerun_does_not_turn_it_back(make_local_platform) -> None:
    platform = make_local_platform(BI_EXPORT_DAYS="2")
    day = days_ago(1)
    write_known_days(platform.table, day, platform.settings.stores.expected_stores, history_days=4)
    older = days_ago(4)
    analysis_finished(platform, older)  # the analysis of an older day is re-run

    platform.process()

    current = current_export(platform.bucket, platform.config)
    assert (current["first_day"], current["last_day"]) == (day.isoformat(), store_today().isoformat())
    stores = ndjson_rows(platform, current["datasets"]["store_summaries"]["ndjson"])
    assert {row["date"] for row in stores} == {day.isoformat()}


def test_an_export_that_finds_a_newer_one_current_withdraws(local_platform: Platform) -> None:
    day = days_ago(1)
    write_known_days(local_platform.table, day, local_platform.settings.stores.expected_stores)
    now = dt.datetime.now(dt.UTC)
    newer = write_export(local_platform.bucket, local_platform.table, local_platform.config, day, now=now)

    late = write_export(
        local_platform.bucket, local_platform.table, local_platform.config, day, now=now - dt.timedelta(seconds=5)
    )

    assert late.superseded and not newer.superseded
    assert current_export(local_platform.bucket, local_platform.config)["version"] == newer.version
    assert version_folders(local_platform) == {newer.version}
