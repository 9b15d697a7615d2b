"""The daily analysis on Dagster: what starts it (the last store's file, a late or corrected
file, the 23:00 fallback), what it writes to the table, the checks the UI shows, and that
running a day again replaces its items instead of adding to them.

Store uploads go through the real ingest job; earlier days' store summaries, where a test
needs a history, are written to the table as the ingest would have written them.
"""

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import dagster as dg
import pytest
from botocore.stub import ANY, Stubber
from dagster._core.event_api import PartitionKeyFilter

from sales_platform.defs.analysis.job import ANALYSIS_JOB
from sales_platform.defs.analysis.schedule import ANALYSIS_SCHEDULE
from sales_platform.defs.analysis.sensor import ANALYSIS_SENSOR
from sales_platform.defs.analysis.steps import TRIGGER_TAG
from sales_platform.defs.ingest.ingest_job import INGEST_JOB
from sales_platform.defs.loading import build_definitions
from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item, upload_tracking_item
from sales_platform.resources import recommendation_engines
from sales_platform.resources.recommendation_engines import BedrockEngine
from sales_platform.runtime.local_instance import prepare_dagster_home
from sales_platform_tests.conftest import (
    STORE_TZ,
    STORES,
    Platform,
    days_ago,
    line_items_table,
    render,
    small_records,
    upload_name,
)

ELEVEN = ",".join(f"{n:04d}" for n in range(1, 12))
ANALYSIS_ASSETS = ["company_metrics", "product_metrics", "anomalies", "trends", "recommendations", "daily_insights"]


# --------------------------------------------------------------------------- helpers


def ingest(platform: Platform, store_id: str, day: dt.date, transactions: int = 3) -> None:
    """A store's file for the day through the real ingest job, as the upload sensor runs it."""
    key = platform.upload(upload_name(store_id, day), render(small_records(store_id, day, transactions)))
    platform.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=platform.instance, run_config={"ops": {"ingest_uploads": {"config": {"uploads": [key]}}}}
    )


def analyse(platform: Platform, day: dt.date, trigger: str | None = None) -> dg.ExecuteInProcessResult:
    """The day's analysis run, as the sensor or schedule (with their tag) or a person starts it."""
    return platform.defs.resolve_job_def(ANALYSIS_JOB).execute_in_process(
        instance=platform.instance, partition_key=day.isoformat(), tags={TRIGGER_TAG: trigger} if trigger else {}
    )


# Five weeks before yesterday: every weekday three times and more, enough to compare a store.
FIVE_WEEKS = list(range(2, 37))


def seed_history(platform: Platform, store_id: str, days_back: list[int], transactions: int) -> None:
    """Earlier store-day summaries and tracking items, as the ingest writes them (the same
    figures every day: one computation serves them all)."""
    items = []
    metrics = compute_store_metrics(line_items_table(small_records(store_id, days_ago(days_back[0]), transactions)))
    for n in days_back:
        day = days_ago(n)
        now = dt.datetime.now(dt.UTC)
        items.append(
            store_day_summary_item(store_id, day, metrics, source_file="seed", processed_key="", processed_at=now)
        )
        items.append(
            upload_tracking_item(store_id, day, source_file="seed", source_version="1", rows=1, processed_at=now)
        )
    platform.table.put_items(items)


def analysis_tick(platform: Platform, cursor: str | None = None) -> Any:
    context = dg.build_sensor_context(
        instance=platform.instance,
        cursor=cursor,
        definitions=platform.defs,
        sensor_name=ANALYSIS_SENSOR,
        resources=platform.defs.resources,
    )
    return platform.defs.resolve_sensor_def(ANALYSIS_SENSOR).evaluate_tick(context)


def analysis_runs(platform: Platform) -> list[dg.DagsterRun]:
    return list(reversed(platform.instance.get_runs(dg.RunsFilter(job_name=ANALYSIS_JOB))))


def company(platform: Platform, day: dt.date) -> dict[str, Any] | None:
    return platform.table.get_item(f"DATE#{day}", "SUMMARY#COMPANY")


def day_items(platform: Platform, day: dt.date, prefix: str) -> list[dict[str, Any]]:
    return platform.table.query(f"DATE#{day}", prefix)


def checks(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    evaluations = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    return {e.check_name: (e.passed, e.severity.value) for e in evaluations}


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    [event] = result.asset_materializations_for_node(asset)
    return {name: value.value for name, value in event.metadata.items()}


def without_times(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k not in ("written_at", "analyzed_at")} for item in items]


