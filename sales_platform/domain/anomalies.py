"""Store-days that stand out, each with the numbers that make it stand out.

Every anomaly is deterministic and explainable: a store is compared with its own recent
history (the last `history_days` days on which it reported, at least `min_history_days`) and
with the other stores on the same day. A store with too little history gets no history-based
anomaly, and the report says so instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.money import to_cents
from sales_platform.domain.wording import change_percent, money, one_decimal, percent

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class AnomalyThresholds:
    history_days: int = 7
    min_history_days: int = 3
    # |net sales - its mean over the history| / mean, in percent
    historical_warning: Decimal = Decimal(25)
    historical_critical: Decimal = Decimal(50)
    # change against the previous reported day; a day-to-day swing alone is not enough (the day
    # after a spike is a "drop"), the day must also sit this far from the store's median day
    sudden_drop_warning: Decimal = Decimal(35)
    sudden_drop_critical: Decimal = Decimal(55)
    sudden_spike_warning: Decimal = Decimal(50)
    sudden_spike_critical: Decimal = Decimal(100)
    sudden_confirmation: Decimal = Decimal(15)
    transactions_warning: Decimal = Decimal(25)
    transactions_critical: Decimal = Decimal(50)
    basket_warning: Decimal = Decimal(20)
    basket_critical: Decimal = Decimal(35)
    # robust z-score (median and MAD) of the stores' deviations from their own means
    peer_min_stores: int = 5
    peer_warning: float = 3.5
    peer_critical: float = 7.0
    # and never for a gap under this many percentage points, however alike the others are
    peer_min_gap: Decimal = Decimal(15)


DEFAULT_THRESHOLDS = AnomalyThresholds()


@dataclass(frozen=True)
class Anomaly:
    type: str
    severity: str  # info | warning | critical
    store_id: str
    title: str
    description: str
    metric_value: Decimal
    historical_average: Decimal | None
    deviation_percent: Decimal | None

    @property
    def insight_id(self) -> str:
        """One anomaly of a type per store and day, so type and store identify it."""
        return f"{self.type}-{self.store_id}"


@dataclass(frozen=True)
class AnomalyReport:
    anomalies: list[Anomaly]
    # Why some stores were not compared with their history (too few reported days).
    notes: list[str] = field(default_factory=list)


def _severity(deviation: Decimal, warning: Decimal, critical: Decimal) -> str | None:
    size = abs(deviation)
    if size >= critical:
        return "critical"
    if size >= warning:
        return "warning"
    return None


def _mean(values: Iterable[Decimal]) -> Decimal:
    values = list(values)
    return sum(values, Decimal(0)) / len(values)


@dataclass(frozen=True)
class _Baseline:
    days: list[StoreDay]  # newest first

    @property
    def net(self) -> Decimal:
        return _mean(day.net_sales for day in self.days)

    @property
    def median_net(self) -> Decimal:
        """A typical day that one spike or one outage in the history does not move."""
        return statistics.median(day.net_sales for day in self.days)

    @property
    def transactions(self) -> Decimal:
        return _mean(Decimal(day.transaction_count) for day in self.days)

    @property
    def basket(self) -> Decimal:
        return _mean(day.avg_transaction for day in self.days)

    @property
    def span(self) -> str:
        return f"its previous {len(self.days)} reported days"


def _from_mean(
    today: StoreDay,
    base: _Baseline,
    kind: str,
    value: Decimal,
    mean: Decimal,
    limits: tuple[Decimal, Decimal],
    *,
    headline: str,
    words: tuple[str, str],
    subject: str,
    shown: Callable[[Decimal], object],
    stored: Callable[[Decimal], Decimal],
) -> Anomaly | None:
    """`<kind>_low` or `<kind>_high` when `value` is far enough from the store's own mean; the
    title is `headline` with the percentage and the word for low or for high."""
    if mean <= 0:
        return None
    deviation = change_percent(value, mean)
    severity = _severity(deviation, *limits)
    if not severity:
        return None
    low = deviation < 0
    return Anomaly(
        type=f"{kind}_{'low' if low else 'high'}",
        severity=severity,
        store_id=today.store_id,
        title=f"Store {today.store_id} " + headline.format(percent=percent(deviation), word=words[not low]),
        description=f"{subject} {percent(deviation)} {'below' if low else 'above'} the store's average of "
        f"{shown(mean)} over {base.span}.",
        metric_value=stored(value),
        historical_average=stored(mean),
        deviation_percent=one_decimal(deviation),
    )


def _sudden(today: StoreDay, base: _Baseline, limits: AnomalyThresholds) -> Anomaly | None:
    previous, typical = base.days[0], base.median_net
    if previous.net_sales <= 0 or typical <= 0:
        return None
    change = change_percent(today.net_sales, previous.net_sales)
    from_typical = change_percent(today.net_sales, typical)
    drop = change < 0 and from_typical <= -limits.sudden_confirmation
    spike = change > 0 and from_typical >= limits.sudden_confirmation
    if drop:
        severity = _severity(change, limits.sudden_drop_warning, limits.sudden_drop_critical)
    elif spike:
        severity = _severity(change, limits.sudden_spike_warning, limits.sudden_spike_critical)
    else:
        severity = None
    if not severity:
        return None
    return Anomaly(
        type="sudden_drop" if drop else "sudden_spike",
        severity=severity,
        store_id=today.store_id,
        title=f"Store {today.store_id} sales {'dropped' if drop else 'jumped'} {percent(change)} from the day before",
        description=f"Net sales of {money(today.net_sales)} are {percent(change)} {'down' if drop else 'up'} from "
        f"{money(previous.net_sales)} on {previous.date.isoformat()}, the store's previous reported day.",
        metric_value=to_cents(today.net_sales),
        historical_average=to_cents(previous.net_sales),
        deviation_percent=one_decimal(change),
    )


def _historical(today: StoreDay, base: _Baseline, limits: AnomalyThresholds) -> list[Anomaly]:
    found = [
        _from_mean(
            today, base, "historical", today.net_sales, base.net, (limits.historical_warning, limits.historical_critical),
            headline="net sales {percent} {word} normal", words=("below", "above"),
            subject=f"Net sales of {money(today.net_sales)} are", shown=money, stored=to_cents,
        ),
        _sudden(today, base, limits),
        _from_mean(
            today, base, "transactions", Decimal(today.transaction_count), base.transactions,
            (limits.transactions_warning, limits.transactions_critical),
            headline="had {percent} {word} transactions", words=("fewer", "more"),
            subject=f"{today.transaction_count} transactions are", shown=one_decimal, stored=one_decimal,
        ),
    ]
    if today.transaction_count:
        found.append(
            _from_mean(
                today, base, "basket", today.avg_transaction, base.basket, (limits.basket_warning, limits.basket_critical),
                headline="average basket {percent} {word}", words=("smaller", "larger"),
                subject=f"The average transaction of {money(today.avg_transaction)} is", shown=money, stored=to_cents,
            )
        )
    return [anomaly for anomaly in found if anomaly]


def _peer_outliers(
    today: Mapping[str, StoreDay], baselines: Mapping[str, _Baseline], limits: AnomalyThresholds
) -> tuple[list[Anomaly], list[str]]:
    """A store far from the others today, measured on how far each store is from its own
    normal: stores differ in size, so comparing raw sales would flag the small ones daily."""
    deviations = {
        store_id: float(change_percent(today[store_id].net_sales, base.net))
        for store_id, base in baselines.items()
        if base.net > 0
    }
    if len(deviations) < limits.peer_min_stores:
        return [], [
            f"peer comparison needs at least {limits.peer_min_stores} stores with enough history; "
            f"{len(deviations)} had it"
        ]
    median = statistics.median(deviations.values())
    spread = statistics.median(abs(value - median) for value in deviations.values())
    # With half the stores exactly at the median the MAD is 0; the mean absolute deviation
    # (scaled to the same normal-distribution units) still measures the spread.
    scale = 0.6745 / spread if spread else 0.7979 / (statistics.fmean(abs(v - median) for v in deviations.values()) or 1)
    found = []
    for store_id, deviation in sorted(deviations.items()):
        z = (deviation - median) * scale
        size = abs(z)
        severity = "critical" if size >= limits.peer_critical else "warning" if size >= limits.peer_warning else None
        if not severity or abs(deviation - median) < float(limits.peer_min_gap):
            continue
        below = z < 0
        day = today[store_id]
        found.append(
            Anomaly(
                type="peer_outlier",
                severity=severity,
                store_id=store_id,
                title=f"Store {store_id} {'lagged behind' if below else 'outperformed'} the other stores",
                description=f"Net sales of {money(day.net_sales)} are {percent(deviation)} "
                f"{'below' if deviation < 0 else 'above'} the store's own average of {money(baselines[store_id].net)}, "
                f"while the median store was {percent(median)} {'below' if median < 0 else 'above'} its average "
                f"(robust z-score {one_decimal(z)} across {len(deviations)} stores).",
                metric_value=to_cents(day.net_sales),
                historical_average=to_cents(baselines[store_id].net),
                deviation_percent=one_decimal(deviation),
            )
        )
    return found, []


def detect_anomalies(
    today: Sequence[StoreDay],
    history: Mapping[str, Sequence[StoreDay]],
    limits: AnomalyThresholds = DEFAULT_THRESHOLDS,
) -> AnomalyReport:
    """`today`: every store that reported on the day; `history`: by store, its earlier
    reported days (any order, any number; the latest `history_days` are used)."""
    by_store = {day.store_id: day for day in today}
    baselines: dict[str, _Baseline] = {}
    notes: list[str] = []
    anomalies: list[Anomaly] = []
    for store_id, day in sorted(by_store.items()):
        earlier = sorted((d for d in history.get(store_id, ()) if d.date < day.date), key=lambda d: d.date, reverse=True)
        earlier = earlier[: limits.history_days]
        if len(earlier) < limits.min_history_days:
            notes.append(
                f"store {store_id}: {len(earlier)} earlier reported day(s), at least {limits.min_history_days} "
                "needed to compare with its history"
            )
            continue
        baselines[store_id] = _Baseline(earlier)
        anomalies += _historical(day, baselines[store_id], limits)
    peers, peer_notes = _peer_outliers(by_store, baselines, limits)
    anomalies += peers
    notes += peer_notes if by_store else []
    anomalies.sort(key=lambda a: (SEVERITY_ORDER[a.severity], -abs(a.deviation_percent or 0), a.store_id, a.type))
    return AnomalyReport(anomalies, notes)


def history_window(business_date: dt.date, limits: AnomalyThresholds = DEFAULT_THRESHOLDS) -> list[dt.date]:
    """The earlier days worth reading to find a store's last `history_days` reported days:
    twice as many calendar days, so a store that skipped a few days still has a history."""
    return [business_date - dt.timedelta(days=n) for n in range(1, 2 * limits.history_days + 1)]
