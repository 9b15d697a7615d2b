"""Every field the stores' existing dashboard reads, read from `contracts/dashboard-fields.md`
itself, is in the API's real answers with the meaning given there.

The answers come from a week of the sample data generator's files for three stores (one store
skips a day, one file is refused) taken through the real pipeline: the ingest and the daily
analysis assets run with `dagster.materialize` on a folder bucket and SQLite. The contract's
tables are parsed, so a field added to the document is checked without anyone editing this
test. The repository keeps a copy in docs/contracts/ and checks it against the shared original
when the shared folder sits beside the repository.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import jsonschema
import pytest
from fastapi.testclient import TestClient

from sales_platform.api.app import create_app
from sales_platform.defs.loading import build_definitions
from sales_platform.samples import store_files as sample_data
from sales_platform.settings import Settings, load_settings
from sales_platform_tests.api_support import API_KEY
from sales_platform_tests.conftest import _settings_variables

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / "docs" / "contracts" / "dashboard-fields.md"
SHARED_CONTRACT = REPO.parent / "shared" / "contracts" / "dashboard-fields.md"
STORES = ["0001", "0002", "0003"]
END = dt.date(2025, 11, 27)
DAYS = 8
SKIPPED = ("0003", END - dt.timedelta(days=3))  # a store that sent no file that day
INGEST = ["store_sales", "store_metrics"]
ANALYSIS = ["company_metrics", "product_metrics", "anomalies", "trends", "recommendations", "daily_insights"]


# --------------------------------------------------------------------------- the contract


@dataclass(frozen=True)
class FieldPath:
    endpoint: str  # "GET /analytics"
    path: str  # "kpis.payment_breakdown.cash", "stores[].store_id", "time_series[].<store_id>_sales"
    values: tuple[str, ...] = ()  # the values the table lists for it, if any


_HEADING = re.compile(r"^## `(GET|POST) (/[\w-]+)")
# A field, and the values it may take when the table gives them: `severity` (`critical`/`info`).
_FIELD = re.compile(r"`(?P<path>[^`]+)`(?:\s*\((?P<values>[^)]*)\))?")


def read_contract(text: str) -> list[FieldPath]:
    """The field paths of every table, under the endpoint whose heading it follows. A path
    starting with `.` is a sibling of the cell's first path (`stores[].store_id`, `.total_sales`)."""
    fields, endpoint = [], None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            endpoint = f"{heading.group(1)} {heading.group(2)}"
            continue
        if endpoint is None or not line.startswith("| `"):
            continue
        parent = ""
        for match in _FIELD.finditer(line.split("|")[1]):
            path = match.group("path")
            if path.startswith("."):
                path = parent + path
            else:
                parent = path.rsplit(".", 1)[0] if "." in path else path
            values = tuple(re.findall(r"`([^`]+)`", match.group("values") or ""))
            fields.append(FieldPath(endpoint, path, values))
    return fields


def test_the_repository_copy_is_the_shared_contract() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"no shared folder beside the repository ({SHARED_CONTRACT.parent})")
    assert CONTRACT.read_bytes() == SHARED_CONTRACT.read_bytes()


def test_the_contract_is_read_as_written() -> None:
    fields = read_contract(CONTRACT.read_text())
    assert {field.endpoint for field in fields} == {"GET /analytics", "GET /trends", "GET /files"}
    paths = {field.path: field for field in fields}
    assert len(fields) > 60
    for path in (
        "kpis.payment_breakdown.gift_card",
        "stores[].payment_breakdown",
        "files[].partitions.day",
        "product_trends[].daily_history[].revenue",
        "time_series[].<store_id>_transactions",
        "count",
    ):
        assert path in paths, path
    assert paths["anomalies[].severity"].values == ("critical", "warning", "info")
    assert paths["files[].last_modified"].values == ()  # "(ISO 8601)" names no values


# --------------------------------------------------------------------------- walking an answer


@dataclass
class Reached:
    missing: list[str]  # where a key the contract names is absent
    values: list[tuple[str, Any]]  # (where, value) of every leaf reached


