"""When a day's analysis is due: the rule the completeness sensor applies to each day whose
uploads changed.

A day is analysed once every expected store's upload is processed, and once for that data:
the company summary remembers the fingerprint of the uploads it was made from. A late store or
a corrected file changes the fingerprint and analyses the day again, but only within the
re-analysis window; a complete day that was never analysed is analysed whatever its age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sales_platform.domain.analysis_items import analysis_fingerprint


@dataclass(frozen=True)
class Verdict:
    due: bool
    reason: str
    fingerprint: str


def analysis_verdict(
    business_date: dt.date,
    tracking_items: Iterable[Mapping[str, Any]],
    expected_stores: Iterable[str],
    company_summary: Mapping[str, Any] | None,
    today: dt.date,
    reanalysis_window_days: int,
) -> Verdict:
    tracking = list(tracking_items)
    reported = {item["store_id"] for item in tracking}
    missing = sorted(set(expected_stores) - reported)
    fingerprint = analysis_fingerprint(tracking)
    if missing:
        return Verdict(False, f"waiting for store(s) {', '.join(missing)}", fingerprint)
    if company_summary is None:
        return Verdict(True, "every expected store has reported", fingerprint)
    if not company_summary.get("source_fingerprint"):
        return Verdict(True, "its last analysis did not finish", fingerprint)
    if company_summary.get("source_fingerprint") == fingerprint:
        return Verdict(False, "already analysed with exactly these uploads", fingerprint)
    if business_date < today - dt.timedelta(days=reanalysis_window_days):
        return Verdict(
            False,
            f"uploads changed, but the day is more than REANALYSIS_WINDOW_DAYS={reanalysis_window_days} days back",
            fingerprint,
        )
    return Verdict(True, "uploads changed since the last analysis", fingerprint)
