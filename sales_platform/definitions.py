"""The code location Dagster loads (`dagster dev -w workspace.yaml`). Configuration
is read here, when the location loads, and a bad value stops the load naming the variable."""

import logging

import dagster as dg

from sales_platform.defs import build_definitions
from sales_platform.runtime.dagster_notices import silence_dagster_notices
from sales_platform.settings import load_settings

silence_dagster_notices()


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_settings()
    logging.getLogger("sales_platform").setLevel(settings.log_level)
    return build_definitions(settings)
