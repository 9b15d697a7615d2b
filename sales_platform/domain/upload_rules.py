"""The record rules of the upload contract as SQL over DuckDB.

Each rule is a pair: a cheap test that a record passes, and a message saying why it does not,
which is only computed for records that fail. The fast pass asks whether every record passes
every test; the explaining pass turns each failure into a message. Both read the same tests, so
a file the fast pass refuses always gets its reasons, and a file it accepts has none.

The input is a query (a "source", see `upload_sources`) yielding `record_start`, `keys` and the
JSON text of each field, `<field>__json`, per record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sales_platform.domain.upload_contract import (
    FIELDS,
    MAX_AMOUNT_TEXT,
    MAX_TEXT_LENGTHS,
    MONEY_FIELDS,
    PAYMENT_METHODS,
    STRING_FIELDS,
)

# A number arrives as text: as written (a CSV cell, or a JSON file whose text shows a number a
# double would round, see `json_text_traces`), or as DuckDB writes the double it read (integers
# as digits, others in shortest round-trip form: "12.5", "1000.0"), which for a number of up to
# 15 significant digits is the same value. A pattern over that text therefore tells exactly
# whether a value is a non-negative whole number of cents that fits decimal(10, 2). Zeros after
# the second decimal change nothing (2.500 is 2.50), and minus zero is zero.
_ZERO = r"-0+(\.0+)?"
_VALID_AMOUNT = rf"{_ZERO}|[0-9]{{1,8}}(\.[0-9]{{1,2}}0*)?"
_AT_MOST_TWO_DECIMALS = r"[0-9]+(\.[0-9]{1,2}0*)?"
_ANY_PLAIN_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
_DATE_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
# RFC 3339: T or t (or a space), Z or z, fractions of any length; offsets exist from -12:00 to
# +14:00, so hours above 14 or minutes above 59 are typing errors, not places.
_UTC_OFFSET = r"[Zz]|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?"
_ISO_TIMESTAMP = rf"{_DATE_TIME}({_UTC_OFFSET})?"
_NUMERIC_OFFSET = r"[+-][0-9]{2}:?[0-9]{2}"
_STRING_FIELDS_PLAIN = ("item_sku", "item_name", "customer_id")


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def shown(column: str) -> str:
    """A value as a message shows it: text, shortened, never NULL."""
    text = f"CAST({column} AS VARCHAR)"
    return f"coalesce(CASE WHEN length({text}) > 60 THEN left({text}, 57) || '...' ELSE {text} END, '')"


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(quote(value) for value in values) + "]"


def _kind(field: str) -> str:
    x = f"{field}__json"
    return (
        f"CASE WHEN {x} IS NULL THEN 'missing' WHEN {x} = 'null' THEN 'null' "
        f"WHEN left({x}, 1) = '\"' THEN 'text' WHEN {x} IN ('true', 'false') THEN 'boolean' "
        f"WHEN left({x}, 1) IN ('{{', '[') THEN 'structure' ELSE 'number' END"
    )


def _wrong_type(field: str, expected: str, wanted: str) -> str:
    """Why a value has the wrong JSON type, or NULL when its type is right."""
    kind = _kind(field)
    return (
        f"CASE WHEN {field}__json IS NULL THEN 'the field is missing' "
        f"WHEN {field}__json = 'null' THEN 'must be {expected}, got null' "
        f"WHEN ({kind}) <> '{wanted}' THEN 'must be {expected}, got ' "
        f"|| CASE WHEN ({kind}) = 'text' THEN 'the text ' ELSE '' END || {shown(f'{field}__json')} END"
    )


def _amount(column: str) -> str:
    return f"CAST(CAST({column} AS DECIMAL(38, 2)) AS VARCHAR)"


def _fits(field: str) -> str:
    """Whether a text is within its length limit. Its JSON text is never shorter than the text
    plus its quotes, and its length in bytes is known without reading it; the characters are
    counted only for the rare text whose bytes exceed the limit (a CASE, unlike OR, leaves the
    count to those)."""
    limit = MAX_TEXT_LENGTHS[field]
    return f"CASE WHEN strlen({field}__json) <= {limit + 2} THEN true ELSE length({field}__text) <= {limit} END"


def _too_long(field: str) -> str:
    return f"'has ' || length({field}__text) || ' characters; at most {MAX_TEXT_LENGTHS[field]} are accepted'"


@dataclass(frozen=True)
class Rule:
    name: str
    field: str | None  # the field a report names
    passes: str  # SQL, true when the record keeps the rule (NULL counts as breaking it)
    why: str  # SQL message, evaluated only for records that break the rule
    shows: str | None = None  # the column whose value a report shows


def business_day_bounds(business_date: dt.date, timezone: str, grace_minutes: int) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants between which a record belongs to the business day: local midnight to
    the next local midnight plus the grace, whatever daylight saving does that night."""
    zone = ZoneInfo(timezone)
    opens = dt.datetime.combine(business_date, dt.time(0), zone)
    closes = dt.datetime.combine(business_date + dt.timedelta(days=1), dt.time(0), zone)
    return (
        opens.astimezone(dt.UTC),
        (closes.astimezone(dt.UTC) + dt.timedelta(minutes=grace_minutes)),
    )


