"""The inbox watcher: which files in uploads/ go into a run, how a backlog is split, and that no
file is requested twice while its run is under way, nor forgotten when its run failed."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg
import pytest
from dagster._core.storage.tags import WILL_RETRY_TAG

from sales_platform.defs.ingest import upload_sensor
from sales_platform.defs.ingest.ingest_job import INGEST_JOB
from sales_platform.defs.ingest.upload_sensor import uploads_of
from sales_platform.resources.object_store import ObjectInfo
from sales_platform_tests.conftest import (
    Platform,
    days_ago,
    render,
    sensor_tick,
    set_age,
    small_records,
    start_date,
    store_today,
    upload_name,
)


def _requested(data) -> list[str]:
    return [
        key for request in data.run_requests for key in request.run_config["ops"]["ingest_uploads"]["config"]["uploads"]
    ]


def _good(platform: Platform, store_id: str, day: dt.date, extension: str = "json") -> str:
    return platform.upload(upload_name(store_id, day, extension), render(small_records(store_id, day)))


def _submit(platform: Platform, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """A run of the request in the instance, in `status`, as the daemon would have left it."""
    job = platform.defs.resolve_job_def(INGEST_JOB)
    run = platform.instance.create_run_for_job(job, run_config=request.run_config, tags=request.tags)
    if status in (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.FAILURE):
        start = dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=INGEST_JOB)
        platform.instance.report_dagster_event(start, run_id=run.run_id)
    if status == dg.DagsterRunStatus.FAILURE:
        platform.instance.report_run_failed(run)
        # Failed for good: Dagster's run retries are not going to try it again.
        platform.instance.add_run_tags(run.run_id, {WILL_RETRY_TAG: "false"})
    return platform.instance.get_run_by_id(run.run_id)


def test_everything_new_in_one_look_goes_into_one_run(local_platform: Platform) -> None:
    yesterday, today, first = days_ago(1), store_today(), start_date()
    keys = [
        _good(local_platform, "0001", yesterday),
        _good(local_platform, "0002", yesterday),
        _good(local_platform, "0003", today),  # the last partition is today
        _good(local_platform, "0001", first),  # and the first is the start date
        _good(local_platform, "0002", days_ago(2), "csv"),
        local_platform.upload("sales_export.json", b"[]"),  # a file with no store-day is refused in the same run
    ]

    data = sensor_tick(local_platform)

    [request] = data.run_requests
    assert request.job_name == INGEST_JOB
    assert request.partition_key is None  # each store-day is its own partition inside the run
    assert sorted(_requested(data)) == sorted(keys)
    # Store-days in date order, so a day's baselines are in before the day after.
    dated = [key for key in _requested(data) if "store_" in key]
    assert dated == sorted(dated, key=lambda key: key.rsplit("_", 1)[-1])


@pytest.mark.slow
def test_a_file_is_requested_once_and_an_overwritten_file_again(local_platform: Platform) -> None:
    day = days_ago(1)
    key = _good(local_platform, "0001", day)
    other = _good(local_platform, "0002", day)

    first = sensor_tick(local_platform)
    assert sorted(_requested(first)) == sorted([key, other])

    unchanged = sensor_tick(local_platform, first.cursor)
    assert unchanged.run_requests == []
    assert "no new files" in unchanged.skip_message

    # The store sends the day again, corrected: same name, new content.
    local_platform.upload(upload_name("0001", day), render(small_records("0001", day, transactions=4)), age_seconds=10)
    again = sensor_tick(local_platform, unchanged.cursor)
    assert _requested(again) == [key]
    assert again.run_requests[0].run_key != first.run_requests[0].run_key
    assert sensor_tick(local_platform, again.cursor).run_requests == []


@pytest.mark.slow
def test_a_file_whose_run_failed_is_requested_again_later_and_ever_more_rarely(
    make_local_platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_local_platform(UPLOAD_RETRY_SECONDS="60")
    key = _good(platform, "0001", days_ago(1))
    clock = [upload_sensor.time.time()]
    monkeypatch.setattr(upload_sensor.time, "time", lambda: clock[0])

    first = sensor_tick(platform)
    _submit(platform, first.run_requests[0], dg.DagsterRunStatus.FAILURE)

    clock[0] += 59
    assert sensor_tick(platform, first.cursor).run_requests == []
    clock[0] += 2
    second = sensor_tick(platform, first.cursor)
    assert _requested(second) == [key]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key  # a new run, not a duplicate key

    _submit(platform, second.run_requests[0], dg.DagsterRunStatus.FAILURE)
    clock[0] += 61
    assert sensor_tick(platform, second.cursor).run_requests == []  # now twice the delay
    clock[0] += 60
    assert _requested(sensor_tick(platform, second.cursor)) == [key]


@pytest.mark.slow
def test_a_file_whose_run_is_still_going_is_never_requested_twice(
    make_local_platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_local_platform(UPLOAD_RETRY_SECONDS="5")
    key = _good(platform, "0001", days_ago(1))
    first = sensor_tick(platform)
    _submit(platform, first.run_requests[0], dg.DagsterRunStatus.STARTED)
    clock = upload_sensor.time.time()
    monkeypatch.setattr(upload_sensor.time, "time", lambda: clock + 3600)  # however long it takes

    assert sensor_tick(platform, first.cursor).run_requests == []
    assert key in upload_sensor._in_flight(platform.instance)


def test_hidden_files_are_left_alone_and_files_in_subfolders_are_taken_to_be_refused(local_platform: Platform) -> None:
    day = days_ago(1)
    data = render(small_records("0001", day))
    local_platform.upload(f".{upload_name('0001', day)}.swp", data)  # an editor's
    local_platform.upload(f".partial/{upload_name('0001', day)}", data)  # a hidden folder: rsync's, a script's
    nested = [
        local_platform.upload(f"incoming/{upload_name('0002', day)}", data),
        local_platform.upload(f"old/2024/{upload_name('0003', day)}", data),
    ]

    first = sensor_tick(local_platform)
    assert sorted(_requested(first)) == sorted(nested)
    assert upload_sensor.settling_files(first.cursor) == []

    good = _good(local_platform, "0001", day)
    assert _requested(sensor_tick(local_platform, first.cursor)) == [good]


@pytest.mark.slow
def test_a_file_still_being_written_waits_until_it_has_settled(local_platform: Platform) -> None:
    assert local_platform.settings.upload_settle_seconds == 2.0
    day = days_ago(1)
    key = local_platform.upload(upload_name("0001", day), render(small_records("0001", day)), age_seconds=0)

    young = sensor_tick(local_platform)
    assert young.run_requests == []
    assert "1 still being written" in young.skip_message
    assert upload_sensor.settling_files(young.cursor) == [key]

    set_age(local_platform.settings.bucket_path / key, 3)
    settled = sensor_tick(local_platform, young.cursor)
    assert _requested(settled) == [key]
    assert upload_sensor.settling_files(settled.cursor) == []


@pytest.mark.slow
def test_a_backlog_is_split_over_the_run_slots_a_store_day_never_split(make_local_platform) -> None:
    platform = make_local_platform(MAX_CONCURRENT_RUNS="2", MAX_FILES_PER_RUN="40")
    keys = [_good(platform, store, days_ago(n)) for store in ("0001", "0002", "0003") for n in range(1, 7)]
    keys += [platform.upload(upload_name("0001", days_ago(1), "csv"), b"transaction_id\n")]  # the same store-day again

    data = sensor_tick(platform)

    runs = [request.run_config["ops"]["ingest_uploads"]["config"]["uploads"] for request in data.run_requests]
    assert len(runs) == 1  # 19 files are not worth a second run's start
    assert sorted(key for run in runs for key in run) == sorted(keys)

    files = [
        ObjectInfo(f"uploads/{upload_name(store, days_ago(n), extension)}", 1, dt.datetime.now(dt.UTC), "v")
        for store in ("0001", "0002", "0003")
        for n in range(1, 21)
        for extension in ("json", "csv")
    ]
    batches = upload_sensor.batches(files, parallel_runs=2, max_files=20)
    assert [len(batch) for batch in batches] == [20] * 6
    for batch in batches:
        assert len({info.name[:21] for info in batch}) == len(batch) // 2  # both formats of a store-day together


@pytest.mark.slow
def test_more_files_than_one_look_allows_are_spread_over_looks_without_loss(make_local_platform) -> None:
    platform = make_local_platform(MAX_FILES_PER_SENSOR_TICK="2")
    keys = {_good(platform, store, days_ago(n)) for store in ("0001", "0002", "0003") for n in (1, 2)}
    keys.add(platform.upload("sales_export.json", b"[]"))  # refusals count too

    requested: list[str] = []
    sizes = []
    cursor = None
    for _ in range(6):
        data = sensor_tick(platform, cursor)
        cursor = data.cursor
        sizes.append(len(_requested(data)))
        requested += _requested(data)

    assert sizes == [2, 2, 2, 1, 0, 0]
    assert sorted(requested) == sorted(keys)


@pytest.mark.slow
def test_uploads_of_reads_what_a_run_was_asked_to_process(local_platform: Platform) -> None:
    key = _good(local_platform, "0001", days_ago(1))
    run = _submit(local_platform, sensor_tick(local_platform).run_requests[0], dg.DagsterRunStatus.NOT_STARTED)
    assert uploads_of(run) == [key]


def test_a_store_days_files_go_together_and_never_beside_a_run_that_has_one_of_them(local_platform: Platform) -> None:
    day = days_ago(1)
    json_key = _good(local_platform, "0001", day)
    other_day = _good(local_platform, "0002", day)
    first = sensor_tick(local_platform)
    run = _submit(local_platform, first.run_requests[0], dg.DagsterRunStatus.STARTED)

    # The store sends the day again as a .csv while the .json is being ingested: it waits, or two
    # runs would write the same store-day at once; another day's new file does not.
    csv_key = _good(local_platform, "0001", day, "csv")
    third = _good(local_platform, "0003", day)
    during = sensor_tick(local_platform, first.cursor)
    assert _requested(during) == [third]

    local_platform.instance.report_run_failed(run)
    local_platform.instance.add_run_tags(run.run_id, {WILL_RETRY_TAG: "false"})
    after = sensor_tick(local_platform, during.cursor)
    [request] = after.run_requests
    assert _requested(after) == [json_key, csv_key], "the whole day, in arrival order, in one run"
    assert other_day not in _requested(after)  # its retry waits its own delay


@pytest.mark.slow
def test_a_store_days_files_wait_while_one_of_them_is_still_being_written(local_platform: Platform) -> None:
    day = days_ago(1)
    json_key = _good(local_platform, "0001", day)
    csv_key = local_platform.upload(upload_name("0001", day, "csv"), b"transaction_id\n", age_seconds=0)

    young = sensor_tick(local_platform)
    assert young.run_requests == []
    assert upload_sensor.settling_files(young.cursor) == [csv_key]

    set_age(local_platform.settings.bucket_path / csv_key, 3)
    assert _requested(sensor_tick(local_platform, young.cursor)) == [json_key, csv_key]


@pytest.mark.slow
def test_a_file_dated_in_the_future_is_taken_once_two_looks_find_it_unchanged(
    local_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _good(local_platform, "0001", days_ago(1))
    path = local_platform.settings.bucket_path / key
    ahead = upload_sensor.time.time() + 3600
    os.utime(path, (ahead, ahead))
    clock = [upload_sensor.time.time()]
    monkeypatch.setattr(upload_sensor.time, "time", lambda: clock[0])

    first = sensor_tick(local_platform)
    assert first.run_requests == [] and upload_sensor.settling_files(first.cursor) == [key]
    clock[0] += 1
    assert sensor_tick(local_platform, first.cursor).run_requests == []  # not yet the settle time

    # Written again meanwhile: the wait starts over.
    path.write_bytes(path.read_bytes() + b"\n")
    os.utime(path, (ahead, ahead))
    clock[0] += 5
    changed = sensor_tick(local_platform, first.cursor)
    assert changed.run_requests == []
    clock[0] += local_platform.settings.upload_settle_seconds
    assert _requested(sensor_tick(local_platform, changed.cursor)) == [key]
