"""Configuration of reports, alerts and the BI export: defaults that work locally, and a
delivery setup that cannot work stops the start naming the variables."""

from __future__ import annotations

import pytest

from sales_platform.settings import SettingsError

ARN = "arn:aws:sns:us-east-1:123456789012:sales-reports"


def test_defaults_write_reports_to_the_local_outbox(make_settings) -> None:
    settings = make_settings()
    assert settings.reporting.notify_channels == ["outbox"]
    assert settings.outbox_path == settings.home_path / "outbox"
    assert (settings.storage.reports_prefix, settings.storage.quicksight_prefix, settings.reporting.bi_export_days) == (
        "reports/",
        "quicksight/",
        30,
    )
    assert settings.reporting.dagster_ui_url == "http://127.0.0.1:3000"
    assert settings.smtp.smtp_security == "starttls" and settings.smtp.resolved_smtp_port == 587


def test_values_are_read_and_normalised(make_settings) -> None:
    settings = make_settings(
        NOTIFY_CHANNELS=" outbox , smtp,sns,smtp",
        SMTP_HOST="mail.example.com",
        SMTP_SECURITY="tls",
        REPORT_RECIPIENTS="a@example.com, b@example.com",
        SNS_REPORT_TOPIC_ARN=ARN,
        SNS_ALERT_TOPIC_ARN=ARN.replace("reports", "alerts"),
        DAGSTER_UI_URL="https://dagster.example.com/",
        REPORTS_PREFIX="daily-reports",
    )
    assert settings.reporting.notify_channels == ["outbox", "smtp", "sns"]
    assert settings.smtp.resolved_smtp_port == 465
    assert settings.reporting.resolved_alert_recipients == [
        "a@example.com",
        "b@example.com",
    ]  # alerts default to the report's readers
    assert settings.reporting.dagster_ui_url == "https://dagster.example.com"
    assert settings.storage.reports_prefix == "daily-reports/"


def test_the_smtp_password_is_never_shown(make_settings) -> None:
    settings = make_settings(SMTP_USERNAME="me", SMTP_PASSWORD="hunter2")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert settings.smtp.smtp_password.get_secret_value() == "hunter2"


def test_addresses_on_a_company_network_are_accepted_as_written(make_settings) -> None:
    settings = make_settings(
        REPORT_SENDER="Sales Platform (EU) <reports@mail.corp.local>",
        REPORT_RECIPIENTS="ops@localhost, Manager@Example.COM",
    )
    assert settings.reporting.report_sender == "Sales Platform (EU) <reports@mail.corp.local>"
    assert settings.reporting.report_recipients == ["ops@localhost", "Manager@example.com"]


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"NOTIFY_CHANNELS": "outbox,fax"}, ["NOTIFY_CHANNELS", "'outbox', 'smtp' or 'sns'"]),
        ({"NOTIFY_CHANNELS": "smtp"}, ["SMTP_HOST is required", "REPORT_RECIPIENTS is required"]),
        ({"NOTIFY_CHANNELS": "sns", "SNS_REPORT_TOPIC_ARN": ARN}, ["SNS_ALERT_TOPIC_ARN"]),
        ({"SNS_REPORT_TOPIC_ARN": "sales-reports"}, ["SNS_REPORT_TOPIC_ARN", "not an SNS topic ARN"]),
        ({"REPORT_RECIPIENTS": "manager@example.com,nobody"}, ["REPORT_RECIPIENTS", "not an email address: nobody"]),
        ({"REPORT_SENDER": "reports"}, ["REPORT_SENDER", "not an email address"]),
        ({"SMTP_SECURITY": "ssl"}, ["SMTP_SECURITY"]),
        ({"SMTP_USERNAME": "me"}, ["SMTP_USERNAME and SMTP_PASSWORD go together"]),
        ({"SMTP_PORT": "0"}, ["SMTP_PORT"]),
        ({"DAGSTER_UI_URL": "dagster.local:3000"}, ["DAGSTER_UI_URL", "not an http(s) URL"]),
        ({"QUICKSIGHT_PREFIX": "processed/"}, ["QUICKSIGHT_PREFIX", "PROCESSED_PREFIX", "overlaps"]),
        ({"BI_EXPORT_DAYS": "0"}, ["BI_EXPORT_DAYS"]),
    ],
)
def test_a_delivery_setup_that_cannot_work_is_refused_naming_the_variable(make_settings, values, words) -> None:
    with pytest.raises(SettingsError) as error:
        make_settings(**values)
    for word in words:
        assert word in str(error.value)
