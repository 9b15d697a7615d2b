"""Nothing accepted at ingest is unwritable later: the longest SKU, name and ids the contract
accepts, in four-byte characters, go through validation, store metrics, the product metrics and
a product trend, and every item they make is written to DynamoDB (moto, which enforces
DynamoDB's key and item size limits) and read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from sales_platform.domain.analysis_items import insight_items, product_day_items
from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.product_metrics import compute_product_metrics
from sales_platform.domain.recommendations import EngineAnswer
from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item
from sales_platform.domain.trends import DEFAULT_TREND_THRESHOLDS, ProductUnits, detect_trends, product_window
from sales_platform.domain.upload_contract import MAX_TEXT_LENGTHS, parse_upload_name
from sales_platform.domain.upload_validation import UploadRefused, ValidationRules, validate_upload
from sales_platform.resources.dynamodb_metrics_table import DynamoDbMetricsTable, make_dynamodb_client, table_definition
from sales_platform_tests.fake_aws import REGION, fake_aws

DAY = dt.date(2025, 11, 27)
NAME = "store_0001_2025-11-27.json"
NOW = dt.datetime(2025, 11, 28, 5, tzinfo=dt.UTC)
WIDEST = "\U0001f95b"  # four bytes in UTF-8, the most a character takes


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDbMetricsTable]:
    with fake_aws(monkeypatch):
        client = make_dynamodb_client(REGION)
        client.create_table(**table_definition("SalesData"))
        yield DynamoDbMetricsTable("SalesData", client)


def _records(sku: str, name: str) -> list[dict]:
    return [
        {
            "transaction_id": "T" * MAX_TEXT_LENGTHS["transaction_id"],
            "transaction_timestamp": f"2025-11-27T1{n}:00:00-05:00",
            "item_sku": sku if n < 5 else f"{sku[:-1]}{n}",  # five SKUs of the longest kind: the day's top five
            "item_name": name,
            "quantity": 30,
            "unit_price": 2.5,
            "line_total": 75.0,
            "discount_amount": 0,
            "payment_method": "cash",
            "customer_id": "C" * MAX_TEXT_LENGTHS["customer_id"],
        }
        for n in range(10)
    ]


def test_the_longest_accepted_texts_write_to_dynamodb_and_read_back(
    tmp_path: Path, table: DynamoDbMetricsTable
) -> None:
    sku = WIDEST * MAX_TEXT_LENGTHS["item_sku"]
    name = WIDEST * MAX_TEXT_LENGTHS["item_name"]
    upload = tmp_path / NAME
    upload.write_text(json.dumps(_records(sku, name), ensure_ascii=False))
    line_items = validate_upload(upload, parse_upload_name(NAME), ValidationRules())
    pq.write_table(line_items, tmp_path / "data.parquet")

    metrics = compute_store_metrics(line_items)
    summary = store_day_summary_item(
        "0001", DAY, metrics, source_file=NAME, processed_key="processed/x/data.parquet", processed_at=NOW
    )
    products = compute_product_metrics([tmp_path / "data.parquet"])
    # The same weekdays before, with the store reporting and the product at 20 units each.
    weeks = product_window(DAY)[: DEFAULT_TREND_THRESHOLDS.product_min_days]
    earlier = {day: {p.sku: ProductUnits(p.name, 20) for p in products} for day in weeks}
    store_day = StoreDay.from_item(summary)
    days = {day: [dataclasses.replace(store_day, date=day)] for day in [DAY, *weeks]}
    report = detect_trends(DAY, days, {p.sku: ProductUnits(p.name, p.units) for p in products}, earlier)
    trends = [t for t in report.trends if t.type == "product_trend"]
    assert {t.subject for t in trends} >= {sku}
    items = [
        summary,
        *product_day_items(DAY, products),
        *insight_items(DAY, [], trends, EngineAnswer("rules", []), NOW),
    ]

    table.put_items(items)

    assert len(summary["top_products"]) == 5 and summary["top_products"][0]["name"] == name
    stored = table.get_item(summary["PK"], summary["SK"])
    assert stored is not None and [p["sku"] for p in stored["top_products"]] == [
        p["sku"] for p in summary["top_products"]
    ]
    assert table.get_item(f"DATE#{DAY}", f"PRODUCT#{sku}")["name"] == name
    assert [item["sku"] for item in table.query_index(f"PRODUCT#{sku}")] == [sku]
    assert table.get_item(f"DATE#{DAY}", f"INSIGHT#TREND#product_trend-{sku}")["affected_items"] == [sku]


def test_one_character_more_is_refused_at_ingest_where_dynamodb_would_refuse_it_later(
    tmp_path: Path, table: DynamoDbMetricsTable
) -> None:
    # What the limit protects against: a sort key over 1,024 bytes is refused by DynamoDB.
    too_long = "S" * 1017
    with pytest.raises(ClientError, match="size"):
        table.put_items([{"PK": f"DATE#{DAY}", "SK": f"PRODUCT#{too_long}", "units": Decimal(1)}])
    upload = tmp_path / NAME
    upload.write_text(json.dumps(_records("S" * (MAX_TEXT_LENGTHS["item_sku"] + 1), "n"), ensure_ascii=False))
    with pytest.raises(UploadRefused) as refused:
        validate_upload(upload, parse_upload_name(NAME), ValidationRules())
    assert refused.value.refusal.problems[0].field == "item_sku"
