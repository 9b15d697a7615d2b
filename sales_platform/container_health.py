"""Health of a deployed container, as ECS asks for it (`sales-platform healthcheck`).

A container that is running is not necessarily working: the webserver can serve its page while
every database call fails because the RDS-managed password was rotated after the task started
(ECS injects secrets once, at start). So the check asks what the service actually depends on:
the Dagster database with the credentials this task holds, the code server over gRPC, an HTTP
endpoint. When it fails, ECS replaces the task, and the new task gets the current secret.
"""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

DATABASE_VARIABLES = (
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_USERNAME",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_DB",
)


class Unhealthy(Exception):
    """What is wrong, in one line a person reading the ECS console can act on."""


def check_database(environ: Mapping[str, str], timeout_seconds: int = 5) -> None:
    """Open and close a connection to the Dagster database with this task's credentials."""
    import psycopg2

    missing = [name for name in DATABASE_VARIABLES if not environ.get(name)]
    if missing:
        raise Unhealthy(f"database: {', '.join(missing)} not set")
    try:
        connection = psycopg2.connect(
            host=environ["DAGSTER_PG_HOST"],
            port=int(environ["DAGSTER_PG_PORT"]),
            user=environ["DAGSTER_PG_USERNAME"],
            password=environ["DAGSTER_PG_PASSWORD"],
            dbname=environ["DAGSTER_PG_DB"],
            connect_timeout=timeout_seconds,
        )
    except (psycopg2.Error, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise Unhealthy(f"database: {first_line}") from None
    connection.close()


def check_http(url: str, timeout_seconds: int = 5) -> None:
    """The URL answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:  # noqa: S310 (local URL from the task definition)
            status = response.status
    except urllib.error.HTTPError as error:
        raise Unhealthy(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise Unhealthy(f"{url}: {getattr(error, 'reason', error)}") from None
    if not 200 <= status < 300:
        raise Unhealthy(f"{url}: HTTP {status}")


def check_grpc(port: int, host: str = "127.0.0.1", timeout_seconds: int = 5) -> None:
    """The code server answers the standard gRPC health service with SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"{host}:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_seconds)
        except grpc.RpcError as error:
            raise Unhealthy(f"code server {host}:{port}: {error.code().name}") from None
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise Unhealthy(f"code server {host}:{port}: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")


def run_checks(
    *, database: bool, http: list[str], grpc_port: int | None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every requested check; returns the problems (empty when healthy)."""
    environ = os.environ if environ is None else environ
    checks: list[Callable[[], None]] = []
    if database:
        checks.append(lambda: check_database(environ))
    checks += [functools.partial(check_http, url) for url in http]
    if grpc_port is not None:
        checks.append(lambda: check_grpc(grpc_port))
    problems = []
    for check in checks:
        try:
            check()
        except Unhealthy as problem:
            problems.append(str(problem))
    return problems
