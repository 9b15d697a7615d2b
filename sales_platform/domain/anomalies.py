"""Store-days that stand out, each with the baseline and the numbers that make it stand out.

A store's day is judged against the same weekday in earlier weeks, because the week has a
rhythm: a Saturday at its usual 1.4 times an average day is normal, and a Monday at 0.85 too.
The baseline is the median of the store's last `same_weekdays` same weekdays within
`window_weeks`; how unusual a day is follows the store's own spread, measured on its history
the same way (each earlier day against the median of its other same weekdays; the median
absolute deviation of those log ratios, or their 90th percentile when wider). So a steady
flagship is flagged for a smaller dip than a small store whose days swing more, and a severity
always means the same distance outside a store's normal: `warning_z` and `critical_z` robust
z-scores. Earlier days that were themselves far off (an outage, an event) are left out.

A store with fewer than `min_same_weekdays` earlier same weekdays in the window is not
compared, and the report names it with the reason instead of calling it normal.

What is compared, for each store with enough history:

- net sales (`historical_low/high`), transactions (`transactions_low/high`) and the average
  basket (`basket_low/high`), each against its own same-weekday baseline;
- the store against the others today (`peer_outlier`): its deviation from its baseline minus
  the median store's, in its own spread, so a chain-wide storm or holiday flags no single store,
  and a store flat on a day every other store is up 30% does;
- its payment mix against its usual mix (`payment_shift`);
- products its shoppers usually buy and none did today (`product_stopped`), when the day's
  baskets (transactions by store, SKU and payment method) are given;
- an expected store with no file for the day (`store_missing`), with what it usually takes.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.insight_levels import SEVERITIES, rank
from sales_platform.domain.money import to_cents
from sales_platform.domain.store_baskets import StoreBaskets
from sales_platform.domain.wording import change_percent, magnitude_percent, money, names, one_decimal

WEEK = 7
# MAD x 1.4826, and the 90th percentile of |deviation| / 1.645, estimate a normal sigma.
MAD_TO_SIGMA = 1.4826
NINETIETH_TO_SIGMA = 1.645


@dataclass(frozen=True)
class AnomalyThresholds:
    window_weeks: int = 8
    same_weekdays: int = 5  # the baseline: median of the store's last 5 same weekdays
    min_same_weekdays: int = 3  # the minimum history to compare a store at all
    min_spread_days: int = 10  # earlier days needed to measure the store's own spread
    # The spread is never taken as smaller than this (log ratio, about 3%): a store that was
    # very steady for a few weeks is not flagged for an ordinary 5% dip.
    spread_floor: float = 0.03
    warning_z: float = 4.0
    critical_z: float = 6.0
    min_change: Decimal = Decimal(10)  # percent: a smaller change is never an anomaly
    peer_min_stores: int = 5
    # payment mix: points of share that changed hands, against the last `payment_days` days
    payment_days: int = 28
    payment_spread_floor: float = 1.5
    payment_min_points: Decimal = Decimal(6)
    # products: expected in at least this many of today's transactions, in none
    product_min_baskets: int = 8


DEFAULT_THRESHOLDS = AnomalyThresholds()


@dataclass(frozen=True)
class Anomaly:
    type: str
    severity: str  # info | warning | critical
    store_id: str
    title: str
    description: str
    metric_value: Decimal
    historical_average: Decimal | None  # the baseline's value (a median), whatever the name says
    deviation_percent: Decimal | None
    baseline: str = ""  # what the day was compared with: "last 5 Saturdays"
    robust_z: Decimal | None = None  # how many of the store's usual spreads the day is off

    @property
    def insight_id(self) -> str:
        """One anomaly of a type per store and day, so type and store identify it."""
        return f"{self.type}-{self.store_id}"


@dataclass(frozen=True)
class AnomalyReport:
    anomalies: list[Anomaly]
    # What could not be looked at and why, one sentence each (shown in Dagster and the report).
    notes: list[str] = field(default_factory=list)
    compared_stores: list[str] = field(default_factory=list)
    not_compared: dict[str, str] = field(default_factory=dict)  # store -> why it was not compared


@dataclass(frozen=True)
class Baskets:
    """Each store's transactions by SKU and by payment method (`store_baskets`): today, and
    on the earlier days that have them."""

    today: Mapping[str, StoreBaskets]
    earlier: Mapping[dt.date, Mapping[str, StoreBaskets]]
    names: Mapping[str, str] = field(default_factory=dict)


def history_window(business_date: dt.date, limits: AnomalyThresholds = DEFAULT_THRESHOLDS) -> list[dt.date]:
    """The earlier days a store's baselines and spread are read from, newest first."""
    return [business_date - dt.timedelta(days=n) for n in range(1, WEEK * limits.window_weeks + 1)]


