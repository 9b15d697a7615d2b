"""How insights rank: anomalies by severity, trends by significance and recommendations by
priority, most pressing first. The analysis, the report and the dashboard list them in this
order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Severity = Literal["critical", "warning", "info"]
Level = Literal["high", "medium", "low"]  # a trend's significance, a recommendation's priority

SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
LEVELS: tuple[Level, ...] = ("high", "medium", "low")


def rank(order: Sequence[str], value: object) -> int:
    """Where `value` stands in `order`; a value the order does not know comes after all of them."""
    return order.index(value) if value in order else len(order)
