"""The code location Dagster loads (`dg dev`, `dagster dev -w workspace.yaml`, the ECS code
server): the defs folder, built from the settings read here, once, when the location loads. A
bad value stops the load naming the variable."""

import logging

import dagster as dg

from sales_platform.defs.loading import build_definitions
from sales_platform.runtime.dagster_notices import silence_dagster_notices
from sales_platform.settings import load_settings

silence_dagster_notices()


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_settings()
    logging.getLogger("sales_platform").setLevel(settings.runtime.log_level)
    return build_definitions(settings)