def basket_days(
    business_date: dt.date, limits: AnomalyThresholds = DEFAULT_THRESHOLDS
) -> tuple[list[dt.date], list[dt.date]]:
    """The earlier days whose baskets are read: the same weekdays of the window and the last 7
    days (products), and the last `payment_days` days (payments)."""
    window = history_window(business_date, limits)
    same = [d for d in window if d.weekday() == business_date.weekday()]
    return sorted(set(same) | set(window[:WEEK]), reverse=True), window[: limits.payment_days]


def weekday_name(day: dt.date) -> str:
    return f"{day:%A}"


# --------------------------------------------------------------------------- one measure


@dataclass(frozen=True)
class _Measure:
    """One number of a store's day (net sales, transactions, basket) against its baseline."""

    baseline: float
    spread: float  # sigma of log ratios
    days: int  # same weekdays the baseline is the median of
    left_out: int = 0  # unusual same weekdays left out of it

    def score(self, value: float) -> tuple[float, Decimal] | None:
        """(robust z, change in percent), or None when the value cannot be compared."""
        if self.baseline <= 0 or value <= 0:
            return None
        z = math.log(value / self.baseline) / self.spread
        return z, change_percent(Decimal(str(value)), Decimal(str(self.baseline)))


def _robust_sigma(values: Sequence[float], *, tails: bool = True) -> tuple[float, float]:
    """(median, spread in the units of a normal sigma): the median absolute deviation, or with
    `tails` the 90th percentile of the deviations when that is wider, so a store whose days now
    and then swing far is not judged by its quiet days alone."""
    centre = statistics.median(values)
    deviations = sorted(abs(v - centre) for v in values)
    sigma = MAD_TO_SIGMA * statistics.median(deviations)
    if tails:
        sigma = max(sigma, deviations[int(0.9 * (len(deviations) - 1))] / NINETIETH_TO_SIGMA)
    return centre, sigma


@cache
def _nearest(count: int, index: int, keep: int) -> tuple[int, ...]:
    """The positions of the `keep` values nearest to `index` in a list of `count`, itself left out."""
    return tuple(sorted((j for j in range(count) if j != index), key=lambda j: (abs(j - index), j))[:keep])


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _group_ratios(group: Sequence[tuple[dt.date, float]], limits: AnomalyThresholds) -> dict[dt.date, float]:
    """Each day of one weekday (newest first) against the median of (up to `same_weekdays` of)
    the others nearest to it: the way today is compared with its baseline."""
    ratios = {}
    for index, (day, value) in enumerate(group):
        others = [group[j][1] for j in _nearest(len(group), index, limits.same_weekdays)]
        if len(others) >= 2 and (typical := _median(others)) > 0:
            ratios[day] = math.log(value / typical)
    return ratios


