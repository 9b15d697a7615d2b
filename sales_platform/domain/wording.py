"""How numbers read in insight texts: the same figures the items carry, rounded the same way."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sales_platform.domain.money import to_cents

TENTH = Decimal("0.1")


def one_decimal(value: Decimal | float | int) -> Decimal:
    """Percentages and ratios are kept and shown with one decimal."""
    return Decimal(str(value)).quantize(TENTH, rounding=ROUND_HALF_UP)


def money(amount: Decimal | int) -> str:
    return f"${to_cents(amount):,.2f}"


def percent(value: Decimal | float) -> str:
    """An unsigned percentage: the sentence says above or below."""
    return f"{abs(one_decimal(value))}%"


def signed_percent(value: Decimal | float) -> str:
    rounded = one_decimal(value)
    return f"+{rounded}%" if rounded > 0 else f"{rounded}%"


def change_percent(now: Decimal, before: Decimal) -> Decimal:
    """(now - before) / before in percent; callers make sure `before` is not zero."""
    return (now - before) / before * 100


def names(items: list[str], limit: int = 5) -> str:
    """`0001, 0002 and 0003`, or `0001, 0002, ... and 4 more` for long lists."""
    if len(items) > limit:
        return f"{', '.join(items[:limit])} and {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
