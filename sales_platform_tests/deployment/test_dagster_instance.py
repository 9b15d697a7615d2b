"""docker/dagster.yaml, the Dagster instance every ECS task loads: it passes Dagster's own config
validation with the environment Terraform gives the tasks, its storage works on a real
PostgreSQL (runs, events and schedule ticks recorded and read back), and its EcsRunLauncher
starts a run as a Fargate task with the run's command, the run role and the run size (moto)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from sales_platform.container_health import run_checks
from sales_platform_tests.conftest import STORES, days_ago, render, set_age, small_records, upload_name
from sales_platform_tests.deployment.postgres_server import PostgresServer
from sales_platform_tests.deployment.terraform_config import TerraformConfig
from sales_platform_tests.fake_aws import REGION, fake_aws

pytestmark = pytest.mark.deployment

ACCOUNT = "123456789012"
RUN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sales-run"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sales-dagster-execution"
DB_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-1234-AbCdEf"
COMPUTE_LOGS_BUCKET = "sales-data-test"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sales:2025-11-28-a1b2c3d"


def ecs_environment(postgres: PostgresServer) -> dict[str, str]:
    """What deploy/ sets in a Dagster task: local.dagster_environment, plus the two ECS secrets
    (DAGSTER_PG_USERNAME, DAGSTER_PG_PASSWORD) as ECS injects them."""
    return {
        **postgres.environment,
        "DAGSTER_PG_USERNAME_SECRET_ARN": f"{DB_SECRET}:username::",
        "DAGSTER_PG_PASSWORD_SECRET_ARN": f"{DB_SECRET}:password::",
        "MAX_CONCURRENT_RUNS": "7",
        "DAGSTER_RUN_TASK_FAMILY_PREFIX": "sales-run",
        "DAGSTER_RUN_TASK_ROLE_ARN": RUN_ROLE,
        "DAGSTER_RUN_EXECUTION_ROLE_ARN": EXECUTION_ROLE,
        "DAGSTER_RUN_LOG_GROUP": "/ecs/sales/runs",
        "DAGSTER_RUN_CPU_ARCHITECTURE": "ARM64",
        "DAGSTER_COMPUTE_LOGS_BUCKET": COMPUTE_LOGS_BUCKET,
        "DAGSTER_COMPUTE_LOGS_PREFIX": "dagster-compute-logs",
        "DAGSTER_CODE_SERVER_HOST": "code-server.sales.internal",
        "DAGSTER_CODE_SERVER_PORT": "4000",
    }


def referenced_variables(document: Any) -> set[str]:
    """Every `env: NAME` in a Dagster YAML file, and the names in EcsRunLauncher's env_vars."""
    found: set[str] = set()
    if isinstance(document, dict):
        if set(document) == {"env"}:
            found.add(document["env"])
        for key, value in document.items():
            if key == "env_vars":
                found |= {item.split("=", 1)[0] for item in value}
            else:
                found |= referenced_variables(value)
    elif isinstance(document, list):
        for item in document:
            found |= referenced_variables(item)
    return found


@pytest.fixture
def dagster_home(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch, postgres: PostgresServer) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(repo_root / "docker" / "dagster.yaml", home / "dagster.yaml")
    shutil.copy(repo_root / "docker" / "workspace.yaml", home / "workspace.yaml")
    for name, value in ecs_environment(postgres).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with fake_aws(monkeypatch):
        import boto3

        boto3.client("s3", region_name=REGION).create_bucket(Bucket=COMPUTE_LOGS_BUCKET)
        yield


# --------------------------------------------------------------------------- configuration


