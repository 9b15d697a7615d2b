"""Everything Dagster sees, assembled from the settings."""

from __future__ import annotations

import dagster as dg

from sales_platform.defs.analysis_assets import build_analysis_assets
from sales_platform.defs.analysis_triggers import build_analysis_job, build_analysis_schedule, build_analysis_sensor
from sales_platform.defs.failure_alerts import build_failure_alert_sensor
from sales_platform.defs.ingest_assets import build_ingest_definitions
from sales_platform.defs.report_assets import build_report_assets, build_report_automation
from sales_platform.defs.upload_sensor import build_upload_sensor
from sales_platform.resources.factory import build_resources
from sales_platform.settings import Settings


def build_definitions(settings: Settings, resources: dict[str, object] | None = None) -> dg.Definitions:
    store_day, ingest_job = build_ingest_definitions(settings)
    analysis_job = build_analysis_job()
    return dg.Definitions(
        assets=[store_day, *build_analysis_assets(settings), *build_report_assets(settings)],
        jobs=[ingest_job, analysis_job],
        # Runs are small and many; a process per step would cost more than the steps.
        executor=dg.in_process_executor,
        sensors=[
            build_upload_sensor(settings, ingest_job),
            build_analysis_sensor(settings, analysis_job),
            build_report_automation(settings),
            build_failure_alert_sensor(settings),
        ],
        schedules=[build_analysis_schedule(settings, analysis_job)],
        resources=resources if resources is not None else build_resources(settings),
    )
