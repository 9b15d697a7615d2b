"""Client settings shared by every AWS backend.

botocore's defaults (legacy retries, 5 attempts, 60 s timeouts, 10 pooled connections) are
tuned for scripts; the platform runs long-lived daemons and an API, where a throttled or
briefly unreachable service should be retried patiently and a dead one noticed quickly.
"""

from __future__ import annotations

from botocore.config import Config

MAX_ATTEMPTS = 10  # in all, the first included
CONNECT_TIMEOUT_SECONDS = 5
# Enough threads of the API and of s3transfer share one client to exhaust the default of 10.
MAX_POOL_CONNECTIONS = 32


def client_config(read_timeout_seconds: float, **extra: object) -> Config:
    """A botocore Config with standard-mode retries (exponential backoff with jitter, and
    throttling errors retried too) and explicit timeouts."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout_seconds,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        **extra,
    )
