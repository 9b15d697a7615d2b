"""Run the platform without a daemon: evaluate the sensors once, run what they ask for in this
process, and record every run in the Dagster instance under SALES_PLATFORM_HOME, so the Dagster
UI shows them afterwards exactly as if the daemon had launched them.

The sensors evaluated here are the same objects the daemon ticks, so a cron job, the demo and
a running deployment all decide what to do with the same code.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import dagster._utils.warnings as dagster_warnings
from dagster._core.storage.tags import MAX_RETRIES_TAG

from sales_platform.defs.run_errors import error_line
from sales_platform.defs.upload_sensor import UPLOAD_KEY_TAG
from sales_platform.settings import Settings

# The instance a laptop gets: no telemetry, failed runs retried, a few runs at a time, and all
# run events in one SQLite file (one file per run costs a new database for every store upload).
LOCAL_INSTANCE_YAML = """\
telemetry:
  enabled: false
run_retries:
  enabled: true
  max_retries: 2
run_queue:
  max_concurrent_runs: 4
event_log_storage:
  module: dagster.core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir:
      env: DAGSTER_HOME
"""
# What a run logs stays in the instance; this command prints its own summary.
_QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
_MAX_ROUNDS = 100


def prepare_dagster_home(settings: Settings) -> Path:
    """Create the local Dagster home (with its dagster.yaml) and point DAGSTER_HOME at it."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def local_instance(settings: Settings) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(prepare_dagster_home(settings)))


@dataclass
class RunOutcome:
    job_name: str
    run_id: str
    partition_key: str | None
    upload_key: str | None
    status: str  # processed | rejected | failed | done
    detail: str = ""
    rows: int = 0