def test_terraform_gives_the_tasks_every_variable_the_instance_files_read(
    repo_root: Path, terraform: TerraformConfig
) -> None:
    needed = referenced_variables(yaml.safe_load((repo_root / "docker" / "dagster.yaml").read_text()))
    needed |= referenced_variables(yaml.safe_load((repo_root / "docker" / "workspace.yaml").read_text()))
    given = set(terraform.locals["dagster_environment"]) | {s["name"] for s in terraform.locals["dagster_secrets"]}
    # The one platform setting the instance shares: the run queue's limit.
    shared = {"MAX_CONCURRENT_RUNS"} & set(terraform.locals["platform_environment"])
    assert needed - given - shared == set(), "docker/*.yaml reads variables deploy/ never sets"
    assert {
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_PORT",
        "DAGSTER_PG_USERNAME",
        "DAGSTER_PG_PASSWORD",
        "DAGSTER_PG_DB",
    } <= needed
    assert set(ecs_environment(PostgresServer("h", 1, "u", "p", "d"))) == given | shared


def test_the_instance_loads_through_dagsters_validation_with_the_ecs_environment(dagster_home: Path, aws: None) -> None:
    from dagster_aws.ecs import EcsRunLauncher
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_launcher, EcsRunLauncher)
        assert instance.run_launcher.secrets_tags == [], "secrets_tag is off"
        assert instance.run_launcher.task_role_arn == RUN_ROLE
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 7
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 600
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.telemetry_enabled


def test_a_missing_variable_stops_the_instance_naming_it(dagster_home: Path, aws: None, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_RUN_TASK_ROLE_ARN")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        with pytest.raises(Exception, match="DAGSTER_RUN_TASK_ROLE_ARN"):
            instance.run_launcher  # noqa: B018 (instantiated on first use, like the daemon does)


# --------------------------------------------------------------------------- PostgreSQL


def test_runs_and_schedule_ticks_are_recorded_in_postgresql_and_read_back(
    dagster_home: Path, aws: None, make_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.scheduler.instigation import InstigatorType, TickData, TickStatus

    from sales_platform.defs.loading import build_definitions
    from sales_platform_tests.dagster_harness import Harness

    settings = make_settings()
    monkeypatch.setenv("MAX_CONCURRENT_RUNS", "7")  # a platform setting the instance reads too
    definitions = build_definitions(settings)
    day = days_ago(1)
    key = settings.storage.layout.upload_key(upload_name(STORES[0], day))
    definitions.resources["bucket"].build().write_bytes(key, render(small_records(STORES[0], day)))
    set_age(settings.bucket_path / key, 60)

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        report = Harness(definitions, instance).process()
        (outcome,) = report.outcomes
        assert report.statuses() == {key: "processed"}, outcome.detail
        tick_time = time.time()
        instance.create_tick(
            TickData(
                instigator_origin_id="sales_platform:daily_analysis_fallback",
                instigator_name="daily_analysis_fallback",
                instigator_type=InstigatorType.SCHEDULE,
                status=TickStatus.SUCCESS,
                timestamp=tick_time,
                run_ids=[outcome.run_id],
                selector_id="daily_analysis_fallback-selector",
            )
        )
        run_id = outcome.run_id

    # A new instance (another task) sees what the first one wrote.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.job_name == "ingest_store_uploads"
        materialized = instance.get_latest_materialization_event(dg.AssetKey("store_metrics"))
        assert materialized is not None and materialized.run_id == run_id
        assert materialized.dagster_event.partition == f"{day.isoformat()}|{STORES[0]}"
        (read_back,) = instance.get_ticks("sales_platform:daily_analysis_fallback", "daily_analysis_fallback-selector")
        assert read_back.status == TickStatus.SUCCESS and read_back.run_ids == [run_id]
        assert read_back.timestamp == pytest.approx(tick_time)


# --------------------------------------------------------------------------- health check


def test_the_database_health_check_fails_after_the_password_changes(postgres: PostgresServer) -> None:
    assert run_checks(database=True, http=[], grpc_port=None, environ=postgres.environment) == []
    rotated = {**postgres.environment, "DAGSTER_PG_PASSWORD": "the-old-one"}
    (problem,) = run_checks(database=True, http=[], grpc_port=None, environ=rotated)
    assert problem.startswith("database:") and "password authentication failed" in problem
