"""Shared fixtures for the Dagster ingest layer: settings that never read the developer's
environment, a platform (settings, definitions, bucket, table, Dagster instance) on the local
folder + SQLite backends or on S3 + DynamoDB in moto, and helpers to drop files into the inbox.

Dates are relative to today where the stores are (America/New_York): the last partition is
today, tomorrow is in the future.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
import pytest

from sales_platform.defs.ingest.upload_sensor import UPLOAD_SENSOR
from sales_platform.defs.loading import build_definitions
from sales_platform.domain.upload_contract import LINE_ITEM_SCHEMA
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.dynamodb_metrics_table import table_definition
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.runtime.local_instance import prepare_dagster_home
from sales_platform.samples import store_files as sample_data
from sales_platform.settings import Settings, load_settings, setting_variables
from sales_platform_tests.api_support import api, loaded, make_api  # noqa: F401 - the API tests' fixtures
from sales_platform_tests.dagster_harness import Harness, PassReport
from sales_platform_tests.fake_aws import REGION, fake_aws

STORE_TZ = ZoneInfo("America/New_York")
STORES = ("0001", "0002", "0003")
UNKNOWN_STORE = "0009"
TEST_BUCKET = "sales-platform-test"
TEST_TABLE = "SalesDataTest"
# Files in a local inbox younger than the settle time (2 s) are not picked up yet.
SETTLED_AGE_SECONDS = 30.0


def pytest_configure(config: pytest.Config) -> None:
    # Dagster announces beta features and its own deprecations on every definition and run.
    for line in (
        "ignore::dagster._utils.warnings.BetaWarning",
        "ignore::dagster._utils.warnings.PreviewWarning",
        "ignore::DeprecationWarning:dagster.*",
    ):
        config.addinivalue_line("filterwarnings", line)


def store_today() -> dt.date:
    return dt.datetime.now(STORE_TZ).date()


def days_ago(n: int) -> dt.date:
    return store_today() - dt.timedelta(days=n)


def start_date() -> dt.date:
    """PARTITIONS_START_DATE of the test settings: a week ago."""
    return days_ago(7)


def _settings_variables() -> list[str]:
    return setting_variables()


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No `.env`, no SALES_PLATFORM_* / AWS_* variable of the developer's shell, and a
    DAGSTER_HOME that is restored after the test (prepare_dagster_home sets it)."""
    monkeypatch.chdir(tmp_path)
    for name in _settings_variables():
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home" / "dagster"))
    return tmp_path


@pytest.fixture
def make_settings(clean_env: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "SALES_PLATFORM_HOME": str(clean_env / "home"),
            "EXPECTED_STORES": ",".join(STORES),
            "PARTITIONS_START_DATE": start_date().isoformat(),
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


# --------------------------------------------------------------------------- files


def records_for(store_id: str, day: dt.date, seed: int = 42) -> list[dict[str, Any]]:
    """A realistic store-day (hundreds of lines) from the sample generator."""
    return sample_data.generate_store_day(store_id, day, seed=seed, stores=STORES)


def small_records(store_id: str, day: dt.date, transactions: int = 3, price: str = "2.50") -> list[dict[str, Any]]:
    """A handful of valid lines with easy numbers: transaction n has n+1 lines (the first two
    lines of each transaction), each `2 x price`, with 0.50 off the first line."""
    records = []
    unit = Decimal(price)
    for n in range(1, transactions + 1):
        stamp = dt.datetime.combine(day, dt.time(9 + n, 15), STORE_TZ).isoformat()
        for line in range(n + 1):
            records.append(
                {
                    "transaction_id": f"TXN-{store_id}-{n:04d}",
                    "transaction_timestamp": stamp,
                    "item_sku": f"SKU-{line + 1:03d}",
                    "item_name": f"Product {line + 1}",
                    "quantity": 2,
                    "unit_price": unit,
                    "line_total": unit * 2,
                    "discount_amount": Decimal("0.50") if line == 0 else Decimal("0.00"),
                    "payment_method": ("cash", "credit", "debit")[n % 3],
                    "customer_id": f"CUST-{n:06d}",
                }
            )
    return records


def render(records: list[dict[str, Any]]) -> bytes:
    return sample_data.render_json(records)


def upload_name(store_id: str, day: dt.date, extension: str = "json") -> str:
    return f"store_{store_id}_{day.isoformat()}.{extension}"


def line_items_table(records: list[dict[str, Any]]) -> pa.Table:
    """The records as `LINE_ITEM_SCHEMA`, built in Python without the platform's validation."""
    columns: dict[str, list[Any]] = {field.name: [] for field in LINE_ITEM_SCHEMA}
    for record in records:
        for name in columns:
            value = record[name]
            if name == "transaction_timestamp":
                value = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=LINE_ITEM_SCHEMA)