def _measure(history: Sequence[StoreDay], day: dt.date, value_of, limits: AnomalyThresholds) -> _Measure | str:
    """The store's baseline and spread for one number, or why there is none. `history` newest
    first, the store's reported days in the window.

    Earlier days that were themselves far off their normal (an outage, an event) are left out,
    one at a time, the furthest first, while one is more than `warning_z` spreads off (at most a
    fifth of the days): otherwise two bad Saturdays in a month would lower the baseline of every
    Saturday after them and widen the spread of every day."""
    groups: dict[int, list[tuple[dt.date, float]]] = {}
    for earlier in history:
        value = float(value_of(earlier))
        if value > 0:
            groups.setdefault(earlier.date.weekday(), []).append((earlier.date, value))
    weekday = day.weekday()
    same_before = len(groups.get(weekday, []))
    if same_before < limits.min_same_weekdays:
        return (
            f"{same_before} earlier {weekday_name(day)}(s) in the last {limits.window_weeks} weeks, "
            f"{limits.min_same_weekdays} needed"
        )
    ratios = {w: _group_ratios(g, limits) for w, g in groups.items()}
    left_out: set[dt.date] = set()
    while True:
        pooled = [r for group in ratios.values() for r in group.values()]
        if len(pooled) < limits.min_spread_days:
            return f"{len(history)} earlier reported days, too few to know its usual spread"
        centre, sigma = _robust_sigma(pooled, tails=False)
        worst_weekday, worst = max(
            ((w, d) for w, group in ratios.items() for d in group),
            key=lambda pair: abs(ratios[pair[0]][pair[1]] - centre),
        )
        far = abs(ratios[worst_weekday][worst] - centre) >= limits.warning_z * max(sigma, limits.spread_floor)
        if not far or len(left_out) >= len(history) // 5:
            break
        left_out.add(worst)
        groups[worst_weekday] = [(d, v) for d, v in groups[worst_weekday] if d != worst]
        ratios[worst_weekday] = _group_ratios(groups[worst_weekday], limits)
    same = [v for _, v in groups.get(weekday, [])][: limits.same_weekdays]  # newest first
    if len(same) < limits.min_same_weekdays:
        return (
            f"{same_before} earlier {weekday_name(day)}(s) in the last {limits.window_weeks} weeks, "
            f"{same_before - len(same)} of them too unusual to count, {limits.min_same_weekdays} needed"
        )
    _, sigma = _robust_sigma(pooled)
    return _Measure(
        statistics.median(same),
        max(sigma, limits.spread_floor),
        len(same),
        sum(d.weekday() == weekday for d in left_out),
    )


def _severity(z: float, change: Decimal, limits: AnomalyThresholds) -> str | None:
    if abs(change) < limits.min_change:
        return None
    if abs(z) >= limits.critical_z:
        return "critical"
    if abs(z) >= limits.warning_z:
        return "warning"
    return None


def _left_out(measure: _Measure, weekday: str) -> str:
    if not measure.left_out:
        return ""
    return f"; {measure.left_out} unusual {weekday}{'s' if measure.left_out > 1 else ''} left out"


def _spread_words(measure: _Measure) -> str:
    return f"{magnitude_percent(Decimal(str(math.expm1(measure.spread) * 100)))}"


# --------------------------------------------------------------------------- a store's day


@dataclass(frozen=True)
class _StoreBaselines:
    net: _Measure
    transactions: _Measure | str
    basket: _Measure | str
    span: str  # "its last 5 Saturdays"


_KINDS = {
    # kind: (title after "Store <id> ", with {percent}, {word} and {weekday}; the words for low and high)
    "historical": ("net sales {percent} {word} a usual {weekday}", ("below", "above")),
    "transactions": ("had {percent} {word} transactions than a usual {weekday}", ("fewer", "more")),
    "basket": ("average basket {percent} {word} than on a usual {weekday}", ("smaller", "larger")),
}


