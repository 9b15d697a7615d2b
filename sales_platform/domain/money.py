"""Money leaves the platform rounded to cents, half up, and only there."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal | int) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