@dataclass
class PassReport:
    outcomes: list[RunOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def failed(self) -> list[RunOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]


def quiet_dagster() -> None:
    """Dagster announces beta and preview features on every definition, and sensors narrate each
    tick; they say nothing to someone running the platform, who gets a summary instead. Warnings
    and errors still show."""
    logging.getLogger("dagster").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for name in ("BetaWarning", "PreviewWarning", "SupersessionWarning"):
        category = getattr(dagster_warnings, name, None)
        if category is not None:
            warnings.filterwarnings("ignore", category=category)


@dataclass(frozen=True)
class _Launch:
    """A run request reduced to what crosses into a worker process."""

    job_name: str
    run_config: dict
    partition_key: str | None
    tags: dict[str, str]


def _outcome(launch: _Launch, result: dg.ExecuteInProcessResult) -> RunOutcome:
    outcome = RunOutcome(
        job_name=launch.job_name,
        run_id=result.run_id,
        partition_key=launch.partition_key,
        upload_key=launch.tags.get(UPLOAD_KEY_TAG),
        status="done" if result.success else "failed",
    )
    for event in result.all_events:
        metadata = {}
        if event.is_asset_observation:
            metadata = event.asset_observation_data.asset_observation.metadata
        elif event.is_successful_output:
            metadata = event.step_output_data.metadata
        elif event.is_step_materialization and event.asset_key == dg.AssetKey("store_sales"):
            outcome.status = "processed"
            rows = event.step_materialization_data.materialization.metadata.get("rows")
            outcome.rows = int(rows.value) if rows is not None else 0
        elif event.is_step_failure and not result.success:
            outcome.detail = error_line(event.step_failure_data.error) or event.message or ""
        status = metadata.get("status")
        if status is not None and status.value == "rejected":
            outcome.status = "rejected"
            outcome.detail = str(metadata["summary"].value)
    return outcome


def _execute(definitions: dg.Definitions, instance: dg.DagsterInstance, launch: _Launch) -> RunOutcome:
    result = definitions.resolve_job_def(launch.job_name).execute_in_process(
        run_config={**launch.run_config, **_QUIET_LOGGERS},
        instance=instance,
        partition_key=launch.partition_key,
        tags=launch.tags,
        raise_on_error=False,
    )
    return _outcome(launch, result)


# Each worker process builds the definitions and opens the instance once.
_worker: tuple[dg.Definitions, dg.DagsterInstance] | None = None


def _start_worker(settings: Settings) -> None:
    global _worker
    quiet_dagster()
    from sales_platform.defs import build_definitions

    _worker = (build_definitions(settings), local_instance(settings))


def _execute_in_worker(launch: _Launch) -> RunOutcome:
    assert _worker is not None
    return _execute(*_worker, launch)


def _evaluate_quietly(sensor: dg.SensorDefinition, context: dg.SensorEvaluationContext):
    """A sensor's tick narration is for the daemon's tick history in the UI; here the summary of
    what ran says it. Dagster gives each tick its own console logger, so its level cannot be set;
    informational records are switched off for the tick instead (warnings and errors still show)."""
    logging.disable(logging.INFO)
    try:
        return sensor.evaluate_tick(context)
    finally:
        logging.disable(logging.NOTSET)


def _waves(launches: list[_Launch]) -> list[list[_Launch]]:
    """Groups that may run at once: never two runs of one partition side by side, so two files
    for the same store-day are applied in the order they arrived."""
    waves: list[list[_Launch]] = []
    for launch in launches:
        for wave in waves:
            if launch.partition_key is None or all(other.partition_key != launch.partition_key for other in wave):
                wave.append(launch)
                break
        else:
            waves.append([launch])
    return waves


def process_pending(
    settings: Settings,
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    on_outcome: Callable[[RunOutcome], None] = lambda outcome: None,
    workers: int = 1,
) -> PassReport:
    """Evaluate every sensor that runs by default and execute its run requests, round after round,
    until no sensor asks for anything new. With `workers` > 1 runs execute in that many worker
    processes, which rebuild the definitions from `settings`."""
    report = PassReport()
    cursors: dict[str, str | None] = {}
    seen_run_keys: set[str] = set()
    sensors = [sensor for sensor in definitions.sensors or [] if sensor.default_status == dg.DefaultSensorStatus.RUNNING]
    pool = (
        ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(settings,))
        if workers > 1
        else None
    )
    try:
        for _ in range(_MAX_ROUNDS):
            launches = []
            watching_runs = False
            for sensor in sensors:
                context = dg.build_sensor_context(
                    instance=instance,
                    cursor=cursors.get(sensor.name),
                    definitions=definitions,
                    sensor_name=sensor.name,
                    resources=definitions.resources,
                )
                data = _evaluate_quietly(sensor, context)
                # A run status sensor (failure alerts) handles a few runs per tick: look again
                # while it still moves on, so no failure of this pass goes unreported.
                if isinstance(sensor, dg.RunStatusSensorDefinition) and cursors.get(sensor.name) not in (None, data.cursor):
                    watching_runs = True
                cursors[sensor.name] = data.cursor
                for request in data.run_requests or []:
                    if request.run_key in seen_run_keys:
                        continue  # failed earlier in this pass; the next pass tries again
                    if request.run_key:
                        seen_run_keys.add(request.run_key)
                    # Nothing retries a run of this pass after it ends (the next pass requests
                    # the work again), so the run must not say it will be retried: that would
                    # hold back its failure alert and leave it to a daemon started later.
                    tags = {**(request.tags or {}), "dagster/sensor_name": sensor.name, MAX_RETRIES_TAG: "0"}
                    if request.run_key:
                        tags["dagster/run_key"] = request.run_key
                    launches.append(
                        _Launch(
                            job_name=request.job_name or sensor.job_name,
                            run_config=dict(request.run_config or {}),
                            partition_key=str(request.partition_key) if request.partition_key else None,
                            tags=tags,
                        )
                    )
            if not launches:
                if watching_runs:
                    continue
                break
            for wave in _waves(launches):
                if pool is None:
                    outcomes = (_execute(definitions, instance, launch) for launch in wave)
                else:
                    outcomes = pool.map(_execute_in_worker, wave)
                for outcome in outcomes:
                    report.outcomes.append(outcome)
                    on_outcome(outcome)
    finally:
        if pool is not None:
            pool.shutdown()
    return report
