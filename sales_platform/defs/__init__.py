"""Everything Dagster sees, assembled from the settings."""

from __future__ import annotations

import dagster as dg

from sales_platform.defs.analysis_assets import build_analysis_assets
from sales_platform.defs.analysis_checks import build_analysis_checks
from sales_platform.defs.analysis_triggers import build_analysis_job, build_analysis_schedule, build_analysis_sensor
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
    analysis_job = build_analysis_job()
    return dg.Definitions(
        assets=ingest_assets + build_analysis_assets(settings) + build_report_assets(settings),
        asset_checks=ingest_checks + build_analysis_checks(settings),
        jobs=[ingest_job, refusal_job, analysis_job, report_job],
        sensors=[
            build_upload_sensor(settings, ingest_job, refusal_job),
            build_analysis_sensor(settings, analysis_job),
            build_report_sensor(settings, report_job),
            build_failure_alert_sensor(settings),
        ],
        schedules=[build_analysis_schedule(settings, analysis_job)],
        resources=resources if resources is not None else build_resources(settings),
    )
