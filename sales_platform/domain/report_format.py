"""How numbers and codes read in a report: money as money, payment methods and engines as words.

The table keeps machine values (`gift_card`, `Decimal('1234.5')`, `bedrock`); people read
"Gift card", "$1,234.50" and "Amazon Bedrock".
"""

from __future__ import annotations

from decimal import Decimal

from sales_platform.domain.money import to_cents

PAYMENT_METHOD_WORDS = {
    "cash": "Cash",
    "credit": "Credit card",
    "debit": "Debit card",
    "gift_card": "Gift card",
    "mobile": "Mobile payment",
}
ENGINE_WORDS = {"bedrock": "Amazon Bedrock", "rules": "the platform's rules"}
SEVERITY_ORDER = ("critical", "warning", "info")
PRIORITY_ORDER = ("high", "medium", "low")


def money(amount: Decimal | int | float | None) -> str:
    if amount is None:
        return "n/a"
    cents = to_cents(Decimal(str(amount)))
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


def count(value: int | Decimal | None) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def percent(value: Decimal | float | None, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{float(value):+.1f}%" if signed else f"{float(value):.1f}%"


def payment_method(method: str) -> str:
    return PAYMENT_METHOD_WORDS.get(method, method.replace("_", " ").capitalize())


def engine(name: str) -> str:
    return ENGINE_WORDS.get(name, name)


def words(code: str) -> str:
    """`week_over_week` -> `Week over week`."""
    return code.replace("_", " ").capitalize()