def rules(timezone: str, business_date: dt.date, grace_minutes: int) -> list[Rule]:
    day = business_date.isoformat()
    grace = int(grace_minutes)
    opens, closes = business_day_bounds(business_date, timezone, grace)
    expected = sql_list(FIELDS)
    extra_keys = f"list_filter(keys, lambda k: NOT list_contains({expected}, k))"
    is_object = "left(record_start, 1) = '{'"
    result = [
        Rule(
            "record",
            None,
            # Exporters write the fields in one order, and comparing with that order is cheap; a
            # CASE (unlike OR) leaves the general test to the records in another order.
            f"""CASE WHEN array_to_string(keys, chr(31)) = {quote(chr(31).join(FIELDS))} THEN true
                     ELSE {is_object} AND len(keys) = len(list_distinct(keys)) AND len({extra_keys}) = 0 END""",
            f"""CASE WHEN NOT {is_object}
                     THEN 'each record must be an object such as {{"transaction_id": ...}}; got ' || {shown("record_start")}
                     WHEN len(keys) <> len(list_distinct(keys)) THEN 'a field appears more than once in the record'
                     ELSE 'field(s) ' || array_to_string({extra_keys}, ', ')
                          || ' are not part of the upload format, whose fields are {", ".join(FIELDS)}' END""",
        ),
        Rule(
            "transaction_id",
            "transaction_id",
            f"left(transaction_id__json, 1) = '\"' AND transaction_id__json <> '\"\"' AND {_fits('transaction_id')}",
            f"coalesce({_wrong_type('transaction_id', 'text', 'text')}, "
            f"CASE WHEN transaction_id__json = '\"\"' THEN 'must not be empty' ELSE {_too_long('transaction_id')} END)",
            "transaction_id__json",
        ),
        Rule(
            "transaction_timestamp",
            "transaction_timestamp",
            "transaction_timestamp__value IS NOT NULL",
            f"coalesce({_wrong_type('transaction_timestamp', 'an ISO 8601 date and time text', 'text')}, "
            f"CASE WHEN regexp_full_match(transaction_timestamp__text, '{_DATE_TIME}{_NUMERIC_OFFSET}') "
            f"AND NOT regexp_full_match(transaction_timestamp__text, '{_ISO_TIMESTAMP}') "
            f"THEN 'has the UTC offset ' || regexp_extract(transaction_timestamp__text, '{_NUMERIC_OFFSET}$') "
            f"|| ', which no place has (offsets run from -12:00 to +14:00, minutes 00 to 59): ' "
            f"|| {shown('transaction_timestamp__text')} "
            f"ELSE 'must be an ISO 8601 date and time such as 2025-11-27T14:03:11-05:00, got ' "
            f"|| {shown('transaction_timestamp__text')} END)",
            "transaction_timestamp__json",
        ),
        *(
            Rule(
                name,
                name,
                f"left({name}__json, 1) = '\"' AND {_fits(name)}",
                f"coalesce({_wrong_type(name, 'text', 'text')}, {_too_long(name)})",
                f"{name}__json",
            )
            for name in _STRING_FIELDS_PLAIN
        ),
        Rule(
            "payment_method",
            "payment_method",
            f"list_contains({sql_list(PAYMENT_METHODS)}, payment_method__text)",
            f"coalesce({_wrong_type('payment_method', 'text', 'text')}, "
            f"'must be one of {', '.join(PAYMENT_METHODS)}; got ' || {shown('payment_method__text')})",
            "payment_method__json",
        ),
        Rule(
            "quantity",
            "quantity",
            "quantity__value >= 1",
            f"""coalesce({_wrong_type("quantity", "a whole number", "number")},
                CASE WHEN regexp_full_match(quantity__json, '-?[0-9]+(\\.0+)?') AND left(quantity__json, 1) = '-'
                     THEN 'must be at least 1, got ' || quantity__json
                     WHEN regexp_full_match(quantity__json, '[0-9]+(\\.0+)?')
                     THEN CASE WHEN TRY_CAST(split_part(quantity__json, '.', 1) AS HUGEINT) < 1
                               THEN 'must be at least 1, got ' || quantity__json
                               ELSE 'is too large: ' || quantity__json END
                     ELSE 'must be a whole number, got ' || {shown("quantity__json")} END)""",
            "quantity__json",
        ),
        *(
            Rule(
                name,
                name,
                f"{name}__value IS NOT NULL",
                f"""coalesce({_wrong_type(name, "an amount such as 12.50", "number")},
                    CASE WHEN NOT regexp_full_match({name}__json, '{_ANY_PLAIN_NUMBER}')
                         THEN 'must be a plain amount with at most 2 decimals such as 12.50, got ' || {shown(f"{name}__json")}
                         WHEN left({name}__json, 1) = '-' THEN 'must not be negative, got ' || {shown(f"{name}__json")}
                         WHEN NOT regexp_full_match({name}__json, '{_AT_MOST_TWO_DECIMALS}')
                         THEN 'has more than 2 decimals: ' || {shown(f"{name}__json")}
                         ELSE 'is larger than the largest accepted amount {MAX_AMOUNT_TEXT}: ' || {shown(f"{name}__json")} END)""",
                f"{name}__json",
            )
            for name in MONEY_FIELDS
        ),
        Rule(
            "business_day",
            "transaction_timestamp",
            # Without a readable time the timestamp rule already speaks.
            f"transaction_timestamp__value IS NULL OR (transaction_timestamp__value >= TIMESTAMPTZ '{opens.isoformat()}' "
            f"AND transaction_timestamp__value < TIMESTAMPTZ '{closes.isoformat()}')",
            f"'the time ' || transaction_timestamp__text || ' is ' "
            f"|| strftime(timezone({quote(timezone)}, transaction_timestamp__value), '%Y-%m-%d %H:%M') "
            f"|| ' in {timezone}, outside the business day {day} that the file name gives"
            + (f" (records up to {grace} minutes after midnight still count)'" if grace else "'"),
            "transaction_timestamp__json",
        ),
        Rule(
            "line_total_math",
            "line_total",
            # Speaks only about values that are themselves valid; each field's rule covers the rest.
            "quantity__value IS NULL OR unit_price__value IS NULL OR line_total__value IS NULL "
            "OR abs(line_total__value - quantity__value * unit_price__value) <= 0.01",
            f"'line_total ' || {_amount('line_total__value')} || ' does not equal quantity x unit_price = ' "
            f"|| quantity__value || ' x ' || {_amount('unit_price__value')} || ' = ' "
            f"|| {_amount('quantity__value * unit_price__value')}",
            "line_total__json",
        ),
        Rule(
            "discount_within_total",
            "discount_amount",
            "discount_amount__value IS NULL OR line_total__value IS NULL OR discount_amount__value <= line_total__value",
            f"'discount_amount ' || {_amount('discount_amount__value')} || ' is larger than line_total ' "
            f"|| {_amount('line_total__value')}",
            "discount_amount__json",
        ),
    ]
    return result


