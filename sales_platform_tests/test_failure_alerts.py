"""Failure alerts: a run that fails sends an alert naming the run, what failed (the uploads, or
the asset and partition), the error and a link to the run; once per run, never for an attempt
Dagster is about to retry."""

from __future__ import annotations

import email
import email.policy

import dagster as dg
import pytest

from sales_platform.defs.ingest import upload_sensor
from sales_platform.defs.ingest.ingest_job import INGEST_JOB
from sales_platform.defs.reporting.failure_alerts import ALERT_SENT_TAG, FAILURE_ALERT_SENSOR
from sales_platform_tests.conftest import Platform, days_ago, render, small_records, upload_name

# Each test drives whole Dagster runs: seconds each.
pytestmark = pytest.mark.slow

UI_URL = "https://dagster.example.com"


def alerts(platform: Platform) -> list[email.message.EmailMessage]:
    files = sorted(platform.settings.outbox_path.glob("*-alert-*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


@pytest.fixture
def broken_storage_platform(make_local_platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    """A platform whose bucket cannot write processed files: every ingest run fails. One file per
    run, so each failing file is a failed run."""
    platform = make_local_platform(DAGSTER_UI_URL=UI_URL + "/", MAX_FILES_PER_RUN="1")

    def broken_write_file(*args, **kwargs):
        raise OSError("no space left on device")

    # Every bucket the runs open, as each run opens its own from the `bucket` resource.
    monkeypatch.setattr(type(platform.bucket), "write_file", broken_write_file)
    return platform


def test_a_failed_ingest_run_sends_an_alert_with_everything_needed(broken_storage_platform: Platform) -> None:
    platform = broken_storage_platform
    day = days_ago(1)
    platform.upload(upload_name("0001", day), render(small_records("0001", day)))

    report = platform.process()

    [failed] = report.failed
    [alert] = alerts(platform)
    subject, text = alert["Subject"], alert.get_body(("plain",)).get_content()
    assert subject.startswith("Run failed: ")
    assert upload_name("0001", day) in subject and "no space left on device" in subject
    assert f"Run:        {failed.run_id}" in text
    assert f"Job:        {INGEST_JOB}" in text
    assert f"{upload_name('0001', day)}: OSError: no space left on device" in text
    assert f"Run in the Dagster UI: {UI_URL}/runs/{failed.run_id}" in text
    assert platform.instance.get_run_by_id(failed.run_id).tags.get(ALERT_SENT_TAG)


def test_each_failure_is_alerted_once_even_with_many_failures_in_one_pass(
    broken_storage_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = broken_storage_platform
    for back in range(1, 7):  # more failed runs than one sensor tick handles (5)
        day = days_ago(back)
        platform.upload(upload_name("0002", day), render(small_records("0002", day)))

    first = platform.process()
    # The files wait in the inbox; once the retry delay has passed they are tried again, and fail again.
    later = upload_sensor.time.time() + platform.settings.ingest.upload_retry_seconds + 1
    monkeypatch.setattr(upload_sensor.time, "time", lambda: later)
    second = platform.process()

    failed_runs = {o.run_id for o in first.failed} | {o.run_id for o in second.failed}
    assert len(failed_runs) == 12
    alerted = [
        a.get_body(("plain",)).get_content().split("Run:        ", 1)[1].split("\n", 1)[0] for a in alerts(platform)
    ]
    assert sorted(alerted) == sorted(failed_runs)


def test_a_daemon_started_later_does_not_announce_the_same_failure_again(broken_storage_platform: Platform) -> None:
    platform = broken_storage_platform
    sensor = platform.defs.resolve_sensor_def(FAILURE_ALERT_SENSOR)

    def tick(cursor):
        context = dg.build_sensor_context(
            instance=platform.instance, cursor=cursor, definitions=platform.defs, resources=platform.defs.resources
        )
        return sensor.evaluate_tick(context)

    before = tick(None).cursor  # a daemon that was watching before the failure
    day = days_ago(1)
    platform.upload(upload_name("0001", day), render(small_records("0001", day)))
    platform.process()
    assert len(alerts(platform)) == 1

    tick(before)  # it now sees the failure too

    assert len(alerts(platform)) == 1


def test_an_attempt_that_dagster_will_retry_waits_for_the_last_one(local_platform: Platform) -> None:
    """Under the daemon a failed run may be retried (run_retries in dagster.yaml): only the
    final failure is announced. Checked through the sensor's own test harness."""
    day = days_ago(3)
    job = local_platform.defs.resolve_implicit_global_asset_job_def()
    sensor = local_platform.defs.resolve_sensor_def(FAILURE_ALERT_SENSOR)

    def evaluate(tags):
        # A manual materialization of a partition that has no upload fails, naming store and day.
        result = job.execute_in_process(
            partition_key=f"{day}|0003",
            instance=local_platform.instance,
            raise_on_error=False,
            tags=tags,
            asset_selection=[dg.AssetKey("store_sales"), dg.AssetKey("store_metrics")],
        )
        run = local_platform.instance.get_run_by_id(result.run_id)
        failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name=FAILURE_ALERT_SENSOR,
            dagster_event=failure,
            dagster_instance=local_platform.instance,
            dagster_run=run,
            resources=local_platform.defs.resources,
            partition_key=run.tags.get("dagster/partition"),
        ).for_run_failure()
        sensor(context)
        return run

    # Run retries are for crashes; a run that asks to be retried on a failed step too shows it.
    first = evaluate({"dagster/retry_on_asset_or_op_failure": "true"})  # this one will be retried
    assert local_platform.instance.get_run_by_id(first.run_id).tags.get("dagster/will_retry") == "true"
    assert alerts(local_platform) == []

    last = evaluate({"dagster/max_retries": "0"})
    [alert] = alerts(local_platform)
    text = alert.get_body(("plain",)).get_content()
    assert f"Run:        {last.run_id}" in text and f"Partition:  {day}|0003" in text
    assert f"no upload for store 0003 on {day}" in text
    assert "Failure: no upload" in text and "dagster._core" not in text


def test_the_failure_sensor_runs_by_default_and_does_not_announce_old_failures(local_platform: Platform) -> None:
    sensor = local_platform.defs.resolve_sensor_def(FAILURE_ALERT_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert isinstance(sensor, dg.RunStatusSensorDefinition)
    day = days_ago(2)
    result = local_platform.defs.resolve_implicit_global_asset_job_def().execute_in_process(
        partition_key=f"{day}|0002",
        instance=local_platform.instance,
        raise_on_error=False,
        tags={"dagster/max_retries": "0"},
        asset_selection=[dg.AssetKey("store_sales"), dg.AssetKey("store_metrics")],
    )
    assert not result.success
    cursor = None
    for _ in range(3):  # first tick starts watching; later ticks see nothing new
        data = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=local_platform.instance,
                cursor=cursor,
                definitions=local_platform.defs,
                resources=local_platform.defs.resources,
            )
        )
        cursor = data.cursor
    assert alerts(local_platform) == []  # a failure from before the sensor started is not re-announced
    local_platform.process()
    assert alerts(local_platform) == []
