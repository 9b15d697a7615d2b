"""The BI export's datasets: flat rows with fixed columns, as newline-delimited JSON (what
QuickSight reads through an S3 manifest) and Parquet (for Athena, DuckDB, pandas).

Every file of a dataset has the same columns whatever the days hold, because a QuickSight
dataset is one schema over all its files. Nested values are flattened: the payment breakdown
becomes one column per payment method, lists become comma-separated text.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sales_platform.domain.money import to_cents
from sales_platform.domain.upload_contract import PAYMENT_METHODS

TOP_PRODUCTS_PER_DAY = 10
MONEY = pa.decimal128(12, 2)


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(name, kind) for name, kind in self.columns])


_INSIGHT_HEAD = (("date", pa.date32()), ("insight_id", pa.string()), ("engine", pa.string()))

STORE_SUMMARIES = Dataset(
    "store_summaries",
    (
        ("date", pa.date32()),
        ("store_id", pa.string()),
        ("total_sales", MONEY),
        ("total_discount", MONEY),
        ("net_sales", MONEY),
        ("transaction_count", pa.int64()),
        ("line_item_count", pa.int64()),
        ("item_count", pa.int64()),
        ("unique_customers", pa.int64()),
        ("avg_transaction", MONEY),
        *((f"payment_{method}", MONEY) for method in PAYMENT_METHODS),
    ),
)
TOP_PRODUCTS = Dataset(
    "top_products",
    (
        ("date", pa.date32()),
        ("rank", pa.int64()),
        ("sku", pa.string()),
        ("name", pa.string()),
        ("units", pa.int64()),
        ("gross_revenue", MONEY),
        ("net_revenue", MONEY),
        ("stores_sold", pa.int64()),
    ),
)
ANOMALIES = Dataset(
    "anomalies",
    (
        *_INSIGHT_HEAD,
        ("type", pa.string()),
        ("severity", pa.string()),
        ("store_id", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("metric_value", pa.float64()),
        ("historical_average", pa.float64()),
        ("deviation_percent", pa.float64()),
    ),
)
TRENDS = Dataset(
    "trends",
    (
        *_INSIGHT_HEAD,
        ("type", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("affected_items", pa.string()),
        ("significance", pa.string()),
        ("trend_direction", pa.string()),
        ("metric_change_percent", pa.float64()),
    ),
)
RECOMMENDATIONS = Dataset(
    "recommendations",
    (
        *_INSIGHT_HEAD,
        ("priority", pa.string()),
        ("category", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("affected_stores", pa.string()),
        ("affected_products", pa.string()),
        ("expected_impact", pa.string()),
    ),
)
DATASETS = (STORE_SUMMARIES, TOP_PRODUCTS, ANOMALIES, TRENDS, RECOMMENDATIONS)


def _value(kind: pa.DataType, value: Any) -> Any:
    if value is None:
        return None
    if pa.types.is_date(kind):
        return dt.date.fromisoformat(str(value))
    if pa.types.is_decimal(kind):
        return to_cents(Decimal(str(value)))
    if pa.types.is_integer(kind):
        return int(value)
    if pa.types.is_floating(kind):
        return float(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(part) for part in value)
    return str(value)


def to_row(dataset: Dataset, item: Mapping[str, Any]) -> dict[str, Any]:
    source = dict(item)
    if dataset is STORE_SUMMARIES:
        for method, amount in (item.get("payment_breakdown") or {}).items():
            source[f"payment_{method}"] = amount
        for method in PAYMENT_METHODS:
            source.setdefault(f"payment_{method}", 0)
    return {name: _value(kind, source.get(name)) for name, kind in dataset.columns}


def rows(dataset: Dataset, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [to_row(dataset, item) for item in items]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # cents: the shortest float repr prints them exactly
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def ndjson(rows_: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(row, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for row in rows_
    )


def parquet(dataset: Dataset, rows_: Sequence[Mapping[str, Any]]) -> bytes:
    table = pa.Table.from_pylist(list(rows_), schema=dataset.schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def quicksight_manifest(uris: Sequence[str]) -> dict[str, Any]:
    """An Amazon QuickSight S3 manifest: the files of one dataset, JSON records."""
    return {"fileLocations": [{"URIs": list(uris)}], "globalUploadSettings": {"format": "JSON"}}
