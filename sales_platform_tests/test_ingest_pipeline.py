"""Store uploads through the whole ingest layer: the sensor picks files up, runs execute in
process and are recorded in the Dagster instance, accepted files become Parquet and table
items, refused files end in rejected/ with their reasons; reruns never duplicate anything.

The core scenarios run on the folder bucket + SQLite and on S3 + DynamoDB (moto)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sales_platform.defs import ingest_assets
from sales_platform.defs.upload_sensor import INGEST_JOB, REFUSAL_JOB, UPLOAD_KEY_TAG
from sales_platform.domain import sample_data
from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import (
    store_day_key,
    store_day_summary_item,
    upload_tracking_key,
)
from sales_platform.domain.upload_contract import LINE_ITEM_SCHEMA
from sales_platform_tests.conftest import (
    UNKNOWN_STORE,
    Platform,
    days_ago,
    line_items_table,
    records_for,
    render,
    small_records,
    upload_name,
)

STORE_SALES = dg.AssetKey("store_sales")
STORE_METRICS = dg.AssetKey("store_metrics")
CHECKS = {"store_sales_has_rows", "store_sales_has_no_duplicate_lines", "store_metrics_net_within_gross"}


# --------------------------------------------------------------------------- helpers


def bad_payment_records(store_id: str, day: dt.date) -> list[dict[str, Any]]:
    """A small day whose second record is paid with a method the contract does not know."""
    records = small_records(store_id, day)
    records[1]["payment_method"] = "bitcoin"
    return records


def processed_key(platform: Platform, store_id: str, day: dt.date) -> str:
    return platform.settings.storage_layout.processed_key(day, store_id)


def read_parquet(platform: Platform, key: str) -> pa.Table:
    with platform.bucket.local_copy(key) as path:
        return pq.read_table(path)


def error_report(platform: Platform, name: str) -> dict[str, Any]:
    return json.loads(platform.bucket.read_bytes(f"rejected/{name}.error.json"))


def expected_summary(
    platform: Platform, store_id: str, day: dt.date, records: list[dict[str, Any]], source_file: str
) -> dict[str, Any]:
    """The store-day summary item as compute_store_metrics says it should be, minus the time
    it was written."""
    item = store_day_summary_item(
        store_id,
        day,
        compute_store_metrics(line_items_table(records)),
        source_file=source_file,
        processed_key=processed_key(platform, store_id, day),
        processed_at=dt.datetime.now(dt.timezone.utc),
    )
    del item["processed_at"]
    return item


def stored_summary(platform: Platform, store_id: str, day: dt.date) -> dict[str, Any] | None:
    item = platform.table.get_item(*store_day_key(store_id, day))
    if item is not None:
        item = dict(item)
        del item["processed_at"]
    return item


def assert_summary_matches(
    platform: Platform, store_id: str, day: dt.date, records: list[dict[str, Any]], extension: str = "json"
) -> None:
    stored = stored_summary(platform, store_id, day)
    assert stored == expected_summary(platform, store_id, day, records, upload_name(store_id, day, extension))
    # The headline numbers, worked out here by hand.
    gross = sum(Decimal(str(r["line_total"])) for r in records)
    discounts = sum(Decimal(str(r["discount_amount"])) for r in records)
    assert stored["total_sales"] == gross
    assert stored["total_discount"] == discounts
    assert stored["net_sales"] == gross - discounts
    assert stored["transaction_count"] == len({r["transaction_id"] for r in records})
    assert stored["line_item_count"] == len(records)
    assert stored["item_count"] == sum(r["quantity"] for r in records)


def runs_by_upload(platform: Platform) -> dict[str, list[dg.DagsterRun]]:
    runs: dict[str, list[dg.DagsterRun]] = {}
    for run in platform.instance.get_runs():
        runs.setdefault(run.tags[UPLOAD_KEY_TAG], []).append(run)
    return runs


def check_results(platform: Platform, run_id: str) -> dict[str, bool]:
    events = platform.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {
        event.dagster_event.asset_check_evaluation_data.check_name: event.dagster_event.asset_check_evaluation_data.passed
        for event in events
    }


def statuses(report) -> dict[str, str]:
    return {outcome.upload_key: outcome.status for outcome in report.outcomes}


# --------------------------------------------------------------------------- core, both backends


def test_good_and_bad_uploads_end_to_end(platform: Platform) -> None:
    day, tomorrow = days_ago(1), days_ago(-1)
    realistic = records_for("0001", day)
    small = small_records("0002", day)
    bad = bad_payment_records("0003", day)
    files = {
        upload_name("0001", day): render(realistic),
        upload_name("0002", day, "csv"): sample_data.render_csv(small),
        upload_name("0003", day): render(bad),
        "sales_export.json": render(realistic),
        upload_name(UNKNOWN_STORE, day): render(small_records(UNKNOWN_STORE, day)),
        upload_name("0002", tomorrow): render(small_records("0002", tomorrow)),
    }
    keys = {name: platform.upload(name, data) for name, data in files.items()}

    report = platform.process()

    assert statuses(report) == {
        keys[upload_name("0001", day)]: "processed",
        keys[upload_name("0002", day, "csv")]: "processed",
        keys[upload_name("0003", day)]: "rejected",
        keys["sales_export.json"]: "rejected",
        keys[upload_name(UNKNOWN_STORE, day)]: "rejected",
        keys[upload_name("0002", tomorrow)]: "rejected",
    }

    # Accepted: typed Parquet in the Hive layout, original archived, inbox empty.
    for store_id, records, name in (
        ("0001", realistic, upload_name("0001", day)),
        ("0002", small, upload_name("0002", day, "csv")),
    ):
        key = f"processed/year={day:%Y}/month={day:%m}/day={day:%d}/store_id={store_id}/data.parquet"
        line_items = read_parquet(platform, key)
        assert line_items.schema.equals(LINE_ITEM_SCHEMA, check_metadata=False)
        assert line_items.num_rows == len(records)
        assert platform.bucket.read_bytes(f"archive/{name}") == files[name]
    assert platform.keys("uploads/") == []
    assert platform.keys("processed/") == [processed_key(platform, s, day) for s in ("0001", "0002")]

    # Refused: original bytes untouched under rejected/, with the reasons beside them.
    refused = (upload_name("0003", day), "sales_export.json", upload_name(UNKNOWN_STORE, day), upload_name("0002", tomorrow))
    for name in refused:
        assert platform.bucket.read_bytes(f"rejected/{name}") == files[name]
        report_document = error_report(platform, name)
        assert report_document["status"] == "rejected"
        assert report_document["original_key"] == f"uploads/{name}"
        assert report_document["problems"]
    assert sorted(platform.keys("rejected/")) == sorted(
        [f"rejected/{name}" for name in refused] + [f"rejected/{name}.error.json" for name in refused]
    )
    content_problem = error_report(platform, upload_name("0003", day))
    assert content_problem["problem_count"] == 1
    [problem] = content_problem["problems"]
    assert (problem["row"], problem["field"]) == (2, "payment_method")
    assert "bitcoin" in problem["message"]
    assert "does not match" in error_report(platform, "sales_export.json")["problems"][0]["message"]
    unknown = error_report(platform, upload_name(UNKNOWN_STORE, day))["problems"][0]
    assert unknown["field"] == "file name" and UNKNOWN_STORE in unknown["message"]
    assert "in the future" in error_report(platform, upload_name("0002", tomorrow))["problems"][0]["message"]

    # The table: one summary per accepted store-day, found by store and by date.
    assert_summary_matches(platform, "0001", day, realistic)
    assert_summary_matches(platform, "0002", day, small, "csv")
    assert stored_summary(platform, "0003", day) is None
    by_date = platform.table.query_index(f"DATE#{day}")
    assert [(item["PK"], item["SK"], item["GSI1SK"]) for item in by_date] == [
        ("STORE#0001", f"DATE#{day}", "STORE#0001"),
        ("STORE#0002", f"DATE#{day}", "STORE#0002"),
    ]
    uploads = platform.table.query(f"DATE#{day}", "UPLOAD#")
    assert [(item["SK"], item["source_file"], item["rows"], item["status"]) for item in uploads] == [
        ("UPLOAD#STORE#0001", upload_name("0001", day), len(realistic), "processed"),
        ("UPLOAD#STORE#0002", upload_name("0002", day, "csv"), len(small), "processed"),
    ]

    # Dagster: one successful run per file, materializations for the accepted store-days only,
    # the content refusal as an observation on store_sales, and every check passed.
    runs = runs_by_upload(platform)
    assert set(runs) == set(keys.values())
    assert all(len(upload_runs) == 1 for upload_runs in runs.values())
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for upload_runs in runs.values() for run in upload_runs)
    assert runs[keys["sales_export.json"]][0].job_name == REFUSAL_JOB
    assert runs[keys[upload_name(UNKNOWN_STORE, day)]][0].job_name == REFUSAL_JOB
    assert runs[keys[upload_name("0002", tomorrow)]][0].job_name == REFUSAL_JOB
    assert runs[keys[upload_name("0003", day)]][0].job_name == INGEST_JOB
    accepted = {f"{day}|0001", f"{day}|0002"}
    assert platform.instance.get_materialized_partitions(STORE_SALES) == accepted
    assert platform.instance.get_materialized_partitions(STORE_METRICS) == accepted
    [observation] = platform.instance.fetch_observations(STORE_SALES, limit=10).records
    assert observation.partition_key == f"{day}|0003"
    metadata = observation.asset_observation.metadata
    assert metadata["status"].value == "rejected"
    assert metadata["rejected_key"].value == f"rejected/{upload_name('0003', day)}"
    for name in (upload_name("0001", day), upload_name("0002", day, "csv")):
        assert check_results(platform, runs[keys[name]][0].run_id) == dict.fromkeys(CHECKS, True)


def test_reuploads_replace_a_store_day_and_a_bad_one_changes_nothing(platform: Platform) -> None:
    day = days_ago(2)
    name = upload_name("0001", day)
    first = small_records("0001", day, transactions=3)
    platform.upload(name, render(first))
    platform.upload(upload_name("0002", day), render(small_records("0002", day)))
    assert statuses(platform.process()) == {f"uploads/{name}": "processed", f"uploads/{upload_name('0002', day)}": "processed"}
    items_after_first = len(platform.all_items())
    assert items_after_first == 4  # two store-day summaries, two upload tracking items

    # The same file again: processed again, nothing duplicated.
    platform.upload(name, render(first))
    assert statuses(platform.process()) == {f"uploads/{name}": "processed"}
    assert len(platform.all_items()) == items_after_first
    assert platform.keys(f"processed/year={day:%Y}/month={day:%m}/day={day:%d}/store_id=0001/") == [
        processed_key(platform, "0001", day)
    ]
    assert read_parquet(platform, processed_key(platform, "0001", day)).num_rows == len(first)
    assert_summary_matches(platform, "0001", day, first)

    # A corrected file replaces the day's numbers.
    corrected = small_records("0001", day, transactions=4, price="3.10")
    platform.upload(name, render(corrected))
    assert statuses(platform.process()) == {f"uploads/{name}": "processed"}
    assert len(platform.all_items()) == items_after_first
    assert read_parquet(platform, processed_key(platform, "0001", day)).num_rows == len(corrected)
    assert_summary_matches(platform, "0001", day, corrected)
    assert platform.table.get_item(*upload_tracking_key("0001", day))["rows"] == len(corrected)
    assert platform.bucket.read_bytes(f"archive/{name}") == render(corrected)

    # A bad re-upload is refused and leaves the accepted day as it was.
    parquet_before = platform.bucket.read_bytes(processed_key(platform, "0001", day))
    items_before = platform.all_items()
    bad = render(bad_payment_records("0001", day))
    platform.upload(name, bad)
    assert statuses(platform.process()) == {f"uploads/{name}": "rejected"}
    assert platform.bucket.read_bytes(processed_key(platform, "0001", day)) == parquet_before
    assert platform.all_items() == items_before
    assert platform.bucket.read_bytes(f"rejected/{name}") == bad
    assert platform.bucket.read_bytes(f"archive/{name}") == render(corrected)
    assert platform.keys("uploads/") == []

    # Fixed and sent again: accepted, and the refusal report says it no longer stands.
    platform.upload(name, render(corrected))
    assert statuses(platform.process()) == {f"uploads/{name}": "processed"}
    report = json.loads(platform.bucket.read_bytes(f"rejected/{name}.error.json"))
    assert report["status"] == "superseded"
    assert report["superseded_by"] == processed_key(platform, "0001", day)
    assert platform.bucket.read_bytes(f"rejected/{name}") == bad


# --------------------------------------------------------------------------- reruns and failures


def test_rematerializing_a_partition_reprocesses_its_archived_upload(local_platform: Platform) -> None:
    day = days_ago(1)
    records = small_records("0002", day)
    local_platform.upload(upload_name("0002", day), render(records))
    local_platform.process()
    assert local_platform.keys("uploads/") == []

    # What "Materialize" on the partition does in the UI: the ingest job, default config.
    result = local_platform.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        partition_key=f"{day}|0002", instance=local_platform.instance, raise_on_error=False
    )

    assert result.success
    [materialization] = [
        event.materialization for event in result.get_asset_materialization_events() if event.asset_key == STORE_SALES
    ]
    assert materialization.metadata["upload"].value == f"archive/{upload_name('0002', day)}"
    assert materialization.metadata["rows"].value == len(records)
    assert read_parquet(local_platform, processed_key(local_platform, "0002", day)).num_rows == len(records)
    assert_summary_matches(local_platform, "0002", day, records)
    assert local_platform.keys("rejected/") == []
    assert local_platform.keys("archive/") == [f"archive/{upload_name('0002', day)}"]


def test_a_partition_with_no_upload_fails_naming_store_and_day(local_platform: Platform) -> None:
    day = days_ago(3)
    result = local_platform.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        partition_key=f"{day}|0003", instance=local_platform.instance, raise_on_error=False
    )

    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "store_sales"
    message = failure.step_failure_data.error.message
    assert "store 0003" in message and day.isoformat() in message
    assert local_platform.instance.get_materialized_partitions(STORE_SALES) == set()


def test_a_transient_storage_error_is_retried_and_the_run_succeeds(
    local_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = days_ago(1)
    records = small_records("0001", day)
    key = local_platform.upload(upload_name("0001", day), render(records))
    bucket = local_platform.bucket
    write_file = bucket.write_file
    attempts: list[str] = []

    def flaky_write_file(*args, **kwargs):
        attempts.append(args[0])
        if len(attempts) == 1:
            raise OSError("connection reset by peer")
        return write_file(*args, **kwargs)

    monkeypatch.setattr(bucket, "write_file", flaky_write_file)
    report = local_platform.process()

    assert statuses(report) == {key: "processed"}
    assert attempts == [processed_key(local_platform, "0001", day)] * 2
    [run] = local_platform.instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS
    retries = local_platform.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert [event.step_key for event in retries] == ["store_sales"]
    assert read_parquet(local_platform, processed_key(local_platform, "0001", day)).num_rows == len(records)
    assert_summary_matches(local_platform, "0001", day, records)
    assert local_platform.keys("uploads/") == []


def test_storage_that_keeps_failing_fails_the_run_and_keeps_the_upload(
    make_local_platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same number of retries as the product, without waiting between them.
    policy = ingest_assets.TRANSIENT_RETRIES
    monkeypatch.setattr(ingest_assets, "TRANSIENT_RETRIES", dg.RetryPolicy(max_retries=policy.max_retries))
    platform = make_local_platform()
    day = days_ago(1)
    data = render(small_records("0001", day))
    key = platform.upload(upload_name("0001", day), data)

    def broken_write_file(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(platform.bucket, "write_file", broken_write_file)
    report = platform.process()

    assert statuses(report) == {key: "failed"}
    assert "no space left on device" in report.outcomes[0].detail
    [run] = platform.instance.get_runs()
    assert run.status == dg.DagsterRunStatus.FAILURE
    retries = platform.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retries) == policy.max_retries
    assert platform.bucket.read_bytes(key) == data  # still waiting in the inbox, never lost
    assert platform.keys("processed/") == [] and platform.keys("rejected/") == []
    assert platform.table.get_item(*store_day_key("0001", day)) is None


def test_the_duplicate_line_check_fails_on_a_tampered_parquet(local_platform: Platform) -> None:
    day = days_ago(1)
    local_platform.upload(upload_name("0001", day), render(small_records("0001", day)))
    local_platform.process()
    key = processed_key(local_platform, "0001", day)
    line_items = read_parquet(local_platform, key)
    # Someone appends two lines that are already there.
    pq.write_table(pa.concat_tables([line_items, line_items.slice(0, 2)]), local_platform.settings.bucket_path / key)

    checks = local_platform.defs.resolve_job_def(INGEST_JOB).get_subset(
        asset_selection=set(),
        asset_check_selection={dg.AssetCheckKey(STORE_SALES, name) for name in ("store_sales_has_rows", "store_sales_has_no_duplicate_lines")},
    )
    result = checks.execute_in_process(partition_key=f"{day}|0001", instance=local_platform.instance, raise_on_error=False)

    evaluations = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    assert evaluations["store_sales_has_rows"].passed
    duplicates = evaluations["store_sales_has_no_duplicate_lines"]
    assert not duplicates.passed
    assert duplicates.metadata["duplicate_lines"].value == 2
    latest = local_platform.instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(STORE_SALES, "store_sales_has_no_duplicate_lines")
    )
    assert latest.run_id == result.run_id
