"""Anomalies as a store manager meets them: the week's rhythm is normal, a store is judged
against its own same weekdays and its own spread, every finding names its baseline, and a store
with too little history is named as not compared instead of being called normal."""

import datetime as dt
import random
from decimal import Decimal

from sales_platform.domain.anomalies import Baskets, detect_anomalies, history_window
from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.store_baskets import StoreBaskets

TODAY = dt.date(2025, 11, 22)  # a Saturday
# Monday .. Sunday as on the old system's sample data: Saturday 1.4 times an average day.
RHYTHM = (0.85, 0.82, 0.86, 0.92, 1.12, 1.40, 1.03)
STORES = [f"{n:04d}" for n in range(1, 9)]
PAYMENTS = {"cash": Decimal("0.2"), "credit": Decimal("0.45"), "debit": Decimal("0.35")}


def store_day(store_id: str, day: dt.date, net: Decimal, transactions: int, payments=PAYMENTS) -> StoreDay:
    net = net.quantize(Decimal("0.01"))
    return StoreDay(
        store_id=store_id,
        date=day,
        total_sales=net,
        total_discount=Decimal(0),
        net_sales=net,
        transaction_count=transactions,
        line_item_count=transactions * 3,
        item_count=transactions * 4,
        avg_transaction=net / transactions,
        payment_breakdown={method: net * share for method, share in payments.items()},
    )


def usual_day(store_id: str, day: dt.date, *, level: float = 10_000, wobble: float = 0.04, seed: int = 0) -> StoreDay:
    """A store's ordinary day: the weekly rhythm, traffic and basket each within a few percent."""
    rng = random.Random(f"{store_id}:{day}:{seed}")
    traffic = RHYTHM[day.weekday()] * (1 + rng.uniform(-wobble, wobble))
    basket = 30 * (1 + rng.uniform(-wobble, wobble))
    transactions = round(level / 30 * traffic)
    return store_day(store_id, day, Decimal(str(transactions * basket)), transactions)


def history(store_id: str, weeks: int = 8, **usual) -> list[StoreDay]:
    return [usual_day(store_id, day, **usual) for day in history_window(TODAY)[: 7 * weeks]]


def scaled(day: StoreDay, traffic: float = 1.0, basket: float = 1.0) -> StoreDay:
    transactions = round(day.transaction_count * traffic)
    return store_day(day.store_id, day.date, day.avg_transaction * Decimal(str(basket)) * transactions, transactions)


def chain(today_of=lambda s: usual_day(s, TODAY), weeks: int = 8, **usual):
    today = [today_of(s) for s in STORES]
    return today, {s: history(s, weeks, **usual) for s in STORES}


def found(report, store_id: str = "0003") -> dict[str, object]:
    return {a.type: a for a in report.anomalies if a.store_id == store_id}


# --------------------------------------------------------------------------- the weekly rhythm


def test_a_saturday_at_its_usual_1_4_times_an_average_day_is_not_an_anomaly() -> None:
    today, earlier = chain()

    report = detect_anomalies(today, earlier, expected_stores=STORES)

    assert report.anomalies == []
    assert report.compared_stores == STORES and report.not_compared == {}
    # The old rules' 7-day mean would have seen this Saturday 40% above normal at every store.
    week = [d.net_sales for d in earlier["0003"][:7]]
    assert today[2].net_sales / (sum(week) / 7) > Decimal("1.3")


def test_a_monday_at_its_usual_0_85_is_not_an_anomaly_either() -> None:
    monday = TODAY + dt.timedelta(days=2)
    today = [usual_day(s, monday) for s in STORES]
    earlier = {s: [usual_day(s, d) for d in history_window(monday)[:56]] for s in STORES}

    assert detect_anomalies(today, earlier).anomalies == []


