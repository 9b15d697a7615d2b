"""The Dagster instance a laptop gets, under SALES_PLATFORM_HOME/dagster.

`dagster.yaml` and `workspace.yaml` are written from the settings every time a command starts
the platform, so a changed setting (concurrency, say) always applies; they are not meant to be
edited. Runs go through the queue and the launcher exactly as on ECS: each run is its own
process, started by the code server, watched by run monitoring and retried by run retries.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from sales_platform.settings import Settings

CODE_LOCATION = "sales_platform"
DEFINITIONS_MODULE = "sales_platform.definitions"
_HEADER = "# Written by sales-platform from its settings at every start; edits are overwritten.\n"


def instance_config(settings: Settings) -> dict:
    return {
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": settings.runtime.max_concurrent_runs, "dequeue_interval_seconds": 1},
        },
        "run_launcher": {"module": "sales_platform.runtime.run_launcher", "class": "LocalRunLauncher"},
        # A run whose process died is failed within seconds, then retried; one that never
        # starts is failed after the start timeout.
        "run_monitoring": {
            "enabled": True,
            "start_timeout_seconds": 60,
            "cancel_timeout_seconds": 60,
            "poll_interval_seconds": 5,
            "max_resume_run_attempts": 0,
        },
        # Retries are for runs that crashed or were killed. A run that failed on its data or on a
        # setting would fail again the same way: the alert goes out at once instead.
        "run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False},
        "sensors": {"use_threads": True, "num_workers": 4},
        "schedules": {"use_threads": True, "num_workers": 2},
        # All run events in one SQLite file: one file per run costs a new database for every batch.
        "event_log_storage": {
            "module": "dagster.core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(settings.dagster_home)},
        },
        "retention": {"sensor": {"purge_after_days": {"skipped": 7, "failure": 30, "success": 30}}},
    }


def workspace_config() -> dict:
    return {"load_from": [{"python_module": {"module_name": DEFINITIONS_MODULE, "location_name": CODE_LOCATION}}]}


def prepare_dagster_home(settings: Settings) -> Path:
    """Write the instance and workspace files and point DAGSTER_HOME at them (an absolute path,
    as Dagster requires); returns the folder."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    _write(home / "dagster.yaml", instance_config(settings))
    _write(home / "workspace.yaml", workspace_config())
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def workspace_file(settings: Settings) -> Path:
    return settings.dagster_home / "workspace.yaml"


def _write(path: Path, config: dict) -> None:
    text = _HEADER + yaml.safe_dump(config, sort_keys=False)
    if not path.exists() or path.read_text() != text:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(path)
