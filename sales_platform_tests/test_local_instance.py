"""The Dagster instance a laptop gets: written from the settings, with the queue, monitoring and
retries the platform relies on, and a launcher that tells a dead run from a live one."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest
import yaml
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus

from sales_platform.runtime.local_instance import prepare_dagster_home
from sales_platform.runtime.run_launcher import LocalRunLauncher
from sales_platform_tests.conftest import Platform


def test_the_instance_follows_the_settings_and_retries_crashes_only(make_settings) -> None:
    settings = make_settings(MAX_CONCURRENT_RUNS="3")
    home = prepare_dagster_home(settings)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["run_retries"] == {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False}
    assert config["run_monitoring"]["enabled"] is True
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 3
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert not instance.telemetry_enabled
    workspace = yaml.safe_load((home / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["location_name"] == "sales_platform"

    # A changed setting applies at the next start: the files are written again.
    prepare_dagster_home(make_settings(MAX_CONCURRENT_RUNS="5"))
    assert yaml.safe_load((home / "dagster.yaml").read_text())["run_coordinator"]["config"]["max_concurrent_runs"] == 5


@pytest.mark.slow
def test_run_monitoring_is_told_when_a_runs_process_is_gone(local_platform: Platform) -> None:
    instance = local_platform.instance
    job = local_platform.defs.resolve_job_def("ingest_store_uploads")
    run = instance.create_run_for_job(job, run_config={"ops": {"ingest_uploads": {"config": {"uploads": []}}}})
    launcher = instance.run_launcher
    assert launcher.supports_check_run_worker_health
    assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING  # not started yet: not judged

    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        instance.report_engine_event(
            f"Started process for run (pid: {worker.pid}).", run, EngineEventData.in_process(worker.pid)
        )
        assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    finally:
        worker.kill()
        worker.wait()
    health = launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert str(worker.pid) in (health.msg or "")
