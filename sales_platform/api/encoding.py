"""JSON for the dashboard: amounts, exact decimals inside the platform, leave as numbers.

Money reaches this point already rounded to cents; a float prints the shortest text that reads
back as the same number, so 12.30 is written 12.3 and never 12.300000000000001.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return (
            int(value) if value == value.to_integral_value() and int(value.as_tuple().exponent) >= 0 else float(value)
        )
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(value: Any) -> bytes:
    return json.dumps(value, default=_plain, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
