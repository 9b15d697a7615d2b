"""The one settings object of the platform.

Everything configurable comes from environment variables (or a `.env` file) through
`load_settings()`, called when the code location, the CLI or the API starts; nothing reads the
environment at import time. A wrong value stops the start with a message naming the variable.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sales_platform.domain.identifiers import is_store_id
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.time_zones import DEFAULT_STORE_TIMEZONE
from sales_platform.domain.upload_validation import ValidationRules

DEFAULT_EXPECTED_STORES = [f"{n:04d}" for n in range(1, 12)]
EMAIL_ADDRESS_PATTERN = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
API_PATH_PREFIX_PATTERN = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
ALB_ARN_PATTERN = re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:([\w-]+):\d{12}:loadbalancer/app/[\w-]+/[0-9a-f]+$")

Deployment = Literal["local", "aws"]
# Every prefix the platform writes under, by variable name; they must not overlap.
BUCKET_PREFIXES = {
    "UPLOAD_PREFIX": "upload_prefix",
    "PROCESSED_PREFIX": "processed_prefix",
    "REJECTED_PREFIX": "rejected_prefix",
    "ARCHIVE_PREFIX": "archive_prefix",
    "ANALYSIS_PREFIX": "analysis_prefix",
    "REPORTS_PREFIX": "reports_prefix",
    "QUICKSIGHT_PREFIX": "quicksight_prefix",
}


NotifyChannel = Literal["outbox", "smtp", "sns"]


class SettingsError(ValueError):
    """Configuration that cannot work; the message names every offending variable."""


def _prefix(value: str) -> str:
    value = value.strip().lstrip("/")
    if not value:
        raise ValueError("must not be empty")
    return value if value.endswith("/") else value + "/"


def _comma_list(value: object) -> object:
    """`a, b,,c` -> [a, b, c]; lists pass through."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return value


def _blank_is_unset(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


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


class StoreDays:
    """What follows from the stores' time zone, grace and bucket prefixes, for the settings and
    for the configuration the assets get, which carries the same names."""

    daily_analysis_timezone: str
    late_close_grace_minutes: int

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.daily_analysis_timezone)

    @property
    def storage_layout(self) -> StorageLayout:
        return StorageLayout.of(self)

    @property
    def validation_rules(self) -> ValidationRules:
        return ValidationRules(self.daily_analysis_timezone, self.late_close_grace_minutes)

    def today(self) -> dt.date:
        """The business day it is now where the stores are."""
        return dt.datetime.now(self.timezone).date()


