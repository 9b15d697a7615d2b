"""The platform's doors to the outside as Dagster resources, with the configuration the UI shows.

Each door is a `ConfigurableResource` that vends another object (Dagster's way for a class it
does not own): its fields are what the Resources page of the
Dagster UI lists (backend, folder or bucket, table, channels, model), filled from the one
settings object when the code location loads (`from_settings`), and what it hands an asset or
a sensor is the door itself (`ObjectStore`, `MetricsTable`, `Notifier`, `RecommendationEngine`),
opened by `build()`. The CLI and the API open the same doors with `build()`, from the same
resources, so there is one way from settings to storage.

`PlatformConfig` is plain configuration: what the sensors and assets decide with (expected
stores, time zone, prefixes, limits, retry times), read from resources rather than captured in
closures, so a run's configuration is on display beside its resources.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field

from sales_platform.domain.outgoing_message import Audience
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.notifier import Channel, Notifier
from sales_platform.resources.object_store import ObjectStore
from sales_platform.resources.recommendation_engines import RecommendationEngine
from sales_platform.settings import Settings, StoreDays


class AwsConnection(dg.Config):
    """Where the AWS clients connect, shared by every resource that has one."""

    region: str = Field(description="AWS_REGION")
    endpoint_url: str | None = Field(
        None, description="AWS_ENDPOINT_URL (a local S3/DynamoDB/SNS, for tests and demos)."
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsConnection:
        return cls(region=settings.storage.aws_region, endpoint_url=settings.storage.aws_endpoint_url)


class Door(dg.ConfigurableResource):
    """A resource whose value is the door it builds. The CLI and the API call `build()` too,
    outside any run."""

    def build(self) -> object:
        raise NotImplementedError

    def create_resource(self, context: dg.InitResourceContext) -> object:
        return self.build()


class BucketResource(Door):
    """The bucket: a folder on this machine, or an S3 bucket."""

    backend: Literal["local", "s3"] = Field(description="STORAGE_BACKEND (local: a folder; s3: an S3 bucket).")
    folder: str | None = Field(None, description="The folder that is the bucket, when local.")
    s3_bucket: str | None = Field(None, description="S3_BUCKET, when s3.")
    aws: AwsConnection = Field(description="Where S3 is.")

    @classmethod
    def from_settings(cls, settings: Settings) -> BucketResource:
        return cls(
            backend=settings.resolved_storage_backend,
            folder=str(settings.bucket_path),
            s3_bucket=settings.storage.s3_bucket,
            aws=AwsConnection.from_settings(settings),
        )

    def build(self) -> ObjectStore:
        if self.backend == "s3":
            from sales_platform.resources.s3_object_store import S3ObjectStore, make_s3_client

            return S3ObjectStore(self.s3_bucket or "", make_s3_client(self.aws.region, self.aws.endpoint_url))
        from sales_platform.resources.local_object_store import LocalObjectStore

        folder = Path(self.folder or ".")
        folder.mkdir(parents=True, exist_ok=True)
        return LocalObjectStore(folder)


class MetricsTableResource(Door):
    """The table of store-day summaries, upload tracking, company days, products and insights."""

    backend: Literal["sqlite", "dynamodb"] = Field(description="TABLE_BACKEND (sqlite locally, dynamodb on AWS).")
    sqlite_path: str | None = Field(None, description="The SQLite file, when sqlite.")
    dynamodb_table: str | None = Field(None, description="DYNAMODB_TABLE, when dynamodb.")
    aws: AwsConnection = Field(description="Where AWS is.")

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsTableResource:
        return cls(
            backend=settings.resolved_table_backend,
            sqlite_path=str(settings.sqlite_path),
            dynamodb_table=settings.storage.dynamodb_table,
            aws=AwsConnection.from_settings(settings),
        )

    def build(self) -> MetricsTable:
        if self.backend == "dynamodb":
            from sales_platform.resources.dynamodb_metrics_table import DynamoDbMetricsTable, make_dynamodb_client

            return DynamoDbMetricsTable(
                self.dynamodb_table or "", make_dynamodb_client(self.aws.region, self.aws.endpoint_url)
            )
        from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable

        return SqliteMetricsTable(Path(self.sqlite_path or "sales.db"))


class NotifierResource(Door):
    """Reports and alerts, on the channels NOTIFY_CHANNELS names, in that order.

    The SMTP password is never part of the shown configuration when it comes from the
    environment (as README asks, and as Dagster's own commands load `.env`): it is configured as
    `EnvVar("SMTP_PASSWORD")`, which the UI shows by name and Dagster reads when a run starts."""

    channels: list[str] = Field(description="NOTIFY_CHANNELS: outbox, smtp, sns.")
    outbox_folder: str = Field(description="Where the outbox channel writes each message as a file.")
    sender: str = Field(description="REPORT_SENDER")
    report_recipients: list[str] = Field(default_factory=list, description="REPORT_RECIPIENTS")
    alert_recipients: list[str] = Field(default_factory=list, description="ALERT_RECIPIENTS (else the report's).")
    smtp_host: str | None = Field(None, description="SMTP_HOST")
    smtp_port: int = Field(description="SMTP_PORT (default by SMTP_SECURITY).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(description="SMTP_SECURITY")
    smtp_username: str | None = Field(None, description="SMTP_USERNAME")
    smtp_password: str | None = Field(None, description="SMTP_PASSWORD, from the environment.")
    sns_report_topic_arn: str | None = Field(None, description="SNS_REPORT_TOPIC_ARN")
    sns_alert_topic_arn: str | None = Field(None, description="SNS_ALERT_TOPIC_ARN")
    aws: AwsConnection = Field(description="Where AWS is.")

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifierResource:
        password: str | None = None
        if settings.smtp.smtp_password is not None:
            secret = settings.smtp.smtp_password.get_secret_value()
            password = dg.EnvVar("SMTP_PASSWORD") if os.environ.get("SMTP_PASSWORD") == secret else secret
        return cls(
            channels=list(settings.reporting.notify_channels),
            outbox_folder=str(settings.outbox_path),
            sender=settings.reporting.report_sender,
            report_recipients=list(settings.reporting.report_recipients),
            alert_recipients=list(settings.reporting.resolved_alert_recipients),
            smtp_host=settings.smtp.smtp_host,
            smtp_port=settings.smtp.resolved_smtp_port,
            smtp_security=settings.smtp.smtp_security,
            smtp_username=settings.smtp.smtp_username,
            smtp_password=password,
            sns_report_topic_arn=settings.reporting.sns_report_topic_arn,
            sns_alert_topic_arn=settings.reporting.sns_alert_topic_arn,
            aws=AwsConnection.from_settings(settings),
        )

    def build(self) -> Notifier:
        from sales_platform.resources.notifier import OutboxChannel, SmtpChannel, SnsChannel, make_sns_client

        recipients: dict[Audience, list[str]] = {
            "report": list(self.report_recipients),
            "alert": list(self.alert_recipients),
        }
        channels: list[Channel] = []
        for name in self.channels:
            if name == "outbox":
                channels.append(OutboxChannel(Path(self.outbox_folder), self.sender, recipients))
            elif name == "smtp":
                password = self.smtp_password
                if isinstance(password, dg.EnvVar):  # outside a run Dagster has not read it
                    password = password.get_value()
                channels.append(
                    SmtpChannel(
                        self.smtp_host or "",
                        self.smtp_port,
                        self.smtp_security,
                        self.sender,
                        recipients,
                        username=self.smtp_username,
                        password=password,
                    )
                )
            elif name == "sns":
                topics: dict[Audience, str] = {
                    "report": self.sns_report_topic_arn or "",
                    "alert": self.sns_alert_topic_arn or "",
                }
                channels.append(SnsChannel(make_sns_client(self.aws.region, self.aws.endpoint_url), topics))
        return Notifier(channels)


class RecommendationEngineResource(Door):
    """Who writes the recommendations: the rules, or Amazon Bedrock with the rules as fallback."""

    engine: Literal["rules", "bedrock"] = Field(description="RECOMMENDATION_ENGINE")
    bedrock_model_id: str = Field(description="BEDROCK_MODEL_ID")
    bedrock_timeout_seconds: int = Field(description="BEDROCK_TIMEOUT_SECONDS, retries included.")
    aws_region: str = Field(description="AWS_REGION: where Bedrock is.")

    @classmethod
    def from_settings(cls, settings: Settings) -> RecommendationEngineResource:
        return cls(
            engine=settings.resolved_recommendation_engine,
            bedrock_model_id=settings.analysis.bedrock_model_id,
            bedrock_timeout_seconds=settings.analysis.bedrock_timeout_seconds,
            aws_region=settings.storage.aws_region,
        )

    def build(self) -> RecommendationEngine:
        from sales_platform.resources.recommendation_engines import BedrockEngine, RulesEngine, bedrock_client_factory

        if self.engine == "bedrock":
            return BedrockEngine(
                self.bedrock_model_id,
                self.bedrock_timeout_seconds,
                bedrock_client_factory(self.aws_region, self.bedrock_timeout_seconds),
            )
        return RulesEngine()


class PlatformConfig(StoreDays, dg.ConfigurableResource):
    """What the sensors and assets decide with, from every section of the settings; the services
    take it. The prefixes are the storage layout's, under its names."""

    expected_stores: list[str] = Field(description="EXPECTED_STORES: the stores a complete day has.")
    daily_analysis_timezone: str = Field(description="DAILY_ANALYSIS_TIMEZONE: where the stores' days begin and end.")
    partitions_start: str = Field(description="PARTITIONS_START_DATE: the first business day.")
    late_close_grace_minutes: int = Field(description="LATE_CLOSE_GRACE_MINUTES")
    max_upload_bytes: int = Field(description="MAX_UPLOAD_BYTES")
    upload_prefix: str = Field(description="UPLOAD_PREFIX: the inbox.")
    processed_prefix: str = Field(description="PROCESSED_PREFIX")
    rejected_prefix: str = Field(description="REJECTED_PREFIX")
    archive_prefix: str = Field(description="ARCHIVE_PREFIX")
    analysis_prefix: str = Field(description="ANALYSIS_PREFIX")
    reports_prefix: str = Field(description="REPORTS_PREFIX")
    quicksight_prefix: str = Field(description="QUICKSIGHT_PREFIX")
    upload_settle_seconds: float = Field(description="How long a local file must stay unchanged to be whole.")
    upload_retry_seconds: int = Field(description="UPLOAD_RETRY_SECONDS")
    max_files_per_sensor_tick: int = Field(description="MAX_FILES_PER_SENSOR_TICK")
    max_files_per_run: int = Field(description="MAX_FILES_PER_RUN")
    max_concurrent_runs: int = Field(description="MAX_CONCURRENT_RUNS: a backlog is split over this many runs.")
    reanalysis_window_days: int = Field(description="REANALYSIS_WINDOW_DAYS")
    bi_export_days: int = Field(description="BI_EXPORT_DAYS")
    dagster_ui_url: str = Field(description="DAGSTER_UI_URL: the links in alerts.")
    resolved_recommendation_engine: Literal["rules", "bedrock"] = Field(
        description="RECOMMENDATION_ENGINE as resolved."
    )
    resolved_storage_backend: Literal["local", "s3"] = Field(description="STORAGE_BACKEND as resolved.")
    s3_bucket: str | None = Field(None, description="S3_BUCKET: the BI manifests' URLs.")
    bucket_folder: str = Field(description="The local bucket's folder: the BI manifests' URLs.")

    @classmethod
    def from_settings(cls, settings: Settings) -> PlatformConfig:
        return cls(
            expected_stores=list(settings.stores.expected_stores),
            daily_analysis_timezone=settings.stores.daily_analysis_timezone,
            partitions_start=settings.stores.partitions_start_date.isoformat(),
            late_close_grace_minutes=settings.stores.late_close_grace_minutes,
            max_upload_bytes=settings.ingest.max_upload_bytes,
            **dataclasses.asdict(settings.storage.layout),
            upload_settle_seconds=settings.upload_settle_seconds,
            upload_retry_seconds=settings.ingest.upload_retry_seconds,
            max_files_per_sensor_tick=settings.ingest.max_files_per_sensor_tick,
            max_files_per_run=settings.ingest.max_files_per_run,
            max_concurrent_runs=settings.runtime.max_concurrent_runs,
            reanalysis_window_days=settings.analysis.reanalysis_window_days,
            bi_export_days=settings.reporting.bi_export_days,
            dagster_ui_url=settings.reporting.dagster_ui_url,
            resolved_recommendation_engine=settings.resolved_recommendation_engine,
            resolved_storage_backend=settings.resolved_storage_backend,
            s3_bucket=settings.storage.s3_bucket,
            bucket_folder=str(settings.bucket_path),
        )

    @property
    def storage_layout(self) -> StorageLayout:
        return StorageLayout.of(self)

    @property
    def partitions_start_date(self) -> dt.date:
        return dt.date.fromisoformat(self.partitions_start)

    @property
    def bucket_path(self) -> Path:
        return Path(self.bucket_folder)
