"""The one place that turns configuration into the platform's doors to the outside."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.notifier import Channel, Notifier, OutboxChannel, SmtpChannel, SnsChannel, make_sns_client
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings

if TYPE_CHECKING:
    from sales_platform.resources.recommendation_engines import RecommendationEngine


def build_bucket(settings: Settings) -> ObjectStore:
    if settings.resolved_storage_backend == "s3":
        from sales_platform.resources.s3_object_store import S3ObjectStore, make_s3_client

        client = make_s3_client(settings.aws_region, settings.aws_endpoint_url)
        return S3ObjectStore(settings.s3_bucket or "", client)
    from sales_platform.resources.local_object_store import LocalObjectStore

    settings.bucket_path.mkdir(parents=True, exist_ok=True)
    return LocalObjectStore(settings.bucket_path)


def build_table(settings: Settings) -> MetricsTable:
    if settings.resolved_table_backend == "dynamodb":
        from sales_platform.resources.dynamodb_metrics_table import DynamoDbMetricsTable, make_dynamodb_client

        client = make_dynamodb_client(settings.aws_region, settings.aws_endpoint_url)
        return DynamoDbMetricsTable(settings.dynamodb_table, client)
    from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable

    return SqliteMetricsTable(settings.sqlite_path)


def build_notifier(settings: Settings) -> Notifier:
    """The channels NOTIFY_CHANNELS names, in that order."""
    recipients = {"report": settings.report_recipients, "alert": settings.resolved_alert_recipients}
    channels: list[Channel] = []
    for name in settings.notify_channels:
        if name == "outbox":
            channels.append(OutboxChannel(settings.outbox_path, settings.report_sender, recipients))
        elif name == "smtp":
            channels.append(
                SmtpChannel(
                    settings.smtp_host or "",
                    settings.resolved_smtp_port,
                    settings.smtp_security,
                    settings.report_sender,
                    recipients,
                    username=settings.smtp_username,
                    password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                )
            )
        elif name == "sns":
            client = make_sns_client(settings.aws_region, settings.aws_endpoint_url)
            topics = {"report": settings.sns_report_topic_arn or "", "alert": settings.sns_alert_topic_arn or ""}
            channels.append(SnsChannel(client, topics))
    return Notifier(channels)
def build_recommendation_engine(settings: Settings) -> RecommendationEngine:
    from sales_platform.resources.recommendation_engines import BedrockEngine, RulesEngine, bedrock_client_factory

    if settings.resolved_recommendation_engine == "bedrock":
        return BedrockEngine(
            settings.bedrock_model_id,
            settings.bedrock_timeout_seconds,
            bedrock_client_factory(settings.aws_region, settings.bedrock_timeout_seconds),
        )
    return RulesEngine()


def build_resources(settings: Settings) -> dict[str, object]:
    """Resources by the names assets, sensors and the API ask for."""
    return {
        "bucket": build_bucket(settings),
        "table": build_table(settings),
        "notifier": build_notifier(settings),
        "recommendation_engine": build_recommendation_engine(settings),
    }