# --------------------------------------------------------------------------- platform


@dataclass
class Platform:
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance

    def __post_init__(self) -> None:
        self.harness = Harness(self.defs, self.instance)

    @cached_property
    def bucket(self) -> ObjectStore:
        """The bucket as the assets get it, from the definitions' `bucket` resource."""
        return self.defs.resources["bucket"].build()  # type: ignore[attr-defined]

    @cached_property
    def table(self) -> MetricsTable:
        return self.defs.resources["table"].build()  # type: ignore[attr-defined]

    @cached_property
    def config(self) -> PlatformConfig:
        """The configuration the assets get, from the definitions' `platform` resource."""
        return self.defs.resources["platform"]  # type: ignore[return-value]

    @property
    def is_local(self) -> bool:
        return self.settings.resolved_storage_backend == "local"

    def upload(self, name: str, data: bytes, age_seconds: float = SETTLED_AGE_SECONDS) -> str:
        """Drop a file into uploads/ as a store would; locally it is made `age_seconds` old."""
        key = self.settings.storage.layout.upload_key(name)
        self.bucket.write_bytes(key, data)
        if self.is_local:
            set_age(self.settings.bucket_path / key, age_seconds)
        return key

    def keys(self, prefix: str) -> list[str]:
        return [info.key for info in self.bucket.list(prefix)]

    def process(self) -> PassReport:
        """Sensors and automation evaluated, and their runs executed, in this process."""
        return self.harness.process()

    def all_items(self) -> list[dict[str, Any]]:
        """Every item in the table, whatever the backend."""
        if self.settings.resolved_table_backend == "sqlite":
            with sqlite3.connect(self.settings.sqlite_path) as connection:
                rows = connection.execute("SELECT PK, SK FROM items ORDER BY PK, SK").fetchall()
            return [self.table.get_item(pk, sk) for pk, sk in rows]  # type: ignore[misc]
        client = self.table.client  # type: ignore[attr-defined]
        keys = []
        for page in client.get_paginator("scan").paginate(TableName=self.settings.storage.dynamodb_table):
            keys += [(item["PK"]["S"], item["SK"]["S"]) for item in page["Items"]]
        return [self.table.get_item(pk, sk) for pk, sk in sorted(keys)]  # type: ignore[misc]


def set_age(path: Path, age_seconds: float) -> None:
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))


def _platform(settings: Settings) -> Iterator[Platform]:
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(settings)))
    try:
        yield Platform(settings, build_definitions(settings), instance)
    finally:
        instance.dispose()


@pytest.fixture
def make_local_platform(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Platform]]:
    """Folder bucket, SQLite table, a Dagster instance under the test's home; keyword
    arguments override settings."""
    opened: list[Iterator[Platform]] = []

    def make(**overrides: object) -> Platform:
        platform = _platform(make_settings(**overrides))
        opened.append(platform)
        return next(platform)

    yield make
    for platform in opened:
        platform.close()


@pytest.fixture
def local_platform(make_local_platform: Callable[..., Platform]) -> Platform:
    return make_local_platform()


@pytest.fixture
def aws_platform(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """S3 bucket and DynamoDB table in moto, created as Terraform would."""
    with fake_aws(monkeypatch):
        import boto3

        boto3.client("s3", region_name=REGION).create_bucket(Bucket=TEST_BUCKET)
        boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(TEST_TABLE))
        settings = make_settings(
            STORAGE_BACKEND="s3",
            TABLE_BACKEND="dynamodb",
            S3_BUCKET=TEST_BUCKET,
            DYNAMODB_TABLE=TEST_TABLE,
            AWS_REGION=REGION,
        )
        yield from _platform(settings)


@pytest.fixture(params=["local", "aws"])
def platform(request: pytest.FixtureRequest) -> Platform:
    """The core scenarios run on both backends."""
    return request.getfixturevalue(f"{request.param}_platform")


# --------------------------------------------------------------------------- sensor


def sensor_tick(platform: Platform, cursor: str | None = None) -> Any:
    """Evaluate the upload sensor once, as the daemon would, with the given cursor; returns
    its SensorExecutionData (run_requests, cursor, skip_message)."""
    context = dg.build_sensor_context(
        instance=platform.instance,
        cursor=cursor,
        definitions=platform.defs,
        sensor_name=UPLOAD_SENSOR,
        resources=platform.defs.resources,
    )
    return platform.defs.resolve_sensor_def(UPLOAD_SENSOR).evaluate_tick(context)