def _against_baseline(
    today: StoreDay, kind: str, value: Decimal, measure: _Measure | str, span: str, limits: AnomalyThresholds
) -> Anomaly | None:
    if isinstance(measure, str):
        return None
    scored = measure.score(float(value))
    if scored is None:
        return None
    z, change = scored
    severity = _severity(z, change, limits)
    if not severity:
        return None
    low = z < 0
    headline, words = _KINDS[kind]
    weekday = weekday_name(today.date)
    if kind == "transactions":
        shown, stored = f"{today.transaction_count} transactions", Decimal(today.transaction_count)
        base_shown, base_stored = f"{one_decimal(measure.baseline)}", one_decimal(measure.baseline)
    else:
        label = "Net sales" if kind == "historical" else "The average transaction"
        shown, stored = f"{label} of {money(value)}", to_cents(value)
        base_shown, base_stored = money(Decimal(str(measure.baseline))), to_cents(Decimal(str(measure.baseline)))
    verb = "are" if kind != "basket" else "is"
    return Anomaly(
        type=f"{kind}_{'low' if low else 'high'}",
        severity=severity,
        store_id=today.store_id,
        title=f"Store {today.store_id} "
        + headline.format(percent=magnitude_percent(change), word=words[not low], weekday=weekday),
        description=f"{shown} {verb} {magnitude_percent(change)} {'below' if low else 'above'} {span}, "
        f"{base_shown} "
        f"(their median{_left_out(measure, weekday)}). Its days usually stay within about "
        f"{_spread_words(measure)} of such a baseline; this one is {one_decimal(abs(z))} times that away.",
        metric_value=stored,
        historical_average=base_stored,
        deviation_percent=one_decimal(change),
        baseline=span.removeprefix("its "),
        robust_z=one_decimal(z),
    )


def _payment_mixes(
    today: StoreDay, history: Sequence[StoreDay], baskets: Baskets | None, limits: AnomalyThresholds
) -> tuple[dict[str, float] | None, list[dict[str, float]], str]:
    """Today's and the earlier days' payment shares in percent: of transactions when the
    baskets of the day and of enough earlier days are known, else of net sales."""

    def shares(counts: Mapping[str, Decimal | int]) -> dict[str, float] | None:
        whole = sum(counts.values())
        return {m: float(Decimal(n) / whole * 100) for m, n in counts.items()} if whole > 0 else None

    store_id = today.store_id
    if baskets is not None and store_id in baskets.today:
        earlier = [
            baskets.earlier[d.date][store_id].payments
            for d in history[: limits.payment_days]
            if store_id in baskets.earlier.get(d.date, {}) and baskets.earlier[d.date][store_id].payments
        ]
        if len(earlier) >= limits.min_spread_days:
            return shares(baskets.today[store_id].payments), [m for m in map(shares, earlier) if m], "transactions"
    earlier_sales = [shares(d.payment_breakdown) for d in history[: limits.payment_days]]
    return shares(today.payment_breakdown), [m for m in earlier_sales if m], "net sales"


def _payment_shift(
    today: StoreDay, history: Sequence[StoreDay], baskets: Baskets | None, limits: AnomalyThresholds
) -> Anomaly | None:
    """How far today's payment mix is from the store's usual mix (each method's median share
    over its recent days, any weekday): half the sum of the methods' share differences, the
    percentage points that changed hands. Judged against the same distance on the store's own
    earlier days."""
    now, earlier, unit = _payment_mixes(today, history, baskets, limits)
    if now is None or len(earlier) < limits.min_spread_days:
        return None
    methods = sorted(set(now) | {m for mix in earlier for m in mix})
    usual = {m: statistics.median(mix.get(m, 0.0) for mix in earlier) for m in methods}

    def distance(mix: Mapping[str, float]) -> float:
        return sum(abs(mix.get(m, 0.0) - usual[m]) for m in methods) / 2

    typical, spread = _robust_sigma([distance(mix) for mix in earlier])
    spread = max(spread, limits.payment_spread_floor)
    moved = distance(now)
    z = (moved - typical) / spread
    if Decimal(str(moved)) < limits.payment_min_points or z < limits.warning_z:
        return None
    gained = max(methods, key=lambda m: (now.get(m, 0.0) - usual[m], m))
    lost = min(methods, key=lambda m: (now.get(m, 0.0) - usual[m], m))
    label = lambda m: m.replace("_", " ")  # noqa: E731
    mix = lambda m: f"{label(m)} {one_decimal(now.get(m, 0.0))}% (usually {one_decimal(usual[m])}%)"  # noqa: E731
    return Anomaly(
        type="payment_shift",
        severity="critical" if z >= limits.critical_z else "warning",
        store_id=today.store_id,
        title=f"Store {today.store_id}: payments moved from {label(lost)} to {label(gained)}",
        description=f"Of its {unit} today, {mix(gained)} and {mix(lost)}: {one_decimal(moved)} points of the "
        f"payment mix changed hands against the median shares of its last {len(earlier)} reported days, where a "
        f"usual day moves {one_decimal(typical)}; {one_decimal(z)} times its usual spread. Check the card terminals "
        "and the till.",
        metric_value=one_decimal(now.get(gained, 0.0)),
        historical_average=one_decimal(usual[gained]),
        deviation_percent=one_decimal(now.get(gained, 0.0) - usual[gained]),  # in points of share
        baseline=f"last {len(earlier)} reported days",
        robust_z=one_decimal(z),
    )


