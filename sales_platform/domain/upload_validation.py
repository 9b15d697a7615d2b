"""Validate one store upload and turn it into typed line items.

The whole file is checked inside DuckDB, a column at a time, with no Python object per record:
a 350 MB file validates in seconds and in well under a gigabyte. A clean file is read once (and
its bytes scanned, beside that read, for what DuckDB's lenient JSON reader lets through, see
`json_text_traces`); a refused one is read a second time to say, row by row, why (see
`upload_rules`).
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sales_platform.domain import duckdb_connections
from sales_platform.domain.file_signatures import binary_file_problem
from sales_platform.domain.json_syntax import locate_syntax_error
from sales_platform.domain.json_text_traces import find_traces
from sales_platform.domain.time_zones import DEFAULT_STORE_TIMEZONE
from sales_platform.domain.upload_contract import FIELDS, LINE_ITEM_SCHEMA, Problem, Refusal, UploadName
from sales_platform.domain.upload_rules import TYPED_COLUMNS, Rule, all_pass, problems_sql, quote, records_sql, rules
from sales_platform.domain.upload_sources import (
    MAX_RECORD_BYTES,
    SourceProblem,
    csv_source,
    exact_json_source,
    fast_json_source,
)

_BATCH_ROWS = 64 * 1024
# DuckDB reports unreadable input as InvalidInputException, or, once results stream through
# Arrow, as the OSError the Arrow reader turns it into.
_READ_ERRORS = (duckdb.InvalidInputException, OSError)


@dataclass(frozen=True)
class ValidationRules:
    """The parts of the contract that configuration decides."""

    timezone: str = DEFAULT_STORE_TIMEZONE
    # Records stamped shortly after midnight still belong to the day a late shift closes.
    late_close_grace_minutes: int = 240
    max_listed_problems: int = 100


class UploadRefused(Exception):
    """The upload breaks the contract; `refusal` says everywhere it does."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.summary)
        self.refusal = refusal


def _refuse(*problems: Problem) -> UploadRefused:
    return UploadRefused(Refusal(list(problems), len(problems)))


def _connect(timezone: str) -> duckdb.DuckDBPyConnection:
    connection = duckdb_connections.connection()
    # Timestamps without an offset are the store's wall-clock time.
    connection.execute(f"SET TimeZone = {quote(timezone)}")
    return connection


def _whole_file_problems(path: Path, upload: UploadName) -> list[Problem]:
    """What is wrong with the file as a whole, seen from its first and last bytes."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4096)
        handle.seek(max(0, size - 4096))
        tail = handle.read()
    binary = binary_file_problem(head)
    if binary:
        return [Problem(binary)]
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start:
        return [Problem("the file is empty")]
    if upload.format != "json":
        return []
    if not start.startswith(b"["):
        hint = " (a file with one record per line is .jsonl: rename it)" if start.startswith(b"{") else ""
        first = start[:1].decode("latin-1")
        return [
            Problem(
                f"a .json upload must be a JSON array of records, [{{...}}, {{...}}]; it starts with {first!r}{hint}",
                line=1,
            )
        ]
    if not tail.rstrip().endswith(b"]"):
        # DuckDB reads a cut-off array up to its last whole record without complaint.
        located = locate_syntax_error(path, layout="array")
        return [
            located or Problem("the file ends before the closing ] of the array: it looks cut off; upload it again")
        ]
    return []


def _unreadable(error: Exception, path: Path, upload: UploadName) -> UploadRefused:
    """A file DuckDB could not read: say where, in lines and columns a person can go to."""
    detail = str(error).split("\n")[0].replace(str(path), upload.file_name).split(": ", 1)[-1]
    if upload.format == "csv":
        return _refuse(_cut_off_row(path) or Problem(f"the CSV cannot be read: {detail}"))
    located = locate_syntax_error(path, _layout(upload))
    return _refuse(located or Problem(f"the file cannot be read as JSON: {detail}"))


def _cut_off_row(path: Path) -> Problem | None:
    """A last row with fewer cells than the header and no line break after it: the file breaks
    off, as one still being written does."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.readline()
        handle.seek(max(0, size - MAX_RECORD_BYTES))
        tail = handle.read()
        if tail.endswith(b"\n") or b"\n" not in tail:
            return None
        handle.seek(0)
        line = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) + 1
    try:
        cells = next(csv.reader([tail.rsplit(b"\n", 1)[1].decode("utf-8", "replace")]), [])
        columns = next(csv.reader([header.decode("utf-8-sig", "replace")]), [])
    except csv.Error:
        return None
    if len(cells) >= len(columns):
        return None
    return Problem(
        f"the last row has {len(cells)} of the {len(columns)} columns and the file ends there: it looks cut off; upload it again",
        line=line,
    )


