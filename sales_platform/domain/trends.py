"""Where the chain is heading: week over week, each store's momentum, rising and falling
products, the sales pace and the payment mix.

Comparisons are chosen so the weekly rhythm (busy Saturdays, quiet Tuesdays) does not pass for
a trend: whole weeks against whole weeks, the same weekdays a week apart, and each product
against its own usual day of the week, taking medians where one outage or one event day could
otherwise tilt the answer.

A day on which some stores had not reported (the fallback analysis ran without them) is not a
smaller day of sales: company figures of such a day are kept out of the week-over-week and pace
comparisons, with the weekday it pairs with, and the text says which days were left out; the
payment mix compares the same stores on both sides, and a product's usual day is scaled to the
stores that reported today.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.insight_levels import LEVELS, rank
from sales_platform.domain.wording import change_percent, magnitude_percent, money, one_decimal, signed_percent

WEEK = 7
WINDOW_DAYS = 2 * WEEK  # today and the 13 days before


@dataclass(frozen=True)
class TrendThresholds:
    flat_below: Decimal = Decimal(2)  # |change| in percent under which a direction is "flat"
    medium_from: Decimal = Decimal(5)
    high_from: Decimal = Decimal(10)
    min_days_per_week: int = 4
    # store momentum: fitted change over the window, in percent of the store's median day, from
    # at least this many weekdays reported in both weeks
    momentum_min_pairs: int = 5
    momentum_from: Decimal = Decimal(20)
    momentum_high_from: Decimal = Decimal(35)
    # products: today's units against the median of the same weekday in earlier weeks
    product_weeks: int = 4
    product_min_days: int = 3
    product_min_units: Decimal = Decimal(20)
    product_rising_from: Decimal = Decimal(50)
    product_falling_from: Decimal = Decimal(35)
    product_high_from: Decimal = Decimal(100)
    products_per_direction: int = 5
    # payment mix: share of a method, in percentage points
    payment_shift_from: Decimal = Decimal(3)
    payment_shift_high_from: Decimal = Decimal(6)
    pace_days: int = 3


DEFAULT_TREND_THRESHOLDS = TrendThresholds()


@dataclass(frozen=True)
class Trend:
    type: str
    title: str
    description: str
    affected_items: list[str]
    significance: str  # low | medium | high
    trend_direction: str  # up | down | flat
    metric_change_percent: Decimal
    subject: str = ""  # what the trend is about when a type occurs more than once a day

    @property
    def insight_id(self) -> str:
        return f"{self.type}-{self.subject}" if self.subject else self.type


@dataclass(frozen=True)
class ProductUnits:
    name: str
    units: int


@dataclass(frozen=True)
class TrendReport:
    trends: list[Trend]
    notes: list[str] = field(default_factory=list)


def trend_window(business_date: dt.date) -> list[dt.date]:
    """The days whose store summaries the trends read, oldest first."""
    return [business_date - dt.timedelta(days=n) for n in range(WINDOW_DAYS - 1, -1, -1)]


def product_window(business_date: dt.date, limits: TrendThresholds | None = None) -> list[dt.date]:
    """The earlier days whose product units a product trend is compared with: the same
    weekday in each of the last `product_weeks` weeks, newest first."""
    weeks = (limits or DEFAULT_TREND_THRESHOLDS).product_weeks
    return [business_date - dt.timedelta(days=WEEK * n) for n in range(1, weeks + 1)]


def summary_window(business_date: dt.date) -> list[dt.date]:
    """Every day whose store summaries the trends read: the trend window and the product
    baseline days (to tell which of them were complete), oldest first."""
    return sorted(set(trend_window(business_date)) | set(product_window(business_date)))


def _direction(change: Decimal, limits: TrendThresholds) -> str:
    if abs(change) < limits.flat_below:
        return "flat"
    return "up" if change > 0 else "down"


def _significance(change: Decimal, medium: Decimal, high: Decimal) -> str:
    size = abs(change)
    return "high" if size >= high else "medium" if size >= medium else "low"


def _daily_net(days: Mapping[dt.date, Sequence[StoreDay]]) -> dict[dt.date, Decimal]:
    return {day: sum((s.net_sales for s in stores), Decimal(0)) for day, stores in days.items() if stores}


def _average(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


@dataclass(frozen=True)
class _Coverage:
    """Which days had every store that trades: the others are partial (a fallback run without
    some stores), and their company figures are not a day of the chain's sales."""

    stores: frozenset[str]  # the stores expected and seen in the window
    reported: Mapping[dt.date, frozenset[str]]

    @classmethod
    def of(cls, days: Mapping[dt.date, Sequence[StoreDay]], expected_stores: Sequence[str]) -> _Coverage:
        reported = {day: frozenset(s.store_id for s in stores) for day, stores in days.items()}
        seen = frozenset().union(*reported.values()) if reported else frozenset()
        return cls(frozenset(expected_stores) & seen if expected_stores else seen, reported)

    def complete(self, day: dt.date) -> bool:
        reported = self.reported.get(day, frozenset())
        return bool(reported) and self.stores <= reported

    def describe(self, day: dt.date) -> str:
        return f"{day:%A} {day.isoformat()} had {len(self.reported.get(day, frozenset()) & self.stores)} of {len(self.stores)} stores"


