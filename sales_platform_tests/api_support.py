"""Helpers for the API tests: an app on the test's own folder bucket and SQLite table, reached
through FastAPI's TestClient, and table items written as docs/table-items.md defines them
(as the ingest and the daily analysis write them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sales_platform.api.app import create_app
from sales_platform.api.context import ApiContext
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings

API_KEY = "test-api-key-0123456789abcdef"
DAY = "2025-11-27"
OTHER_API_KEY = "second-api-key-0123456789abcd"


@dataclass
class Api:
    settings: Settings
    app: FastAPI
    client: TestClient  # sends the API key with every request

    @property
    def context(self) -> ApiContext:
        return self.app.state.context

    @property
    def bucket(self) -> ObjectStore:
        return self.context.bucket

    @property
    def table(self) -> MetricsTable:
        return self.context.table

    def anonymous(self) -> TestClient:
        """A client that sends no key."""
        return TestClient(self.app)


@pytest.fixture
def make_api(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Api]]:
    """An app with API keys and no answer caching unless the keyword settings say otherwise."""
    opened: list[TestClient] = []

    def make(bucket: ObjectStore | None = None, table: MetricsTable | None = None, **overrides: object) -> Api:
        values: dict[str, object] = {"API_KEYS": f"{API_KEY},{OTHER_API_KEY}", "API_CACHE_SECONDS": "0"}
        values.update(overrides)
        settings = make_settings(**values)
        app = create_app(settings, bucket=bucket, table=table)
        client = TestClient(app, headers={"X-Api-Key": API_KEY})
        client.__enter__()
        opened.append(client)
        return Api(settings, app, client)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def loaded(api: Api) -> Api:
    """A day with store summaries, the analysis, a processed file and a refused one: every
    list in every answer has something in it."""
    api.table.put_items(
        [
            store_day_item(
                "0001",
                DAY,
                total_sales=money("10.00"),
                net_sales=money("10.00"),
                transaction_count=1,
                payment_breakdown={"cash": money("10.00")},
            ),
            store_day_item("0002", DAY, total_sales=money("20.00"), net_sales=money("20.00"), transaction_count=2),
            company_summary_item(
                DAY,
                total_sales=money("30.00"),
                net_sales=money("30.00"),
                transaction_count=3,
                reported_stores=["0001", "0002"],
                missing_stores=["0003"],
            ),
            product_day_item(
                DAY,
                "SKU-1",
                name="One",
                units=1,
                gross_revenue=money("5.00"),
                net_revenue=money("5.00"),
                stores_sold=1,
                rank=1,
            ),
            insight_item(
                DAY,
                "anomaly",
                "peer_outlier-0001",
                type="peer_outlier",
                severity="info",
                store_id="0001",
                title="t",
                description="d",
                metric_value=money("10.00"),
                historical_average=None,
                deviation_percent=money("-50.0"),
            ),
            insight_item(
                DAY,
                "trend",
                "sales_velocity",
                type="sales_velocity",
                title="t",
                description="d",
                significance="low",
                trend_direction="flat",
                metric_change_percent=money("1.0"),
                affected_items=[],
            ),
            insight_item(
                DAY,
                "recommendation",
                "rules-01",
                priority="low",
                category="strategy",
                title="t",
                description="d",
                affected_stores=["0001"],
                affected_products=[],
                expected_impact="i",
            ),
        ]
    )
    api.bucket.write_bytes("processed/year=2025/month=11/day=27/store_id=0001/data.parquet", b"PAR1")
    api.bucket.write_bytes("rejected/store_0002_2025-11-27.json", b"{")
    api.bucket.write_bytes(
        "rejected/store_0002_2025-11-27.json.error.json", b'{"summary": "line 1: bad JSON", "problem_count": 1}'
    )
    return api


# --------------------------------------------------------------------------- table items


def money(text: str) -> Decimal:
    return Decimal(text)


def store_day_item(store_id: str, day: str, **fields: Any) -> dict[str, Any]:
    item = {
        "PK": f"STORE#{store_id}",
        "SK": f"DATE#{day}",
        "GSI1PK": f"DATE#{day}",
        "GSI1SK": f"STORE#{store_id}",
        "item_type": "STORE_DAY_SUMMARY",
        "store_id": store_id,
        "date": day,
        "total_sales": money("0.00"),
        "total_discount": money("0.00"),
        "net_sales": money("0.00"),
        "transaction_count": 0,
        "line_item_count": 0,
        "item_count": 0,
        "unique_customers": 0,
        "avg_transaction": money("0.00"),
        "top_products": [],
        "payment_breakdown": {},
        "first_sale_at": f"{day}T14:00:00Z",
        "last_sale_at": f"{day}T22:00:00Z",
        "source_file": f"store_{store_id}_{day}.json",
        "processed_key": f"processed/year={day[:4]}/month={day[5:7]}/day={day[8:]}/store_id={store_id}/data.parquet",
        "processed_at": f"{day}T23:00:00Z",
    }
    item.update(fields)
    return item


def upload_tracking_item(store_id: str, day: str) -> dict[str, Any]:
    return {
        "PK": f"DATE#{day}",
        "SK": f"UPLOAD#STORE#{store_id}",
        "item_type": "UPLOAD_TRACKING",
        "store_id": store_id,
        "date": day,
        "status": "processed",
        "source_file": f"store_{store_id}_{day}.json",
        "source_version": "v1",
        "rows": 10,
        "processed_at": f"{day}T23:00:00Z",
    }


def company_summary_item(day: str, **fields: Any) -> dict[str, Any]:
    item = {"PK": f"DATE#{day}", "SK": "SUMMARY#COMPANY", "item_type": "COMPANY_SUMMARY", "date": day}
    item.update(fields)
    return item


def product_day_item(day: str, sku: str, **fields: Any) -> dict[str, Any]:
    item = {
        "PK": f"DATE#{day}",
        "SK": f"PRODUCT#{sku}",
        "GSI1PK": f"PRODUCT#{sku}",
        "GSI1SK": f"DATE#{day}",
        "item_type": "PRODUCT_DAY",
        "date": day,
        "sku": sku,
    }
    item.update(fields)
    return item


def insight_item(day: str, insight_type: str, insight_id: str, **fields: Any) -> dict[str, Any]:
    item = {
        "PK": f"DATE#{day}",
        "SK": f"INSIGHT#{insight_type.upper()}#{insight_id}",
        "GSI1PK": f"INSIGHT#{insight_type}",
        "GSI1SK": f"DATE#{day}",
        "item_type": "INSIGHT",
        "date": day,
        "insight_type": insight_type,
        "insight_id": insight_id,
        "engine": "rules",
        "written_at": f"{day}T23:30:00Z",
    }
    item.update(fields)
    return item
