"""The one settings object of the platform.

Everything configurable comes from environment variables (or a `.env` file) through
`load_settings()`, called when the code location, the CLI or the API starts; nothing reads the
environment at import time. The variables keep flat names (`SMTP_HOST`, `UPLOAD_PREFIX`); in code
they are grouped by the part of the platform that reads them (`settings.smtp.smtp_host`). A wrong
value stops the start with a message naming every offending variable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sales_platform.domain.identifiers import DEFAULT_STORES, is_store_id
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.time_zones import DEFAULT_STORE_TIMEZONE

if TYPE_CHECKING:
    from sales_platform.domain.upload_validation import ValidationRules

SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
API_PATH_PREFIX_PATTERN = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
ALB_ARN_PATTERN = re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:([\w-]+):\d{12}:loadbalancer/app/[\w-]+/[0-9a-f]+$")
SNS_TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$")

Deployment = Literal["local", "aws"]
NotifyChannel = Literal["outbox", "smtp", "sns"]


class SettingsError(ValueError):
    """Configuration that cannot work; the message names every offending variable."""


# --- value types shared by the sections ------------------------------------------------------


def _blank_is_unset(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _comma_list(value: object) -> object:
    """`a, b,,c` -> [a, b, c]; lists pass through."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return value


def _prefix(value: str) -> str:
    value = value.strip().lstrip("/")
    if not value:
        raise ValueError("must not be empty")
    return value if value.endswith("/") else value + "/"


_HTTP_URL = TypeAdapter(AnyHttpUrl)
_ADDRESS = TypeAdapter(EmailStr)
# Mail inside a company often goes to names no public registry knows (reports@localhost,
# ops@mail.corp.local); the mail server delivering them decides, so only those complaints of
# the e-mail type are waived.
_INTERNAL_DOMAIN_COMPLAINTS = ("special-use or reserved name", "should have a period")


def _first_message(error: ValidationError) -> str:
    return error.errors()[0]["msg"].removeprefix("Value error, ")


def _base_url(value: str) -> str:
    """An http(s) URL that paths are appended to: pydantic's URL rules, no query or fragment,
    kept as written without its trailing slash."""
    value = value.strip().rstrip("/")
    try:
        url = _HTTP_URL.validate_python(value)
    except ValidationError as error:
        raise ValueError(f"{value!r} is not an http(s) URL ({_first_message(error)})") from None
    if url.query or url.fragment:
        raise ValueError(f"{value!r} is a base URL: no query or fragment")
    return value


def _address(value: str) -> str:
    """An e-mail address by pydantic's e-mail type, a company network's own domains allowed."""
    value = value.strip()
    try:
        return _ADDRESS.validate_python(value)
    except ValidationError as error:
        complaint = _first_message(error)
        if any(waived in complaint for waived in _INTERNAL_DOMAIN_COMPLAINTS):
            return value
        raise ValueError(
            f"not an email address: {value} ({complaint.removeprefix('value is not a valid email address: ')})"
        ) from None


def _name_and_address(value: str) -> str:
    """`name@example.com` or `Name <name@example.com>`, kept as written (the From header shows
    it so); the address checked as every other address."""
    value = value.strip()
    name, bracket, rest = value.rpartition("<")
    if bracket and not rest.endswith(">"):
        raise ValueError(f"{value!r} is not an email address; use name@example.com or Name <name@example.com>")
    _address(rest.removesuffix(">") if bracket else value)
    return value


BaseUrl = Annotated[str, AfterValidator(_base_url)]
Address = Annotated[str, AfterValidator(_address)]
Sender = Annotated[str, AfterValidator(_name_and_address)]
Prefix = Annotated[str, AfterValidator(_prefix)]
Unset = BeforeValidator(_blank_is_unset)  # an empty variable means "not set"
CommaList = BeforeValidator(_comma_list)


# --- sections: one per part of the platform --------------------------------------------------


