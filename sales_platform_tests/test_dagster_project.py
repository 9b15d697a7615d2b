"""The Dagster project as the UI and `dg` see it: the defs folder that pyproject.toml's
[tool.dg] names holds everything the code location serves, and the Resources page shows each
resource's configuration from the settings, the SMTP password only by its variable's name."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap

from sales_platform.defs.loading import build_definitions, loading

REPO_ROOT = Path(__file__).resolve().parents[1]


def _names(definitions: dg.Definitions) -> dict[str, set[str]]:
    return {
        "assets": {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()},
        "checks": {key.to_user_string() for key in definitions.resolve_asset_graph().asset_check_keys},
        "jobs": {job.name for job in definitions.resolve_all_job_defs() if not job.name.startswith("__")},
        "sensors": {sensor.name for sensor in definitions.sensors or []},
        "schedules": {schedule.name for schedule in definitions.schedules or []},
        "resources": set(definitions.resources),
    }


def test_the_dg_project_folder_is_the_code_location(settings) -> None:
    with loading(settings):
        from_project = dg.load_from_defs_folder(path_within_project=REPO_ROOT)

    served = _names(build_definitions(settings))
    assert _names(from_project) == served
    assert served == {
        "assets": {
            "store_sales",
            "store_metrics",
            "company_metrics",
            "product_metrics",
            "anomalies",
            "trends",
            "recommendations",
            "daily_insights",
            "daily_report",
            "bi_export",
        },
        "checks": {
            "store_sales:store_sales_upload_accepted",
            "store_metrics:store_metrics_net_within_gross",
            "company_metrics:company_net_matches_store_nets",
            "company_metrics:every_expected_store_reported",
            "product_metrics:product_revenue_matches_company_net",
        },
        "jobs": {"ingest_store_uploads", "daily_analysis"},
        "sensors": {
            "store_upload_sensor",
            "daily_analysis_sensor",
            "daily_report_automation",
            "run_failure_alert_sensor",
        },
        "schedules": {"daily_analysis_schedule"},
        "resources": {"bucket", "table", "notifier", "recommendation_engine", "platform"},
    }


def test_the_resources_page_shows_the_settings_and_names_the_smtp_password_without_showing_it(
    make_settings, monkeypatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    settings = make_settings(
        NOTIFY_CHANNELS="outbox,smtp",
        SMTP_HOST="mail.example.com",
        SMTP_USERNAME="reports",
        REPORT_RECIPIENTS="managers@example.com",
        MAX_FILES_PER_RUN="7",
    )
    snap = RepositorySnap.from_def(build_definitions(settings).get_repository_def())
    shown = {resource.name: resource.configured_values for resource in snap.resources}

    assert shown["bucket"]["backend"] == '"local"' and shown["bucket"]["folder"] == f'"{settings.bucket_path}"'
    assert shown["table"]["backend"] == '"sqlite"'
    assert shown["recommendation_engine"]["engine"] == '"rules"'
    assert shown["platform"]["max_files_per_run"] == "7"
    assert shown["platform"]["expected_stores"] == '["0001", "0002", "0003"]'
    assert shown["notifier"]["smtp_host"] == '"mail.example.com"'
    assert getattr(shown["notifier"]["smtp_password"], "name", None) == "SMTP_PASSWORD"
    assert "hunter2" not in repr(shown)