def walk(body: Any, path: str) -> Reached:
    """Follow a contract path through an answer: `[]` goes into every element of a list, a null
    on the way ends that branch (e.g. `partitions` of a refused file), `<store_id>` stands for
    each id in the answer's `stores`."""
    segments = path.split(".")
    if any("<store_id>" in segment for segment in segments):
        stores = [store if isinstance(store, str) else store["store_id"] for store in body.get("stores", [])]
        found = Reached([], [])
        for store in stores:
            one = walk(body, path.replace("<store_id>", store))
            found.missing += one.missing
            found.values += one.values
        return found
    found = Reached([], [])

    def follow(value: Any, rest: list[str], where: str) -> None:
        if not rest:
            found.values.append((where, value))
            return
        if value is None:
            return
        key, into_list = rest[0].removesuffix("[]"), rest[0].endswith("[]")
        if not isinstance(value, dict) or key not in value:
            found.missing.append(f"{where}.{key}".lstrip("."))
            return
        child = value[key]
        if into_list and rest[1:]:
            assert isinstance(child, list), f"{where}.{key} is not a list"
            for index, element in enumerate(child):
                follow(element, rest[1:], f"{where}.{key}[{index}]")
        else:
            follow(child, rest[1:], f"{where}.{key}".lstrip("."))

    follow(body, segments, "")
    return found


# --------------------------------------------------------------------------- real answers


@dataclass
class Answers:
    client: TestClient
    settings: Settings
    files: dict[tuple[str, dt.date], list[dict[str, Any]]]  # the records each accepted file held

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


# The module's answers come from a week of sample files through every asset: a minute to build.
pytestmark = pytest.mark.slow


def _run(assets: list, selection: list[str], partition: str, resources: dict, run_config: dict | None = None) -> None:
    result = dg.materialize(
        assets,
        selection=selection,
        partition_key=partition,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config or {},
    )
    assert result.success, partition


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answers]:
    """A week of sample files through the ingest and the daily analysis, and the API over them."""
    root = tmp_path_factory.mktemp("dashboard-fields")
    with pytest.MonkeyPatch.context() as environment:
        environment.chdir(root)
        for name in _settings_variables():
            environment.delenv(name, raising=False)
        settings = load_settings(
            SALES_PLATFORM_HOME=str(root / "home"),
            EXPECTED_STORES=",".join(STORES),
            PARTITIONS_START_DATE=(END - dt.timedelta(days=30)).isoformat(),
            API_KEYS=API_KEY,
            API_CACHE_SECONDS="0",
        )
        summary = sample_data.write_sample_files(
            root / "samples", stores=STORES, days=DAYS, end_date=END, with_bad_files=True
        )
        defs = build_definitions(settings)
        assets, resources = list(defs.assets), dict(defs.resources)
        bucket, layout = resources["bucket"].build(), settings.storage.layout
        refused = next(bad for bad in summary.bad_files if bad.rule == "missing_field")
        accepted: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}
        for path in [*summary.paths, refused.path]:
            _, store_id, day_text = path.stem.split("_")
            day = dt.date.fromisoformat(day_text)
            if (store_id, day) == SKIPPED:
                continue
            key = layout.upload_key(path.name)
            bucket.write_bytes(key, path.read_bytes())
            _run(assets, INGEST, f"{day}|{store_id}", resources)  # the newest upload of the store-day
            if path != refused.path:
                accepted[(store_id, day)] = json.loads(path.read_bytes(), parse_float=Decimal)
        for offset in range(DAYS):
            _run(assets, ANALYSIS, (END - dt.timedelta(days=offset)).isoformat(), resources)
        app = create_app(settings, bucket=bucket, table=resources["table"].build())
        with TestClient(app, headers={"X-Api-Key": API_KEY}) as client:
            yield Answers(client, settings, accepted)


def _bodies(answers: Answers, endpoint: str) -> list[dict[str, Any]]:
    if endpoint == "GET /analytics":
        return [answers.get("/analytics", date=day) for day in answers.get("/analytics")["available_dates"]]
    if endpoint == "GET /trends":
        return [answers.get("/trends"), answers.get("/trends", days=3)]
    return [answers.get("/files")]


CONTRACT_FIELDS = read_contract(CONTRACT.read_text())


