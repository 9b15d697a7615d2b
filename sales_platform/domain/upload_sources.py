"""Each upload format as SQL sources of records for the contract rules.

A source yields, per record: `record_start` (the first characters of the record as written),
`keys` (its field names in file order) and `<field>__json`, the JSON text of each contract field
(NULL where absent). CSV has no types of its own: a cell that reads as a number becomes a JSON
number and anything else a JSON string, so one set of rules and messages serves every format.

JSON files have two sources. The fast one lets DuckDB's reader check the field names while it
parses (it refuses a record with a key it was not told about), so each record is parsed once;
its numbers are doubles written back as text. It stops at the first broken record, so a refused
file is read again with the exact source, which looks at every record's keys to say what is
wrong with each, and takes each number as written in the file. A file whose text shows a number
a double would round (see `json_text_traces`) is accepted only by the exact source.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from sales_platform.domain.upload_contract import FIELDS, MONEY_FIELDS, Problem, UploadFormat
from sales_platform.domain.upload_rules import quote, sql_list

# A record larger than this is not a sales line; it would only make the reader buffer more.
MAX_RECORD_BYTES = 1 << 20
_PLAIN_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
_CSV_NUMBER = r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_NUMERIC_FIELDS = ("quantity", *MONEY_FIELDS)
_ALL_KEYS = sql_list(FIELDS)


class SourceProblem(Exception):
    """The file cannot become a source of records at all; `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def _layout(upload_format: UploadFormat) -> str:
    return "array" if upload_format == "json" else "newline_delimited"


def fast_json_source(path: Path, upload_format: UploadFormat, connection: duckdb.DuckDBPyConnection) -> str | None:
    """One parse per record, or None when the first record already has other fields than the
    contract's (the explaining source then says which)."""
    # The first record fixes the field names; depth 1 keeps every value as raw JSON text.
    reader = (
        f"read_json({quote(str(path))}, format='{_layout(upload_format)}', sample_size=1, maximum_depth=1, "
        f"maximum_object_size={MAX_RECORD_BYTES})"
    )
    columns = connection.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    if sorted(name for name, kind, *_ in columns if kind == "JSON") != sorted(FIELDS) or len(columns) != len(FIELDS):
        return None
    values = ", ".join(f"CAST({name} AS VARCHAR) AS {name}__json" for name in FIELDS)
    return f"SELECT '{{' AS record_start, {_ALL_KEYS} AS keys, {values} FROM {reader}"


def _as_written(name: str, index: int) -> str:
    """A number field's text as the record has it, where it is a plain decimal: DuckDB writes the
    double it read, and 2.5000000000000001 would come back as 2.5. A number in exponent form
    keeps the value it was read as."""
    value = f"CAST(v[{index + 1}] AS VARCHAR)"
    blank = r"[ \t\r\n]*"
    pattern = f'"{name}"{blank}:{blank}({_PLAIN_NUMBER}){blank}[,}}]'
    literal = f"nullif(regexp_extract(raw, {quote(pattern)}, 1), '')"
    number = f"left({value}, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"
    return f"CASE WHEN {number} THEN coalesce({literal}, {value}) ELSE {value} END"


def exact_json_source(path: Path, upload_format: UploadFormat) -> str:
    paths = ", ".join(quote(f"$.{name}") for name in FIELDS)
    values = ", ".join(
        f"{_as_written(name, i) if name in _NUMERIC_FIELDS else f'CAST(v[{i + 1}] AS VARCHAR)'} AS {name}__json"
        for i, name in enumerate(FIELDS)
    )
    return f"""
    SELECT record_start, keys, {values} FROM (
        SELECT left(json::VARCHAR, 40) AS record_start, json_keys(json) AS keys, json_extract(json, [{paths}]) AS v,
               json::VARCHAR AS raw
        FROM read_json_objects({quote(str(path))}, format='{_layout(upload_format)}', maximum_object_size={MAX_RECORD_BYTES}))"""


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _header_problems(header: list[str]) -> list[Problem]:
    if not header:
        return [Problem("the file is empty; its first row must name the columns", line=1)]
    problems = []
    unnamed = [number for number, name in enumerate(header, start=1) if not name]
    if unnamed:
        where = ", ".join(str(number) for number in unnamed)
        hint = " (a comma at the end of the header row?)" if unnamed[-1] == len(header) else ""
        problems.append(
            Problem(
                f"column(s) {where} of the header row have no name{hint}; every column needs one",
                field="header",
                line=1,
            )
        )
    missing = [name for name in FIELDS if name not in header]
    extra = [name for name in header if name and name not in FIELDS]
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if missing:
        problems.append(Problem(f"the header row lacks the column(s) {', '.join(missing)}", field="header", line=1))
    if extra:
        problems.append(
            Problem(
                f"the header row has column(s) outside the upload format: {', '.join(extra)}", field="header", line=1
            )
        )
    if twice:
        problems.append(Problem(f"the header row names {', '.join(twice)} more than once", field="header", line=1))
    return problems


def csv_source(path: Path) -> str:
    """Raises SourceProblem when the header row does not name the contract's columns."""
    header = _csv_header(path)
    problems = _header_problems(header)
    if problems:
        raise SourceProblem(problems)
    columns = "{" + ", ".join(f"{quote(f'c{i}')}: 'VARCHAR'" for i in range(len(header))) + "}"

    def cell(name: str) -> str:
        column = f"c{header.index(name)}"
        if name in _NUMERIC_FIELDS:
            # A plain decimal as written; one in exponent form through JSON and back, so it
            # reads as it does in a JSON upload.
            return (
                f"CASE WHEN regexp_full_match(trim({column}), '{_PLAIN_NUMBER}') THEN trim({column}) "
                f"WHEN regexp_full_match(trim({column}), '{_CSV_NUMBER}') "
                f"THEN CAST(json_extract(CAST(trim({column}) AS JSON), '$') AS VARCHAR) "
                f"WHEN {column} IS NOT NULL THEN CAST(to_json({column}) AS VARCHAR) END AS {name}__json"
            )
        return f"CAST(to_json(coalesce({column}, '')) AS VARCHAR) AS {name}__json"

    return f"""
    SELECT '{{' AS record_start, {_ALL_KEYS} AS keys, {", ".join(cell(name) for name in FIELDS)}
    FROM read_csv({quote(str(path))}, header=true, auto_detect=false, columns={columns},
                  delim=',', quote='"', escape='"', strict_mode=true, null_padding=false)"""
