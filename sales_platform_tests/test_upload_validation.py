"""What a store's file must be to be accepted, and what a refusal tells the store."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from sales_platform.domain.upload_contract import (
    FIELDS,
    LINE_ITEM_SCHEMA,
    PAYMENT_METHODS,
    UploadNameError,
    parse_upload_name,
    route_upload,
)
from sales_platform.domain.upload_validation import UploadRefused, ValidationRules, validate_upload

DAY = dt.date(2025, 11, 27)
RULES = ValidationRules(timezone="America/New_York", late_close_grace_minutes=240, max_listed_problems=100)


def line(**changes):
    record = {
        "transaction_id": "TXN-0001-20251127-000001",
        "transaction_timestamp": "2025-11-27T10:15:00-05:00",
        "item_sku": "SKU-00001",
        "item_name": "Whole milk 1L",
        "quantity": 2,
        "unit_price": 1.50,
        "line_total": 3.00,
        "discount_amount": 0.25,
        "payment_method": "credit",
        "customer_id": "CUST-000042",
    }
    record.update(changes)
    return record


def second_line(**changes):
    fields = {"item_sku": "SKU-00002", "item_name": "Bread", "quantity": 1, "unit_price": 2.25, "line_total": 2.25}
    return line(**{**fields, "discount_amount": 0, **changes})


def write(tmp_path: Path, content, name="store_0001_2025-11-27.json") -> tuple[Path, str]:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content, indent=2))
    return path, name


def accepted(tmp_path, content, name="store_0001_2025-11-27.json", rules=RULES) -> pa.Table:
    path, name = write(tmp_path, content, name)
    return validate_upload(path, parse_upload_name(name), rules)


def refused(tmp_path, content, name="store_0001_2025-11-27.json", rules=RULES):
    path, name = write(tmp_path, content, name)
    with pytest.raises(UploadRefused) as caught:
        validate_upload(path, parse_upload_name(name), rules)
    return caught.value.refusal


def the_problem(refusal):
    assert refusal.problem_count == 1, [str(p) for p in refusal.problems]
    return refusal.problems[0]


# --- accepted -------------------------------------------------------------------------------


def test_a_valid_json_array_becomes_typed_line_items(tmp_path):
    table = accepted(tmp_path, [line(), second_line()])
    assert table.schema.equals(LINE_ITEM_SCHEMA)
    assert table.num_rows == 2
    first = table.to_pylist()[0]
    assert first["transaction_timestamp"] == dt.datetime(2025, 11, 27, 15, 15, tzinfo=dt.UTC)
    assert first["unit_price"] == Decimal("1.50") and first["line_total"] == Decimal("3.00")
    assert first["discount_amount"] == Decimal("0.25") and first["quantity"] == 2
    assert table.column("item_name").to_pylist() == ["Whole milk 1L", "Bread"]


def test_jsonl_and_csv_carry_the_same_records_as_json(tmp_path):
    records = [line(item_name='Tea "Earl Grey", loose'), second_line()]
    from_json = accepted(tmp_path, records)
    jsonl = "\n".join(json.dumps(record) for record in records) + "\n"
    from_jsonl = accepted(tmp_path, jsonl, name="store_0001_2025-11-27.jsonl")
    from_ndjson = accepted(tmp_path, jsonl, name="store_0001_2025-11-27.ndjson")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(records)
    from_csv = accepted(tmp_path, buffer.getvalue(), name="store_0001_2025-11-27.csv")
    for other in (from_jsonl, from_ndjson, from_csv):
        assert other.equals(from_json)


def test_csv_columns_may_come_in_any_order_and_with_a_byte_order_mark(tmp_path):
    order = list(reversed(FIELDS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=order)
    writer.writeheader()
    writer.writerow(line(unit_price="1.50", line_total="3.00", discount_amount="0.25"))
    table = accepted(tmp_path, b"\xef\xbb\xbf" + buffer.getvalue().encode(), name="store_0001_2025-11-27.csv")
    assert table.column("line_total").to_pylist() == [Decimal("3.00")]


def test_fields_in_another_order_escaped_text_and_whole_number_money_are_fine(tmp_path):
    record = dict(
        reversed(list(line(item_name='Caf\u00e9 \\ "noir"', unit_price=2, line_total=4, quantity=2.0).items()))
    )
    table = accepted(tmp_path, [record])
    row = table.to_pylist()[0]
    assert row["item_name"] == 'Café \\ "noir"'
    assert row["unit_price"] == Decimal("2.00") and row["quantity"] == 2


def test_timestamps_in_utc_with_offsets_or_without_zone_are_read_as_store_time(tmp_path):
    table = accepted(
        tmp_path,
        [
            line(transaction_timestamp="2025-11-27T15:15:00Z"),
            second_line(transaction_timestamp="2025-11-27T10:15:00.250"),  # store's wall clock
        ],
    )
    instants = table.column("transaction_timestamp").to_pylist()
    assert instants[0] == dt.datetime(2025, 11, 27, 15, 15, tzinfo=dt.UTC)
    assert instants[1] == dt.datetime(2025, 11, 27, 15, 15, 0, 250000, tzinfo=dt.UTC)


def test_late_closing_records_after_midnight_count_within_the_grace(tmp_path):
    late = line(transaction_timestamp="2025-11-28T02:30:00-05:00")
    assert accepted(tmp_path, [late]).num_rows == 1
    problem = the_problem(refused(tmp_path, [late], rules=ValidationRules(late_close_grace_minutes=60)))
    assert problem.field == "transaction_timestamp" and "outside the business day 2025-11-27" in problem.message


def test_a_line_total_off_by_one_cent_is_accepted(tmp_path):
    # three for $10.00: the unit price is rounded, the line is not
    assert accepted(tmp_path, [line(quantity=3, unit_price=3.33, line_total=10.00, discount_amount=0)]).num_rows == 1


# --- refused: one rule at a time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"quantity": "2"}, "quantity", 'must be a whole number, got the text "2"'),
        ({"quantity": 2.5, "line_total": 3.75}, "quantity", "must be a whole number, got 2.5"),
        ({"quantity": 0, "line_total": 0, "discount_amount": 0}, "quantity", "must be at least 1"),
        ({"quantity": None}, "quantity", "got null"),
        ({"unit_price": "1.50"}, "unit_price", 'must be an amount such as 12.50, got the text "1.50"'),
        ({"unit_price": 1.505, "line_total": 3.01}, "unit_price", "more than 2 decimals: 1.505"),
        ({"unit_price": -1.5}, "unit_price", "must not be negative, got -1.5"),
        ({"discount_amount": -0.25}, "discount_amount", "must not be negative"),
        ({"discount_amount": 3.5}, "discount_amount", "discount_amount 3.50 is larger than line_total 3.00"),
        ({"line_total": 3.5}, "line_total", "does not equal quantity x unit_price = 2 x 1.50 = 3.00"),
        ({"unit_price": 123456789.0}, "unit_price", "larger than the largest accepted amount 99999999.99"),
        (
            {"payment_method": "visa"},
            "payment_method",
            "must be one of cash, credit, debit, gift_card, mobile; got visa",
        ),
        ({"transaction_id": ""}, "transaction_id", "must not be empty"),
        ({"transaction_id": 17}, "transaction_id", "must be text, got 17"),
        ({"item_name": ["milk"]}, "item_name", "must be text"),
        ({"customer_id": True}, "customer_id", "must be text, got true"),
        ({"transaction_timestamp": "27/11/2025 10:15"}, "transaction_timestamp", "must be an ISO 8601 date and time"),
        ({"transaction_timestamp": "2025-11-27"}, "transaction_timestamp", "must be an ISO 8601 date and time"),
        (
            {"transaction_timestamp": "2025-11-31T10:00:00Z"},
            "transaction_timestamp",
            "must be an ISO 8601 date and time",
        ),
        ({"transaction_timestamp": "2025-11-26T23:59:00-05:00"}, "transaction_timestamp", "outside the business day"),
    ],
)
def test_each_broken_rule_is_named_with_its_row_field_and_value(tmp_path, changes, field, words):
    problem = the_problem(refused(tmp_path, [second_line(), line(**changes)]))
    assert problem.row == 2
    assert problem.field == field
    assert words in problem.message


def test_a_missing_field_and_an_extra_field_are_both_named(tmp_path):
    record = line(loyalty_points=12)
    del record["customer_id"]
    refusal = refused(tmp_path, [second_line(), record])
    messages = {(p.row, p.field): p.message for p in refusal.problems}
    assert messages[(2, "customer_id")] == "the field is missing"
    assert "loyalty_points" in messages[(2, None)] and "not part of the upload format" in messages[(2, None)]


def test_an_extra_field_in_the_first_record_is_named(tmp_path):
    problem = the_problem(refused(tmp_path, [line(store="0001"), second_line()]))
    assert problem.row == 1 and "store" in problem.message


def test_a_field_twice_in_one_record_is_refused(tmp_path):
    text = json.dumps([line()])[:-2] + ', "quantity": 3}]'
    refusal = refused(tmp_path, text)
    assert any("more than once" in p.message for p in refusal.problems)


def test_nan_and_infinity_are_not_amounts(tmp_path):
    text = json.dumps([line(unit_price=float("nan")), second_line(line_total=float("inf"))])
    refusal = refused(tmp_path, text)
    values = {(p.row, p.field): p.message for p in refusal.problems}
    assert "NaN" in values[(1, "unit_price")]
    assert "Infinity" in values[(2, "line_total")] or "inf" in values[(2, "line_total")].lower()


def test_the_same_record_twice_is_refused_naming_the_first(tmp_path):
    problem = the_problem(refused(tmp_path, [line(), second_line(), line()]))
    assert problem.row == 3 and problem.message == "this record is identical to row 1"


def test_two_lines_of_one_transaction_that_differ_are_not_duplicates(tmp_path):
    assert accepted(tmp_path, [line(), line(item_sku="SKU-00009")]).num_rows == 2


def test_every_problem_is_counted_but_the_listing_is_capped(tmp_path):
    records = [line(transaction_id=f"T{n}", payment_method="visa") for n in range(250)]
    refusal = refused(tmp_path, records)
    assert refusal.problem_count == 250
    assert len(refusal.problems) == 100
    assert [p.row for p in refusal.problems[:3]] == [1, 2, 3]
    assert "249 more problems" in refusal.summary


# --- refused: the file as a whole -----------------------------------------------------------------


def test_an_empty_array_or_empty_file_is_refused(tmp_path):
    assert the_problem(refused(tmp_path, "[]")).message == "the file holds no records"
    assert the_problem(refused(tmp_path, "  \n")).message == "the file is empty"


def test_a_json_object_instead_of_an_array_says_what_to_do(tmp_path):
    problem = the_problem(refused(tmp_path, json.dumps(line())))
    assert "must be a JSON array" in problem.message and ".jsonl" in problem.message


def test_a_record_that_is_not_an_object_is_refused(tmp_path):
    refusal = refused(tmp_path, json.dumps([line(), 5]))
    assert any(p.row == 2 and "must be an object" in p.message for p in refusal.problems)


def test_a_syntax_error_is_located_by_line_and_column(tmp_path):
    text = "[\n" + json.dumps(line()) + ",\n" + json.dumps(second_line()).replace('"quantity":', '"quantity"') + "\n]"
    problem = the_problem(refused(tmp_path, text))
    assert problem.line == 3
    assert problem.column == json.dumps(second_line()).index('"quantity"') + len('"quantity"') + 2
    assert "not valid JSON" in problem.message


def test_a_file_cut_off_mid_record_is_called_cut_off(tmp_path):
    text = json.dumps([line(), second_line()], indent=2)
    problem = the_problem(refused(tmp_path, text[: len(text) - 40]))
    assert "cut off" in problem.message and problem.line is not None


def test_invalid_utf8_is_located(tmp_path):
    text = json.dumps([line(), second_line(item_name="Cr\u00e8me")], indent=2, ensure_ascii=False).encode("utf-8")
    broken = text.replace("è".encode(), b"\xe8")  # Latin-1, as an old export might write it
    problem = the_problem(refused(tmp_path, broken))
    lines = broken.split(b"\n")
    expected_line = next(n for n, raw in enumerate(lines, start=1) if b"\xe8" in raw)
    assert problem.line == expected_line and problem.column == lines[expected_line - 1].index(b"\xe8") + 1
    assert "UTF-8" in problem.message


def test_jsonl_errors_name_the_line(tmp_path):
    text = json.dumps(line()) + "\n" + '{"transaction_id": "T2", oops}\n'
    problem = the_problem(refused(tmp_path, text, name="store_0001_2025-11-27.jsonl"))
    assert problem.line == 2


def test_a_csv_with_missing_or_foreign_columns_is_refused_at_the_header(tmp_path):
    header = [name for name in FIELDS if name != "customer_id"] + ["store"]
    text = ",".join(header) + "\n" + ",".join("x" for _ in header) + "\n"
    refusal = refused(tmp_path, text, name="store_0001_2025-11-27.csv")
    messages = " / ".join(p.message for p in refusal.problems)
    assert "lacks the column(s) customer_id" in messages and "store" in messages


def test_csv_cells_are_typed_like_json_values(tmp_path):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerow(line(quantity="two"))
    problem = the_problem(refused(tmp_path, buffer.getvalue(), name="store_0001_2025-11-27.csv"))
    assert problem.field == "quantity" and 'got the text "two"' in problem.message


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("sales_export.json", "does not match store_XXXX_YYYY-MM-DD.json"),
        ("store_12_2025-11-27.json", "four digits"),
        ("Store_0001_2025-11-27.json", "lower case"),
        ("store_0001_2025-11-27.xlsx", "accepted formats"),
        ("store_0001_2025-02-30.json", "2025-02-30, which is not a real date"),
    ],
)
def test_bad_file_names_are_explained(name, words):
    with pytest.raises(UploadNameError, match=words):
        parse_upload_name(name)


def test_routing_refuses_unknown_stores_and_days_outside_the_partitions():
    stores = ["0001", "0002"]
    first, last = dt.date(2025, 1, 1), dt.date(2025, 11, 27)
    upload, problems = route_upload("store_0001_2025-11-27.csv", stores, first, last)
    assert upload is not None and upload.format == "csv" and not problems
    for name, words in [
        ("store_0003_2025-11-27.json", "store 0003 is not one of the expected stores (0001, 0002)"),
        ("store_0001_2025-11-28.json", "in the future"),
        ("store_0001_2024-12-31.json", "before 2025-01-01"),
    ]:
        upload, problems = route_upload(name, stores, first, last)
        assert upload is None and words in problems[0].message


@pytest.mark.slow
def test_problems_deep_in_a_large_file_are_found(tmp_path):
    # Beyond the first record and the first batches the fast reader looks at.
    records = [line(transaction_id=f"T{n:06d}") for n in range(70_000)]
    records[69_000]["coupon"] = "XMAS"
    records[69_001]["item_name"] = "Cr\u00e8me"
    text = json.dumps(records, ensure_ascii=False).encode()
    refusal = refused(tmp_path, text)
    assert refusal.problems[0].row == 69_001 and "coupon" in refusal.problems[0].message
    encoded = text.replace("è".encode(), b"\xe8")
    problem = the_problem(refused(tmp_path, encoded))
    assert "UTF-8" in problem.message and problem.line == 1


def test_store_ids_are_ascii_digits_only():
    with pytest.raises(UploadNameError):
        parse_upload_name("store_\u0660\u0660\u0660\u0661_2025-11-27.json")  # Arabic-Indic digits


def test_the_rules_follow_the_stores_contract():
    contract = json.loads(
        (Path(__file__).resolve().parents[1] / "docs" / "contracts" / "upload-schema.json").read_text()
    )
    record = contract["items"]
    assert tuple(record["required"]) == FIELDS and list(record["properties"]) == list(FIELDS)
    assert record["additionalProperties"] is False
    assert tuple(record["properties"]["payment_method"]["enum"]) == PAYMENT_METHODS
    assert record["properties"]["quantity"]["minimum"] == 1 and record["properties"]["discount_amount"]["minimum"] == 0


# --- the literal text, and what a lenient reader would let through ----------------------------


def test_minus_zero_is_zero_however_it_is_written(tmp_path):
    text = json.dumps([line(), second_line()])
    text = text.replace('"discount_amount": 0.25', '"discount_amount": -0.0').replace(
        '"discount_amount": 0,', '"discount_amount": -0,'
    )
    assert accepted(tmp_path, text).column("discount_amount").to_pylist() == [Decimal("0.00"), Decimal("0.00")]


def test_lower_case_t_and_z_read_as_the_same_instant(tmp_path):
    upper = accepted(tmp_path, [line(transaction_timestamp="2025-11-27T15:15:00.5Z")])
    lower = accepted(tmp_path, [line(transaction_timestamp="2025-11-27t15:15:00.5z")])
    assert lower.equals(upper)


@pytest.mark.slow
def test_a_number_a_double_would_round_is_found_deep_in_a_large_file(tmp_path):
    records = [line(transaction_id=f"T{n:06d}") for n in range(70_000)]
    text = json.dumps(records)
    marker = '"transaction_id": "T069000", '
    at = text.index(marker)
    text = text[:at] + text[at:].replace('"unit_price": 1.5', '"unit_price": 1.5000000000000001', 1)
    problem = the_problem(refused(tmp_path, text))
    assert (problem.row, problem.field) == (69_001, "unit_price")
    assert problem.message == "has more than 2 decimals: 1.5000000000000001"


@pytest.mark.slow
def test_a_trailing_comma_deep_in_a_large_file_is_located(tmp_path):
    records = [line(transaction_id=f"T{n:06d}") for n in range(70_000)]
    text = json.dumps(records, indent=1)
    marker = '"transaction_id": "T069000"'
    end = text.index("\n }", text.index(marker))
    text = text[:end] + "," + text[end:]
    problem = the_problem(refused(tmp_path, text))
    expected_line = text[:end].count("\n") + 1
    assert (problem.line, problem.column) == (expected_line, len(text[: end + 1].rsplit("\n", 1)[1]))
    assert "a comma before the closing }" in problem.message


def test_traces_are_found_across_the_chunks_the_scan_reads(tmp_path, monkeypatch):
    from sales_platform.domain import json_text_traces

    monkeypatch.setattr(json_text_traces, "_CHUNK", 7)
    path = tmp_path / "f.json"
    for text, traces in [
        ('[{"a": 1,' + " " * 40 + "\n\n}]", (True, False)),
        ('[{"a": 1.12345678}]', (False, True)),
        ('[{"a": 1.123456, "b": [1, 2]}]', (False, False)),
    ]:
        path.write_text(text)
        found = json_text_traces.find_traces(path)
        assert (found.trailing_comma, found.long_fraction) == traces, text


def test_a_text_that_only_looks_like_a_trace_is_accepted_and_kept_as_written(tmp_path):
    table = accepted(tmp_path, [line(item_name="Nuts, }salted 1.12345678")])
    assert table.column("item_name").to_pylist() == ["Nuts, }salted 1.12345678"]


@pytest.mark.parametrize(
    ("field", "limit"), [("transaction_id", 200), ("item_sku", 200), ("item_name", 500), ("customer_id", 200)]
)
def test_text_fields_are_held_to_their_length_in_characters(tmp_path, field, limit):
    # Four bytes a character in UTF-8: the limit counts characters, not bytes.
    assert accepted(tmp_path, [line(**{field: "\U0001f95b" * limit})]).num_rows == 1
    problem = the_problem(refused(tmp_path, [line(**{field: "x" * (limit + 1)})]))
    assert problem.field == field and problem.message == f"has {limit + 1} characters; at most {limit} are accepted"