def test_a_collapse_on_a_busy_saturday_is_flagged_though_it_looks_like_an_average_day() -> None:
    today, earlier = chain(lambda s: scaled(usual_day(s, TODAY), traffic=0.6) if s == "0003" else usual_day(s, TODAY))

    report = detect_anomalies(today, earlier)

    low = found(report)["historical_low"]
    assert low.severity == "critical"
    assert low.baseline == "last 5 Saturdays"
    assert -45 < low.deviation_percent < -35 and low.robust_z < -6
    # The description names the baseline and its amount; the amount is the stored baseline.
    assert "below its last 5 Saturdays, $" in low.description
    assert f"${low.historical_average:,.2f} (their median)" in low.description
    assert "Store 0003 net sales" in low.title and "below a usual Saturday" in low.title
    assert found(report)["transactions_low"].severity == "critical"
    assert "basket_low" not in found(report)  # the shoppers who came spent as usual
    assert [a.store_id for a in report.anomalies] == ["0003", "0003"]


def test_a_spike_on_a_quiet_day_is_flagged() -> None:
    tuesday = TODAY + dt.timedelta(days=3)
    today = [scaled(usual_day(s, tuesday), traffic=1.5) if s == "0003" else usual_day(s, tuesday) for s in STORES]
    earlier = {s: [usual_day(s, d) for d in history_window(tuesday)[:56]] for s in STORES}

    high = found(detect_anomalies(today, earlier))["transactions_high"]

    assert high.severity in {"warning", "critical"} and high.baseline == "last 5 Tuesdays"
    assert "more transactions than a usual Tuesday" in high.title


def test_severity_follows_the_stores_own_spread() -> None:
    # The same 25% dip: far outside a steady store's days, ordinary for a store that swings.
    def dip(s):
        return scaled(usual_day(s, TODAY, wobble=0.02 if s == "0001" else 0.12, seed=1), traffic=0.75)

    steady = {"0001": history("0001", wobble=0.02, seed=1)}
    swinging = {"0002": history("0002", wobble=0.12, seed=1)}

    assert found(detect_anomalies([dip("0001")], steady), "0001")["historical_low"].severity == "critical"
    assert "historical_low" not in found(detect_anomalies([dip("0002")], swinging), "0002")


def test_one_outage_in_the_history_does_not_lower_the_baseline() -> None:
    today, earlier = chain()
    two_weeks_ago = TODAY - dt.timedelta(days=14)
    earlier["0003"] = [scaled(d, traffic=0.3) if d.date == two_weeks_ago else d for d in earlier["0003"]]
    # A normal Saturday after the outage Saturday is normal, and a bad one is still bad.
    assert found(detect_anomalies(today, earlier)) == {}

    today[2] = scaled(today[2], traffic=0.6)
    low = found(detect_anomalies(today, earlier))["historical_low"]
    assert "1 unusual Saturday left out" in low.description


# --------------------------------------------------------------------------- what a day is made of


def test_fewer_shoppers_with_the_usual_basket_and_bigger_baskets_with_the_usual_shoppers() -> None:
    fewer, earlier = chain(lambda s: scaled(usual_day(s, TODAY), traffic=0.7) if s == "0003" else usual_day(s, TODAY))
    assert {"transactions_low", "historical_low"} <= set(found(detect_anomalies(fewer, earlier)))
    assert "basket_low" not in found(detect_anomalies(fewer, earlier))

    bigger, earlier = chain(lambda s: scaled(usual_day(s, TODAY), basket=1.5) if s == "0003" else usual_day(s, TODAY))
    anomalies = found(detect_anomalies(bigger, earlier))
    assert "basket_high" in anomalies and "transactions_high" not in anomalies
    assert "The average transaction of $" in anomalies["basket_high"].description


def test_a_store_flat_on_a_day_every_other_store_is_up_lags_behind_its_peers() -> None:
    # A holiday lifts every store 30%, except store 0003.
    today, earlier = chain(lambda s: usual_day(s, TODAY) if s == "0003" else scaled(usual_day(s, TODAY), traffic=1.3))

    report = detect_anomalies(today, earlier)

    peer = found(report)["peer_outlier"]
    assert peer.severity in {"warning", "critical"}
    assert "lagged behind" in peer.title and "median store was" in peer.description
    assert peer.baseline == "last 5 Saturdays, against the other stores"


def test_a_bad_day_for_every_store_is_no_peer_outlier() -> None:
    # A snowstorm: every store about 40% down.
    today, earlier = chain(lambda s: scaled(usual_day(s, TODAY), traffic=0.6))

    report = detect_anomalies(today, earlier)

    assert "peer_outlier" not in {a.type for a in report.anomalies}
    assert sorted(a.store_id for a in report.anomalies if a.type == "historical_low") == STORES


