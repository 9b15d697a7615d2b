"""The code location Dagster loads (`dg dev`, `dagster dev -w workspace.yaml`, the ECS code
server): the defs folder, built from the settings read here, once, when the location loads. A
bad value stops the load naming the variable."""

import logging
from pathlib import Path

import dagster as dg

import sales_platform.defs
from sales_platform.defs.loading import loading
from sales_platform.runtime.dagster_notices import silence_dagster_notices
from sales_platform.settings import Settings, load_settings

silence_dagster_notices()


def build_definitions(settings: Settings) -> dg.Definitions:
    """The defs folder's definitions for these settings (tests and `process` build them too)."""
    with loading(settings):
        # From the module rather than pyproject.toml: the installed package (the container)
        # has no project file beside it.
        return dg.ComponentTree.from_module(
            defs_module=sales_platform.defs, project_root=Path(sales_platform.defs.__file__).parents[2]
        ).build_defs()


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_settings()
    logging.getLogger("sales_platform").setLevel(settings.log_level)
    return build_definitions(settings)