def _paired(
    recent: Sequence[dt.date], coverage: _Coverage, daily: Mapping[dt.date, Decimal]
) -> tuple[list[tuple[dt.date, dt.date]], list[str]]:
    """(day, same weekday a week before) pairs both complete, and what was left out and why."""
    kept, left_out = [], []
    for day in recent:
        before = day - dt.timedelta(days=WEEK)
        if day not in daily or before not in daily:
            continue  # no sales at all that day: nothing to compare, nothing partial to leave out
        partial = [d for d in (day, before) if not coverage.complete(d)]
        if partial:
            left_out.append(" and ".join(coverage.describe(d) for d in partial))
        else:
            kept.append((day, before))
    return kept, left_out


def _left_out_words(left_out: Sequence[str]) -> str:
    return f"; left out, with the weekday each pairs with, as partial days: {'; '.join(left_out)}" if left_out else ""


def _week_over_week(
    business_date: dt.date, days: Mapping[dt.date, Sequence[StoreDay]], coverage: _Coverage, limits: TrendThresholds
) -> Trend | str:
    daily = _daily_net(days)
    this_week = [business_date - dt.timedelta(days=n) for n in range(WEEK)]
    pairs, left_out = _paired(this_week, coverage, daily)
    if len(pairs) < limits.min_days_per_week:
        return (
            f"week over week needs {limits.min_days_per_week} weekdays with every store in both weeks; "
            f"found {len(pairs)}" + (f" ({'; '.join(left_out)})" if left_out else "")
        )
    now, before = [daily[d] for d, _ in pairs], [daily[e] for _, e in pairs]
    average_now, average_before = _average(now), _average(before)
    if average_before <= 0:
        return "week over week: no sales in the week before"
    change = one_decimal(change_percent(average_now, average_before))  # thresholds apply to what is shown
    # The stores that moved most in the same direction as the chain, on the same pairs.
    weeks: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
    for week, dates in ((0, [d for d, _ in pairs]), (1, [e for _, e in pairs])):
        for day in dates:
            for store in days.get(day, ()):
                weeks.setdefault(store.store_id, ([], []))[week].append(store.net_sales)
    movers = [
        (change_percent(_average(recent), _average(earlier)), store_id)
        for store_id, (recent, earlier) in sorted(weeks.items())
        if recent and earlier and _average(earlier) > 0
    ]
    movers = sorted((m for m in movers if (m[0] > 0) == (change > 0) and m[0] != 0), reverse=change > 0)
    leaders = [f"{store_id} ({signed_percent(store_change)})" for store_change, store_id in movers[:3]]
    direction = _direction(change, limits)
    span = (
        f"over the last 7 days ({this_week[-1].isoformat()} to {business_date.isoformat()})"
        if len(pairs) == WEEK
        else f"over {len(pairs)} of the last 7 days ({this_week[-1].isoformat()} to {business_date.isoformat()})"
    )
    return Trend(
        type="week_over_week",
        title=f"Net sales {'up' if change > 0 else 'down'} {magnitude_percent(change)} week over week"
        if direction != "flat"
        else "Net sales steady week over week",
        description=f"Net sales averaged {money(average_now)} a day {span}, {signed_percent(change)} on "
        f"{money(average_before)} a day on the same weekdays the week before{_left_out_words(left_out)}"
        + (f"; most {'up' if change >= 0 else 'down'}: {', '.join(leaders)}." if leaders else "."),
        affected_items=[store_id for _, store_id in movers[:3]],
        significance=_significance(change, limits.medium_from, limits.high_from),
        trend_direction=direction,
        metric_change_percent=one_decimal(change),
    )


