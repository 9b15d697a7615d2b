"""The EcsRunLauncher configured by docker/dagster.yaml, launching a platform run against moto's
ECS the way the daemon does on Fargate: it reads its own task from the ECS task metadata endpoint
(served here on 127.0.0.1), registers the run task definition and calls RunTask."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sales_platform_tests.deployment.postgres_server import PostgresServer
from sales_platform_tests.deployment.test_dagster_instance import (
    COMPUTE_LOGS_BUCKET,
    EXECUTION_ROLE,
    IMAGE,
    RUN_ROLE,
    ecs_environment,
)
from sales_platform_tests.fake_aws import REGION, fake_aws

pytestmark = pytest.mark.deployment

CLUSTER = "sales"
RUN_CPU, RUN_MEMORY = "1024", "4096"


class _TaskMetadata(BaseHTTPRequestHandler):
    """ECS_CONTAINER_METADATA_URI_V4 of the daemon's task: its cluster and task ARN."""

    document: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps(self.document if self.path.endswith("/task") else {"Name": "daemon"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _fargate_task_level_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto sizes a task from its containers' memory only; Fargate task definitions (such as the
    one the EcsRunLauncher registers) may give memory for the task alone. Let moto fall back to
    the task's memory, as Fargate does; the rest of moto's ECS is used as it is."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def calculate(task_definition):  # type: ignore[no-untyped-def]
        if task_definition.memory and not any(
            c.get("memory") or c.get("memoryReservation") for c in task_definition.container_definitions
        ):
            containers = task_definition.container_definitions
            task_definition.container_definitions = [{**c, "memory": int(task_definition.memory)} for c in containers]
            try:
                return original(task_definition)
            finally:
                task_definition.container_definitions = containers
        return original(task_definition)

    monkeypatch.setattr(EC2ContainerServiceBackend, "_calculate_task_resource_requirements", staticmethod(calculate))


@pytest.fixture
def daemon_task(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A cluster in moto with the daemon's Fargate task running in a private subnet, and that
    task's metadata endpoint on 127.0.0.1."""
    _fargate_task_level_memory(monkeypatch)
    with fake_aws(monkeypatch):
        import boto3

        boto3.client("s3", region_name=REGION).create_bucket(Bucket=COMPUTE_LOGS_BUCKET)
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as deploy/network.tf
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.10.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="sales-daemon", Description="daemon", VpcId=vpc)["GroupId"]
        ecs = boto3.client("ecs", region_name=REGION)
        cluster = ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterArn"]
        ecs.register_task_definition(
            family="sales-daemon",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="1024",
            containerDefinitions=[{"name": "daemon", "image": IMAGE, "memory": 1024}],
        )
        task = ecs.run_task(
            cluster=CLUSTER,
            taskDefinition="sales-daemon",
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}
            },
        )["tasks"][0]["taskArn"]

        _TaskMetadata.document = {"Cluster": cluster, "TaskARN": task}
        server = HTTPServer(("127.0.0.1", 0), _TaskMetadata)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", f"http://127.0.0.1:{server.server_port}/v4/daemon")
        try:
            yield {"cluster": cluster, "subnet": subnet, "security_group": group}
        finally:
            server.shutdown()
            server.server_close()


def run_container_context() -> dict[str, Any]:
    """What deploy/ecs.tf gives the code server as DAGSTER_CONTAINER_CONTEXT (run_cpu,
    run_memory and the platform's settings)."""
    return {
        "ecs": {
            "run_resources": {"cpu": RUN_CPU, "memory": RUN_MEMORY},
            "env_vars": ["SALES_PLATFORM_ENV=aws", "S3_BUCKET=sales-data-test", "DYNAMODB_TABLE=SalesData"],
        }
    }


def test_a_run_starts_as_a_fargate_task_with_its_command_role_and_size(
    daemon_task: dict[str, str],
    tmp_path: Path,
    repo_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres: PostgresServer,
    make_settings,
) -> None:
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value

    make_settings()  # the code location's settings come from a clean environment
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(repo_root / "docker" / "dagster.yaml", home / "dagster.yaml")
    for name, value in ecs_environment(postgres).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="sales_platform.definitions"),
        container_image=IMAGE,
        container_context=run_container_context(),
        location_name="sales_platform",
    )
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace,
    ):
        context = workspace.create_request_context()
        location = context.get_code_location("sales_platform")
        (repository,) = location.get_repositories().values()
        remote_job = repository.get_full_job("ingest_store_uploads")
        from sales_platform.definitions import defs

        run = instance.create_run_for_job(
            job_def=defs().resolve_job_def("ingest_store_uploads"),
            run_config={"ops": {"ingest_uploads": {"config": {"uploads": ["uploads/store_0001_2025-11-27.json"]}}}},
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
        )
        calls: list[dict[str, Any]] = []
        launcher = instance.run_launcher
        launcher.ecs.meta.events.register("provide-client-params.ecs.RunTask", lambda params, **_: calls.append(params))
        instance.launch_run(run.run_id, context)

        (call,) = calls
        (container,) = call["overrides"]["containerOverrides"]
        # The run's command: the run worker executes this run, from this code location.
        assert container["name"] == "run"
        assert container["command"][:3] == ["dagster", "api", "execute_run"]
        args = deserialize_value(container["command"][3], ExecuteRunArgs)
        assert args.run_id == run.run_id
        assert args.job_origin.job_name == "ingest_store_uploads"
        # The size Terraform sets (run_cpu/run_memory), for the task and its container.
        assert (call["overrides"]["cpu"], call["overrides"]["memory"]) == (RUN_CPU, RUN_MEMORY)
        assert (container["cpu"], container["memory"]) == (int(RUN_CPU), int(RUN_MEMORY))
        # The daemon's cluster and private network, no public IP.
        assert call["cluster"] == daemon_task["cluster"]
        assert call["launchType"] == "FARGATE"
        assert call["networkConfiguration"]["awsvpcConfiguration"] == {
            "subnets": [daemon_task["subnet"]],
            "securityGroups": [daemon_task["security_group"]],
            "assignPublicIp": "DISABLED",
        }

        # The task definition RunTask names carries the run role, never the daemon's.
        assert call["taskDefinition"].startswith("sales-run_")
        ecs = launcher.ecs
        definition = ecs.describe_task_definition(taskDefinition=call["taskDefinition"])["taskDefinition"]
        assert definition["taskRoleArn"] == RUN_ROLE
        assert definition["executionRoleArn"] == EXECUTION_ROLE
        assert (definition["cpu"], definition["memory"]) == (RUN_CPU, RUN_MEMORY)
        assert definition["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
        (run_container,) = definition["containerDefinitions"]
        assert run_container["image"] == IMAGE
        assert run_container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/sales/runs"
        secrets = {s["name"]: s["valueFrom"] for s in run_container["secrets"]}
        assert set(secrets) == {"DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"}
        assert secrets["DAGSTER_PG_PASSWORD"].endswith(":password::")
        environment = {e["name"]: e["value"] for e in run_container["environment"]}
        assert environment["S3_BUCKET"] == "sales-data-test" and environment["DAGSTER_PG_HOST"] == postgres.host
        assert postgres.password not in environment.values(), "the password reached the environment"

        # ECS knows the task, and the run records which task runs it.
        task_arn = instance.get_run_by_id(run.run_id).tags["ecs/task_arn"]
        (task,) = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
        assert task["taskDefinitionArn"] == definition["taskDefinitionArn"]
