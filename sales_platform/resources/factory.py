"""The one place that turns the settings into the platform's doors to the outside: the Dagster
resources by the names assets and sensors ask for, and the same doors opened for the CLI and
the API."""

from __future__ import annotations

from sales_platform.resources.configurable import (
    BucketResource,
    MetricsTableResource,
    NotifierResource,
    PlatformConfig,
    RecommendationEngineResource,
)
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.notifier import Notifier
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings


def build_resources(settings: Settings) -> dict[str, object]:
    """Resources by the names assets, sensors and the API ask for."""
    return {
        "bucket": BucketResource.from_settings(settings),
        "table": MetricsTableResource.from_settings(settings),
        "notifier": NotifierResource.from_settings(settings),
        "recommendation_engine": RecommendationEngineResource.from_settings(settings),
        "platform": PlatformConfig.from_settings(settings),
    }


def build_bucket(settings: Settings) -> ObjectStore:
    return BucketResource.from_settings(settings).build()


def build_table(settings: Settings) -> MetricsTable:
    return MetricsTableResource.from_settings(settings).build()


def build_notifier(settings: Settings) -> Notifier:
    return NotifierResource.from_settings(settings).build()
