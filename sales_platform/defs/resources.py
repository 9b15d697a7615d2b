"""The resources every asset, check and sensor asks for by name, from the settings."""

import dagster as dg

from sales_platform.defs.loading import load_time_settings
from sales_platform.resources.factory import build_resources


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources=build_resources(load_time_settings()),
        # Runs are small and many; a process per step would cost more than the steps.
        executor=dg.in_process_executor,
    )
