"""moto with an environment that cannot reach, or be redirected to, a real AWS account."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

REGION = "us-east-1"

# Any of these on a developer's machine would send the tests' calls past moto.
_REDIRECTING_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


@contextlib.contextmanager
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _REDIRECTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    with mock_aws():
        yield