class Section(BaseSettings):
    """Reads its own variables from the environment and `.env`; `load_settings` gathers them."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    @classmethod
    def variables(cls) -> list[str]:
        return [field.alias for field in cls.model_fields.values() if field.alias]


class RuntimeSettings(Section):
    # Where it runs. `local` keeps everything under SALES_PLATFORM_HOME; `aws` defaults every
    # backend to its managed service. Individual backends can still be overridden.
    deployment: Deployment = Field("local", alias="SALES_PLATFORM_ENV")
    home: Path = Field(Path(".sales-platform"), alias="SALES_PLATFORM_HOME")
    # Runs at once (Dagster's run queue); a backlog of uploads is split over this many runs.
    max_concurrent_runs: int = Field(
        default_factory=lambda: min(4, max(2, os.cpu_count() or 2)), ge=1, le=100, alias="MAX_CONCURRENT_RUNS"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO", alias="LOG_LEVEL")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class StorageSettings(Section):
    """The bucket (a local folder or S3), its prefixes, and the metrics table."""

    storage_backend: Annotated[Literal["local", "s3"] | None, Unset] = Field(None, alias="STORAGE_BACKEND")
    table_backend: Annotated[Literal["sqlite", "dynamodb"] | None, Unset] = Field(None, alias="TABLE_BACKEND")
    s3_bucket: Annotated[str | None, Unset] = Field(None, alias="S3_BUCKET")
    dynamodb_table: str = Field("SalesData", alias="DYNAMODB_TABLE", min_length=3)
    aws_region: str = Field("us-east-1", alias="AWS_REGION")
    aws_endpoint_url: Annotated[BaseUrl | None, Unset] = Field(None, alias="AWS_ENDPOINT_URL")
    # Every prefix the platform writes under; they must not overlap. The names are the layout's.
    upload_prefix: Prefix = Field(StorageLayout.upload_prefix, alias="UPLOAD_PREFIX")
    processed_prefix: Prefix = Field(StorageLayout.processed_prefix, alias="PROCESSED_PREFIX")
    rejected_prefix: Prefix = Field(StorageLayout.rejected_prefix, alias="REJECTED_PREFIX")
    archive_prefix: Prefix = Field(StorageLayout.archive_prefix, alias="ARCHIVE_PREFIX")
    # Where each day's analysis keeps its working documents (anomalies, trends, recommendations).
    analysis_prefix: Prefix = Field(StorageLayout.analysis_prefix, alias="ANALYSIS_PREFIX")
    reports_prefix: Prefix = Field(StorageLayout.reports_prefix, alias="REPORTS_PREFIX")
    quicksight_prefix: Prefix = Field(StorageLayout.quicksight_prefix, alias="QUICKSIGHT_PREFIX")

    @property
    def layout(self) -> StorageLayout:
        return StorageLayout.of(self)

    def named_prefixes(self) -> list[tuple[str, str]]:
        """(variable, prefix) for every prefix of the layout."""
        return [
            (type(self).model_fields[prefix.name].alias or prefix.name, getattr(self, prefix.name))
            for prefix in dataclasses.fields(StorageLayout)
        ]


class StoreDays:
    """What follows from the stores' time zone and grace, for the settings and for the
    configuration the assets get, which carries the same names."""

    daily_analysis_timezone: str
    late_close_grace_minutes: int

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.daily_analysis_timezone)

    @property
    def validation_rules(self) -> ValidationRules:
        # Imported here: the upload validation brings DuckDB, which the API never needs.
        from sales_platform.domain.upload_validation import ValidationRules

        return ValidationRules(self.daily_analysis_timezone, self.late_close_grace_minutes)

    def today(self) -> dt.date:
        """The business day it is now where the stores are."""
        return dt.datetime.now(self.timezone).date()


class StoreSettings(StoreDays, Section):
    """The stores and their business days."""

    expected_stores: Annotated[list[str], NoDecode, CommaList] = Field(
        default_factory=lambda: list(DEFAULT_STORES), alias="EXPECTED_STORES"
    )
    partitions_start_date: dt.date = Field(dt.date(2025, 1, 1), alias="PARTITIONS_START_DATE")
    daily_analysis_timezone: str = Field(DEFAULT_STORE_TIMEZONE, alias="DAILY_ANALYSIS_TIMEZONE")
    late_close_grace_minutes: int = Field(240, ge=0, le=720, alias="LATE_CLOSE_GRACE_MINUTES")

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


class IngestSettings(Section):
    """How uploads are looked for and batched."""

    max_upload_bytes: int = Field(512 * 1024 * 1024, gt=0, alias="MAX_UPLOAD_BYTES")
    # The shortest time between two looks at the inbox. Dagster's daemon looks at sensors every
    # 5 s, so anything up to 5 means every 5 s; the listing is cheap because processed files leave.
    upload_sensor_interval_seconds: int = Field(1, ge=1, le=3600, alias="UPLOAD_SENSOR_INTERVAL_SECONDS")
    max_files_per_sensor_tick: int = Field(1000, ge=1, le=100_000, alias="MAX_FILES_PER_SENSOR_TICK")
    max_files_per_run: int = Field(100, ge=1, le=10_000, alias="MAX_FILES_PER_RUN")
    # A file still in the inbox after its run failed is asked for again after this long, then
    # after twice as long each time, up to an hour.
    upload_retry_seconds: int = Field(60, ge=5, le=3600, alias="UPLOAD_RETRY_SECONDS")


def _dagster_schedule_problem(cron: str) -> str | None:
    """Asked of Dagster, which runs the schedule, so the settings accept exactly what it does."""
    import dagster as dg  # only here: the API and the CLI read settings without building definitions

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dg.ScheduleDefinition(name="daily_analysis_schedule", cron_schedule=cron, job_name="daily_analysis")
        except dg.DagsterInvalidDefinitionError:
            return "Dagster runs five fields: minute hour day-of-month month day-of-week, each in its range"
    if any("interval greater than the expected range" in str(warning.message) for warning in caught):
        return "a step is larger than its field's range, which Dagster would change"
    return None


class AnalysisSettings(Section):
    """The daily analysis: company, products, anomalies, trends, recommendations, insights."""

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
        problem = _dagster_schedule_problem(value)
        if problem:
            raise ValueError(f"{value!r} is not a cron expression such as '0 23 * * *' ({problem})")
        return value


def _topic_arn(value: str | None) -> str | None:
    if value is not None and not SNS_TOPIC_ARN_PATTERN.match(value):
        raise ValueError(f"not an SNS topic ARN: {value!r} (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return value


TopicArn = Annotated[str | None, Unset, AfterValidator(_topic_arn)]


class ReportingSettings(Section):
    """Where the daily report, the alerts and the BI export go."""

    # More than one channel allowed.
    notify_channels: Annotated[list[NotifyChannel], NoDecode, CommaList] = Field(
        default_factory=lambda: list[NotifyChannel](["outbox"]), alias="NOTIFY_CHANNELS"
    )
    report_recipients: Annotated[list[Address], NoDecode, CommaList] = Field(
        default_factory=list, alias="REPORT_RECIPIENTS"
    )
    alert_recipients: Annotated[list[Address], NoDecode, CommaList] = Field(
        default_factory=list, alias="ALERT_RECIPIENTS"
    )
    report_sender: Sender = Field("sales-platform@localhost", alias="REPORT_SENDER")
    sns_report_topic_arn: TopicArn = Field(None, alias="SNS_REPORT_TOPIC_ARN")
    sns_alert_topic_arn: TopicArn = Field(None, alias="SNS_ALERT_TOPIC_ARN")
    dagster_ui_url: BaseUrl = Field("http://127.0.0.1:3000", alias="DAGSTER_UI_URL")
    bi_export_days: int = Field(30, ge=1, le=366, alias="BI_EXPORT_DAYS")

    @field_validator("notify_channels")
    @classmethod
    def _check_channels(cls, value: list[NotifyChannel]) -> list[NotifyChannel]:
        if not value:
            raise ValueError("name at least one channel: outbox, smtp or sns")
        return list(dict.fromkeys(value))

    @property
    def resolved_alert_recipients(self) -> list[str]:
        """Alerts go to the report's readers unless someone else is named for them."""
        return self.alert_recipients or self.report_recipients


