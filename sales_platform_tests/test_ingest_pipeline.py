"""Store uploads through the whole ingest layer: the sensor picks files up and asks for one
batch run, each store-day gets its own materializations and checks in the Dagster instance,
accepted files become Parquet and table items, refused files end in rejected/ with their
reasons and a failed check on their store-day; reruns never duplicate anything.

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
from dagster._core.event_api import PartitionKeyFilter

from sales_platform.defs.ingest import upload_sensor
from sales_platform.defs.ingest.events import UPLOAD_ACCEPTED
from sales_platform.defs.ingest.ingest_job import INGEST_JOB
from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item
from sales_platform.domain.table_keys import store_summary_key, upload_tracking_key
from sales_platform.domain.upload_contract import LINE_ITEM_SCHEMA
from sales_platform.samples import store_files as sample_data
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
CHECKS = {(STORE_SALES, UPLOAD_ACCEPTED), (STORE_METRICS, "store_metrics_net_within_gross")}


# --------------------------------------------------------------------------- helpers


def bad_payment_records(store_id: str, day: dt.date) -> list[dict[str, Any]]:
    """A small day whose second record is paid with a method the contract does not know."""
    records = small_records(store_id, day)
    records[1]["payment_method"] = "bitcoin"
    return records


def processed_key(platform: Platform, store_id: str, day: dt.date) -> str:
    return platform.settings.storage.layout.processed_key(day, store_id)


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
        processed_at=dt.datetime.now(dt.UTC),
    )
    del item["processed_at"]
    return item


def stored_summary(platform: Platform, store_id: str, day: dt.date) -> dict[str, Any] | None:
    item = platform.table.get_item(*store_summary_key(store_id, day))
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


def latest_checks(platform: Platform, partition: str) -> dict[str, bool]:
    """Each store-day check's latest result for one partition, as the UI shows it."""
    results = {}
    for asset, name in CHECKS:
        history = platform.instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(asset, name), limit=1, partition_filter=PartitionKeyFilter(key=partition)
        )
        if history:
            results[name] = history[0].event.dagster_event.asset_check_evaluation_data.passed
    return results


def statuses(report) -> dict[str, str]:
    return report.statuses()


def rematerialize(platform: Platform, partition: str) -> dg.ExecuteInProcessResult:
    """What "Materialize" on a store-day partition does in the UI."""
    job = platform.defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        partition_key=partition,
        instance=platform.instance,
        asset_selection=[STORE_SALES, STORE_METRICS],
        raise_on_error=False,
    )


# --------------------------------------------------------------------------- core, both backends


@pytest.mark.slow
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
        keys[upload_name("0003", day)]: "refused",
        keys["sales_export.json"]: "refused",
        keys[upload_name(UNKNOWN_STORE, day)]: "refused",
        keys[upload_name("0002", tomorrow)]: "refused",
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
    refused = (
        upload_name("0003", day),
        "sales_export.json",
        upload_name(UNKNOWN_STORE, day),
        upload_name("0002", tomorrow),
    )
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

    # Dagster: one run for the whole tick, materializations for the accepted store-days only,
    # the content refusal as a failed check on its store-day, the unplaceable files as
    # observations, and every check of the accepted days passed.
    [run] = platform.instance.get_runs()
    assert (run.job_name, run.status) == (INGEST_JOB, dg.DagsterRunStatus.SUCCESS)
    assert sorted(upload_sensor.uploads_of(run)) == sorted(keys.values())
    accepted = {f"{day}|0001", f"{day}|0002"}
    assert platform.instance.get_materialized_partitions(STORE_SALES) == accepted
    assert platform.instance.get_materialized_partitions(STORE_METRICS) == accepted
    for partition in accepted:
        assert latest_checks(platform, partition) == dict.fromkeys((name for _, name in CHECKS), True)
    assert latest_checks(platform, f"{day}|0003") == {UPLOAD_ACCEPTED: False}
    [refusal] = platform.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(STORE_SALES, UPLOAD_ACCEPTED), limit=1, partition_filter=PartitionKeyFilter(key=f"{day}|0003")
    )
    metadata = refusal.event.dagster_event.asset_check_evaluation_data.metadata
    assert metadata["rejected_key"].value == f"rejected/{upload_name('0003', day)}"
    assert "bitcoin" in metadata["summary"].value
    observed = {
        record.asset_observation.metadata["upload"].value
        for record in platform.instance.fetch_observations(STORE_SALES, limit=10).records
    }
    assert observed == {
        keys["sales_export.json"],
        keys[upload_name(UNKNOWN_STORE, day)],
        keys[upload_name("0002", tomorrow)],
    }


