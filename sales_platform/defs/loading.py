"""The settings one load of the code location builds its definitions from.

Partitions (first day, time zone, stores), sensor intervals and the schedule's cron are part
of the definitions, so they are fixed when the code location loads; what a run or a tick
decides with comes from the resources. `sales_platform.definitions` reads the settings once
and loads this folder inside `loading(settings)`; a tool that loads the folder by itself gets
them read for it, with the same errors naming the variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sales_platform.settings import Settings, load_settings

_settings: ContextVar[Settings | None] = ContextVar("sales_platform_settings", default=None)


@contextmanager
def loading(settings: Settings) -> Iterator[None]:
    token = _settings.set(settings)
    try:
        yield
    finally:
        _settings.reset(token)


def load_time_settings() -> Settings:
    return _settings.get() or load_settings()
