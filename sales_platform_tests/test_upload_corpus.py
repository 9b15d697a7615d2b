"""A corpus of crafted store files, each with the outcome it must get: `upload_corpus/` holds the
files byte for byte, `upload_corpus/outcomes.csv` says for each whether it is accepted (and with
how many lines) or refused (and where, and what the first reason says).

Every file goes into the inbox of a platform on both storage backends (a folder, and S3 in moto)
and is validated from there, as a run reads it. A new kind of bad input gets a file and a row.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from sales_platform.domain.upload_contract import parse_upload_name
from sales_platform.domain.upload_validation import UploadRefused, validate_upload
from sales_platform_tests.conftest import Platform

CORPUS = Path(__file__).parent / "upload_corpus"
DAY = "2025-11-27"  # the business day every file's records belong to


@dataclass(frozen=True)
class Expected:
    file: str
    outcome: str
    rows: str
    field: str
    row: str
    line: str
    column: str
    says: str

    @property
    def upload_name(self) -> str:
        return f"store_0001_{DAY}.{self.file.rsplit('.', 1)[1]}"


def _expected() -> list[Expected]:
    with (CORPUS / "outcomes.csv").open(newline="") as handle:
        return [Expected(**row) for row in csv.DictReader(handle)]


def _outcome(platform: Platform, expected: Expected) -> str | None:
    """What went differently from the table, or None."""
    key = platform.upload(expected.upload_name, (CORPUS / expected.file).read_bytes())
    try:
        with platform.bucket.local_copy(key) as path:
            table = validate_upload(
                path, parse_upload_name(expected.upload_name), platform.settings.stores.validation_rules
            )
    except UploadRefused as refused:
        if expected.outcome != "refused":
            return f"refused: {refused.refusal.summary}"
        problem = refused.refusal.problems[0]
        found = {
            "field": problem.field or "",
            "row": "" if problem.row is None else str(problem.row),
            "line": "" if problem.line is None else str(problem.line),
            "column": "" if problem.column is None else str(problem.column),
        }
        wrong = [
            f"{name} {found[name]!r}, not {getattr(expected, name)!r}"
            for name in found
            if getattr(expected, name) and found[name] != getattr(expected, name)
        ]
        if expected.says not in problem.message:
            wrong.append(f"says {problem.message!r}")
        return "; ".join(wrong) or None
    finally:
        platform.bucket.delete(key)
    if expected.outcome != "accepted":
        return f"accepted with {table.num_rows} lines"
    return (
        None if str(table.num_rows) == expected.rows else f"accepted with {table.num_rows} lines, not {expected.rows}"
    )


def test_the_corpus_has_every_kind_once_and_nothing_unlisted() -> None:
    listed = [expected.file for expected in _expected()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(path.name for path in CORPUS.iterdir() if path.name != "outcomes.csv")
    assert len(listed) >= 60
    assert {expected.outcome for expected in _expected()} == {"accepted", "refused"}


@pytest.mark.slow
def test_every_crafted_file_gets_its_outcome_on_both_backends(platform: Platform) -> None:
    mismatches = {expected.file: _outcome(platform, expected) for expected in _expected()}
    assert {name: problem for name, problem in mismatches.items() if problem} == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sub-millisecond-timestamp.json", "nanosecond-timestamp.json"])
def test_finer_than_millisecond_times_are_stored_cut_to_the_millisecond(platform: Platform, name: str) -> None:
    key = platform.upload(f"store_0001_{DAY}.json", (CORPUS / name).read_bytes())
    with platform.bucket.local_copy(key) as path:
        table = validate_upload(
            path, parse_upload_name(f"store_0001_{DAY}.json"), platform.settings.stores.validation_rules
        )
    stamp = table.column("transaction_timestamp").to_pylist()[0]
    assert (stamp.second, stamp.microsecond) == (7, 654000)  # .654321 and .654321987: cut, not rounded
