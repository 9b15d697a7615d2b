"""The upload contract the stores already follow: file names, record fields, and how a refusal
is explained back to them.

The record rules come from `contracts/upload-schema.json`; the file name names the store and
the business day the file reports.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from sales_platform.domain.identifiers import DAY_PATTERN, STORE_ID_PATTERN

FIELDS: tuple[str, ...] = (
    "transaction_id",
    "transaction_timestamp",
    "item_sku",
    "item_name",
    "quantity",
    "unit_price",
    "line_total",
    "discount_amount",
    "payment_method",
    "customer_id",
)
MONEY_FIELDS: tuple[str, ...] = ("unit_price", "line_total", "discount_amount")
STRING_FIELDS: tuple[str, ...] = (
    "transaction_id",
    "transaction_timestamp",
    "item_sku",
    "item_name",
    "payment_method",
    "customer_id",
)
PAYMENT_METHODS: tuple[str, ...] = ("cash", "credit", "debit", "gift_card", "mobile")

# decimal128(10, 2): the largest amount a line can carry.
MAX_AMOUNT_TEXT = "99999999.99"

# The longest text each field may hold, in characters (Unicode code points, at most 4 bytes each
# in UTF-8). A SKU becomes part of DynamoDB keys: the sort keys `PRODUCT#<sku>` and
# `INSIGHT#TREND#product_trend-<sku>` (at most 1,024 bytes: 28 + 4 x 200 = 828) and the index
# partition key `PRODUCT#<sku>` (2,048 bytes). Names are no key, but every store-day summary
# holds five with their SKUs (about 14 KB at most) and a trend or recommendation names a few,
# far inside DynamoDB's 400 KB per item. Ids are kept to the SKU's length so no field alone
# makes a record large.
MAX_TEXT_LENGTHS: dict[str, int] = {"transaction_id": 200, "item_sku": 200, "item_name": 500, "customer_id": 200}

# How a validated upload is stored: exact money, UTC instants, compact integers.
LINE_ITEM_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("transaction_timestamp", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("item_sku", pa.string(), nullable=False),
        pa.field("item_name", pa.string(), nullable=False),
        pa.field("quantity", pa.int32(), nullable=False),
        pa.field("unit_price", pa.decimal128(10, 2), nullable=False),
        pa.field("line_total", pa.decimal128(10, 2), nullable=False),
        pa.field("discount_amount", pa.decimal128(10, 2), nullable=False),
        pa.field("payment_method", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
    ]
)

UploadFormat = Literal["json", "jsonl", "csv"]
_EXTENSIONS: dict[str, UploadFormat] = {"json": "json", "jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv"}
NAME_RULE = "store_XXXX_YYYY-MM-DD.json (or .jsonl, .ndjson, .csv), e.g. store_0001_2025-11-27.json"
_NAME = re.compile(rf"^store_(?P<store>{STORE_ID_PATTERN})_(?P<date>{DAY_PATTERN})\.(?P<ext>json|jsonl|ndjson|csv)$")


@dataclass(frozen=True)
class UploadName:
    """What a valid file name says: which store, which business day, which format."""

    file_name: str
    store_id: str
    business_date: dt.date
    format: UploadFormat


class UploadNameError(ValueError):
    """The file name does not follow the naming rule; the message says why."""


def parse_upload_name(file_name: str) -> UploadName:
    # fullmatch: `$` alone also matches before a trailing newline.
    match = _NAME.fullmatch(file_name)
    if not match:
        lowered = file_name.lower()
        hint = ""
        if _NAME.fullmatch(lowered):
            hint = " (use lower case)"
        elif lowered.endswith((".json", ".jsonl", ".ndjson", ".csv")):
            hint = "; the store id has four digits and the date is YYYY-MM-DD"
        else:
            hint = "; accepted formats are .json, .jsonl, .ndjson and .csv"
        raise UploadNameError(f"file name {file_name!r} does not match {NAME_RULE}{hint}")
    try:
        business_date = dt.date.fromisoformat(match["date"])
    except ValueError:
        raise UploadNameError(
            f"file name {file_name!r} names the day {match['date']}, which is not a real date"
        ) from None
    return UploadName(file_name, match["store"], business_date, _EXTENSIONS[match["ext"]])


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused, precise enough for a store manager to fix it."""

    message: str
    field: str | None = None
    row: int | None = None  # 1-based record number in the file
    value: str | None = None
    line: int | None = None  # for syntax errors: where in the text
    column: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {key: value for key, value in self.__dict__.items() if value is not None}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.field:
            where.append(self.field)
        return f"{' '.join(where)}: {self.message}" if where else self.message


@dataclass
class Refusal:
    """Every problem found in a refused upload (listing capped, total always counted)."""

    problems: list[Problem]
    problem_count: int
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        first = str(self.problems[0]) if self.problems else "refused"
        more = self.problem_count - 1
        return first if more <= 0 else f"{first} (and {more} more problem{'s' if more > 1 else ''})"


def routing_problems(
    upload: UploadName,
    expected_stores: list[str] | tuple[str, ...],
    first_day: dt.date,
    last_day: dt.date,
) -> list[Problem]:
    """Why a well-named file still has no place in the platform (unknown store, day out of range)."""
    problems = []
    if upload.store_id not in expected_stores:
        problems.append(
            Problem(
                f"store {upload.store_id} is not one of the expected stores "
                f"({', '.join(expected_stores)}); check the store number or ask for the store to be added",
                field="file name",
                value=upload.store_id,
            )
        )
    if upload.business_date > last_day:
        problems.append(
            Problem(
                f"the business day {upload.business_date} is in the future (latest accepted: {last_day})",
                field="file name",
                value=upload.business_date.isoformat(),
            )
        )
    elif upload.business_date < first_day:
        problems.append(
            Problem(
                f"the business day {upload.business_date} is before {first_day}, the first day the platform keeps",
                field="file name",
                value=upload.business_date.isoformat(),
            )
        )
    return problems


def route_upload(
    file_name: str,
    expected_stores: list[str] | tuple[str, ...],
    first_day: dt.date,
    last_day: dt.date,
) -> tuple[UploadName | None, list[Problem]]:
    """The store-day a file belongs to, or the problems that give it none."""
    try:
        upload = parse_upload_name(file_name)
    except UploadNameError as error:
        return None, [Problem(str(error), field="file name", value=file_name)]
    problems = routing_problems(upload, expected_stores, first_day, last_day)
    return (None if problems else upload), problems