def _text_value(field: str) -> str:
    x = f"{field}__json"
    return (
        f"CASE WHEN left({x}, 1) = '\"' THEN CASE WHEN contains({x}, '\\') "
        f"THEN json_extract_string({x}, '$') ELSE {x}[2:-2] END END AS {field}__text"
    )


def records_sql(source: str, numbered: bool) -> str:
    """CTEs ending in `valued`: one row per record with each field's JSON text (`<f>__json`),
    string values (`<f>__text`) and typed values (`<f>__value`, NULL where invalid)."""
    texts = ", ".join(_text_value(name) for name in STRING_FIELDS)
    amounts = ", ".join(
        f"CASE WHEN regexp_full_match({name}__json, '{_VALID_AMOUNT}') THEN CAST({name}__json AS DECIMAL(10, 2)) "
        f"END AS {name}__value"
        for name in MONEY_FIELDS
    )
    stamp = "transaction_timestamp__text"
    return f"""
WITH raw AS (SELECT {"row_number() OVER () AS row_no, " if numbered else ""}* FROM ({source})),
texts AS (SELECT *, {texts} FROM raw),
stamped AS (
    SELECT *,
        -- DuckDB reads only upper-case T and Z, which RFC 3339 leaves to taste.
        CASE WHEN regexp_full_match({stamp}, '{_ISO_TIMESTAMP}')
             THEN coalesce(TRY_CAST({stamp} AS TIMESTAMPTZ), TRY_CAST(upper({stamp}) AS TIMESTAMPTZ))
        END AS transaction_timestamp__read
    FROM texts
),
valued AS (
    SELECT *, {amounts},
        CASE WHEN regexp_full_match(quantity__json, '[0-9]{{1,9}}') THEN CAST(quantity__json AS INTEGER)
             WHEN regexp_full_match(quantity__json, '[0-9]{{1,9}}\\.0+') THEN CAST(split_part(quantity__json, '.', 1) AS INTEGER)
        END AS quantity__value,
        -- Kept to the millisecond, as stored: finer fractions are cut off, never rounded up,
        -- so an instant never moves into the next second, or day.
        make_timestamptz(epoch_ms(transaction_timestamp__read) * 1000) AS transaction_timestamp__value
    FROM stamped
)
"""


