"""How work is split: by business day in the stores' time zone, and by store."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

import dagster as dg


class Calendar(Protocol):
    """What the partitions follow: the stores' settings, or the `PlatformConfig` resource
    (same names)."""

    @property
    def partitions_start_date(self) -> dt.date: ...
    @property
    def daily_analysis_timezone(self) -> str: ...
    @property
    def timezone(self) -> ZoneInfo: ...
    @property
    def expected_stores(self) -> list[str]: ...


def business_days(settings: Calendar) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists while the day is still trading, so files for today
    # and late data arriving the next morning both have a place.
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start_date.isoformat(),
        timezone=settings.daily_analysis_timezone,
        end_offset=1,
    )


def store_day_partitions(settings: Calendar) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {"date": business_days(settings), "store": dg.StaticPartitionsDefinition(list(settings.expected_stores))}
    )


def store_day_partition_key(store_id: str, business_date: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": business_date.isoformat(), "store": store_id})


def store_and_day(partition_key: str | dg.MultiPartitionKey) -> tuple[str, dt.date]:
    if isinstance(partition_key, dg.MultiPartitionKey):
        keys = partition_key.keys_by_dimension
        return keys["store"], dt.date.fromisoformat(keys["date"])
    day, store = partition_key.split("|")  # dimensions sort by name: date|store
    return store, dt.date.fromisoformat(day)


def accepted_days(settings: Calendar, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The first and last business day that has a partition at `now`: with end_offset=1 the last
    one is today where the stores are."""
    moment = now or dt.datetime.now(dt.UTC)
    return settings.partitions_start_date, moment.astimezone(settings.timezone).date()