# --------------------------------------------------------------------------- what starts an analysis


@pytest.mark.slow
def test_the_last_store_starts_the_days_analysis_once_and_a_corrected_file_once_more(make_local_platform) -> None:
    platform = make_local_platform(EXPECTED_STORES=ELEVEN)
    day = days_ago(1)  # yesterday: files arriving this morning still complete it
    for n in range(1, 11):
        platform.upload(upload_name(f"{n:04d}", day), render(small_records(f"{n:04d}", day)))

    platform.process()

    assert analysis_runs(platform) == []
    assert "waiting for store(s) 0011" in analysis_tick(platform).skip_message

    platform.upload(upload_name("0011", day), render(small_records("0011", day)))
    platform.process()

    [run] = analysis_runs(platform)
    assert (run.status, run.tags["dagster/partition"], run.tags[TRIGGER_TAG]) == (
        dg.DagsterRunStatus.SUCCESS,
        str(day),
        "complete",
    )
    summary = company(platform, day)
    assert (summary["stores_reported"], summary["missing_stores"], summary["trigger"]) == (11, [], "complete")
    assert summary["net_sales"] == 11 * Decimal("43.50")

    platform.process()  # nothing new: no second analysis of the same data
    assert len(analysis_runs(platform)) == 1

    # Store 0005 sends its day again, corrected: one more analysis, with the new figures.
    platform.upload(upload_name("0005", day), render(small_records("0005", day, transactions=4)), age_seconds=5)
    platform.process()

    runs = analysis_runs(platform)
    assert len(runs) == 2 and runs[1].status == dg.DagsterRunStatus.SUCCESS
    assert company(platform, day)["net_sales"] == 10 * Decimal("43.50") + Decimal("68.00")
    assert company(platform, day)["source_fingerprint"] != summary["source_fingerprint"]


@pytest.mark.slow
def test_the_sensor_requests_a_complete_day_once_for_the_same_uploads(local_platform: Platform) -> None:
    day = days_ago(2)
    ingest(local_platform, "0001", day)
    ingest(local_platform, "0002", day)

    waiting = analysis_tick(local_platform)
    assert waiting.run_requests == []
    assert waiting.skip_message == f"no day became due: {day} waiting for store(s) 0003"

    ingest(local_platform, "0003", day)
    due = analysis_tick(local_platform, waiting.cursor)

    [request] = due.run_requests
    assert (request.partition_key, request.tags[TRIGGER_TAG]) == (str(day), "complete")
    assert "no store metrics since the last look" in analysis_tick(local_platform, due.cursor).skip_message
    # Without a cursor (as `sales-platform process` starts) the same request, with the same run key,
    # which the daemon would not run twice; once analysed, the day is not asked for again.
    assert [r.run_key for r in analysis_tick(local_platform).run_requests] == [request.run_key]
    analyse(local_platform, day, "complete")
    assert analysis_tick(local_platform).run_requests == []
    assert "already analysed with exactly these uploads" in analysis_tick(local_platform).skip_message

    ingest(local_platform, "0002", day, transactions=5)  # a corrected file
    [again] = analysis_tick(local_platform, due.cursor).run_requests
    assert again.partition_key == str(day) and again.run_key != request.run_key


@pytest.mark.slow
def test_late_files_reanalyse_only_within_the_window_but_a_never_analysed_day_always_counts(
    make_local_platform,
) -> None:
    platform = make_local_platform(REANALYSIS_WINDOW_DAYS="2")
    old, recent = days_ago(5), days_ago(2)
    for store_id in STORES:
        ingest(platform, store_id, old)
        ingest(platform, store_id, recent)

    first = analysis_tick(platform)
    assert sorted(r.partition_key for r in first.run_requests) == [str(old), str(recent)]  # old, but never analysed
    analyse(platform, old, "complete")
    analyse(platform, recent, "complete")

    ingest(platform, "0001", old, transactions=4)
    ingest(platform, "0001", recent, transactions=4)
    late = analysis_tick(platform, first.cursor)

    assert [r.partition_key for r in late.run_requests] == [str(recent)]
    analyse(platform, recent, "complete")
    skipped = analysis_tick(platform).skip_message
    assert f"{old} uploads changed, but the day is more than REANALYSIS_WINDOW_DAYS=2 days back" in skipped
    assert f"{recent} already analysed" in skipped


