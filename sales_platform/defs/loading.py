"""Loading this folder for given settings.

Partitions (first day, time zone, stores), sensor intervals and the schedule's cron are part
of the definitions, so they are fixed when the code location loads; what a run or a tick
decides with comes from the resources. `build_definitions` loads the folder inside
`loading(settings)` and each module's `@dg.definitions` reads them with `load_time_settings()`:
the settings are read once per load (by `sales_platform.definitions`, or a test's own), and a
tool that loads the folder by itself gets them read for it, with the same errors naming the
variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import dagster as dg

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


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything in this folder, for these settings."""
    import sales_platform.defs

    with loading(settings):
        # From the module rather than pyproject.toml: the installed package (the container)
        # has no project file beside it.
        return dg.ComponentTree.from_module(
            defs_module=sales_platform.defs, project_root=Path(sales_platform.defs.__file__).parents[2]
        ).build_defs()