@pytest.mark.parametrize("endpoint", sorted({field.endpoint for field in CONTRACT_FIELDS}))
def test_every_field_of_the_contract_is_in_real_answers(answers: Answers, endpoint: str) -> None:
    bodies = _bodies(answers, endpoint)
    problems = []
    for field in (field for field in CONTRACT_FIELDS if field.endpoint == endpoint):
        reached = [walk(body, field.path) for body in bodies]
        missing = [where for one in reached for where in one.missing]
        if missing:
            problems.append(f"{field.path}: missing at {missing[:3]}")
            continue
        filled = [(where, value) for one in reached for where, value in one.values if value is not None]
        if not filled:
            problems.append(f"{field.path}: never filled in any answer, so never checked")
        wrong = [(where, value) for where, value in filled if field.values and value not in field.values]
        if wrong:
            problems.append(f"{field.path}: {wrong[:3]} not among {field.values}")
    assert problems == []


def test_a_field_missing_from_an_answer_is_caught() -> None:
    body = {
        "stores": ["0001", "0002"],
        "time_series": [{"date": "d", "0001_sales": 1}],
        "files": [{"partitions": None}, {"partitions": {"year": "2025"}}],
    }
    assert walk(body, "time_series[].<store_id>_sales").missing == ["time_series[0].0002_sales"]
    assert walk(body, "files[].partitions.year").missing == [] and walk(body, "files[].partitions.day").missing == [
        "files[1].partitions.day"
    ]
    assert walk({"kpis": {}}, "kpis.total_items").missing == ["kpis.total_items"]


# --------------------------------------------------------------------------- meanings


def test_the_kpis_mean_what_the_dashboard_shows(answers: Answers) -> None:
    body = answers.get("/analytics")
    assert body["date"] == END.isoformat() and body["available_dates"] == sorted(body["available_dates"], reverse=True)
    records = [line for (store, day), lines in answers.files.items() if day == END for line in lines]
    kpis = body["kpis"]
    assert kpis["total_sales"] == float(sum(Decimal(line["line_total"]) for line in records))
    assert kpis["total_transactions"] == len({line["transaction_id"] for line in records}) < len(records), (
        "distinct transactions, not line items as the old system counted"
    )
    assert kpis["total_items"] == sum(line["quantity"] for line in records)
    assert kpis["store_count"] == len(body["stores"]) == 3
    assert set(kpis["payment_breakdown"]) >= {"cash", "credit", "debit", "gift_card"}
    assert [store["store_id"] for store in body["stores"]] == STORES
    revenues = [product["revenue"] for product in body["top_products"]]
    assert len(revenues) == 10 and revenues == sorted(revenues, reverse=True)


def test_the_trends_mean_what_the_charts_show(answers: Answers) -> None:
    body = answers.get("/trends")
    store, skipped_day = SKIPPED
    assert body["dates"] == sorted(body["dates"]) and len(body["dates"]) == DAYS
    point = next(point for point in body["time_series"] if point["date"] == skipped_day.isoformat())
    assert point[f"{store}_sales"] == 0 and point[f"{store}_transactions"] == 0, "no file that day: 0, as the old API"
    assert store not in point["reported_stores"]
    summaries = {summary["store_id"]: summary for summary in body["store_summaries"]}
    assert summaries[store]["days_with_data"] == DAYS - 1 and summaries["0001"]["days_with_data"] == DAYS
    for summary in summaries.values():
        assert isinstance(summary["trend_percent"], float) and summary["trend_direction"] != "insufficient_data"
    products = body["product_trends"]
    assert [p["total_revenue"] for p in products] == sorted((p["total_revenue"] for p in products), reverse=True)
    for product in products:
        assert [point["date"] for point in product["daily_history"]] == body["dates"], "one point per day"
        assert product["total_units_sold"] == sum(point["units_sold"] for point in product["daily_history"])
        assert product["trend_direction"] in ("increasing", "decreasing", "stable")


@pytest.mark.parametrize("endpoint", ["GET /analytics", "GET /trends", "GET /files"])
def test_real_answers_match_the_openapi_document(answers: Answers, endpoint: str) -> None:
    """The schema fuzzing checks answers to hand-made table items; these are the pipeline's own."""
    document = answers.client.get("/openapi.json").json()
    method, path = endpoint.split()
    schema = document["paths"][path][method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    for body in _bodies(answers, endpoint):
        problems = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(body)
        ]
        assert problems == []
