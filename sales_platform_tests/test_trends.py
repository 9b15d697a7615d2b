"""Trends on constructed series: real movements are found with their numbers, the weekly
rhythm and a single odd day are not mistaken for a trend."""

import datetime as dt
from decimal import Decimal

from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.trends import ProductUnits, detect_trends, product_window, trend_window

TODAY = dt.date(2025, 11, 27)
# A weekly rhythm (busy weekends) that repeats exactly: no trend in it.
RHYTHM = [Decimal(v) for v in ("900", "850", "920", "960", "1150", "1250", "1070")]


def store_day(store_id: str, date: dt.date, net: Decimal, payments: dict[str, Decimal] | None = None) -> StoreDay:
    return StoreDay(
        store_id=store_id,
        date=date,
        total_sales=net,
        total_discount=Decimal(0),
        net_sales=net,
        transaction_count=100,
        line_item_count=300,
        item_count=400,
        avg_transaction=net / 100,
        payment_breakdown=payments if payments is not None else {"cash": net / 4, "credit": net * 3 / 4},
    )


def window(series: dict[str, list[Decimal]]) -> dict[dt.date, list[StoreDay]]:
    """Store summaries over the 14-day window; each series is oldest first, ending today."""
    days = trend_window(TODAY)
    return {d: [store_day(s, d, values[i]) for s, values in series.items() if values[i] is not None] for i, d in enumerate(days)}


def flat(store_id_count: int = 1) -> list[Decimal]:
    return RHYTHM * 2


def trends_of(days, products_today=None, products_earlier=()):
    return detect_trends(TODAY, days, products_today or {}, list(products_earlier))


def by_id(report) -> dict[str, object]:
    return {t.insight_id: t for t in report.trends}


def test_week_over_week_compares_the_last_7_days_with_the_7_before() -> None:
    growing = RHYTHM + [v * Decimal("1.10") for v in RHYTHM]  # this week 10% above the last
    report = trends_of(window({"0001": growing, "0002": flat()}))

    wow = by_id(report)["week_over_week"]
    # A rhythm week is 7,100.00. Company per day: last week 2 x 7,100.00 / 7 = 2,028.57, this week
    # (7,100.00 + 7,810.00) / 7 = 2,130.00: +5.0%.
    assert (wow.trend_direction, wow.metric_change_percent, wow.significance) == ("up", Decimal("5.0"), "medium")
    assert wow.affected_items == ["0001"]  # the store that moved; the other did not
    assert "$2,130.00 a day" in wow.description and "$2,028.57 a day" in wow.description
    assert "most up: 0001 (+10.0%)." in wow.description


def test_identical_weeks_are_flat_and_too_few_days_are_reported() -> None:
    steady = by_id(trends_of(window({"0001": flat()})))["week_over_week"]
    assert (steady.trend_direction, steady.metric_change_percent, steady.significance) == ("flat", Decimal("0.0"), "low")

    short = [None] * 11 + RHYTHM[:3]
    report = trends_of(window({"0001": short}))
    assert "week_over_week" not in by_id(report)
    assert any("week over week needs 4 days" in note for note in report.notes)


def test_a_steady_climb_is_store_momentum_and_the_weekly_rhythm_is_not() -> None:
    climbing = [Decimal(1000 + 50 * n) for n in range(14)]  # +50.00 a day
    report = trends_of(window({"0001": climbing, "0002": flat(), "0003": flat()}))

    trends = by_id(report)
    momentum = trends["store_momentum-0001"]
    # 350.00 more than the same weekday a week before: 50.00 a day; over 13 days against a typical
    # (median) day of 1,325.00: +49.1%.
    assert (momentum.trend_direction, momentum.metric_change_percent, momentum.significance) == ("up", Decimal("49.1"), "high")
    assert momentum.affected_items == ["0001"]
    assert "store_momentum-0002" not in trends and "store_momentum-0003" not in trends


def test_one_outage_or_one_event_day_does_not_make_momentum() -> None:
    outage = flat()
    outage[-1] = Decimal("300")
    event = flat()
    event[-1] = Decimal("3000")
    report = trends_of(window({"0001": outage, "0002": event}))

    assert not [t for t in report.trends if t.type == "store_momentum"]


def test_momentum_needs_most_weekdays_in_both_weeks() -> None:
    report = trends_of(window({"0001": [None] * 3 + [Decimal(1000 + 100 * n) for n in range(11)]}))

    assert not [t for t in report.trends if t.type == "store_momentum"]
    assert any("store momentum needs 5 weekdays reported in both weeks" in note for note in report.notes)


def units(**skus: int) -> dict[str, ProductUnits]:
    return {sku: ProductUnits(f"Product {sku}", count) for sku, count in skus.items()}


def test_products_against_their_own_7_day_average() -> None:
    earlier = [units(A=100, B=100, C=2, D=100)] * 7
    today = units(A=200, B=50, C=10, D=110)
    report = trends_of(window({"0001": flat()}), today, earlier)

    trends = by_id(report)
    rising, falling = trends["product_trend-A"], trends["product_trend-B"]
    assert (rising.trend_direction, rising.metric_change_percent, rising.significance) == ("up", Decimal("100.0"), "high")
    assert (falling.trend_direction, falling.metric_change_percent, falling.significance) == ("down", Decimal("-50.0"), "medium")
    assert rising.affected_items == ["A"]
    assert "sold 200 units, +100.0% on its average of 100.0 a day over the previous 7 days" in rising.description
    assert "product_trend-C" not in trends  # +400%, but 10 units a day is too few to call
    assert "product_trend-D" not in trends  # +10% is ordinary


def test_product_trends_need_three_earlier_days() -> None:
    report = trends_of(window({"0001": flat()}), units(A=500), [units(A=100)] * 2)

    assert not [t for t in report.trends if t.type == "product_trend"]
    assert any("product trends need 3 earlier days" in note for note in report.notes)
    assert product_window(TODAY) == [TODAY - dt.timedelta(days=n) for n in range(1, 8)]


def test_sales_pace_compares_the_last_three_days_with_the_same_weekdays_a_week_earlier() -> None:
    series = flat()
    for n in (11, 12, 13):
        series[n] = series[n] * Decimal("1.06")
    pace = by_id(trends_of(window({"0001": series})))["sales_velocity"]

    assert (pace.trend_direction, pace.metric_change_percent, pace.significance) == ("up", Decimal("6.0"), "medium")


def test_a_shift_in_how_customers_pay_is_measured_in_points_of_share() -> None:
    days = window({"0001": flat()})
    today_net = days[TODAY][0].net_sales
    # 25% cash every day before, 35% today.
    days[TODAY] = [store_day("0001", TODAY, today_net, {"cash": today_net * Decimal("0.35"), "credit": today_net * Decimal("0.65")})]
    shift = by_id(trends_of(days))["payment_mix_shift"]

    assert (shift.trend_direction, shift.metric_change_percent, shift.significance) == ("up", Decimal("10.0"), "high")
    assert shift.affected_items == ["cash"]
    assert "35.0% of net sales, against 25.0%" in shift.description

    assert "payment_mix_shift" not in by_id(trends_of(window({"0001": flat()})))