def _stopped_products(
    today: StoreDay, baskets: Baskets, history: Sequence[StoreDay], limits: AnomalyThresholds
) -> Anomaly | str | None:
    """Products the store's shoppers usually put in their baskets and none did today: a
    stock-out or a product off the shelf, not chance.

    A product's usual share of the store's transactions is the smaller of its share over the
    store's last 7 reported days (so a product whose season is fading is not expected at its old
    level) and its median share on its last same weekdays (so the end of a few days' promotion is
    not a stop). With today's transactions that share expects `product_min_baskets` baskets or
    more, and a product expected in 8 baskets misses a whole day by chance about once in 3,000
    days; 8 baskets less is no stop: a day with half its shoppers expects half the baskets."""
    store_id, weekday = today.store_id, today.date.weekday()
    counted = [d for d in history if store_id in baskets.earlier.get(d.date, {}) and d.transaction_count]
    same = [d for d in counted if d.date.weekday() == weekday][: limits.same_weekdays]
    recent = counted[:WEEK]
    if len(same) < limits.min_same_weekdays or len(recent) < WEEK:
        return (
            f"{limits.min_same_weekdays} earlier {weekday_name(today.date)}s and the last {WEEK} days with product "
            "figures needed"
        )
    sold_today = baskets.today[store_id].products if store_id in baskets.today else {}
    bought = lambda day, sku: baskets.earlier[day.date][store_id].products.get(sku, 0)  # noqa: E731
    recent_transactions = sum(d.transaction_count for d in recent)
    usual = {}
    for sku in {sku for d in recent for sku in baskets.earlier[d.date][store_id].products} - {
        s for s, n in sold_today.items() if n
    }:
        lately = sum(bought(d, sku) for d in recent) / recent_transactions
        on_weekday = statistics.median(bought(d, sku) / d.transaction_count for d in same)
        expected = min(lately, on_weekday) * today.transaction_count
        if expected >= limits.product_min_baskets:
            usual[sku] = (min(lately, on_weekday) * 100, expected)
    if not usual:
        return None
    stopped = sorted(usual, key=lambda sku: (-usual[sku][1], sku))
    span = f"its last {len(same)} {weekday_name(today.date)}s"
    listed = [
        f"{baskets.names.get(sku, sku)} ({sku}, in {one_decimal(usual[sku][0])}% of them, about {one_decimal(usual[sku][1])} "
        "baskets)"
        for sku in stopped
    ]
    lead = baskets.names.get(stopped[0], stopped[0])
    return Anomaly(
        type="product_stopped",
        severity="warning",
        store_id=store_id,
        title=f"Store {store_id} sold no {lead}"
        if len(stopped) == 1
        else f"Store {store_id} sold none of {len(stopped)} of its steady sellers",
        description=f"Not one of today's {today.transaction_count} transactions included {names(listed)}, at its usual "
        f"share of the store's transactions (the lower of its last {WEEK} days and {span}). Check stock and shelves "
        "at the store.",
        metric_value=Decimal(0),
        historical_average=one_decimal(sum(usual[sku][1] for sku in stopped)),
        deviation_percent=Decimal("-100.0"),
        baseline=f"last {WEEK} days and {span.removeprefix('its ')}",
    )