@pytest.mark.slow
def test_a_backlog_of_complete_days_is_analysed_in_one_run_each_day_its_own_partition(local_platform: Platform) -> None:
    days = [days_ago(4), days_ago(3), days_ago(2), days_ago(0)]
    for number, day in enumerate(days, start=2):
        for store_id in STORES:
            ingest(local_platform, store_id, day, transactions=number)

    local_platform.process()

    # Three consecutive days in one run, the day after the gap in its own.
    runs = sorted(
        analysis_runs(local_platform), key=lambda run: run.tags.get("dagster/asset_partition_range_start", "")
    )
    assert [
        (
            r.tags.get("dagster/partition"),
            r.tags.get("dagster/asset_partition_range_start"),
            r.tags.get("dagster/asset_partition_range_end"),
        )
        for r in runs
    ] == [
        (str(days[3]), None, None),
        (None, str(days[0]), str(days[2])),
    ]
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    # Each day is its own materialization, with its own figures, and its own checks.
    net = {}
    for record in local_platform.instance.fetch_materializations(dg.AssetKey("company_metrics"), limit=10).records:
        net[record.partition_key] = record.asset_materialization.metadata["net_sales"].value
    assert net == {str(day): float(company(local_platform, day)["net_sales"]) for day in days}
    assert len(set(net.values())) == len(days)
    for day in days:
        [evaluation] = local_platform.instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("company_metrics"), "company_net_matches_store_nets"),
            limit=1,
            partition_filter=PartitionKeyFilter(key=str(day)),
        )
        assert evaluation.event.dagster_event.asset_check_evaluation_data.passed
        assert day_items(local_platform, day, "INSIGHT#")
    assert len(list(local_platform.settings.outbox_path.glob("*-report-*.eml"))) == len(days)


@pytest.mark.slow
def test_a_complete_day_waits_while_an_earlier_days_upload_is_still_coming_in(local_platform: Platform) -> None:
    earlier, later = days_ago(3), days_ago(2)
    for store_id in STORES:
        ingest(local_platform, store_id, later)
    # The earlier day's file is in the inbox, not ingested yet (a backlog, or a pass that was killed).
    local_platform.upload(upload_name("0001", earlier), render(small_records("0001", earlier)))

    held = analysis_tick(local_platform)
    assert held.run_requests == []
    assert f"{later} due, waiting for the uploads of {earlier} and later to be ingested" in held.skip_message

    for store_id in STORES:
        ingest(local_platform, store_id, earlier)
    [request] = analysis_tick(local_platform, held.cursor).run_requests  # the same look-back: nothing forgotten
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) == (
        str(earlier),
        str(later),
    )


@pytest.mark.slow
def test_a_day_whose_analysis_is_under_way_is_not_asked_for_again(local_platform: Platform) -> None:
    day = days_ago(2)
    for store_id in STORES:
        ingest(local_platform, store_id, day)
    [request] = analysis_tick(local_platform).run_requests
    # The daemon launched it; it is still running (its company summary is written, not yet done).
    job = local_platform.defs.resolve_job_def(ANALYSIS_JOB)
    run = local_platform.instance.create_run_for_job(job, tags={"dagster/partition": str(day)})
    local_platform.instance.report_dagster_event(
        dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=ANALYSIS_JOB), run_id=run.run_id
    )
    local_platform.defs.resolve_job_def(ANALYSIS_JOB).execute_in_process(
        instance=local_platform.instance,
        partition_key=day.isoformat(),
        asset_selection=[dg.AssetKey("company_metrics")],
    )

    again = analysis_tick(local_platform)
    assert again.run_requests == []
    assert f"{day} being analysed" in again.skip_message


@pytest.mark.slow
def test_an_analysis_that_stopped_half_way_is_done_again_whatever_the_days_age(make_local_platform) -> None:
    platform = make_local_platform(REANALYSIS_WINDOW_DAYS="0")
    day = days_ago(5)
    for store_id in STORES:
        ingest(platform, store_id, day)
    # The run got as far as the company summary, then stopped (a crash, a kill).
    platform.defs.resolve_job_def(ANALYSIS_JOB).execute_in_process(
        instance=platform.instance, partition_key=day.isoformat(), asset_selection=[dg.AssetKey("company_metrics")]
    )
    assert company(platform, day) is not None

    [request] = analysis_tick(platform).run_requests
    assert request.partition_key == str(day)
    analyse(platform, day, "complete")
    assert "already analysed with exactly these uploads" in analysis_tick(platform).skip_message


