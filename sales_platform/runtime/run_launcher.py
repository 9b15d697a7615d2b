"""Dagster's default launcher (a subprocess per run, started by the code server), plus the one
thing it lacks on a laptop: telling run monitoring whether a run's process is still alive.

Without it a run whose process was killed (a crash, `kill -9`, a laptop put to sleep and the
pass stopped) stays STARTED for ever and is never retried. The run worker records its pid in
the run's "Started process for run" event; that process alive means the run is alive.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

_PROC = Path("/proc")
# A run worker starts a moment before it records its pid; a process that started later than
# that (plus this slack) reuses the pid and is not the run's.
_START_SLACK_SECONDS = 5.0


class LocalRunLauncher(DefaultRunLauncher):
    """Launches runs as DefaultRunLauncher does, and reports a run whose process is gone."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = self._recorded_worker(run.run_id)
        if worker is None:
            # Not recorded yet (the worker is still starting); monitoring's start timeout covers
            # a worker that never gets that far.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker not recorded yet")
        pid, recorded_at = worker
        if _is_alive(pid, recorded_at):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker {pid} is alive")
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process {pid} is gone (killed or crashed)")

    def _recorded_worker(self, run_id: str) -> tuple[int, float] | None:
        records = self._instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records
        for record in reversed(records):
            data = (
                record.event_log_entry.dagster_event.event_specific_data
                if record.event_log_entry.dagster_event
                else None
            )
            pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
            if pid is not None and "process for" in (record.event_log_entry.message or "").lower():
                return int(pid.value), record.event_log_entry.timestamp
        return None


def _is_alive(pid: int, recorded_at: float) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _PROC / str(pid) / "stat"
    if not stat.exists():
        return True  # no /proc (macOS): the signal test is all there is
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    if fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by the code server
    return _started_at(int(fields[19])) <= recorded_at + _START_SLACK_SECONDS


def _started_at(start_ticks: int) -> float:
    boot = next(int(line.split()[1]) for line in (_PROC / "stat").read_text().splitlines() if line.startswith("btime"))
    return boot + start_ticks / os.sysconf("SC_CLK_TCK")
