"""Fixtures of the deployment tests: the repository's docker/ and deploy/ folders, the parsed
Terraform configuration and a real PostgreSQL server (started once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_platform_tests.deployment.postgres_server import PostgresServer, running_postgres
from sales_platform_tests.deployment.terraform_config import TerraformConfig, load_terraform

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def terraform() -> TerraformConfig:
    return load_terraform(REPO_ROOT / "deploy")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server