class SmtpSettings(Section):
    """The mail server, when NOTIFY_CHANNELS includes smtp."""

    smtp_host: Annotated[str | None, Unset] = Field(None, alias="SMTP_HOST")
    smtp_port: int | None = Field(None, ge=1, le=65535, alias="SMTP_PORT")
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", alias="SMTP_SECURITY")
    smtp_username: Annotated[str | None, Unset] = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")

    @model_validator(mode="after")
    def _login_is_whole(self) -> SmtpSettings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither")
        return self

    @property
    def resolved_smtp_port(self) -> int:
        return self.smtp_port or SMTP_DEFAULT_PORTS[self.smtp_security]


class ApiSettings(Section):
    """The REST API (`sales-platform api`) and the dashboard it serves."""

    # Keys accepted in the X-Api-Key header. None configured leaves the API open, which the
    # command only allows on a loopback address (or with --insecure).
    api_keys: Annotated[list[SecretStr], NoDecode, CommaList] = Field(default_factory=list, alias="API_KEYS")
    # Browser origins (the dashboard's) allowed to call the API, comma-separated.
    frontend_origins: Annotated[list[str], NoDecode, CommaList] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://127.0.0.1:3000"], alias="FRONTEND_ORIGIN"
    )
    # Where the API's paths start, e.g. /api when it shares its host with the dashboard; "": at /.
    api_path_prefix: str = Field("", alias="API_PATH_PREFIX")
    # Bucket prefix holding the dashboard's static build, served at / beside the API; unset: none.
    dashboard_prefix: Annotated[Prefix | None, Unset] = Field(None, alias="DASHBOARD_PREFIX")
    # The load balancer whose signed login header (x-amzn-oidc-data) lets a person's browser in
    # without an API key; unset: the header is never trusted.
    alb_arn: Annotated[str | None, Unset] = Field(None, alias="ALB_ARN")
    # Where that load balancer's public keys are fetched (<url>/<key id>); default: the region's
    # https://public-keys.auth.elb.<region>.amazonaws.com.
    alb_public_keys_url: Annotated[BaseUrl | None, Unset] = Field(None, alias="ALB_PUBLIC_KEYS_URL")
    # Signs the API's own upload/download URLs when the bucket is a local folder (S3 presigns
    # its own). Unset locally: generated once and kept under SALES_PLATFORM_HOME.
    url_signing_secret: Annotated[SecretStr | None, Unset] = Field(None, alias="URL_SIGNING_SECRET")
    # Base of the signed local URLs; default http://<host>:<port> of `sales-platform api`.
    public_api_url: Annotated[BaseUrl | None, Unset] = Field(None, alias="PUBLIC_API_URL")
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
        # An origin is scheme, host and port only, as browsers send it: not a URL type's shape.
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

    @field_validator("alb_arn")
    @classmethod
    def _check_alb_arn(cls, value: str | None) -> str | None:
        if value is not None and not ALB_ARN_PATTERN.match(value):
            raise ValueError(
                f"not an application load balancer ARN: {value!r} "
                "(arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID)"
            )
        return value

    @model_validator(mode="after")
    def _dashboard_needs_a_path(self) -> ApiSettings:
        if self.dashboard_prefix is not None and not self.api_path_prefix:
            # At / the dashboard's own pages (/analytics, /trends) would be the API's paths.
            raise ValueError("DASHBOARD_PREFIX needs API_PATH_PREFIX (e.g. /api): the dashboard is served at /")
        return self


