"""Client settings shared by every AWS backend, and one client per process and configuration.

botocore's defaults (legacy retries, 5 attempts, 60 s timeouts, 10 pooled connections) are
tuned for scripts; the platform runs long-lived daemons and an API, where a throttled or
briefly unreachable service should be retried patiently and a dead one noticed quickly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from botocore.config import Config

Make = TypeVar("Make", bound=Callable[..., Any])
_BUILT_ONCE: list[Any] = []

MAX_ATTEMPTS = 10  # in all, the first included
CONNECT_TIMEOUT_SECONDS = 5
# Enough threads of the API and of s3transfer share one client to exhaust the default of 10.
MAX_POOL_CONNECTIONS = 32


def client_config(read_timeout_seconds: float, **extra: object) -> Config:
    """A botocore Config with standard-mode retries (exponential backoff with jitter, and
    throttling errors retried too) and explicit timeouts."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout_seconds,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        **extra,
    )


def one_per_process(make: Make) -> Make:
    """A client builder that builds each client (by its arguments) once per process. Dagster
    builds a run's and a sensor tick's resources anew each time, and a new client resolves its
    credentials again (on ECS an HTTP call); boto3 clients are thread-safe and refresh their
    credentials themselves."""
    built = functools.cache(make)
    _BUILT_ONCE.append(built)
    return built  # type: ignore[return-value]


def forget_clients() -> None:
    """Build every client anew from now on (tests: each fake AWS gets clients of its own)."""
    for built in _BUILT_ONCE:
        built.cache_clear()