@pytest.mark.slow
def test_a_day_outside_the_partitions_is_never_requested(make_local_platform, make_settings) -> None:
    platform = make_local_platform()
    day = days_ago(3)
    for store_id in STORES:
        ingest(platform, store_id, day)

    # The platform now starts later (PARTITIONS_START_DATE moved): that day has no partition.
    later = make_settings(PARTITIONS_START_DATE=str(days_ago(1)))
    moved = Platform(later, build_definitions(later), platform.instance)

    tick = analysis_tick(moved)
    assert tick.run_requests == []


# --------------------------------------------------------------------------- what an analysis writes


@pytest.mark.slow
def test_a_days_analysis_writes_company_products_and_insights_with_checks(platform: Platform) -> None:
    day = days_ago(1)
    for store_id in STORES:
        platform.upload(upload_name(store_id, day), render(small_records(store_id, day)))

    platform.process()  # ingests the three files, then the sensor starts the analysis

    [run] = analysis_runs(platform)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    # Each store (small_records): 9 lines of 2 x 2.50, 0.50 off the first line of each of 3
    # transactions: gross 45.00, discounts 1.50, net 43.50, 18 units; paid cash, credit, debit by turn.
    summary = company(platform, day)
    assert {
        k: summary[k]
        for k in ("total_sales", "total_discount", "net_sales", "transaction_count", "line_item_count", "item_count")
    } == {
        "total_sales": Decimal("135.00"),
        "total_discount": Decimal("4.50"),
        "net_sales": Decimal("130.50"),
        "transaction_count": 9,
        "line_item_count": 27,
        "item_count": 54,
    }
    assert summary["avg_transaction"] == Decimal("14.50") and summary["avg_net_sales_per_store"] == Decimal("43.50")
    assert summary["avg_store_sales"] == Decimal("45.00")  # the old system's field: gross per store
    assert (summary["stores_reported"], summary["stores_expected"], summary["reported_stores"]) == (3, 3, list(STORES))
    # A tie goes to the lower id; ranked by net, with the gross the old system showed beside it.
    assert summary["best_store"] == {"store_id": "0001", "net_sales": Decimal("43.50"), "total_sales": Decimal("45.00")}
    # Transaction 1 (2 lines, credit) 9.50, 2 (3 lines, debit) 14.50, 3 (4 lines, cash) 19.50, per store.
    assert summary["payment_breakdown"] == {
        "cash": Decimal("58.50"),
        "credit": Decimal("28.50"),
        "debit": Decimal("43.50"),
    }

    # Products from every line: SKU-001 is the first line of every transaction (0.50 off each).
    products = {p["sku"]: p for p in day_items(platform, day, "PRODUCT#")}
    assert {sku: (p["rank"], p["units"], p["net_revenue"], p["stores_sold"]) for sku, p in products.items()} == {
        "SKU-002": (1, 18, Decimal("45.00"), 3),
        "SKU-001": (2, 18, Decimal("40.50"), 3),
        "SKU-003": (3, 12, Decimal("30.00"), 3),
        "SKU-004": (4, 6, Decimal("15.00"), 3),
    }
    assert platform.table.query_index("PRODUCT#SKU-001")[0]["date"] == str(day)

    insights = day_items(platform, day, "INSIGHT#")
    assert insights, "no insight for the day"
    assert {i["insight_type"] for i in insights} >= {"recommendation"}
    assert all(i["engine"] == "rules" and i["date"] == str(day) for i in insights)
    # Nothing to compare a first day with: said, not guessed, and kept for the report.
    notes = json.loads(platform.bucket.read_bytes(f"analysis/{day}/anomalies.json"))["notes"]
    weekday = f"{day:%A}"
    assert (
        f"not compared with their history (0 earlier {weekday}(s) in the last 8 weeks, 3 needed): stores 0001, 0002 and 0003"
        in notes
    )
    coverage = {i["insight_id"]: i for i in insights if i["insight_type"] == "coverage"}
    assert coverage["anomalies"]["compared_stores"] == []
    assert [entry["store_id"] for entry in coverage["anomalies"]["not_compared"]] == list(STORES)
    recommendations = {i["title"]: i for i in insights if i["insight_type"] == "recommendation"}
    look = recommendations["Look at store(s) 0001, 0002 and 0003 yourself: too little history to check"]
    assert "normal range" not in " ".join(r["description"] for r in recommendations.values())
    assert look["affected_stores"] == list(STORES)


