"""How a moment is written down: ISO 8601 in UTC with a `Z`, the form every item, report and
file listing carries, so that texts compare and sort as times."""

from __future__ import annotations

import datetime as dt


def utc_timestamp(moment: dt.datetime, *, precise: bool = False) -> str:
    """`2025-11-28T01:02:03Z`; `precise` keeps the microseconds a record needs to tell two
    events of the same second apart (`2025-11-28T01:02:03.456789Z`)."""
    written = moment.astimezone(dt.UTC).isoformat(timespec="auto" if precise else "seconds")
    return written.replace("+00:00", "Z")


def utc_now() -> str:
    return utc_timestamp(dt.datetime.now(dt.UTC))


def compact_utc_stamp(moment: dt.datetime) -> str:
    """`20251128T010203456789Z`: the same moment without separators, for file and folder names
    that sort by time."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
