"""The inbox watcher: which files in uploads/ become runs, of which job, for which store-day,
and that none is requested twice or forgotten."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sales_platform.defs import upload_sensor as upload_sensor_module
from sales_platform.defs.upload_sensor import INGEST_JOB, REFUSAL_JOB, UPLOAD_KEY_TAG
from sales_platform_tests.conftest import (
    UNKNOWN_STORE,
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


def _requests_by_key(data) -> dict[str, object]:
    return {request.tags[UPLOAD_KEY_TAG]: request for request in data.run_requests}


def _ingest_config(key: str) -> dict:
    return {"ops": {"store_sales": {"config": {"upload_key": key}}}}


def _refusal_config(key: str) -> dict:
    return {"ops": {"refuse_upload_file": {"config": {"upload_key": key}}}}


def _good(platform: Platform, store_id: str, day: dt.date, extension: str = "json") -> str:
    return platform.upload(upload_name(store_id, day, extension), render(small_records(store_id, day)))


def test_each_new_good_file_requests_one_ingest_run_for_its_store_day(local_platform: Platform) -> None:
    yesterday, today, first = days_ago(1), store_today(), start_date()
    keys = {
        _good(local_platform, "0001", yesterday): f"{yesterday}|0001",
        _good(local_platform, "0002", yesterday): f"{yesterday}|0002",
        _good(local_platform, "0003", today): f"{today}|0003",  # the last partition is today
        _good(local_platform, "0001", first): f"{first}|0001",  # and the first is the start date
        _good(local_platform, "0002", days_ago(2), "csv"): f"{days_ago(2)}|0002",
    }

    data = sensor_tick(local_platform)

    requests = _requests_by_key(data)
    assert set(requests) == set(keys)
    for key, partition in keys.items():
        request = requests[key]
        assert request.job_name == INGEST_JOB
        assert str(request.partition_key) == partition
        assert request.run_config == _ingest_config(key)
    assert len({request.run_key for request in data.run_requests}) == len(keys)


def test_cursor_requests_a_file_once_and_an_overwritten_file_again(local_platform: Platform) -> None:
    day = days_ago(1)
    key = _good(local_platform, "0001", day)
    other = _good(local_platform, "0002", day)

    first = sensor_tick(local_platform)
    assert set(_requests_by_key(first)) == {key, other}
    first_run_key = _requests_by_key(first)[key].run_key

    unchanged = sensor_tick(local_platform, first.cursor)
    assert unchanged.run_requests == []
    assert "no new files" in unchanged.skip_message

    # The store sends the day again, corrected: same name, new content.
    local_platform.upload(upload_name("0001", day), render(small_records("0001", day, transactions=4)), age_seconds=10)
    again = sensor_tick(local_platform, unchanged.cursor)
    assert list(_requests_by_key(again)) == [key]
    request = again.run_requests[0]
    assert request.run_key != first_run_key
    assert request.job_name == INGEST_JOB and str(request.partition_key) == f"{day}|0001"

    assert sensor_tick(local_platform, again.cursor).run_requests == []


@pytest.mark.parametrize(
    "name_of",
    [
        # Names are made when the test runs, so "today" is the day the sensor sees.
        pytest.param(lambda: "sales_export.json", id="bad-name"),
        pytest.param(lambda: "store_1_2025-01-01.json", id="short-store-id"),
        pytest.param(lambda: upload_name("0001", days_ago(1), "xlsx"), id="unknown-format"),
        pytest.param(lambda: f"store_0001_{days_ago(1).year}-02-30.json", id="impossible-date"),
        pytest.param(lambda: upload_name("0001", days_ago(-1)), id="future-date"),
        pytest.param(lambda: upload_name("0001", start_date() - dt.timedelta(days=1)), id="before-partitions-start"),
        pytest.param(lambda: upload_name(UNKNOWN_STORE, days_ago(1)), id="unknown-store"),
    ],
)
def test_a_file_without_a_store_day_goes_to_the_refusal_job(local_platform: Platform, name_of) -> None:
    key = local_platform.upload(name_of(), render(small_records("0001", days_ago(1))))

    data = sensor_tick(local_platform)

    assert len(data.run_requests) == 1
    request = data.run_requests[0]
    assert request.job_name == REFUSAL_JOB
    assert request.partition_key is None
    assert request.run_config == _refusal_config(key)
    assert request.tags[UPLOAD_KEY_TAG] == key
    # Requested once, not at every tick.
    assert sensor_tick(local_platform, data.cursor).run_requests == []


def test_hidden_files_and_subfolders_of_the_inbox_are_ignored(local_platform: Platform) -> None:
    day = days_ago(1)
    data = render(small_records("0001", day))
    local_platform.upload(f".{upload_name('0001', day)}.swp", data)
    local_platform.upload(f"incoming/{upload_name('0002', day)}", data)
    local_platform.upload(f"old/2024/{upload_name('0003', day)}", data)

    nothing = sensor_tick(local_platform)
    assert nothing.run_requests == []
    assert json.loads(nothing.cursor) == {}

    good = _good(local_platform, "0001", day)
    assert list(_requests_by_key(sensor_tick(local_platform, nothing.cursor))) == [good]


def test_a_file_still_being_written_waits_until_it_has_settled(local_platform: Platform) -> None:
    assert local_platform.settings.upload_settle_seconds == 2.0
    day = days_ago(1)
    key = local_platform.upload(upload_name("0001", day), render(small_records("0001", day)), age_seconds=0)

    young = sensor_tick(local_platform)
    assert young.run_requests == []
    assert "1 still being written" in young.skip_message

    set_age(local_platform.settings.bucket_path / key, 3)
    settled = sensor_tick(local_platform, young.cursor)
    assert list(_requests_by_key(settled)) == [key]


def test_a_file_that_breaks_routing_does_not_stop_the_others(
    local_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = days_ago(1)
    keys = [_good(local_platform, store, day) for store in ("0001", "0002", "0003")]
    cursed = upload_name("0002", day)
    route = upload_sensor_module.route_upload

    def route_or_blow_up(file_name, *args, **kwargs):
        if file_name == cursed:
            raise RuntimeError("routing exploded")
        return route(file_name, *args, **kwargs)

    monkeypatch.setattr(upload_sensor_module, "route_upload", route_or_blow_up)
    broken = sensor_tick(local_platform)
    assert set(_requests_by_key(broken)) == {keys[0], keys[2]}

    # Once routing works again the file is requested: it was not marked as done.
    monkeypatch.setattr(upload_sensor_module, "route_upload", route)
    assert list(_requests_by_key(sensor_tick(local_platform, broken.cursor))) == [keys[1]]


def test_more_files_than_one_tick_allows_are_spread_over_ticks_without_loss(make_local_platform) -> None:
    platform = make_local_platform(MAX_RUNS_PER_SENSOR_TICK="2")
    keys = {_good(platform, store, days_ago(n)) for store in ("0001", "0002", "0003") for n in (1, 2)}
    keys.add(platform.upload("sales_export.json", b"[]"))  # refusals count too

    requested: list[str] = []
    sizes = []
    cursor = None
    for _ in range(6):
        data = sensor_tick(platform, cursor)
        cursor = data.cursor
        sizes.append(len(data.run_requests))
        requested += [request.tags[UPLOAD_KEY_TAG] for request in data.run_requests]

    assert sizes == [2, 2, 2, 1, 0, 0]
    assert sorted(requested) == sorted(keys)