@pytest.mark.slow
def test_anomalies_reach_the_table_with_their_recommendation(local_platform: Platform) -> None:
    day = days_ago(1)
    for store_id in STORES:
        seed_history(local_platform, store_id, FIVE_WEEKS, transactions=6)
    ingest(local_platform, "0001", day, transactions=6)
    ingest(local_platform, "0002", day, transactions=6)
    ingest(local_platform, "0003", day, transactions=2)  # a bad day: 24.00 against 132.00

    result = analyse(local_platform, day, "complete")

    insights = {i["SK"]: i for i in day_items(local_platform, day, "INSIGHT#")}
    low = insights["INSIGHT#ANOMALY#historical_low-0003"]
    assert (low["severity"], low["metric_value"], low["historical_average"], low["deviation_percent"]) == (
        "critical",
        Decimal("24.00"),
        Decimal("132.00"),
        Decimal("-81.8"),
    )
    assert (low["GSI1PK"], low["GSI1SK"], low["insight_id"], low["store_id"]) == (
        "INSIGHT#anomaly",
        f"DATE#{day}",
        "historical_low-0003",
        "0003",
    )
    weekday = f"{day:%A}"
    assert low["baseline"] == f"last 5 {weekday}s"
    assert f"below its last 5 {weekday}s, $132.00 (their median)" in low["description"]
    assert insights["INSIGHT#COVERAGE#anomalies"]["compared_stores"] == list(STORES)
    first = insights["INSIGHT#RECOMMENDATION#rules-01"]
    assert (first["priority"], first["category"], first["affected_stores"]) == ("high", "operations", ["0003"])
    assert "$24.00" in first["description"] and "81.8%" in first["description"]
    assert materialization(result, "anomalies")["critical"] >= 1
    assert local_platform.table.query_index("INSIGHT#anomaly", f"DATE#{day}")


@pytest.mark.slow
def test_running_a_day_again_replaces_its_items_instead_of_adding_to_them(local_platform: Platform) -> None:
    day = days_ago(1)
    for store_id in STORES:
        seed_history(local_platform, store_id, FIVE_WEEKS, transactions=6)
        ingest(local_platform, store_id, day, transactions=2 if store_id == "0002" else 6)
    analyse(local_platform, day, "complete")
    before = local_platform.table.query(f"DATE#{day}")

    analyse(local_platform, day)  # a person re-runs the day from the UI
    after = local_platform.table.query(f"DATE#{day}")

    assert [i["SK"] for i in after] == [i["SK"] for i in before]
    assert without_times([i for i in after if i["SK"] != "SUMMARY#COMPANY"]) == without_times(
        [i for i in before if i["SK"] != "SUMMARY#COMPANY"]
    )
    assert company(local_platform, day)["trigger"] == "manual"

    # Store 0002's corrected file makes its anomalies go away: the rerun leaves none behind.
    assert [i for i in after if i["SK"].endswith("-0002")]
    ingest(local_platform, "0002", day, transactions=6)
    analyse(local_platform, day)
    assert not [i for i in local_platform.table.query(f"DATE#{day}", "INSIGHT#") if i["SK"].endswith("-0002")]


@pytest.mark.slow
def test_the_analysis_lineage_runs_from_store_files_to_insights(local_platform: Platform) -> None:
    graph = local_platform.defs.resolve_asset_graph()
    parents = {
        asset: {key.to_user_string() for key in graph.get(dg.AssetKey(asset)).parent_keys} for asset in ANALYSIS_ASSETS
    }

    assert parents == {
        "company_metrics": {"store_metrics"},
        "product_metrics": {"store_metrics", "company_metrics"},
        "anomalies": {"company_metrics", "product_metrics"},  # each store's baskets come with the products
        "trends": {"company_metrics", "product_metrics"},
        "recommendations": {"anomalies", "trends", "company_metrics", "product_metrics"},
        "daily_insights": {"anomalies", "trends", "recommendations"},
    }
    assert {key.to_user_string() for key in graph.get(dg.AssetKey("store_metrics")).parent_keys} == {"store_sales"}
    company_metrics = local_platform.defs.resolve_assets_def("company_metrics")
    mapping = company_metrics.get_partition_mapping(dg.AssetKey("store_metrics"))
    assert isinstance(mapping, dg.MultiToSingleDimensionPartitionMapping) and mapping.partition_dimension_name == "date"
    job = local_platform.defs.resolve_job_def(ANALYSIS_JOB)
    assert (
        job.partitions_def.get_first_partition_key() == local_platform.settings.stores.partitions_start_date.isoformat()
    )
    assert job.partitions_def.get_last_partition_key() == str(days_ago(0))  # today, for backfills up to now


