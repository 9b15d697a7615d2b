"""Configuration: defaults that work, and a wrong value that stops the start naming itself."""

import datetime as dt
import importlib
import re
import sys
from pathlib import Path

import pytest

from sales_platform.settings import SettingsError, load_settings, setting_variables

SETTING_NAMES = setting_variables()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_run_everything_locally_under_the_working_directory(tmp_path):
    settings = load_settings()
    assert settings.home_path == tmp_path / ".sales-platform"
    assert settings.bucket_path == tmp_path / ".sales-platform" / "bucket"
    assert settings.resolved_storage_backend == "local" and settings.resolved_table_backend == "sqlite"
    assert settings.stores.expected_stores == [f"{n:04d}" for n in range(1, 12)]
    assert settings.stores.daily_analysis_timezone == "America/New_York"
    assert (settings.storage.upload_prefix, settings.storage.processed_prefix, settings.storage.rejected_prefix) == (
        "uploads/",
        "processed/",
        "rejected/",
    )
    assert settings.storage.dynamodb_table == "SalesData"
    assert settings.ingest.max_upload_bytes == 512 * 1024 * 1024


def test_aws_deployment_defaults_to_managed_services(monkeypatch):
    monkeypatch.setenv("SALES_PLATFORM_ENV", "aws")
    monkeypatch.setenv("S3_BUCKET", "sales-bucket")
    settings = load_settings()
    assert settings.resolved_storage_backend == "s3" and settings.resolved_table_backend == "dynamodb"
    monkeypatch.setenv("TABLE_BACKEND", "sqlite")
    assert load_settings().resolved_table_backend == "sqlite"


def test_environment_values_are_read_and_normalised(monkeypatch):
    monkeypatch.setenv("EXPECTED_STORES", " 0003, 0001 ,0002")
    monkeypatch.setenv("UPLOAD_PREFIX", "inbox")
    monkeypatch.setenv("PARTITIONS_START_DATE", "2025-06-01")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.stores.expected_stores == ["0001", "0002", "0003"]
    assert settings.storage.upload_prefix == "inbox/"
    assert settings.stores.partitions_start_date == dt.date(2025, 6, 1)
    assert settings.runtime.log_level == "DEBUG"


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("EXPECTED_STORES=0007\n")
    assert load_settings().stores.expected_stores == ["0007"]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("EXPECTED_STORES", "12,0002", "four digits"),
        ("EXPECTED_STORES", "0001,0001", "listed twice"),
        ("DAILY_ANALYSIS_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("STORAGE_BACKEND", "ftp", "STORAGE_BACKEND"),
        ("PARTITIONS_START_DATE", "2025-02-30", "PARTITIONS_START_DATE"),
        ("MAX_UPLOAD_BYTES", "0", "MAX_UPLOAD_BYTES"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL"),
        ("RECOMMENDATION_ENGINE", "gpt", "'rules' or 'bedrock'"),
        ("BEDROCK_TIMEOUT_SECONDS", "0", "BEDROCK_TIMEOUT_SECONDS"),
        ("DAILY_ANALYSIS_SCHEDULE", "0 24 * * *", "each in its range"),
        ("DAILY_ANALYSIS_SCHEDULE", "at eleven", "five fields"),
        ("DAILY_ANALYSIS_SCHEDULE", "0 23 * * someday", "not a cron expression"),
        ("DAILY_ANALYSIS_SCHEDULE", "*/90 * * * *", "larger than its field's range"),
        ("DAGSTER_UI_URL", "http//dagster", "not an http(s) URL"),
        ("ALERT_RECIPIENTS", "ops at example.com", "not an email address: ops at example.com"),
        ("ENABLE_SCHEDULED_ANALYSIS", "maybe", "ENABLE_SCHEDULED_ANALYSIS"),
        ("REANALYSIS_WINDOW_DAYS", "-1", "REANALYSIS_WINDOW_DAYS"),
        ("AUTOMATION_INTERVAL_SECONDS", "0", "AUTOMATION_INTERVAL_SECONDS"),
        ("ANALYSIS_PREFIX", "processed/analysis", "overlaps"),
    ],
)
def test_a_wrong_value_names_the_setting(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert name in str(caught.value) and words in str(caught.value)


def test_s3_storage_needs_a_bucket(monkeypatch):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    with pytest.raises(SettingsError, match="S3_BUCKET is required"):
        load_settings()


def test_importing_the_code_location_reads_no_configuration(monkeypatch):
    monkeypatch.setenv("EXPECTED_STORES", "not-a-store")
    for module in [name for name in sys.modules if name.startswith("sales_platform")]:
        monkeypatch.delitem(sys.modules, module)
    definitions = importlib.import_module("sales_platform.definitions")  # must not raise
    fresh_settings = importlib.import_module("sales_platform.settings")
    with pytest.raises(fresh_settings.SettingsError, match="EXPECTED_STORES"):
        definitions.defs()


def test_daily_analysis_defaults_and_the_engine_follows_the_deployment(monkeypatch):
    settings = load_settings()
    assert settings.resolved_recommendation_engine == "rules"
    assert (settings.analysis.bedrock_model_id, settings.analysis.bedrock_timeout_seconds) == (
        "amazon.nova-lite-v1:0",
        60,
    )
    assert (settings.analysis.daily_analysis_schedule, settings.analysis.enable_scheduled_analysis) == (
        "0 23 * * *",
        True,
    )
    assert (settings.analysis.reanalysis_window_days, settings.analysis.automation_interval_seconds) == (7, 1)
    assert settings.storage.analysis_prefix == "analysis/"

    monkeypatch.setenv("SALES_PLATFORM_ENV", "aws")
    monkeypatch.setenv("S3_BUCKET", "sales-bucket")
    assert load_settings().resolved_recommendation_engine == "bedrock"
    monkeypatch.setenv("RECOMMENDATION_ENGINE", " Rules ")
    assert load_settings().resolved_recommendation_engine == "rules"
    monkeypatch.setenv("DAILY_ANALYSIS_SCHEDULE", "30  22 * * mon-fri")
    assert load_settings().analysis.daily_analysis_schedule == "30 22 * * mon-fri"


ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented_in_readme_and_env_example_and_nothing_else_is() -> None:
    variables = set(setting_variables())
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration") : readme.index("\n## ", readme.index("## Configuration") + 1)]
    first_cells = [row.split("|")[1] for row in section.splitlines() if row.startswith("| `")]
    in_readme = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    in_example = set(re.findall(r"^(?:# ?)?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))

    assert variables - in_readme == set(), "settings missing from README's Configuration table"
    assert in_readme - variables == set(), "README's Configuration table names variables no setting reads"
    assert variables - in_example == set(), "settings missing from .env.example"
    assert in_example - variables == set(), ".env.example sets variables no setting reads"