@pytest.mark.slow
def test_reuploads_replace_a_store_day_and_a_bad_one_changes_nothing(platform: Platform) -> None:
    day = days_ago(2)
    name = upload_name("0001", day)
    first = small_records("0001", day, transactions=3)
    platform.upload(name, render(first))
    platform.upload(upload_name("0002", day), render(small_records("0002", day)))
    assert statuses(platform.process()) == {
        f"uploads/{name}": "processed",
        f"uploads/{upload_name('0002', day)}": "processed",
    }
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
    assert statuses(platform.process()) == {f"uploads/{name}": "refused"}
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


@pytest.mark.slow
def test_rematerializing_a_partition_reprocesses_its_archived_upload(local_platform: Platform) -> None:
    day = days_ago(1)
    records = small_records("0002", day)
    local_platform.upload(upload_name("0002", day), render(records))
    local_platform.process()
    assert local_platform.keys("uploads/") == []
    items = local_platform.all_items()

    result = rematerialize(local_platform, f"{day}|0002")

    assert result.success
    [materialization] = [
        event.materialization for event in result.get_asset_materialization_events() if event.asset_key == STORE_SALES
    ]
    assert materialization.metadata["upload"].value == f"archive/{upload_name('0002', day)}"
    assert materialization.metadata["dagster/row_count"].value == len(records)
    assert read_parquet(local_platform, processed_key(local_platform, "0002", day)).num_rows == len(records)
    assert_summary_matches(local_platform, "0002", day, records)
    assert [(item["PK"], item["SK"]) for item in local_platform.all_items()] == [(i["PK"], i["SK"]) for i in items]
    assert local_platform.keys("rejected/") == []
    assert local_platform.keys("archive/") == [f"archive/{upload_name('0002', day)}"]
    assert latest_checks(local_platform, f"{day}|0002") == dict.fromkeys((name for _, name in CHECKS), True)


@pytest.mark.slow
def test_a_partition_with_no_upload_fails_naming_store_and_day(local_platform: Platform) -> None:
    day = days_ago(3)
    result = rematerialize(local_platform, f"{day}|0003")

    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "store_day"
    message = failure.step_failure_data.error.message
    assert "store 0003" in message and day.isoformat() in message
    assert local_platform.instance.get_materialized_partitions(STORE_SALES) == set()


@pytest.mark.slow
def test_one_file_that_cannot_be_written_fails_the_run_but_not_the_others(
    local_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = days_ago(1)
    keys = {
        store: local_platform.upload(upload_name(store, day), render(small_records(store, day)))
        for store in ("0001", "0002")
    }
    # Every bucket the runs open, as each run opens its own from the `bucket` resource.
    store_class = type(local_platform.bucket)
    write_file = store_class.write_file

    def no_space_for_store_1(self, key, *args, **kwargs):
        if "store_id=0001" in key:
            raise OSError("no space left on device")
        return write_file(self, key, *args, **kwargs)

    monkeypatch.setattr(store_class, "write_file", no_space_for_store_1)
    report = local_platform.process()

    [outcome] = report.outcomes
    assert outcome.status == "failed"
    assert "1 of 2 upload(s) could not be processed" in outcome.detail and "no space left on device" in outcome.detail
    assert statuses(report) == {keys["0002"]: "processed"}
    assert local_platform.keys("uploads/") == [keys["0001"]]  # still waiting, never lost
    assert local_platform.table.get_item(*store_summary_key("0001", day)) is None
    assert local_platform.instance.get_materialized_partitions(STORE_METRICS) == {f"{day}|0002"}


@pytest.mark.slow
def test_a_file_whose_run_failed_is_asked_for_again_after_the_retry_delay(
    make_local_platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_local_platform(UPLOAD_RETRY_SECONDS="60")
    day = days_ago(1)
    records = small_records("0001", day)
    key = platform.upload(upload_name("0001", day), render(records))
    store_class = type(platform.bucket)  # every bucket the runs open
    write_file = store_class.write_file
    broken = [True]

    def flaky_write_file(*args, **kwargs):
        if broken[0]:
            raise OSError("connection reset by peer")
        return write_file(*args, **kwargs)

    monkeypatch.setattr(store_class, "write_file", flaky_write_file)
    assert [o.status for o in platform.process().outcomes] == ["failed"]
    broken[0] = False

    # Within the delay the failed file is left alone, then it is asked for again.
    assert platform.process().outcomes == []
    clock = upload_sensor.time.time()
    monkeypatch.setattr(upload_sensor.time, "time", lambda: clock + 61)
    report = platform.process()

    assert statuses(report) == {key: "processed"}
    assert [run.status for run in platform.instance.get_runs()] == [
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
    ]
    assert read_parquet(platform, processed_key(platform, "0001", day)).num_rows == len(records)
    assert_summary_matches(platform, "0001", day, records)
    assert platform.keys("uploads/") == []
