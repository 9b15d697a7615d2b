"""Everything Dagster sees, assembled from the settings."""

from __future__ import annotations

import dagster as dg

from sales_platform.defs.failure_alerts import build_failure_alert_sensor
from sales_platform.defs.ingest_assets import build_ingest_assets
from sales_platform.defs.refusal_job import build_refusal_job
from sales_platform.defs.report_assets import build_report_assets, build_report_job, build_report_sensor
from sales_platform.defs.upload_sensor import INGEST_JOB, build_upload_sensor
from sales_platform.resources.factory import build_resources
from sales_platform.settings import Settings


def build_definitions(settings: Settings, resources: dict[str, object] | None = None) -> dg.Definitions:
    ingest_assets, ingest_checks = build_ingest_assets(settings)
    ingest_job = dg.define_asset_job(
        INGEST_JOB,
        selection=dg.AssetSelection.assets("store_sales", "store_metrics"),
        description="Validates one store upload, writes its Parquet and its store metrics.",
    )
    refusal_job = build_refusal_job(settings)
    report_job = build_report_job(settings)
    return dg.Definitions(
        assets=ingest_assets + build_report_assets(settings),
        asset_checks=ingest_checks,
        jobs=[ingest_job, refusal_job, report_job],
        sensors=[
            build_upload_sensor(settings, ingest_job, refusal_job),
            build_report_sensor(settings, report_job),
            build_failure_alert_sensor(settings),
        ],
        resources=resources if resources is not None else build_resources(settings),
    )
