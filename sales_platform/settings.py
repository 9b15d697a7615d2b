"""The one settings object of the platform.

Everything configurable comes from environment variables (or a `.env` file) through
`load_settings()`, called when the code location, the CLI or the API starts; nothing reads the
environment at import time. A wrong value stops the start with a message naming the variable.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.upload_validation import ValidationRules

STORE_ID_PATTERN = re.compile(r"^\d{4}$")
DEFAULT_EXPECTED_STORES = [f"{n:04d}" for n in range(1, 12)]

Deployment = Literal["local", "aws"]


class SettingsError(ValueError):
    """Configuration that cannot work; the message names every offending variable."""


def _prefix(value: str) -> str:
    value = value.strip().lstrip("/")
    if not value:
        raise ValueError("must not be empty")
    return value if value.endswith("/") else value + "/"


# minute, hour, day of month, month, day of week: the five fields Dagster schedules accept.
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
_CRON_ITEM = re.compile(r"^(\*|(\w+)(?:-(\w+))?)(?:/(\d+))?$")


def _cron_problem(expression: str) -> str | None:
    """What is wrong with a five-field cron expression, or None. Checked here so a typo stops
    the start naming the variable, without importing Dagster into every settings reader."""
    fields = expression.split(" ")
    if len(fields) != 5:
        return f"five fields (minute hour day month weekday), got {len(fields)}"
    for position, (text, (name, low, high)) in enumerate(zip(fields, _CRON_FIELDS)):
        names = _CRON_NAMES.get(position, [])
        for item in text.split(","):
            match = _CRON_ITEM.match(item.lower())
            if not match or match.group(4) == "0":
                return f"the {name} field {text!r} is not valid"
            for bound in filter(None, (match.group(2), match.group(3))):
                if bound in names:
                    continue
                if not bound.isdigit():
                    return f"the {name} field {text!r} is not valid"
                if not low <= int(bound) <= high:
                    return f"the {name} field {text!r} is outside {low}-{high}"
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Where it runs. `local` keeps everything under SALES_PLATFORM_HOME; `aws` defaults every
    # backend to its managed service. Individual backends can still be overridden.
    deployment: Deployment = Field("local", alias="SALES_PLATFORM_ENV")
    home: Path = Field(Path(".sales-platform"), alias="SALES_PLATFORM_HOME")
    storage_backend: Literal["local", "s3"] | None = Field(None, alias="STORAGE_BACKEND")
    table_backend: Literal["sqlite", "dynamodb"] | None = Field(None, alias="TABLE_BACKEND")

    s3_bucket: str | None = Field(None, alias="S3_BUCKET")
    upload_prefix: str = Field("uploads/", alias="UPLOAD_PREFIX")
    processed_prefix: str = Field("processed/", alias="PROCESSED_PREFIX")
    rejected_prefix: str = Field("rejected/", alias="REJECTED_PREFIX")
    archive_prefix: str = Field("archive/", alias="ARCHIVE_PREFIX")
    dynamodb_table: str = Field("SalesData", alias="DYNAMODB_TABLE", min_length=3)
    aws_region: str = Field("us-east-1", alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")

    expected_stores: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_EXPECTED_STORES), alias="EXPECTED_STORES"
    )
    partitions_start_date: dt.date = Field(dt.date(2025, 1, 1), alias="PARTITIONS_START_DATE")
    daily_analysis_timezone: str = Field("America/New_York", alias="DAILY_ANALYSIS_TIMEZONE")
    late_close_grace_minutes: int = Field(240, ge=0, le=720, alias="LATE_CLOSE_GRACE_MINUTES")
    max_upload_bytes: int = Field(512 * 1024 * 1024, gt=0, alias="MAX_UPLOAD_BYTES")
    upload_sensor_interval_seconds: int = Field(
        30, ge=5, le=3600, alias="UPLOAD_SENSOR_INTERVAL_SECONDS"
    )
    max_runs_per_sensor_tick: int = Field(200, ge=1, le=5000, alias="MAX_RUNS_PER_SENSOR_TICK")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", alias="LOG_LEVEL"
    )

    # --- daily analysis (company, products, anomalies, trends, recommendations, insights) -------
    # Which engine writes the recommendations: deterministic rules, or Amazon Bedrock with the
    # rules as fallback. Unset: rules locally, bedrock when SALES_PLATFORM_ENV=aws.
    recommendation_engine: Literal["rules", "bedrock"] | None = Field(None, alias="RECOMMENDATION_ENGINE")
    bedrock_model_id: str = Field("amazon.nova-lite-v1:0", min_length=1, alias="BEDROCK_MODEL_ID")
    # The whole Bedrock answer, retries on throttling included, must come within this time.
    bedrock_timeout_seconds: int = Field(60, ge=1, le=900, alias="BEDROCK_TIMEOUT_SECONDS")
    # The fallback: today's analysis with whatever stores are in, if it has not run yet.
    daily_analysis_schedule: str = Field("0 23 * * *", alias="DAILY_ANALYSIS_SCHEDULE")
    enable_scheduled_analysis: bool = Field(True, alias="ENABLE_SCHEDULED_ANALYSIS")
    # A late or corrected upload re-runs a day's analysis only this many days back (0: today only).
    reanalysis_window_days: int = Field(7, ge=0, le=366, alias="REANALYSIS_WINDOW_DAYS")
    automation_interval_seconds: int = Field(30, ge=5, le=3600, alias="AUTOMATION_INTERVAL_SECONDS")
    # Where each day's analysis keeps its working documents (anomalies, trends, recommendations).
    analysis_prefix: str = Field("analysis/", alias="ANALYSIS_PREFIX")

    @field_validator("analysis_prefix")
    @classmethod
    def _normalise_analysis_prefix(cls, value: str) -> str:
        return _prefix(value)

    @field_validator("recommendation_engine", mode="before")
    @classmethod
    def _blank_engine_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("daily_analysis_schedule")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        value = " ".join(value.split())
        problem = _cron_problem(value)
        if problem:
            raise ValueError(f"{value!r} is not a cron expression such as '0 23 * * *' ({problem})")
        return value

    @model_validator(mode="after")
    def _check_analysis_prefix(self) -> Settings:
        for prefix in (self.upload_prefix, self.processed_prefix, self.rejected_prefix, self.archive_prefix):
            if self.analysis_prefix.startswith(prefix) or prefix.startswith(self.analysis_prefix):
                raise ValueError(f"ANALYSIS_PREFIX {self.analysis_prefix!r} overlaps the bucket prefix {prefix!r}")
        return self

    @property
    def resolved_recommendation_engine(self) -> Literal["rules", "bedrock"]:
        return self.recommendation_engine or ("bedrock" if self.deployment == "aws" else "rules")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("upload_prefix", "processed_prefix", "rejected_prefix", "archive_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        return _prefix(value)

    @field_validator("storage_backend", "table_backend", "aws_endpoint_url", "s3_bucket", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("expected_stores", mode="before")
    @classmethod
    def _split_stores(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("expected_stores")
    @classmethod
    def _check_stores(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one store, e.g. 0001,0002")
        bad = [store for store in value if not STORE_ID_PATTERN.match(store)]
        if bad:
            raise ValueError(f"store ids are four digits (0001); got {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("a store is listed twice")
        return sorted(value)

    @field_validator("daily_analysis_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/New_York") from None
        return value

    @model_validator(mode="after")
    def _check_backends(self) -> Settings:
        if self.resolved_storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("S3_BUCKET is required when the storage backend is s3")
        prefixes = [self.upload_prefix, self.processed_prefix, self.rejected_prefix, self.archive_prefix]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("UPLOAD_PREFIX, PROCESSED_PREFIX, REJECTED_PREFIX and ARCHIVE_PREFIX must differ")
        return self

    # Derived values: one place decides what follows from the deployment.
    @property
    def resolved_storage_backend(self) -> Literal["local", "s3"]:
        return self.storage_backend or ("s3" if self.deployment == "aws" else "local")

    @property
    def resolved_table_backend(self) -> Literal["sqlite", "dynamodb"]:
        return self.table_backend or ("dynamodb" if self.deployment == "aws" else "sqlite")

    @property
    def home_path(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def bucket_path(self) -> Path:
        return self.home_path / "bucket"

    @property
    def sqlite_path(self) -> Path:
        return self.home_path / "sales.db"

    @property
    def dagster_home(self) -> Path:
        return self.home_path / "dagster"

    @property
    def outbox_path(self) -> Path:
        return self.home_path / "outbox"

    @property
    def storage_layout(self) -> StorageLayout:
        return StorageLayout(self.upload_prefix, self.processed_prefix, self.rejected_prefix, self.archive_prefix)

    @property
    def validation_rules(self) -> ValidationRules:
        return ValidationRules(self.daily_analysis_timezone, self.late_close_grace_minutes)

    @property
    def upload_settle_seconds(self) -> float:
        """A file copied into a local folder appears before it is whole; on S3 it appears whole."""
        return 2.0 if self.resolved_storage_backend == "local" else 0.0

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.daily_analysis_timezone)

    def today(self) -> dt.date:
        """The business day it is now where the stores are."""
        return dt.datetime.now(self.timezone).date()


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem.get("loc", ())) or "configuration"
        message = problem.get("msg", "invalid value").removeprefix("Value error, ")
        lines.append(f"  {location}: {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read and validate the configuration; raise `SettingsError` naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