# --------------------------------------------------------------------------- the 23:00 fallback


def schedule_tick(platform: Platform, day: dt.date) -> Any:
    at_23 = dt.datetime.combine(day, dt.time(23, 0), STORE_TZ)
    context = dg.build_schedule_context(
        instance=platform.instance,
        scheduled_execution_time=at_23,
        resources=platform.defs.resources,
        repository_def=platform.defs.get_repository_def(),
    )
    return platform.defs.resolve_schedule_def(ANALYSIS_SCHEDULE).evaluate_tick(context)


@pytest.mark.slow
def test_at_23_00_the_schedule_analyses_a_day_with_the_stores_that_are_in(local_platform: Platform) -> None:
    day = days_ago(1)
    ingest(local_platform, "0001", day)
    ingest(local_platform, "0002", day)

    tick = schedule_tick(local_platform, day)

    [request] = tick.run_requests
    assert (request.partition_key, request.tags[TRIGGER_TAG]) == (str(day), "scheduled")
    result = analyse(local_platform, day, "scheduled")
    summary = company(local_platform, day)
    assert (summary["trigger"], summary["stores_reported"], summary["missing_stores"]) == ("scheduled", 2, ["0003"])
    assert checks(result) == {
        "company_net_matches_store_nets": (True, "ERROR"),
        "every_expected_store_reported": (False, "WARN"),  # a warning, not a failure
        "product_revenue_matches_company_net": (True, "ERROR"),
    }
    chase = [i for i in day_items(local_platform, day, "INSIGHT#RECOMMENDATION#") if i["affected_stores"] == ["0003"]]
    assert chase and "0003" in chase[0]["description"]

    # The missing store's file comes in the next morning: the day is complete, analysed again.
    ingest(local_platform, "0003", day)
    [late] = analysis_tick(local_platform).run_requests
    late_result = analyse(local_platform, day, late.tags[TRIGGER_TAG])
    assert company(local_platform, day)["missing_stores"] == []
    assert checks(late_result)["every_expected_store_reported"] == (True, "ERROR")


@pytest.mark.slow
def test_the_schedule_skips_a_day_whose_analysis_already_ran(local_platform: Platform) -> None:
    day = days_ago(1)
    for store_id in STORES:
        ingest(local_platform, store_id, day)
    analyse(local_platform, day, "complete")

    tick = schedule_tick(local_platform, day)

    assert tick.run_requests == []
    assert f"the analysis of {day} already ran (complete, 3/3 stores" in tick.skip_message


@pytest.mark.slow
def test_a_store_missing_from_a_manual_run_is_a_failed_check(local_platform: Platform) -> None:
    day = days_ago(1)
    ingest(local_platform, "0001", day)

    result = analyse(local_platform, day)

    assert checks(result)["every_expected_store_reported"] == (False, "ERROR")
    assert company(local_platform, day)["trigger"] == "manual"


@pytest.mark.slow
def test_a_day_nobody_reported_is_still_analysed_and_names_every_store(local_platform: Platform) -> None:
    day = days_ago(1)

    result = analyse(local_platform, day, "scheduled")

    assert result.success
    summary = company(local_platform, day)
    assert (summary["net_sales"], summary["stores_reported"], summary["missing_stores"]) == (0, 0, list(STORES))
    assert day_items(local_platform, day, "PRODUCT#") == []
    [chase] = day_items(local_platform, day, "INSIGHT#RECOMMENDATION#")
    assert chase["affected_stores"] == list(STORES) and chase["priority"] == "high"


