"""What an item may hold, and how its numbers travel, identically in both table backends.

DynamoDB stores numbers as decimal text and has no float; SQLite here stores JSON. Checking
and converting items in one place means an item that works on a laptop works on AWS, and
both backends hand back the same Python types: `int` for integral numbers, `Decimal`
otherwise, so money stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sales_platform.resources.metrics_table import INDEX_ATTRIBUTES, KEY_ATTRIBUTES, Item

# DynamoDB keeps 38 significant digits; SQLite would keep more, which would make a value that
# works locally fail on AWS.
MAX_DIGITS = 38


def to_storable(item: Mapping[str, Any]) -> Item:
    """A copy of `item` ready for either backend, or ValueError/TypeError saying what is wrong.

    Floats become Decimal through their shortest repr (0.1 -> Decimal("0.1"), not the binary
    expansion). An index attribute set to None is dropped, so the item is simply not in the
    index, as DynamoDB's sparse indexes behave.
    """
    stored: Item = {}
    for name, value in item.items():
        if not isinstance(name, str):
            raise TypeError(f"attribute names are strings, got {name!r}")
        if value is None and name in INDEX_ATTRIBUTES:
            continue
        stored[name] = _value(value, name)
    for name in KEY_ATTRIBUTES:
        if not isinstance(stored.get(name), str) or not stored[name]:
            raise ValueError(f"item needs a non-empty string {name}: {dict(item)!r:.200}")
    present = [name for name in INDEX_ATTRIBUTES if name in stored]
    if present and len(present) != len(INDEX_ATTRIBUTES):
        raise ValueError(f"item {stored['PK']}/{stored['SK']} sets {present[0]} without the other index key")
    for name in present:
        if not isinstance(stored[name], str) or not stored[name]:
            raise ValueError(f"item {stored['PK']}/{stored['SK']} needs a non-empty string {name}")
    return stored


def _value(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) >= 10**MAX_DIGITS:
            raise ValueError(f"{where} has more than {MAX_DIGITS} digits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; the table stores only finite numbers")
        return Decimal(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{where} is {value}; the table stores only finite numbers")
        if len(value.as_tuple().digits) > MAX_DIGITS:
            raise ValueError(f"{where} has more than {MAX_DIGITS} digits")
        return value
    if isinstance(value, Mapping):
        result = {}
        for key, inner in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a non-string key {key!r}")
            result[key] = _value(inner, f"{where}.{key}")
        return result
    if isinstance(value, (list, tuple)):
        return [_value(inner, f"{where}[{index}]") for index, inner in enumerate(value)]
    # Sets and bytes exist in DynamoDB but not in JSON; refusing them in both keeps the
    # backends interchangeable.
    raise TypeError(f"{where} is a {type(value).__name__}; use str, int, Decimal, float, bool, None, list or dict")


def from_stored(value: Any) -> Any:
    """Integral Decimals become int, recursively; everything else is returned as is."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {key: from_stored(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [from_stored(inner) for inner in value]
    return value
