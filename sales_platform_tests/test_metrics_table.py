"""The metrics table behaves the same in SQLite and in DynamoDB.

Every behavioural test runs against both; DynamoDB (moto) is given five-item pages so that
each multi-item query really has to follow LastEvaluatedKey.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sales_platform.resources.dynamodb_metrics_table import (
    DynamoDbMetricsTable,
    create_table_if_missing,
    make_dynamodb_client,
    table_definition,
)
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable
from sales_platform_tests.fake_aws import REGION, fake_aws

TABLE = "SalesData"
DAY = "DATE#2025-11-27"


@dataclass
class Table:
    table: MetricsTable
    # Query calls sent to DynamoDB, to show that pagination happened; empty for SQLite.
    query_calls: list[str] = field(default_factory=list)


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    if request.param == "sqlite":
        yield Table(SqliteMetricsTable(tmp_path / "home" / "sales.db"))
        return
    with fake_aws(monkeypatch):
        client = make_dynamodb_client(REGION)
        client.create_table(**table_definition(TABLE))
        under_test = Table(DynamoDbMetricsTable(TABLE, client, page_size=5))
        client.meta.events.register(
            "before-call.dynamodb.Query", lambda **kwargs: under_test.query_calls.append("Query")
        )
        yield under_test


def _store_day(store: str, date: str, **attributes: Any) -> dict[str, Any]:
    keys = {"PK": f"STORE#{store}", "SK": f"DATE#{date}", "GSI1PK": f"DATE#{date}", "GSI1SK": f"STORE#{store}"}
    return keys | attributes


def _product_day(sku: str, date: str, **attributes: Any) -> dict[str, Any]:
    keys = {"PK": f"DATE#{date}", "SK": f"PRODUCT#{sku}", "GSI1PK": f"PRODUCT#{sku}", "GSI1SK": f"DATE#{date}"}
    return keys | attributes


def test_an_item_reads_back_as_it_was_written(backend: Table) -> None:
    item = _store_day(
        "0001",
        "2025-11-27",
        total_sales=Decimal("1234.56"),
        transaction_count=42,
        is_complete=True,
        note=None,
        payment_breakdown={"cash": Decimal("100.10"), "credit": Decimal("1134.46")},
        top_products=[{"sku": "SKU-1", "revenue": Decimal("99.99"), "quantity": 3}],
        store_name="Downtown ☕",
    )
    assert backend.table.put_items([item]) == 1

    assert backend.table.get_item("STORE#0001", "DATE#2025-11-27") == item
    assert backend.table.get_item("STORE#0001", "DATE#2025-11-28") is None


def test_writing_the_same_key_again_replaces_the_item(backend: Table) -> None:
    table = backend.table
    table.put_items([_store_day("0001", "2025-11-27", total_sales=10, preliminary=True)])
    # A rerun, and a batch naming one key twice (DynamoDB refuses that in a single request).
    table.put_items(
        [
            _store_day("0001", "2025-11-27", total_sales=11),
            _store_day("0001", "2025-11-27", total_sales=12),
        ]
    )

    assert table.query("STORE#0001") == [_store_day("0001", "2025-11-27", total_sales=12)]
    assert table.query_index("DATE#2025-11-27") == [_store_day("0001", "2025-11-27", total_sales=12)]


def test_query_returns_every_item_with_the_sort_key_prefix_in_order(backend: Table) -> None:
    products = [_product_day(f"SKU-{n:03d}", "2025-11-27", revenue=Decimal(n)) for n in range(23)]
    others = [
        {"PK": DAY, "SK": "SUMMARY#COMPANY", "total_sales": 5},
        {"PK": DAY, "SK": "UPLOAD#STORE#0001", "status": "processed"},
        _product_day("SKU-000", "2025-11-28", revenue=1),
    ]
    items = products + others
    backend.table.put_items(random.Random(5).sample(items, len(items)))

    assert backend.table.query(DAY, "PRODUCT#") == products
    assert [item["SK"] for item in backend.table.query(DAY)] == sorted(
        ["SUMMARY#COMPANY", "UPLOAD#STORE#0001", *(item["SK"] for item in products)]
    )
    assert backend.table.query(DAY, "PRODUCT#SKU-01") == products[10:20]
    assert backend.table.query(DAY, "INSIGHT#") == []
    if isinstance(backend.table, DynamoDbMetricsTable):
        assert len(backend.query_calls) > 5  # 23 items at 5 per page, several queries


def test_query_index_finds_items_by_their_second_key(backend: Table) -> None:
    dates = [f"2025-10-{day:02d}" for day in range(25, 32)] + [f"2025-11-{day:02d}" for day in range(1, 8)]
    history = [_product_day("SKU-1", date, revenue=Decimal("9.99")) for date in dates]
    items = [
        *history,
        _product_day("SKU-2", "2025-11-01", revenue=1),
        _product_day("SKU-10", "2025-11-01", revenue=1),
        {"PK": "DATE#2025-11-01", "SK": "UPLOAD#STORE#0001", "status": "processed"},
    ]
    backend.table.put_items(random.Random(9).sample(items, len(items)))

    assert backend.table.query_index("PRODUCT#SKU-1") == history
    assert backend.table.query_index("PRODUCT#SKU-1", "DATE#2025-11") == history[7:]
    assert backend.table.query_index("PRODUCT#SKU-3") == []
    if isinstance(backend.table, DynamoDbMetricsTable):
        assert len(backend.query_calls) > 3


@pytest.mark.slow
def test_an_item_without_index_keys_is_not_in_the_index(backend: Table) -> None:
    upload = {"PK": DAY, "SK": "UPLOAD#STORE#0001", "status": "ok"}
    backend.table.put_items([upload | {"GSI1PK": None, "GSI1SK": None}])

    assert backend.table.get_item(DAY, "UPLOAD#STORE#0001") == upload
    with pytest.raises(ValueError, match="GSI1PK"):
        backend.table.put_items([{"PK": DAY, "SK": "INSIGHT#X", "GSI1PK": "INSIGHT#x"}])


def test_replace_items_leaves_no_stale_item_behind(backend: Table) -> None:
    table = backend.table

    def insight(stable_id: str, text: str) -> dict[str, Any]:
        sk = f"INSIGHT#ANOMALY#{stable_id}"
        return {"PK": DAY, "SK": sk, "GSI1PK": "INSIGHT#anomaly", "GSI1SK": DAY, "text": text}

    table.put_items([insight("a", "old a"), insight("b", "old b"), insight("c", "old c")])
    table.put_items([{"PK": DAY, "SK": "SUMMARY#COMPANY", "total_sales": 5}])

    written = table.replace_items(DAY, "INSIGHT#", [insight("b", "new b"), insight("d", "new d")])

    assert written == 2
    assert table.query(DAY, "INSIGHT#") == [insight("b", "new b"), insight("d", "new d")]
    assert table.get_item(DAY, "SUMMARY#COMPANY") == {"PK": DAY, "SK": "SUMMARY#COMPANY", "total_sales": 5}
    with pytest.raises(ValueError, match="outside"):
        table.replace_items(DAY, "INSIGHT#", [{"PK": DAY, "SK": "SUMMARY#COMPANY", "total_sales": 0}])
    assert table.get_item(DAY, "SUMMARY#COMPANY")["total_sales"] == 5

    table.replace_items(DAY, "INSIGHT#", [])
    assert table.query(DAY, "INSIGHT#") == []


def test_money_stays_exact(backend: Table) -> None:
    backend.table.put_items(
        [
            {"PK": DAY, "SK": "SUMMARY#COMPANY", "cash": Decimal("0.10"), "card": Decimal("0.20")},
            {"PK": DAY, "SK": "PRODUCT#SKU-1", "line_totals": [Decimal("19.99")] * 30, "from_float": 0.1},
        ]
    )

    summary = backend.table.get_item(DAY, "SUMMARY#COMPANY")
    product = backend.table.get_item(DAY, "PRODUCT#SKU-1")

    assert isinstance(summary["cash"], Decimal)
    assert summary["cash"] + summary["card"] == Decimal("0.30")
    assert sum(product["line_totals"]) == Decimal("599.70")
    # A float is stored as the decimal it prints as, not its binary expansion.
    assert product["from_float"] == Decimal("0.1")


def test_whole_numbers_come_back_as_int_and_flags_as_bool(backend: Table) -> None:
    backend.table.put_items(
        [
            {
                "PK": DAY,
                "SK": "SUMMARY#COMPANY",
                "transaction_count": 3,
                "big": 2**53 + 1,
                "whole": Decimal("2.00"),
                "flag": True,
            }
        ]
    )

    item = backend.table.get_item(DAY, "SUMMARY#COMPANY")

    assert type(item["transaction_count"]) is int and item["transaction_count"] == 3
    assert type(item["big"]) is int and item["big"] == 2**53 + 1
    assert type(item["whole"]) is int and item["whole"] == 2
    assert item["flag"] is True


@pytest.mark.slow
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")])
def test_a_number_that_is_not_finite_is_refused_and_nothing_is_written(backend: Table, bad: Any) -> None:
    good = {"PK": DAY, "SK": "PRODUCT#SKU-1", "revenue": 1}
    broken = {"PK": DAY, "SK": "PRODUCT#SKU-2", "stats": {"growth": [1, bad]}}

    with pytest.raises(ValueError, match=r"stats\.growth\[1\].*finite"):
        backend.table.put_items([good, broken])

    assert backend.table.query(DAY) == []


@pytest.mark.parametrize("sku", ["A_1", "A%1"])
def test_wildcard_characters_in_a_prefix_match_literally(backend: Table, sku: str) -> None:
    skus = ["A_1", "A%1", "AB1", "AX1", "A1"]
    backend.table.put_items([_product_day(s, "2025-11-27") for s in skus])

    assert [item["SK"] for item in backend.table.query(DAY, f"PRODUCT#{sku}")] == [f"PRODUCT#{sku}"]
    assert [item["GSI1PK"] for item in backend.table.query_index(f"PRODUCT#{sku}", "DATE#")] == [f"PRODUCT#{sku}"]


def test_a_prefix_matches_keys_continuing_with_any_character(backend: Table) -> None:
    skus = ["É-1", "😀-1", "\uffff-1"]
    neighbour = {"PK": DAY, "SK": "PRODUCTS", "x": 1}
    backend.table.put_items([_product_day(s, "2025-11-27") for s in skus] + [neighbour])

    assert [item["SK"] for item in backend.table.query(DAY, "PRODUCT#")] == sorted(f"PRODUCT#{s}" for s in skus)


def test_delete_items_removes_them_and_ignores_missing_ones(backend: Table) -> None:
    backend.table.put_items([_product_day(f"SKU-{n}", "2025-11-27") for n in range(30)])

    asked = backend.table.delete_items([(DAY, f"PRODUCT#SKU-{n}") for n in range(29)] + [(DAY, "PRODUCT#NOPE")])

    assert asked == 30
    assert [item["SK"] for item in backend.table.query(DAY)] == ["PRODUCT#SKU-29"]


def test_ping_succeeds_on_a_reachable_table(backend: Table) -> None:
    backend.table.ping()


def test_sqlite_table_is_created_on_first_use_and_shared_between_processes(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "home" / "sales.db"
    worker = SqliteMetricsTable(path)

    worker.ping()
    worker.put_items([_store_day("0001", "2025-11-27", total_sales=Decimal("10.50"))])

    # What the API process would open: another instance on the same file.
    api = SqliteMetricsTable(path)
    assert api.query_index("DATE#2025-11-27") == [_store_day("0001", "2025-11-27", total_sales=Decimal("10.50"))]


def test_sqlite_writers_in_several_threads_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "sales.db"
    shared = SqliteMetricsTable(path)
    # A shared instance (the API's thread pool) and separate ones (other processes).
    tables = [shared, shared, SqliteMetricsTable(path), SqliteMetricsTable(path)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(tables))

    def write(writer: int, table: MetricsTable) -> None:
        try:
            start.wait()
            for batch in range(25):
                date = f"2025-11-{batch + 1:02d}"
                table.put_items([_store_day(f"{writer:04d}", date, n=batch)])
                # Reads, then writes in one transaction: the pattern most prone to "locked".
                insights = [{"PK": f"DATE#{date}", "SK": f"INSIGHT#W{writer}#{n}"} for n in range(4)]
                table.replace_items(f"DATE#{date}", f"INSIGHT#W{writer}#", insights)
                table.query_index(f"DATE#{date}")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n, table)) for n, table in enumerate(tables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(len(shared.query(f"STORE#{writer:04d}")) == 25 for writer in range(len(tables)))
    assert len(shared.query("DATE#2025-11-25", "INSIGHT#")) == 4 * len(tables)


def test_sqlite_a_long_read_does_not_block_writers(tmp_path: Path) -> None:
    path = tmp_path / "sales.db"
    table = SqliteMetricsTable(path, busy_timeout_seconds=1)
    table.put_items([_store_day("0001", "2025-11-26")])
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM items").fetchone() == (1,)

        # Without WAL this waits for the reader for a second and then fails as locked.
        table.put_items([_store_day("0001", "2025-11-27")])

        assert reader.execute("SELECT count(*) FROM items").fetchone() == (1,)  # its snapshot
    finally:
        reader.close()
    assert len(table.query("STORE#0001")) == 2


def test_dynamodb_table_can_be_created_once_and_used_through_a_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_aws(monkeypatch):
        resource = boto3.resource("dynamodb", region_name=REGION)

        assert create_table_if_missing("SalesDataTest", resource) is True
        assert create_table_if_missing("SalesDataTest", resource) is False

        item = _product_day("SKU-1", "2025-11-27", revenue=Decimal("1.50"), stores={"0001": [1, Decimal("0.5")]})
        DynamoDbMetricsTable("SalesDataTest", resource).put_items([item])
        # boto3 converts values on a resource's client itself, even when that client is
        # handed over alone; a plain client does not. All three must read the same item.
        for handle in (resource, resource.meta.client, make_dynamodb_client(REGION)):
            table = DynamoDbMetricsTable("SalesDataTest", handle, page_size=1)
            assert table.query_index("PRODUCT#SKU-1") == [item]
            assert table.query("DATE#2025-11-27", "PRODUCT#") == [item]
            assert table.get_item("DATE#2025-11-27", "PRODUCT#SKU-1") == item
        assert table.description == "dynamodb table SalesDataTest"


def test_dynamodb_ping_fails_when_the_table_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_aws(monkeypatch):
        table = DynamoDbMetricsTable("NoSuchTable", make_dynamodb_client(REGION))

        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            table.ping()


def test_sort_keys_alone_follow_every_page_in_order(backend: Table) -> None:
    # What the API reads to know which days exist, without fetching whole items.
    days = [f"2025-11-{day:02d}" for day in range(1, 13)]
    backend.table.put_items([_store_day("0001", day, top_products=[{"sku": "x"}] * 20) for day in reversed(days)])
    backend.table.put_items([_store_day("0002", "2025-11-05"), _product_day("SKU-1", "2025-11-27")])
    assert backend.table.query_sort_keys("STORE#0001", "DATE#") == [f"DATE#{day}" for day in days]
    assert backend.table.query_sort_keys("STORE#0001", "DATE#2025-11-1") == [
        "DATE#2025-11-10",
        "DATE#2025-11-11",
        "DATE#2025-11-12",
    ]
    assert backend.table.query_sort_keys("STORE#0009") == []
    if backend.query_calls:
        assert len(backend.query_calls) >= 3  # twelve keys in pages of five