@pytest.mark.slow
def test_the_schedule_follows_its_settings(make_local_platform) -> None:
    platform = make_local_platform(DAILY_ANALYSIS_SCHEDULE="30 22 * * 1-5", DAILY_ANALYSIS_TIMEZONE="Europe/Paris")
    schedule = platform.defs.resolve_schedule_def(ANALYSIS_SCHEDULE)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 22 * * 1-5", "Europe/Paris")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    off = make_local_platform(ENABLE_SCHEDULED_ANALYSIS="false").defs.resolve_schedule_def(ANALYSIS_SCHEDULE)
    assert off.default_status == dg.DefaultScheduleStatus.STOPPED
    sensor = platform.defs.resolve_sensor_def(ANALYSIS_SENSOR)
    assert (sensor.default_status, sensor.minimum_interval_seconds) == (
        dg.DefaultSensorStatus.RUNNING,
        platform.settings.analysis.automation_interval_seconds,
    )


# --------------------------------------------------------------------------- Bedrock through Dagster


@pytest.fixture
def bedrock_platform(make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch):
    """A local platform whose recommendations come from Bedrock, through a stubbed client."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = make_settings(RECOMMENDATION_ENGINE="bedrock", BEDROCK_TIMEOUT_SECONDS="10")
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    # The engine the `recommendation_engine` resource builds, talking to the stubbed client.
    monkeypatch.setattr(recommendation_engines, "bedrock_client_factory", lambda region, timeout: lambda: client)
    definitions = build_definitions(settings)
    assert isinstance(definitions.resources["recommendation_engine"].build(), BedrockEngine)  # what the settings choose
    instance = dg.DagsterInstance.from_config(str(prepare_dagster_home(settings)))
    with Stubber(client) as stubber:
        yield Platform(settings, definitions, instance), stubber
    instance.dispose()


def converse_answer(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 2000, "outputTokens": 500, "totalTokens": 2500},
        "metrics": {"latencyMs": 1200},
    }


@pytest.mark.slow
def test_bedrock_recommendations_replace_the_rules_and_record_tokens_and_cost(bedrock_platform) -> None:
    platform, stubber = bedrock_platform
    day = days_ago(1)
    for store_id in STORES:
        ingest(platform, store_id, day)
    stubber.add_client_error("converse", "AccessDeniedException", "no access to the model", 403)
    analyse(platform, day, "complete")  # first with the rules answering (Bedrock refuses)
    assert {i["engine"] for i in day_items(platform, day, "INSIGHT#RECOMMENDATION#")} == {"rules"}

    advice = {
        "recommendations": [
            {
                "priority": "medium",
                "category": "marketing",
                "title": "Promote SKU-004 in all stores",
                "description": "SKU-004 sold 6 units for $15.00, the least of the day.",
                "affected_stores": [],
                "affected_products": ["SKU-004"],
                "expected_impact": "More units of a slow product.",
            }
        ]
    }
    stubber.add_response(
        "converse",
        converse_answer("```json\n" + json.dumps(advice) + "\n```"),
        {"modelId": "amazon.nova-lite-v1:0", "system": ANY, "messages": ANY, "inferenceConfig": ANY},
    )
    result = analyse(platform, day)

    [item] = day_items(platform, day, "INSIGHT#RECOMMENDATION#")
    assert (item["SK"], item["engine"], item["title"], item["affected_products"]) == (
        "INSIGHT#RECOMMENDATION#bedrock-01",
        "bedrock",
        "Promote SKU-004 in all stores",
        ["SKU-004"],
    )
    metadata = materialization(result, "recommendations")
    assert (metadata["engine"], metadata["model_id"], metadata["input_tokens"], metadata["output_tokens"]) == (
        "bedrock",
        "amazon.nova-lite-v1:0",
        2000,
        500,
    )
    assert metadata["estimated_cost_usd"] == pytest.approx(0.00024)  # 2,000 x 0.00006/1k + 500 x 0.00024/1k
    assert "fallback_reason" not in metadata


@pytest.mark.slow
def test_when_bedrock_fails_the_rules_answer_and_the_run_says_why(bedrock_platform) -> None:
    platform, stubber = bedrock_platform
    day = days_ago(1)
    for store_id in STORES:
        ingest(platform, store_id, day)
    stubber.add_response("converse", converse_answer("Sorry, I cannot do that."))

    result = analyse(platform, day, "complete")

    assert result.success
    assert {i["engine"] for i in day_items(platform, day, "INSIGHT#")} == {"rules"}
    metadata = materialization(result, "recommendations")
    assert (metadata["engine"], metadata["requested_engine"]) == ("rules", "bedrock")
    assert "no JSON object" in metadata["fallback_reason"]
    assert metadata["input_tokens"] == 2000  # the tokens were spent all the same
