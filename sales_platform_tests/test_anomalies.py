"""Anomalies on constructed histories: each type fires where it should, with the numbers that
explain it, and stays silent on ordinary day-to-day noise."""

import datetime as dt
from decimal import Decimal

import pytest

from sales_platform.domain.anomalies import detect_anomalies
from sales_platform.domain.company_metrics import StoreDay

TODAY = dt.date(2025, 11, 27)
# Seven ordinary days within +-10% of 1,000.00 (mean 1,000.00), newest last.
NOISE = ["1000", "1100", "900", "1050", "950", "1080", "920"]


def day(store_id: str, days_back: int, net: str, transactions: int = 100) -> StoreDay:
    net_sales = Decimal(net)
    return StoreDay(
        store_id=store_id,
        date=TODAY - dt.timedelta(days=days_back),
        total_sales=net_sales,
        total_discount=Decimal(0),
        net_sales=net_sales,
        transaction_count=transactions,
        line_item_count=transactions * 3,
        item_count=transactions * 4,
        avg_transaction=net_sales / transactions,
    )


def history(store_id: str, nets: list[str] = NOISE, transactions: int = 100) -> list[StoreDay]:
    """`nets` oldest first, ending yesterday."""
    return [day(store_id, len(nets) - n, net, transactions) for n, net in enumerate(nets)]


def detect(today: list[StoreDay], earlier: dict[str, list[StoreDay]]):
    return detect_anomalies(today, earlier)


def found(report, store_id: str = "0001") -> dict[str, object]:
    return {a.type: a for a in report.anomalies if a.store_id == store_id}


def test_ordinary_noise_raises_nothing() -> None:
    stores = [f"{n:04d}" for n in range(1, 9)]
    # Every store within +-10% of its normal day today, and its history +-10% too.
    today = [day(s, 0, str(1000 + 20 * (n - 4)), 100 + n - 4) for n, s in enumerate(stores)]
    report = detect(today, {s: history(s) for s in stores})

    assert report.anomalies == []
    assert report.notes == []


@pytest.mark.parametrize(
    ("net", "kind", "severity", "deviation"),
    [
        ("700", "historical_low", "warning", Decimal("-30.0")),
        ("400", "historical_low", "critical", Decimal("-60.0")),
        ("1300", "historical_high", "warning", Decimal("30.0")),
        ("1600", "historical_high", "critical", Decimal("60.0")),
    ],
)
def test_a_day_far_from_the_stores_own_mean_is_a_historical_anomaly(net, kind, severity, deviation) -> None:
    report = detect([day("0001", 0, net)], {"0001": history("0001")})

    anomaly = found(report)[kind]
    assert anomaly.severity == severity
    assert anomaly.metric_value == Decimal(net)
    assert anomaly.historical_average == Decimal("1000.00")
    assert anomaly.deviation_percent == deviation
    assert f"${Decimal(net):,.2f}" in anomaly.description and "$1,000.00" in anomaly.description
    assert "previous 7 reported days" in anomaly.description
    assert anomaly.insight_id == f"{kind}-0001"


def test_thresholds_are_inclusive_and_a_24_percent_dip_is_normal() -> None:
    assert "historical_low" not in found(detect([day("0001", 0, "760")], {"0001": history("0001")}))
    assert found(detect([day("0001", 0, "750")], {"0001": history("0001")}))["historical_low"].severity == "warning"
    assert found(detect([day("0001", 0, "500")], {"0001": history("0001")}))["historical_low"].severity == "critical"


def test_a_sharp_fall_from_the_previous_day_is_a_sudden_drop() -> None:
    # Yesterday 1,000.00, today 600.00: -40% on the previous day, and far below a typical day.
    report = detect([day("0001", 0, "600")], {"0001": history("0001", NOISE[:-1] + ["1000"])})

    drop = found(report)["sudden_drop"]
    assert (drop.severity, drop.metric_value, drop.historical_average, drop.deviation_percent) == (
        "warning", Decimal("600.00"), Decimal("1000.00"), Decimal("-40.0"),
    )
    assert str(TODAY - dt.timedelta(days=1)) in drop.description
    assert found(detect([day("0001", 0, "400")], {"0001": history("0001", NOISE[:-1] + ["1000"])}))[
        "sudden_drop"
    ].severity == "critical"


