"""An alert for every run that failed for good: ingest, analysis, report, anything.

The sensor runs in the Dagster daemon, whether `sales-platform dev`, `process` or the ECS
service runs it, and watches the runs of this code location. A run that Dagster is about to
retry is not announced; its last attempt is. Each alert is marked on the run with a tag, so a
failure is never announced twice, whichever daemon sees it. (A run status sensor is Dagster's
one way to act on a run's end; automation conditions request runs, they do not watch them.)
"""

import datetime as dt

import dagster as dg
from dagster._core.storage.tags import WILL_RETRY_TAG

from sales_platform.defs.loading import load_time_settings
from sales_platform.domain.alerts import FailedStep, RunFailure, run_failure_alert
from sales_platform.domain.utc_time import utc_now
from sales_platform.resources.configurable import PlatformConfig
from sales_platform.resources.notifier import Notifier
from sales_platform.services.run_errors import readable_error

FAILURE_ALERT_SENSOR = "run_failure_alert_sensor"
ALERT_SENT_TAG = "sales_platform/failure_alert_sent"
_RETRY_NUMBER_TAG = "dagster/retry_number"


def _assets_by_step(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, tuple[str, ...]]:
    """Which assets each step of the run was to materialize, from the run's execution plan."""
    if not run.execution_plan_snapshot_id:
        return {}
    snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    assets: dict[str, tuple[str, ...]] = {}
    for step in snapshot.steps:
        keys = [
            output.properties.asset_key.to_user_string()
            for output in step.outputs
            if output.properties is not None and output.properties.asset_key is not None
        ]
        assets[step.key] = tuple(dict.fromkeys(keys))
    return assets


def describe_failure(context: dg.RunFailureSensorContext) -> RunFailure:
    run = context.dagster_run
    assets = _assets_by_step(context.instance, run)
    steps = tuple(
        FailedStep(
            step_key=event.step_key or "",
            assets=assets.get(event.step_key or "", ()),
            error=readable_error(event.step_failure_data.error) or event.message or "",
        )
        for event in context.get_step_failure_events()
    )
    failure_data = context.failure_event.event_specific_data
    run_error = readable_error(getattr(failure_data, "error", None)) or context.failure_event.message or None
    record = context.instance.get_run_record_by_id(run.run_id)
    return RunFailure(
        run_id=run.run_id,
        job_name=run.job_name,
        partition_key=context.partition_key,
        failed_steps=steps,
        run_error=run_error,
        failed_at=dt.datetime.fromtimestamp(record.end_time, dt.UTC) if record and record.end_time else None,
        attempt=int(run.tags.get(_RETRY_NUMBER_TAG, "0")) + 1,
    )


def alert_on_failure(
    context: dg.RunFailureSensorContext, notifier: dg.ResourceParam[Notifier], platform: PlatformConfig
) -> None:
    run = context.dagster_run
    if run.tags.get(ALERT_SENT_TAG):
        return
    if run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {run.run_id} failed and will be retried; the alert waits for its last attempt")
        return
    # Brief retries: a sensor tick has a deadline, and a failing channel must not hold up the
    # alerts of the other channels and runs.
    result = notifier.send(run_failure_alert(describe_failure(context), platform.dagster_ui_url), brief=True)
    if result.delivered:
        context.instance.add_run_tags(run.run_id, {ALERT_SENT_TAG: utc_now()})
    if not result.ok:
        # Shown on the sensor's tick in the UI and in `process`'s log.
        raise RuntimeError(f"failure alert for run {run.run_id} not delivered: {result.summary()}")


@dg.definitions
def defs() -> dg.Definitions:
    sensor = dg.run_failure_sensor(
        name=FAILURE_ALERT_SENSOR,
        monitor_all_code_locations=False,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=load_time_settings().analysis.automation_interval_seconds,
        description="Sends an alert (NOTIFY_CHANNELS, alert recipients/topic) for every run that failed and will not "
        "be retried: run, asset, partition, error and a link to the run.",
    )(alert_on_failure)
    return dg.Definitions(sensors=[sensor])
