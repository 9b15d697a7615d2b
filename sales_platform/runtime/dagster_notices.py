"""Dagster announces its beta and preview APIs each time definitions load (every run, every
reload of the code location) and narrates migrations; none of it says anything to someone
running the platform, and repeated thousands of times it buries what does."""

from __future__ import annotations

import logging
import warnings


def silence_dagster_notices() -> None:
    from dagster._utils import warnings as dagster_warnings

    for name in ("BetaWarning", "PreviewWarning", "SupersessionWarning"):
        category = getattr(dagster_warnings, name, None)
        if category is not None:
            warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="dagster")
    for name in ("alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