def test_a_sharp_rise_from_the_previous_day_is_a_sudden_spike() -> None:
    report = detect([day("0001", 0, "1700")], {"0001": history("0001", NOISE[:-1] + ["1000"])})

    spike = found(report)["sudden_spike"]
    assert (spike.severity, spike.deviation_percent) == ("warning", Decimal("70.0"))
    assert found(detect([day("0001", 0, "2100")], {"0001": history("0001", NOISE[:-1] + ["1000"])}))[
        "sudden_spike"
    ].severity == "critical"


def test_the_day_after_a_spike_is_back_to_normal_not_a_drop() -> None:
    # Yesterday was an event day at 2,500.00; today is an ordinary 1,000.00.
    report = detect([day("0001", 0, "1000")], {"0001": history("0001", NOISE[:-1] + ["2500"])})

    assert "sudden_drop" not in found(report)


def test_fewer_transactions_and_a_smaller_basket_are_anomalies_of_their_own() -> None:
    # 60 transactions instead of 100 for the usual 1,000.00: fewer shoppers, bigger baskets.
    fewer = found(detect([day("0001", 0, "1000", transactions=60)], {"0001": history("0001")}))
    assert set(fewer) == {"transactions_low", "basket_high"}
    assert (fewer["transactions_low"].metric_value, fewer["transactions_low"].historical_average) == (60, Decimal("100.0"))
    assert fewer["transactions_low"].deviation_percent == Decimal("-40.0")
    assert fewer["basket_high"].severity == "critical"  # 16.67 against 10.00: +66.7%

    # 130 transactions for the same money: more shoppers, each spending less.
    more = found(detect([day("0001", 0, "1000", transactions=130)], {"0001": history("0001")}))
    assert set(more) == {"transactions_high", "basket_low"}
    assert (more["basket_low"].severity, more["basket_low"].metric_value) == ("warning", Decimal("7.69"))
    assert more["basket_low"].deviation_percent == Decimal("-23.1")


def test_a_store_far_off_while_its_peers_are_normal_is_a_peer_outlier() -> None:
    stores = [f"{n:04d}" for n in range(1, 9)]
    today = [day(s, 0, "1000" if s != "0005" else "680") for s in stores]
    report = detect(today, {s: history(s) for s in stores})

    outlier = found(report, "0005")["peer_outlier"]
    assert outlier.severity in {"warning", "critical"}
    assert outlier.deviation_percent == Decimal("-32.0")
    assert "median store" in outlier.description and "robust z-score" in outlier.description
    assert [a.store_id for a in report.anomalies if a.type == "peer_outlier"] == ["0005"]


def test_a_bad_day_for_every_store_is_no_peer_outlier() -> None:
    stores = [f"{n:04d}" for n in range(1, 9)]
    # A snowstorm: everyone about 30% down, so each is below its history but none below its peers.
    today = [day(s, 0, str(700 + 5 * n)) for n, s in enumerate(stores)]
    report = detect(today, {s: history(s) for s in stores})

    assert "peer_outlier" not in {a.type for a in report.anomalies}
    assert sorted(a.store_id for a in report.anomalies if a.type == "historical_low") == stores


def test_too_little_history_gives_no_historical_anomaly_and_says_why() -> None:
    report = detect([day("0001", 0, "100"), day("0002", 0, "1000")], {"0001": history("0001", ["1000", "1000"]), "0002": []})

    assert report.anomalies == []
    assert "store 0001: 2 earlier reported day(s), at least 3 needed" in report.notes[0]
    assert "store 0002: 0 earlier reported day(s)" in report.notes[1]
    assert any("peer comparison needs at least 5 stores" in note for note in report.notes)


def test_only_the_last_seven_reported_days_count() -> None:
    # Three very old busy days, then the usual seven: the average is the usual 1,000.00.
    old = [day("0001", 12, "5000"), day("0001", 11, "5000"), day("0001", 10, "5000")]
    report = detect([day("0001", 0, "700")], {"0001": old + history("0001")})

    assert found(report)["historical_low"].historical_average == Decimal("1000.00")