class Settings(StoreDays, BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    # Where it runs. `local` keeps everything under SALES_PLATFORM_HOME; `aws` defaults every
    # backend to its managed service. Individual backends can still be overridden.
    deployment: Deployment = Field("local", alias="SALES_PLATFORM_ENV")
    home: Path = Field(Path(".sales-platform"), alias="SALES_PLATFORM_HOME")
    storage_backend: Literal["local", "s3"] | None = Field(None, alias="STORAGE_BACKEND")
    table_backend: Literal["sqlite", "dynamodb"] | None = Field(None, alias="TABLE_BACKEND")

    s3_bucket: str | None = Field(None, alias="S3_BUCKET")
    upload_prefix: str = Field(StorageLayout.upload_prefix, alias="UPLOAD_PREFIX")
    processed_prefix: str = Field(StorageLayout.processed_prefix, alias="PROCESSED_PREFIX")
    rejected_prefix: str = Field(StorageLayout.rejected_prefix, alias="REJECTED_PREFIX")
    archive_prefix: str = Field(StorageLayout.archive_prefix, alias="ARCHIVE_PREFIX")
    dynamodb_table: str = Field("SalesData", alias="DYNAMODB_TABLE", min_length=3)
    aws_region: str = Field("us-east-1", alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")

    expected_stores: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_EXPECTED_STORES), alias="EXPECTED_STORES"
    )
    partitions_start_date: dt.date = Field(dt.date(2025, 1, 1), alias="PARTITIONS_START_DATE")
    daily_analysis_timezone: str = Field(DEFAULT_STORE_TIMEZONE, alias="DAILY_ANALYSIS_TIMEZONE")
    late_close_grace_minutes: int = Field(240, ge=0, le=720, alias="LATE_CLOSE_GRACE_MINUTES")
    max_upload_bytes: int = Field(512 * 1024 * 1024, gt=0, alias="MAX_UPLOAD_BYTES")
    # The shortest time between two looks at the inbox. Dagster's daemon looks at sensors every
    # 5 s, so anything up to 5 means every 5 s; the listing is cheap because processed files leave.
    upload_sensor_interval_seconds: int = Field(1, ge=1, le=3600, alias="UPLOAD_SENSOR_INTERVAL_SECONDS")
    max_files_per_sensor_tick: int = Field(1000, ge=1, le=100_000, alias="MAX_FILES_PER_SENSOR_TICK")
    max_files_per_run: int = Field(100, ge=1, le=10_000, alias="MAX_FILES_PER_RUN")
    # A file still in the inbox after its run failed is asked for again after this long, then
    # after twice as long each time, up to an hour.
    upload_retry_seconds: int = Field(60, ge=5, le=3600, alias="UPLOAD_RETRY_SECONDS")
    # Runs at once (Dagster's run queue); a backlog of uploads is split over this many runs.
    max_concurrent_runs: int = Field(
        default_factory=lambda: min(4, max(2, os.cpu_count() or 2)), ge=1, le=100, alias="MAX_CONCURRENT_RUNS"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO", alias="LOG_LEVEL")

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
    # The same for the analysis sensor, the report automation and the failure alerts.
    automation_interval_seconds: int = Field(1, ge=1, le=3600, alias="AUTOMATION_INTERVAL_SECONDS")
    # Where each day's analysis keeps its working documents (anomalies, trends, recommendations).
    analysis_prefix: str = Field(StorageLayout.analysis_prefix, alias="ANALYSIS_PREFIX")

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

    # --- reports, alerts and BI export ---------------------------------------------------------
    # Where the daily report and the alerts go (more than one channel allowed), who gets them,
    # and where the stored reports and the BI export live in the bucket.
    notify_channels: Annotated[list[NotifyChannel], NoDecode] = Field(
        default_factory=lambda: list[NotifyChannel](["outbox"]), alias="NOTIFY_CHANNELS"
    )
    report_recipients: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="REPORT_RECIPIENTS")
    alert_recipients: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="ALERT_RECIPIENTS")
    report_sender: str = Field("sales-platform@localhost", alias="REPORT_SENDER")
    smtp_host: str | None = Field(None, alias="SMTP_HOST")
    smtp_port: int | None = Field(None, ge=1, le=65535, alias="SMTP_PORT")
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", alias="SMTP_SECURITY")
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    sns_report_topic_arn: str | None = Field(None, alias="SNS_REPORT_TOPIC_ARN")
    sns_alert_topic_arn: str | None = Field(None, alias="SNS_ALERT_TOPIC_ARN")
    dagster_ui_url: str = Field("http://127.0.0.1:3000", alias="DAGSTER_UI_URL")
    reports_prefix: str = Field(StorageLayout.reports_prefix, alias="REPORTS_PREFIX")
    quicksight_prefix: str = Field(StorageLayout.quicksight_prefix, alias="QUICKSIGHT_PREFIX")
    bi_export_days: int = Field(30, ge=1, le=366, alias="BI_EXPORT_DAYS")

    @field_validator("notify_channels")
    @classmethod
    def _check_channels(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one channel: outbox, smtp or sns")
        return list(dict.fromkeys(value))

    @field_validator("report_recipients", "alert_recipients")
    @classmethod
    def _check_recipients(cls, value: list[str]) -> list[str]:
        bad = [address for address in value if not EMAIL_ADDRESS_PATTERN.match(address)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return value

    @field_validator("report_sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        value = value.strip()
        address = value.rsplit("<", 1)[-1].rstrip(">") if "<" in value else value
        if not EMAIL_ADDRESS_PATTERN.match(address):
            raise ValueError(f"not an email address: {value!r} (use name@example.com or Name <name@example.com>)")
        return value

    @field_validator("sns_report_topic_arn", "sns_alert_topic_arn")
    @classmethod
    def _check_topic_arn(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$", value):
            raise ValueError(f"not an SNS topic ARN: {value!r} (arn:aws:sns:REGION:ACCOUNT:NAME)")
        return value

    @field_validator("dagster_ui_url")
    @classmethod
    def _check_ui_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value.rstrip("/")

    # --- REST API (`sales-platform api`) ---------------------------------------------------------
    # Keys accepted in the X-Api-Key header. None configured leaves the API open, which the
    # command only allows on a loopback address (or with --insecure).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list, alias="API_KEYS")
    # Browser origins (the dashboard's) allowed to call the API, comma-separated.
    frontend_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://127.0.0.1:3000"], alias="FRONTEND_ORIGIN"
    )
    # Where the API's paths start, e.g. /api when it shares its host with the dashboard; "": at /.
    api_path_prefix: str = Field("", alias="API_PATH_PREFIX")
    # Bucket prefix holding the dashboard's static build, served at / beside the API; unset: none.
    dashboard_prefix: str | None = Field(None, alias="DASHBOARD_PREFIX")
    # The load balancer whose signed login header (x-amzn-oidc-data) lets a person's browser in
    # without an API key; unset: the header is never trusted.
    alb_arn: str | None = Field(None, alias="ALB_ARN")
    # Where that load balancer's public keys are fetched (<url>/<key id>); default: the region's
    # https://public-keys.auth.elb.<region>.amazonaws.com.
    alb_public_keys_url: str | None = Field(None, alias="ALB_PUBLIC_KEYS_URL")
    # Signs the API's own upload/download URLs when the bucket is a local folder (S3 presigns
    # its own). Unset locally: generated once and kept under SALES_PLATFORM_HOME.
    url_signing_secret: SecretStr | None = Field(None, alias="URL_SIGNING_SECRET")
    # Base of the signed local URLs; default http://<host>:<port> of `sales-platform api`.
    public_api_url: str | None = Field(None, alias="PUBLIC_API_URL")
    # S3 presigned URLs live at most 7 days; local ones follow the same bounds.
    upload_url_expiry_seconds: int = Field(3600, ge=60, le=604800, alias="UPLOAD_URL_EXPIRY_SECONDS")
    download_url_expiry_seconds: int = Field(3600, ge=60, le=604800, alias="DOWNLOAD_URL_EXPIRY_SECONDS")
    # Largest JSON request body; uploads to a signed URL are capped by MAX_UPLOAD_BYTES instead.
    max_request_bytes: int = Field(64 * 1024, ge=1024, le=10 * 1024 * 1024, alias="MAX_REQUEST_BYTES")
    # How long /analytics and /trends answers are reused when the table cannot tell cheaply
    # whether it changed (DynamoDB; SQLite can, and is read again after every write). 0: never.
    api_cache_seconds: float = Field(2.0, ge=0, le=300, alias="API_CACHE_SECONDS")
    # A client that takes longer to send a request's line and headers, or that goes silent this
    # long in the middle of a request body, has its connection closed.
    api_header_timeout_seconds: float = Field(10.0, gt=0, le=300, alias="API_HEADER_TIMEOUT_SECONDS")
    api_body_idle_timeout_seconds: float = Field(60.0, gt=0, le=3600, alias="API_BODY_IDLE_TIMEOUT_SECONDS")

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        # The messages never repeat a key: they end up in logs.
        for position, key in enumerate(value, start=1):
            text = key.get_secret_value()
            if len(text) < 16:
                raise ValueError(f"key {position} is shorter than 16 characters; use e.g. `openssl rand -hex 24`")
            if not all(33 <= ord(char) <= 126 for char in text):
                raise ValueError(f"key {position} has characters an HTTP header cannot carry (spaces, non-ASCII)")
        return value

    @field_validator("url_signing_secret")
    @classmethod
    def _check_signing_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters; use e.g. `openssl rand -hex 32`")
        return value

    @field_validator("frontend_origins")
    @classmethod
    def _check_frontend_origins(cls, value: list[str]) -> list[str]:
        origins = []
        for origin in value:
            origin = origin.rstrip("/")
            if origin == "*":
                raise ValueError("name the dashboard's origins, e.g. https://dashboard.example.com; '*' is not allowed")
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path
                or parts.query
                or parts.fragment
            ):
                raise ValueError(
                    f"{origin!r} is not an origin such as http://localhost:3000 (scheme, host, optional port)"
                )
            origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
        return list(dict.fromkeys(origins))

    @field_validator("api_path_prefix")
    @classmethod
    def _check_api_path_prefix(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not API_PATH_PREFIX_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a path such as /api (letters, digits, '-', '_', '.' between slashes)")
        return value

    @field_validator("dashboard_prefix")
    @classmethod
    def _check_dashboard_prefix(cls, value: str | None) -> str | None:
        return None if value is None else _prefix(value)

    @field_validator("alb_arn")
    @classmethod
    def _check_alb_arn(cls, value: str | None) -> str | None:
        if value is not None and not ALB_ARN_PATTERN.match(value):
            raise ValueError(
                f"not an application load balancer ARN: {value!r} "
                "(arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID)"
            )
        return value

    @field_validator("alb_public_keys_url")
    @classmethod
    def _check_alb_public_keys_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                f"{value!r} is not a base URL such as https://public-keys.auth.elb.us-east-1.amazonaws.com"
            )
        return value

    @field_validator("public_api_url")
    @classmethod
    def _check_public_api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not a base URL such as https://api.example.com")
        return value

    # --- checks -----------------------------------------------------------------------------------
    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator(*BUCKET_PREFIXES.values())
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        return _prefix(value)

    @field_validator(
        "storage_backend",
        "table_backend",
        "aws_endpoint_url",
        "s3_bucket",
        "smtp_host",
        "smtp_username",
        "sns_report_topic_arn",
        "sns_alert_topic_arn",
        "url_signing_secret",
        "public_api_url",
        "dashboard_prefix",
        "alb_arn",
        "alb_public_keys_url",
        mode="before",
    )
    @classmethod
    def _blank_means_unset(cls, value: object) -> object:
        return _blank_is_unset(value)

    @field_validator(
        "expected_stores",
        "notify_channels",
        "report_recipients",
        "alert_recipients",
        "api_keys",
        "frontend_origins",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("expected_stores")
    @classmethod
    def _check_stores(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one store, e.g. 0001,0002")
        bad = [store for store in value if not is_store_id(store)]
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
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as {DEFAULT_STORE_TIMEZONE}"
            ) from None
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        """Values that are each fine but cannot work together."""
        problems = []
        if self.resolved_storage_backend == "s3" and not self.s3_bucket:
            problems.append("S3_BUCKET is required when the storage backend is s3")
        # A prefix inside another would make one listing see the other's files.
        named = [(name, getattr(self, field)) for name, field in BUCKET_PREFIXES.items()]
        if self.dashboard_prefix is not None:
            named.append(("DASHBOARD_PREFIX", self.dashboard_prefix))
            if not self.api_path_prefix:
                # At / the dashboard's own pages (/analytics, /trends) would be the API's paths.
                problems.append("DASHBOARD_PREFIX needs API_PATH_PREFIX (e.g. /api): the dashboard is served at /")
        for index, (name, prefix) in enumerate(named):
            for other_name, other in named[index + 1 :]:
                if prefix.startswith(other) or other.startswith(prefix):
                    problems.append(f"{name} {prefix!r} overlaps {other_name} {other!r}: bucket prefixes must be apart")
        if "smtp" in self.notify_channels:
            if not self.smtp_host:
                problems.append("SMTP_HOST is required when NOTIFY_CHANNELS includes smtp")
            if not self.report_recipients:
                problems.append("REPORT_RECIPIENTS is required when NOTIFY_CHANNELS includes smtp")
        if "sns" in self.notify_channels and not (self.sns_report_topic_arn and self.sns_alert_topic_arn):
            problems.append(
                "SNS_REPORT_TOPIC_ARN and SNS_ALERT_TOPIC_ARN are required when NOTIFY_CHANNELS includes sns"
            )
        if (self.smtp_username is None) != (self.smtp_password is None):
            problems.append("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Derived values: one place decides what follows from the deployment.
    @property
    def resolved_storage_backend(self) -> Literal["local", "s3"]:
        return self.storage_backend or ("s3" if self.deployment == "aws" else "local")

    @property
    def resolved_table_backend(self) -> Literal["sqlite", "dynamodb"]:
        return self.table_backend or ("dynamodb" if self.deployment == "aws" else "sqlite")

    @property
    def resolved_recommendation_engine(self) -> Literal["rules", "bedrock"]:
        return self.recommendation_engine or ("bedrock" if self.deployment == "aws" else "rules")

    @property
    def resolved_alb_public_keys_url(self) -> str | None:
        """Where ALB_ARN's public keys are: its region's key endpoint unless ALB_PUBLIC_KEYS_URL says."""
        if self.alb_public_keys_url or not self.alb_arn:
            return self.alb_public_keys_url
        match = ALB_ARN_PATTERN.match(self.alb_arn)
        region = match.group(1) if match else self.aws_region
        return f"https://public-keys.auth.elb.{region}.amazonaws.com"

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
    def upload_settle_seconds(self) -> float:
        """A file copied into a local folder appears before it is whole; on S3 it appears whole."""
        return 2.0 if self.resolved_storage_backend == "local" else 0.0

    @property
    def resolved_smtp_port(self) -> int:
        return self.smtp_port or SMTP_DEFAULT_PORTS[self.smtp_security]

    @property
    def resolved_alert_recipients(self) -> list[str]:
        """Alerts go to the report's readers unless someone else is named for them."""
        return self.alert_recipients or self.report_recipients


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem.get("loc", ())) or "configuration"
        message = problem.get("msg", "invalid value").removeprefix("Value error, ")
        lines.append(f"  {location}: {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the configuration; raise `SettingsError` naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