def test_a_card_reader_down_shows_as_a_payment_shift() -> None:
    cash_day = {"cash": Decimal("0.7"), "credit": Decimal("0.2"), "debit": Decimal("0.1")}

    def today_of(s):
        usual = usual_day(s, TODAY)
        return store_day(s, TODAY, usual.net_sales, usual.transaction_count, cash_day) if s == "0003" else usual

    today, earlier = chain(today_of)
    shift = found(detect_anomalies(today, earlier))["payment_shift"]

    assert "from credit to cash" in shift.title
    assert "cash 70.0% (usually 20.0%)" in shift.description and "net sales" in shift.description
    assert shift.deviation_percent == Decimal("50.0")  # points of share


def test_a_product_the_store_always_sells_and_sold_none_of_today() -> None:
    today, earlier = chain()

    def bought(day: StoreDay, milk: float = 0.10) -> StoreBaskets:
        """Milk in 10% of the transactions, eggs in 6%, a rare product in 0.5%."""
        n = day.transaction_count
        return StoreBaskets({"MILK": round(n * milk), "EGGS": round(n * 0.06), "RARE": round(n * 0.005)}, {"cash": n})

    baskets = Baskets(
        today={d.store_id: bought(d, milk=0 if d.store_id == "0003" else 0.10) for d in today},
        earlier={d.date: {} for s in STORES for d in earlier[s]},
        names={"MILK": "Whole Milk", "EGGS": "Eggs"},
    )
    for s in STORES:
        for d in earlier[s]:
            baskets.earlier[d.date][s] = bought(d)  # type: ignore[index]

    report = detect_anomalies(today, earlier, baskets=baskets)

    stopped = found(report)["product_stopped"]
    assert stopped.title == "Store 0003 sold no Whole Milk"
    transactions = today[2].transaction_count
    assert (
        f"Not one of today's {transactions} transactions included Whole Milk (MILK, in 10.0% of them"
        in stopped.description
    )
    assert stopped.baseline == "last 7 days and last 5 Saturdays"
    assert [a.store_id for a in report.anomalies] == ["0003"]  # RARE at 2 baskets a day is no news

    # A day with a tenth of its shoppers expects a tenth of the baskets: no stop to report.
    today[2] = scaled(today[2], traffic=0.1)
    assert "product_stopped" not in found(detect_anomalies(today, earlier, baskets=baskets))


def test_an_expected_store_without_a_file_is_named_with_what_it_usually_takes() -> None:
    today, earlier = chain()

    report = detect_anomalies([d for d in today if d.store_id != "0003"], earlier, expected_stores=STORES)

    missing = found(report)["store_missing"]
    assert missing.title == "Store 0003 sent no sales for Saturday 2025-11-22"
    assert "on its last 5 Saturdays it took $" in missing.description and missing.historical_average > 0


# --------------------------------------------------------------------------- no claim without evidence


def test_a_store_with_too_little_history_is_not_compared_and_the_report_says_why() -> None:
    today, earlier = chain()
    earlier["0003"] = history("0003", weeks=2)  # two earlier Saturdays
    earlier["0005"] = []  # a new store

    report = detect_anomalies(today, earlier)

    assert report.not_compared == {
        "0003": "2 earlier Saturday(s) in the last 8 weeks, 3 needed",
        "0005": "0 earlier Saturday(s) in the last 8 weeks, 3 needed",
    }
    assert "0003" not in report.compared_stores and len(report.compared_stores) == 6
    assert (
        "not compared with their history (2 earlier Saturday(s) in the last 8 weeks, 3 needed): store 0003"
        in report.notes
    )
    assert (
        "not compared with their history (0 earlier Saturday(s) in the last 8 weeks, 3 needed): store 0005"
        in report.notes
    )


def test_the_peer_comparison_says_when_too_few_stores_can_be_compared() -> None:
    today, earlier = chain(weeks=2)

    report = detect_anomalies(today, earlier)

    assert report.anomalies == [] and report.compared_stores == []
    assert "peer comparison needs at least 5 stores with enough history; 0 had it" in report.notes
