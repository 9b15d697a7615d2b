"""`sales-platform process`: the Dagster daemon, run until the work is done.

The same daemon `sales-platform dev` and the ECS service run ticks the same sensors and
schedules; its run queue launches every run with its code location's origin, run monitoring
fails a run whose process died and run retries try it again. This module only starts it,
watches the instance until nothing is left to do, stops it, and says what happened, from the
runs and events the instance recorded. It decides nothing about the work itself.

"Nothing left to do" means: no run queued or in progress, no retry about to be launched, no
backfill still asking for runs, every sensor has looked again since the last run changed, and
no file in the inbox is still being written (those are waited for a little, then reported).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.scheduler.instigation import InstigatorTick, InstigatorType, TickStatus
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.storage.tags import WILL_RETRY_TAG

from sales_platform.defs.ingest.events import STORE_SALES
from sales_platform.defs.ingest.upload_sensor import IN_FLIGHT, UPLOAD_SENSOR, settling_files
from sales_platform.runtime.daemon_process import RunningDaemon
from sales_platform.runtime.dagster_notices import silence_dagster_notices
from sales_platform.runtime.local_instance import CODE_LOCATION
from sales_platform.runtime.process_group import GuardedGroup
from sales_platform.runtime.run_readout import FailedRun, FileOutcome, read_run
from sales_platform.services.run_errors import error_line
from sales_platform.settings import Settings

_POLL_SECONDS = 0.5
# Long enough for the code location to load on a slow machine; then something is wrong.
_FIRST_TICK_TIMEOUT = 120.0


class PassFailed(Exception):
    """The pass could not run: the daemon did not start or stopped; the message says where to look."""


@dataclass
class PassSummary:
    seconds: float = 0.0
    runs: int = 0
    files: list[FileOutcome] = field(default_factory=list)
    analysed: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    failed: list[FailedRun] = field(default_factory=list)
    sensor_errors: list[str] = field(default_factory=list)
    still_written: list[str] = field(default_factory=list)
    interrupted: bool = False
    log_path: Path | None = None

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.files)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.sensor_errors or self.interrupted)


class DaemonPass:
    def __init__(self, settings: Settings, command: str, say: Callable[[str], None], verbose: bool = False) -> None:
        self.settings = settings
        self.command = command
        self.say = say
        self.verbose = verbose
        self.summary = PassSummary()
        self._reported: set[str] = set()
        self._progress = 0
        self._progress_cursor: str | None = None

    # -------------------------------------------------------------------- the pass
    def run(self, daemon: RunningDaemon) -> PassSummary:
        """Watch the daemon until the work is done, stop it, and say what happened."""
        self.started = daemon.started
        self.summary.log_path = daemon.log_path
        try:
            silence_dagster_notices()
            logging.getLogger("dagster").setLevel(logging.WARNING)
            with dg.DagsterInstance.get() as instance:
                self.instance = instance
                try:
                    self.sensor_names = self._sensors_to_wait_for()
                    self._watch(daemon.group)
                except KeyboardInterrupt:
                    self.summary.interrupted = True
                finally:
                    self.stopping_at = time.time()
                    daemon.stop()
                self._collect()
        finally:
            daemon.close()
        self.summary.seconds = time.time() - self.started
        return self.summary

    def _sensors_to_wait_for(self) -> set[str]:
        from sales_platform.defs.loading import build_definitions

        definitions = build_definitions(self.settings)
        # A definition error stops the pass here, with Dagster's own message, instead of a
        # daemon that waits for a code location that never loads.
        dg.Definitions.validate_loadable(definitions)
        return {
            sensor.name
            for sensor in definitions.sensors or []
            if sensor.default_status == dg.DefaultSensorStatus.RUNNING
        }

    def _watch(self, daemon: GuardedGroup) -> None:
        settling_since: float | None = None
        shown_progress = 0
        last_progress = time.monotonic()
        while True:
            code = daemon.poll()
            if code is not None:
                raise PassFailed(f"the Dagster daemon stopped unexpectedly (exit {code}); see {self.summary.log_path}")
            self._report_finished_runs()
            if not self.verbose and time.monotonic() - last_progress > 5:
                processed = self._files_processed_so_far()
                if processed > shown_progress:
                    self.say(f"  ... {processed} files processed so far")
                    shown_progress = processed
                last_progress = time.monotonic()
            ticks = self._latest_ticks()
            if not ticks and time.time() - self.started > _FIRST_TICK_TIMEOUT:
                raise PassFailed(
                    f"no sensor ran within {_FIRST_TICK_TIMEOUT:.0f} s: the code location did not load; see {self.summary.log_path}"
                )
            if self._idle(ticks):
                settling = settling_files(ticks[UPLOAD_SENSOR].cursor) if UPLOAD_SENSOR in ticks else []
                if not settling:
                    return
                settling_since = settling_since or time.monotonic()
                if time.monotonic() - settling_since > self.settings.upload_settle_seconds + 2 * max(
                    5, self.settings.ingest.upload_sensor_interval_seconds
                ):
                    self.summary.still_written = settling
                    return
            time.sleep(_POLL_SECONDS)

    # -------------------------------------------------------------------- reading the instance
    def _latest_ticks(self) -> dict[str, InstigatorTick]:
        ticks = {}
        for state in self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            origin = state.origin.repository_origin.code_location_origin
            if state.name not in self.sensor_names or origin.location_name != CODE_LOCATION:
                continue
            latest = self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
            if latest:
                ticks[state.name] = latest[0]
        return ticks

    def _idle(self, ticks: dict[str, InstigatorTick]) -> bool:
        if self.instance.get_runs_count(dg.RunsFilter(statuses=IN_FLIGHT)):
            return False
        if self._retry_pending():
            return False
        if self.instance.get_backfills(status=BulkActionStatus.REQUESTED, limit=1):
            return False  # a backfill someone asked for is the daemon's work too
        last_change = self.started
        latest = self.instance.get_run_records(limit=1, order_by="update_timestamp", ascending=False)
        if latest:
            last_change = max(last_change, latest[0].update_timestamp.timestamp())
        for name in self.sensor_names:
            tick = ticks.get(name)
            if tick is None or tick.status == TickStatus.STARTED or tick.timestamp <= last_change:
                return False
        return True

    def _retry_pending(self) -> bool:
        failed = self.instance.get_runs(
            dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.FAILURE],
                tags={WILL_RETRY_TAG: "true"},
                updated_after=dt.datetime.fromtimestamp(self.started, dt.UTC),
            )
        )
        return any(
            not self.instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}), limit=1)
            for run in failed
        )

    def _runs_of_this_pass(self) -> list[RunRecord]:
        """Runs created during the pass, or queued before it (a backfill) and started during it."""
        changed = self.instance.get_run_records(
            dg.RunsFilter(updated_after=dt.datetime.fromtimestamp(self.started, dt.UTC)), ascending=True
        )
        return [
            record
            for record in changed
            if record.create_timestamp.timestamp() >= self.started or (record.start_time or 0) >= self.started
        ]

    def _files_processed_so_far(self) -> int:
        while True:
            page = self.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=STORE_SALES, after_timestamp=self.started),
                limit=1000,
                cursor=self._progress_cursor,
                ascending=True,
            )
            self._progress += len(page.records)
            self._progress_cursor = page.cursor
            if not page.has_more:
                return self._progress

    def _report_finished_runs(self) -> None:
        for record in self._runs_of_this_pass():
            run = record.dagster_run
            if run.run_id in self._reported or not run.is_finished:
                continue
            self._reported.add(run.run_id)
            self._read_run(run)

    def _read_run(self, run: dg.DagsterRun) -> None:
        readout = read_run(self.instance, run)
        for outcome in readout.files:
            self._file(outcome)
        self.summary.analysed += readout.analysed
        self.summary.reports += readout.reports
        if self.verbose:
            for day in readout.analysed:
                self.say(f"  analysed  {day}")
        if readout.failure is not None:
            self.summary.failed.append(readout.failure)
            failure = readout.failure
            self.say(f"  FAILED    {failure.what} ({failure.job_name}, run {failure.run_id}): {failure.error}")

    def _file(self, outcome: FileOutcome) -> None:
        self.summary.files.append(outcome)
        name = outcome.upload.rsplit("/", 1)[-1]
        if outcome.status in ("refused", "superseded"):
            self.say(f"  {outcome.status:<9} {name}: {outcome.detail}")
        elif self.verbose:
            self.say(f"  processed {name}: {outcome.rows:,} lines")
        if outcome.clock_note:
            self.say(f"  clock     {name}: {outcome.clock_note}; check the clock of what wrote it (or this one)")

    def _collect(self) -> None:
        self._report_finished_runs()
        self.summary.runs = len(self._runs_of_this_pass())
        ticks = self._latest_ticks()
        for name, tick in sorted(ticks.items()):
            # A tick the stopping daemon began once its code server was gone fails for that alone.
            if tick.status == TickStatus.FAILURE and self.started < tick.timestamp <= self.stopping_at:
                self.summary.sensor_errors.append(f"{name}: {error_line(tick.error)}")