def _store_momentum(
    business_date: dt.date, days: Mapping[dt.date, Sequence[StoreDay]], limits: TrendThresholds
) -> list[Trend] | str:
    """Each store's slope over the window, from the change between the same weekday a week
    apart (7 pairs), taking the median: the weekly rhythm cancels out within each pair, and one
    outage or event day spoils one pair, not the median."""
    window = trend_window(business_date)
    series: dict[str, dict[dt.date, Decimal]] = {}
    for day in window:
        for store in days.get(day, ()):
            series.setdefault(store.store_id, {})[day] = store.net_sales
    found, measured = [], 0
    for store_id, net in sorted(series.items()):
        week_later = [(day, day + dt.timedelta(days=WEEK)) for day in window[:WEEK]]
        pairs = [(net[later] - net[day]) / WEEK for day, later in week_later if day in net and later in net]
        typical = statistics.median(net.values())
        if len(pairs) < limits.momentum_min_pairs or typical <= 0:
            continue
        measured += 1
        change = one_decimal(statistics.median(pairs) * (len(window) - 1) / typical * 100)
        if abs(change) < limits.momentum_from:
            continue
        up = change > 0
        found.append(
            Trend(
                type="store_momentum",
                subject=store_id,
                title=f"Store {store_id} {'gaining' if up else 'losing'} momentum",
                description=f"Store {store_id}'s net sales trend {'up' if up else 'down'} by about "
                f"{magnitude_percent(change)} "
                f"over the {len(window)} days to {business_date.isoformat()} (median change between the same "
                f"weekdays a week apart, against a typical day of {money(typical)}).",
                affected_items=[store_id],
                significance=_significance(change, limits.momentum_from, limits.momentum_high_from),
                trend_direction="up" if up else "down",
                metric_change_percent=change,
            )
        )
    if not measured and series:
        return f"store momentum needs {limits.momentum_min_pairs} weekdays reported in both weeks of the window"
    return found


def _product_trends(
    business_date: dt.date,
    today: Mapping[str, ProductUnits],
    earlier: Mapping[dt.date, Mapping[str, ProductUnits]],
    days: Mapping[dt.date, Sequence[StoreDay]],
    coverage: _Coverage,
    limits: TrendThresholds,
) -> list[Trend] | str:
    """Each product against its own usual day of the week: the median of its units on the same
    weekday of the last weeks (complete days only), so a product that always sells more on
    Saturdays does not rise every Saturday. On a day some stores have not reported, that usual
    day is scaled to the stores that did (by their share of those days' net sales)."""
    weekday = f"{business_date:%A}"
    baseline_days = [
        d for d in sorted(earlier, reverse=True) if d.weekday() == business_date.weekday() and coverage.complete(d)
    ]
    baseline_days = baseline_days[: limits.product_weeks]
    if len(baseline_days) < limits.product_min_days:
        return (
            f"product trends need {limits.product_min_days} earlier {weekday}s with product figures and every store; "
            f"found {len(baseline_days)}"
        )
    scale, scaled = Decimal(1), ""
    reported_today = coverage.reported.get(business_date, frozenset())
    if not coverage.complete(business_date):
        whole = sum((s.net_sales for d in baseline_days for s in days.get(d, ())), Decimal(0))
        covered = sum(
            (s.net_sales for d in baseline_days for s in days.get(d, ()) if s.store_id in reported_today), Decimal(0)
        )
        scale = covered / whole if whole > 0 else Decimal(1)
        scaled = f", scaled to the {len(reported_today & coverage.stores)} of {len(coverage.stores)} stores that reported today"
    rising, falling = [], []
    for sku in sorted(set(today) | {sku for d in baseline_days for sku in earlier[d]}):
        usual = (
            statistics.median(Decimal(earlier[d][sku].units if sku in earlier[d] else 0) for d in baseline_days) * scale
        )
        units = today[sku].units if sku in today else 0
        name = (
            today[sku].name if sku in today else next(earlier[d][sku].name for d in baseline_days if sku in earlier[d])
        )
        if usual <= 0:
            continue
        change = one_decimal(change_percent(Decimal(units), usual))
        if change >= limits.product_rising_from and units >= limits.product_min_units:
            rising.append((change, sku, name, units, usual))
        elif change <= -limits.product_falling_from and usual >= limits.product_min_units:
            falling.append((change, sku, name, units, usual))
    found = []
    for group in (sorted(rising, key=lambda r: (-r[0], r[1])), sorted(falling, key=lambda r: (r[0], r[1]))):
        for change, sku, name, units, usual in group[: limits.products_per_direction]:
            up = change > 0
            found.append(
                Trend(
                    type="product_trend",
                    subject=sku,
                    title=f"{name} {'rising' if up else 'falling'}",
                    description=f"{name} ({sku}) sold {units} units, {signed_percent(change)} on its usual {weekday} of "
                    f"{one_decimal(usual)} (the median of its last {len(baseline_days)} {weekday}s{scaled}).",
                    affected_items=[sku],
                    significance=_significance(
                        change,
                        limits.product_rising_from if up else limits.product_falling_from,
                        limits.product_high_from,
                    ),
                    trend_direction="up" if up else "down",
                    metric_change_percent=one_decimal(change),
                )
            )
    return found