def all_pass(rule_list: list[Rule]) -> str:
    return " AND ".join(f"coalesce({rule.passes}, false)" for rule in rule_list)


TYPED_COLUMNS = ", ".join(
    [
        "transaction_id__text AS transaction_id",
        "transaction_timestamp__value AS transaction_timestamp",
        "item_sku__text AS item_sku",
        "item_name__text AS item_name",
        "quantity__value AS quantity",
        *(f"{name}__value AS {name}" for name in MONEY_FIELDS),
        "payment_method__text AS payment_method",
        "customer_id__text AS customer_id",
    ]
)


def problems_sql(rule_list: list[Rule]) -> str:
    """After `records_sql(numbered=True)`: one row (row_no, rule, field, message, value) per broken
    rule, plus one per record that repeats an earlier one exactly."""
    parts = [
        f"SELECT row_no, {index} AS rule, {quote(rule.field) if rule.field else 'NULL'} AS field, "
        f"coalesce({rule.why}, 'is not valid') AS message, "
        f"{shown(rule.shows) if rule.shows else 'NULL'} AS value "
        f"FROM valued WHERE NOT coalesce({rule.passes}, false)"
        for index, rule in enumerate(rule_list)
    ]
    typed = ", ".join(column.split(" AS ")[0] for column in TYPED_COLUMNS.split(", "))
    parts.append(
        f"""SELECT row_no, {len(rule_list)} AS rule, NULL AS field,
               'this record is identical to row ' || first_row AS message, NULL AS value
        FROM (SELECT row_no, min(row_no) OVER (PARTITION BY {typed}) AS first_row
              FROM valued WHERE {all_pass(rule_list)})
        WHERE row_no <> first_row"""
    )
    return " UNION ALL ".join(parts)
