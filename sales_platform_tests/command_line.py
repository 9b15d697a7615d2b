"""Running the `sales-platform` command as a user would, in a clean environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sales_platform.settings import Settings


def cli_command() -> list[str]:
    """The console script installed next to this interpreter (what `make install` puts on the
    PATH); the module itself when the package was not installed with its scripts."""
    script = Path(sys.executable).with_name("sales-platform")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sales_platform.cli"]


def clean_environment(**settings: str) -> dict[str, str]:
    """os.environ without anything the platform or boto3 would pick up, plus `settings`."""
    read_by_settings = {field.alias for field in Settings.model_fields.values() if field.alias}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in read_by_settings and not name.startswith("AWS_") and name != "DAGSTER_HOME"
    }
    env.update(settings)
    return env