def _missing(store_id: str, business_date: dt.date, history: Sequence[StoreDay], limits: AnomalyThresholds) -> Anomaly:
    same = [d.net_sales for d in history if d.date.weekday() == business_date.weekday()][: limits.same_weekdays]
    weekday = weekday_name(business_date)
    usual = statistics.median(same) if same else None
    return Anomaly(
        type="store_missing",
        severity="warning",
        store_id=store_id,
        title=f"Store {store_id} sent no sales for {weekday} {business_date.isoformat()}",
        description=f"No file from store {store_id} when the day was analysed"
        + (f"; on its last {len(same)} {weekday}s it took {money(usual)} (median)." if usual is not None else "."),
        metric_value=Decimal("0.00"),
        historical_average=to_cents(usual) if usual is not None else None,
        deviation_percent=Decimal("-100.0"),  # no sales at all, whatever its usual day
        baseline=f"last {len(same)} {weekday}s" if same else "",
    )


# --------------------------------------------------------------------------- the day


def _peer_outliers(
    today: Mapping[str, StoreDay],
    baselines: Mapping[str, _StoreBaselines],
    flagged: set[tuple[str, bool]],
    limits: AnomalyThresholds,
) -> tuple[list[Anomaly], list[str]]:
    """A store far from the others today, each measured from its own baseline: stores differ
    in size, so raw sales would flag the small ones every day. The median store's deviation is
    what the whole chain shared today (weather, a holiday); what is left, in the store's own
    spread, is the store's. Not repeated for a store whose own net-sales anomaly already says
    the same."""
    deviations = {
        store_id: math.log(float(today[store_id].net_sales) / base.net.baseline)
        for store_id, base in baselines.items()
        if base.net.baseline > 0 and today[store_id].net_sales > 0
    }
    if len(deviations) < limits.peer_min_stores:
        return [], [
            f"peer comparison needs at least {limits.peer_min_stores} stores with enough history; "
            f"{len(deviations)} had it"
        ]
    shared = statistics.median(deviations.values())
    found = []
    for store_id, deviation in sorted(deviations.items()):
        base = baselines[store_id]
        z = (deviation - shared) / base.net.spread
        gap = Decimal(str(math.expm1(deviation - shared) * 100))
        severity = _severity(z, gap, limits)
        below = z < 0
        if not severity or (store_id, below) in flagged:
            continue
        own = Decimal(str(math.expm1(deviation) * 100))
        median_store = Decimal(str(math.expm1(shared) * 100))
        found.append(
            Anomaly(
                type="peer_outlier",
                severity=severity,
                store_id=store_id,
                title=f"Store {store_id} {'lagged behind' if below else 'outperformed'} the other stores",
                description=f"Net sales of {money(today[store_id].net_sales)} are {magnitude_percent(own)} "
                f"{'below' if own < 0 else 'above'} {base.span} ({money(Decimal(str(base.net.baseline)))}), while the "
                f"median store was {magnitude_percent(median_store)} {'below' if median_store < 0 else 'above'} its own: "
                f"{magnitude_percent(gap)} {'behind' if below else 'ahead of'} the chain, {one_decimal(abs(z))} times the "
                f"store's usual spread ({len(deviations)} stores compared).",
                metric_value=to_cents(today[store_id].net_sales),
                historical_average=to_cents(Decimal(str(base.net.baseline))),
                deviation_percent=one_decimal(own),
                baseline=f"{base.span.removeprefix('its ')}, against the other stores",
                robust_z=one_decimal(z),
            )
        )
    return found, []


