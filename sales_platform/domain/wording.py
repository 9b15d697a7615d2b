"""How figures and codes read where people see them: insight texts, the daily report, the
dashboard. The table keeps machine values (`gift_card`, `Decimal('1234.5')`, `bedrock`); people
read "Gift card", "$1,234.50" and "Amazon Bedrock". One function per way of writing a figure, so
a figure reads the same wherever it is shown.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sales_platform.domain.money import to_cents

TENTH = Decimal("0.1")
NOT_AVAILABLE = "n/a"
PAYMENT_METHOD_WORDS = {
    "cash": "Cash",
    "credit": "Credit card",
    "debit": "Debit card",
    "gift_card": "Gift card",
    "mobile": "Mobile payment",
}
ENGINE_WORDS = {"bedrock": "Amazon Bedrock", "rules": "the platform's rules"}


def one_decimal(value: Decimal | float | int) -> Decimal:
    """Percentages and ratios are kept and shown with one decimal."""
    return Decimal(str(value)).quantize(TENTH, rounding=ROUND_HALF_UP)


def money(amount: Decimal | int | float | None) -> str:
    """`$1,234.50`, `-$3.20`; `n/a` for a figure the day does not have."""
    if amount is None:
        return NOT_AVAILABLE
    cents = to_cents(Decimal(str(amount)))
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


def count(value: int | Decimal | None) -> str:
    return NOT_AVAILABLE if value is None else f"{int(value):,}"


def magnitude_percent(value: Decimal | float) -> str:
    """An unsigned percentage, `12.3%` for +12.3 and -12.3 alike: the sentence says above or below."""
    return f"{abs(one_decimal(value))}%"


def signed_percent(value: Decimal | float) -> str:
    """`+12.3%`, `-12.3%`, and `0.0%` for no change."""
    rounded = one_decimal(value)
    return f"+{rounded}%" if rounded > 0 else f"{rounded}%"


def table_percent(value: Decimal | float | None, signed: bool = True) -> str:
    """A percentage in a column of the report: `+12.3%` (`+0.0%` too, so the column lines up),
    or unsigned for a share of a total; `n/a` when there is none."""
    if value is None:
        return NOT_AVAILABLE
    return f"{float(value):+.1f}%" if signed else f"{float(value):.1f}%"


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


def payment_method(method: str) -> str:
    return PAYMENT_METHOD_WORDS.get(method, method.replace("_", " ").capitalize())


def engine(name: str) -> str:
    return ENGINE_WORDS.get(name, name)