def _sales_pace(
    business_date: dt.date, days: Mapping[dt.date, Sequence[StoreDay]], coverage: _Coverage, limits: TrendThresholds
) -> Trend | str:
    daily = _daily_net(days)
    recent = [business_date - dt.timedelta(days=n) for n in range(limits.pace_days)]
    pairs, left_out = _paired(recent, coverage, daily)
    if len(pairs) < 2:
        return (
            f"sales pace needs at least 2 of the last {limits.pace_days} days and the same days a week earlier with "
            "every store" + (f" ({'; '.join(left_out)})" if left_out else "")
        )
    average_now, average_before = _average([daily[d] for d, _ in pairs]), _average([daily[e] for _, e in pairs])
    if average_before <= 0:
        return "sales pace: no sales a week earlier"
    change = one_decimal(change_percent(average_now, average_before))  # thresholds apply to what is shown
    direction = _direction(change, limits)
    return Trend(
        type="sales_velocity",
        title={"up": "Sales pace picking up", "down": "Sales pace slowing", "flat": "Sales pace steady"}[direction],
        description=f"Net sales ran at {money(average_now)} a day over {len(pairs)} of the last {limits.pace_days} days, "
        f"{signed_percent(change)} on {money(average_before)} a day over the same weekdays a week earlier"
        f"{_left_out_words(left_out)}.",
        affected_items=[],
        significance=_significance(change, limits.medium_from, limits.high_from),
        trend_direction=direction,
        metric_change_percent=one_decimal(change),
    )


def _payment_shares(stores: Sequence[StoreDay]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for store in stores:
        for method, amount in store.payment_breakdown.items():
            totals[method] = totals.get(method, Decimal(0)) + amount
    whole = sum(totals.values(), Decimal(0))
    return {method: amount / whole * 100 for method, amount in totals.items()} if whole > 0 else {}


def _payment_mix(
    business_date: dt.date, days: Mapping[dt.date, Sequence[StoreDay]], limits: TrendThresholds
) -> Trend | str | None:
    # The same stores on both sides: a day without some stores has another mix of stores.
    reporting = {s.store_id for s in days.get(business_date, ())}
    earlier = [
        s
        for n in range(1, WEEK + 1)
        for s in days.get(business_date - dt.timedelta(days=n), ())
        if s.store_id in reporting
    ]
    now, before = _payment_shares(days.get(business_date, ())), _payment_shares(earlier)
    if not now or not before:
        return "payment mix needs sales today and in the previous 7 days"
    shifts = [(now.get(m, Decimal(0)) - before.get(m, Decimal(0)), m) for m in sorted(set(now) | set(before))]
    shift, method = max(shifts, key=lambda pair: abs(pair[0]))
    shift = one_decimal(shift)
    if abs(shift) < limits.payment_shift_from:
        return None
    label = method.replace("_", " ")
    return Trend(
        type="payment_mix_shift",
        title=f"{label.capitalize()} share of sales {'up' if shift > 0 else 'down'} {one_decimal(abs(shift))} points",
        description=f"{label.capitalize()} took {one_decimal(now.get(method, Decimal(0)))}% of net sales, against "
        f"{one_decimal(before.get(method, Decimal(0)))}% at the same stores over the previous 7 days "
        f"({'+' if shift > 0 else '-'}{one_decimal(abs(shift))} percentage points).",
        affected_items=[method],
        significance=_significance(shift, limits.payment_shift_from, limits.payment_shift_high_from),
        trend_direction="up" if shift > 0 else "down",
        # in percentage points of the share: a share has no meaningful percent change of its own
        metric_change_percent=one_decimal(shift),
    )


def detect_trends(
    business_date: dt.date,
    days: Mapping[dt.date, Sequence[StoreDay]],
    products_today: Mapping[str, ProductUnits],
    products_earlier: Mapping[dt.date, Mapping[str, ProductUnits]],
    limits: TrendThresholds = DEFAULT_TREND_THRESHOLDS,
    *,
    expected_stores: Sequence[str] = (),
) -> TrendReport:
    """`days`: store summaries by day over `summary_window`; `products_earlier`: units by SKU
    for the days of `product_window` that have figures; `expected_stores`: the stores that
    should report (without them, every store seen in `days`), to tell partial days."""
    coverage = _Coverage.of(days, expected_stores)
    trends: list[Trend] = []
    notes: list[str] = []
    for outcome in (
        _week_over_week(business_date, days, coverage, limits),
        _store_momentum(business_date, days, limits),
        _product_trends(business_date, products_today, products_earlier, days, coverage, limits),
        _sales_pace(business_date, days, coverage, limits),
        _payment_mix(business_date, days, limits),
    ):
        if isinstance(outcome, str):
            notes.append(outcome)
        elif isinstance(outcome, Trend):
            trends.append(outcome)
        elif outcome:
            trends += outcome
    trends.sort(key=lambda t: (rank(LEVELS, t.significance), -abs(t.metric_change_percent), t.insight_id))
    return TrendReport(trends, notes)