def _by_reason(why_by_store: Mapping[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for store_id, why in sorted(why_by_store.items()):
        grouped.setdefault(why, []).append(store_id)
    return grouped


def _stores(stores: Sequence[str]) -> str:
    return f"store{'s' if len(stores) > 1 else ''} {names(list(stores), limit=10)}"


def _window(days: Iterable[StoreDay], business_date: dt.date, limits: AnomalyThresholds) -> list[StoreDay]:
    """A store's reported days within the window before `business_date`, newest first."""
    earliest = business_date - dt.timedelta(days=WEEK * limits.window_weeks)
    return sorted((d for d in days if earliest <= d.date < business_date), key=lambda d: d.date, reverse=True)


def detect_anomalies(
    today: Sequence[StoreDay],
    history: Mapping[str, Sequence[StoreDay]],
    limits: AnomalyThresholds = DEFAULT_THRESHOLDS,
    *,
    business_date: dt.date | None = None,
    expected_stores: Iterable[str] = (),
    baskets: Baskets | None = None,
) -> AnomalyReport:
    """`today`: every store that reported on the day; `history`: by store, its earlier
    reported days (any order; those within `window_weeks` are used); `expected_stores`: the
    stores that should have reported (a missing one is an anomaly of its own); `baskets`: the
    transactions by store, SKU and payment method of the day and of `basket_days`."""
    by_store = {day.store_id: day for day in today}
    day_of = business_date or (today[0].date if today else None)
    notes: list[str] = []
    anomalies: list[Anomaly] = []
    baselines: dict[str, _StoreBaselines] = {}
    not_compared: dict[str, str] = {}
    products_unchecked: dict[str, list[str]] = {}  # why -> stores
    flagged: set[tuple[str, bool]] = set()
    for store_id, day in sorted(by_store.items()):
        earlier = _window(history.get(store_id, ()), day.date, limits)
        net = _measure(earlier, day.date, lambda d: d.net_sales, limits)
        if isinstance(net, str):
            not_compared[store_id] = net
            continue
        span = f"its last {net.days} {weekday_name(day.date)}s"
        base = _StoreBaselines(
            net=net,
            transactions=_measure(earlier, day.date, lambda d: d.transaction_count, limits),
            basket=_measure([d for d in earlier if d.transaction_count], day.date, lambda d: d.avg_transaction, limits),
            span=span,
        )
        baselines[store_id] = base
        sales = _against_baseline(day, "historical", day.net_sales, base.net, span, limits)
        if sales:
            flagged.add((store_id, sales.type.endswith("_low")))
        found = [
            sales,
            _against_baseline(day, "transactions", Decimal(day.transaction_count), base.transactions, span, limits),
            _against_baseline(day, "basket", day.avg_transaction, base.basket, span, limits)
            if day.transaction_count
            else None,
            _payment_shift(day, earlier, baskets, limits),
        ]
        if baskets is not None and store_id in baskets.today:
            stopped = _stopped_products(day, baskets, earlier, limits)
            if isinstance(stopped, str):
                products_unchecked.setdefault(stopped, []).append(store_id)
            else:
                found.append(stopped)
        anomalies += [a for a in found if a]
    # One note per reason, naming the stores: a chain's first weeks leave every store unchecked.
    for why, stores in _by_reason(not_compared).items():
        notes.append(f"not compared with their history ({why}): {_stores(stores)}")
    for why, stores in products_unchecked.items():
        notes.append(f"products not checked ({why}): {_stores(stores)}")
    peers, peer_notes = _peer_outliers(by_store, baselines, flagged, limits)
    anomalies += peers
    notes += peer_notes if by_store else []
    if day_of:
        for store_id in sorted(set(expected_stores) - set(by_store)):
            anomalies.append(_missing(store_id, day_of, _window(history.get(store_id, ()), day_of, limits), limits))
    anomalies.sort(key=lambda a: (rank(SEVERITIES, a.severity), -abs(float(a.robust_z or 0)), a.store_id, a.type))
    return AnomalyReport(anomalies, notes, sorted(baselines), not_compared)