def _typed_batches(connection: duckdb.DuckDBPyConnection, sql: str) -> list[pa.RecordBatch] | None:
    """All records as typed batches, or None as soon as one breaks a rule."""
    reader = connection.sql(sql).to_arrow_reader(_BATCH_ROWS)
    batches = []
    try:
        for batch in reader:
            if not pc.all(batch.column("passes")).as_py():
                return None
            batches.append(batch.drop_columns(["passes"]))
    finally:
        reader.close()
    return batches


def _has_duplicates(connection: duckdb.DuckDBPyConnection, table: pa.Table) -> bool:
    """Whether two records are identical. Identical records share a transaction and a SKU, which
    is cheap to look for; only files where some do are compared field by field."""
    connection.register("line_items", table)
    try:
        for columns in (("transaction_id", "item_sku"), FIELDS):
            query = f"SELECT 1 FROM line_items GROUP BY {', '.join(columns)} HAVING count(*) > 1 LIMIT 1"
            if not connection.execute(query).fetchall():
                return False
        return True
    finally:
        connection.unregister("line_items")


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = connection.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _explain(
    connection: duckdb.DuckDBPyConnection, source: str, rule_list: list[Rule], config: ValidationRules
) -> Refusal:
    connection.execute(f"CREATE TEMP TABLE problems AS {records_sql(source, numbered=True)} {problems_sql(rule_list)}")
    total = _count(connection, "SELECT count(*) FROM problems")
    if total == 0:
        records = _count(connection, f"SELECT count(*) FROM ({source})")
        return Refusal([Problem("the file holds no records" if records == 0 else "the file could not be read")], 1)
    listed = connection.execute(
        "SELECT row_no, field, message, value FROM problems ORDER BY row_no, rule LIMIT ?", [config.max_listed_problems]
    ).fetchall()
    return Refusal(
        [Problem(message, field=field, row=row, value=value) for row, field, message, value in listed], total
    )


def _accepted(connection: duckdb.DuckDBPyConnection, source: str, rule_list: list[Rule]) -> pa.Table | None:
    """The typed line items when every record keeps every rule and none repeats another."""
    batches = _typed_batches(
        connection,
        f"{records_sql(source, numbered=False)} SELECT {TYPED_COLUMNS}, {all_pass(rule_list)} AS passes FROM valued",
    )
    if batches is None:
        return None
    if not any(batch.num_rows for batch in batches):
        raise _refuse(Problem("the file holds no records"))
    table = pa.Table.from_batches(batches).cast(LINE_ITEM_SCHEMA)
    return None if _has_duplicates(connection, table) else table


def _layout(upload: UploadName) -> Literal["array", "lines"]:
    return "array" if upload.format == "json" else "lines"


def validate_upload(path: Path, upload: UploadName, config: ValidationRules) -> pa.Table:
    """The upload's line items as a table in `LINE_ITEM_SCHEMA`; raises `UploadRefused`."""
    problems = _whole_file_problems(path, upload)
    if problems:
        raise _refuse(*problems)
    rule_list = rules(config.timezone, upload.business_date, config.late_close_grace_minutes)
    connection = _connect(config.timezone)
    try:
        if upload.format == "csv":
            try:
                source = csv_source(path)
                table = _accepted(connection, source, rule_list)
            except SourceProblem as bad:
                raise _refuse(*bad.problems) from None
            except _READ_ERRORS as error:
                raise _unreadable(error, path, upload) from None
        else:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="json-traces") as scanner:
                scanning = scanner.submit(find_traces, path)
                try:
                    fast = fast_json_source(path, upload.format, connection)
                    table = _accepted(connection, fast, rule_list) if fast else None
                except _READ_ERRORS:
                    # A record with other keys, or unreadable JSON: the exact pass tells which.
                    table = None
                traces = scanning.result()
            if traces.trailing_comma:
                located = locate_syntax_error(path, _layout(upload))
                if located:
                    raise _refuse(located)
            source = exact_json_source(path, upload.format)
            if table is not None and traces.long_fraction:
                table = _accepted(connection, source, rule_list)
        if table is not None:
            return table
        try:
            refusal = _explain(connection, source, rule_list, config)
        except _READ_ERRORS as error:
            raise _unreadable(error, path, upload) from None
        raise UploadRefused(refusal)
    finally:
        connection.close()