class Settings(BaseModel):
    """The whole configuration, one section per part of the platform. Values that only make
    sense together are checked here; what follows from several sections is derived here."""

    model_config = ConfigDict(frozen=True)

    runtime: RuntimeSettings
    storage: StorageSettings
    stores: StoreSettings
    ingest: IngestSettings
    analysis: AnalysisSettings
    reporting: ReportingSettings
    smtp: SmtpSettings
    api: ApiSettings

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        """Values that are each fine but cannot work together."""
        problems = []
        if self.resolved_storage_backend == "s3" and not self.storage.s3_bucket:
            problems.append("S3_BUCKET is required when the storage backend is s3")
        # A prefix inside another would make one listing see the other's files.
        named = self.storage.named_prefixes()
        if self.api.dashboard_prefix is not None:
            named.append(("DASHBOARD_PREFIX", self.api.dashboard_prefix))
        for index, (name, prefix) in enumerate(named):
            for other_name, other in named[index + 1 :]:
                if prefix.startswith(other) or other.startswith(prefix):
                    problems.append(f"{name} {prefix!r} overlaps {other_name} {other!r}: bucket prefixes must be apart")
        channels = self.reporting.notify_channels
        if "smtp" in channels and not self.smtp.smtp_host:
            problems.append("SMTP_HOST is required when NOTIFY_CHANNELS includes smtp")
        if "smtp" in channels and not self.reporting.report_recipients:
            problems.append("REPORT_RECIPIENTS is required when NOTIFY_CHANNELS includes smtp")
        if "sns" in channels and not (self.reporting.sns_report_topic_arn and self.reporting.sns_alert_topic_arn):
            problems.append(
                "SNS_REPORT_TOPIC_ARN and SNS_ALERT_TOPIC_ARN are required when NOTIFY_CHANNELS includes sns"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Derived values: one place decides what follows from the deployment.
    @property
    def resolved_storage_backend(self) -> Literal["local", "s3"]:
        return self.storage.storage_backend or ("s3" if self.runtime.deployment == "aws" else "local")

    @property
    def resolved_table_backend(self) -> Literal["sqlite", "dynamodb"]:
        return self.storage.table_backend or ("dynamodb" if self.runtime.deployment == "aws" else "sqlite")

    @property
    def resolved_recommendation_engine(self) -> Literal["rules", "bedrock"]:
        return self.analysis.recommendation_engine or ("bedrock" if self.runtime.deployment == "aws" else "rules")

    @property
    def resolved_alb_public_keys_url(self) -> str | None:
        """Where ALB_ARN's public keys are: its region's key endpoint unless ALB_PUBLIC_KEYS_URL says."""
        if self.api.alb_public_keys_url or not self.api.alb_arn:
            return self.api.alb_public_keys_url
        match = ALB_ARN_PATTERN.match(self.api.alb_arn)
        region = match.group(1) if match else self.storage.aws_region
        return f"https://public-keys.auth.elb.{region}.amazonaws.com"

    @property
    def home_path(self) -> Path:
        return self.runtime.home.expanduser().resolve()

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


# Each field of Settings is a section, by the name code reads it under.
SECTIONS: dict[str, type[Section]] = {
    name: field.annotation for name, field in Settings.model_fields.items() if isinstance(field.annotation, type)
}


def setting_variables() -> list[str]:
    """Every environment variable the settings read."""
    return [name for section in SECTIONS.values() for name in section.variables()]


def _describe(error: ValidationError) -> list[str]:
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem.get("loc", ())) or "configuration"
        message = problem.get("msg", "invalid value").removeprefix("Value error, ")
        lines.append(f"  {location}: {message}")
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the configuration; raise `SettingsError` naming each bad variable.
    `overrides` are by variable name (`SMTP_HOST=...`) and win over the environment;
    `_env_file=None` reads no `.env`."""
    env_file = overrides.pop("_env_file", ".env")
    overrides = {name.upper(): value for name, value in overrides.items()}  # as the environment's names
    unknown = sorted(set(overrides) - set(setting_variables()))
    if unknown:
        raise TypeError(f"no setting reads {', '.join(unknown)}")
    sections: dict[str, Section] = {}
    problems: list[str] = []
    for name, section in SECTIONS.items():
        given = {variable: overrides[variable] for variable in section.variables() if variable in overrides}
        try:
            sections[name] = section(_env_file=env_file, **given)
        except ValidationError as error:
            problems.extend(_describe(error))
    if not problems:
        try:
            return Settings(**sections)
        except ValidationError as error:
            problems.extend(_describe(error))
    raise SettingsError("invalid configuration:\n" + "\n".join(problems))
