"""Trends on constructed series: real movements are found with their numbers, the weekly
rhythm and a single odd day are not mistaken for a trend."""

import datetime as dt
from decimal import Decimal

from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.trends import ProductUnits, detect_trends, product_window, summary_window, trend_window

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
    """Store summaries over the 14-day window; each series is oldest first, ending today. The
    earlier product baseline days repeat the series' first week."""
    days = trend_window(TODAY)
    found = {
        d: [store_day(s, d, values[i]) for s, values in series.items() if values[i] is not None]
        for i, d in enumerate(days)
    }
    for d in summary_window(TODAY):
        if d not in found:
            first = days[(d - days[0]).days % 7]
            found[d] = [store_day(s.store_id, d, s.net_sales) for s in found[first]]
    return found


def flat(store_id_count: int = 1) -> list[Decimal]:
    return RHYTHM * 2


def trends_of(days, products_today=None, products_earlier=None, expected_stores=()):
    return detect_trends(TODAY, days, products_today or {}, products_earlier or {}, expected_stores=expected_stores)


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
    assert (steady.trend_direction, steady.metric_change_percent, steady.significance) == (
        "flat",
        Decimal("0.0"),
        "low",
    )

    short = [None] * 11 + RHYTHM[:3]
    report = trends_of(window({"0001": short}))
    assert "week_over_week" not in by_id(report)
    assert any(
        "week over week needs 4 weekdays with every store in both weeks; found 0" in note for note in report.notes
    )


def test_a_steady_climb_is_store_momentum_and_the_weekly_rhythm_is_not() -> None:
    climbing = [Decimal(1000 + 50 * n) for n in range(14)]  # +50.00 a day
    report = trends_of(window({"0001": climbing, "0002": flat(), "0003": flat()}))

    trends = by_id(report)
    momentum = trends["store_momentum-0001"]
    # 350.00 more than the same weekday a week before: 50.00 a day; over 13 days against a typical
    # (median) day of 1,325.00: +49.1%.
    assert (momentum.trend_direction, momentum.metric_change_percent, momentum.significance) == (
        "up",
        Decimal("49.1"),
        "high",
    )
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


def same_weekdays(*weeks: dict[str, ProductUnits]) -> dict[dt.date, dict[str, ProductUnits]]:
    """Units on today's weekday 1, 2, ... weeks before, newest first."""
    return {TODAY - dt.timedelta(days=7 * n): units for n, units in enumerate(weeks, 1)}


def test_products_against_their_usual_same_weekday() -> None:
    earlier = same_weekdays(*[units(A=100, B=100, C=2, D=100)] * 4)
    today = units(A=200, B=50, C=10, D=110)
    report = trends_of(window({"0001": flat()}), today, earlier)

    trends = by_id(report)
    rising, falling = trends["product_trend-A"], trends["product_trend-B"]
    assert (rising.trend_direction, rising.metric_change_percent, rising.significance) == (
        "up",
        Decimal("100.0"),
        "high",
    )
    assert (falling.trend_direction, falling.metric_change_percent, falling.significance) == (
        "down",
        Decimal("-50.0"),
        "medium",
    )
    assert rising.affected_items == ["A"]
    assert (
        "sold 200 units, +100.0% on its usual Thursday of 100.0 (the median of its last 4 Thursdays)"
        in rising.description
    )
    assert "product_trend-C" not in trends  # +400%, but 10 units a day is too few to call
    assert "product_trend-D" not in trends  # +10% is ordinary


def test_a_product_that_always_sells_more_on_this_weekday_is_not_rising() -> None:
    # Beer sells 300 units every Thursday and about 100 on other days: its Thursday is normal.
    earlier = same_weekdays(*[units(BEER=300)] * 4)
    earlier |= {TODAY - dt.timedelta(days=n): units(BEER=100) for n in (1, 2, 3, 4, 5, 6)}
    report = trends_of(window({"0001": flat()}), units(BEER=310), earlier)

    assert "product_trend-BEER" not in by_id(report)
    assert product_window(TODAY) == [TODAY - dt.timedelta(days=7 * n) for n in range(1, 5)]


def test_product_trends_need_three_earlier_same_weekdays() -> None:
    report = trends_of(window({"0001": flat()}), units(A=500), same_weekdays(units(A=100), units(A=100)))

    assert not [t for t in report.trends if t.type == "product_trend"]
    assert any(
        "product trends need 3 earlier Thursdays with product figures and every store; found 2" in note
        for note in report.notes
    )


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
    days[TODAY] = [
        store_day(
            "0001", TODAY, today_net, {"cash": today_net * Decimal("0.35"), "credit": today_net * Decimal("0.65")}
        )
    ]
    shift = by_id(trends_of(days))["payment_mix_shift"]

    assert (shift.trend_direction, shift.metric_change_percent, shift.significance) == ("up", Decimal("10.0"), "high")
    assert shift.affected_items == ["cash"]
    assert "35.0% of net sales, against 25.0%" in shift.description

    assert "payment_mix_shift" not in by_id(trends_of(window({"0001": flat()})))


# --------------------------------------------------------------------------- partial days

ELEVEN = [f"{n:04d}" for n in range(1, 12)]


def test_a_day_only_one_store_had_reported_is_kept_out_of_week_over_week_and_the_text_says_so() -> None:
    # Eleven stores, each 10% up this week on the same weekday last week; but on Friday of the
    # week before (2025-11-14) the fallback analysis ran when only store 0001 had reported.
    series = {s: RHYTHM + [v * Decimal("1.10") for v in RHYTHM] for s in ELEVEN}
    days = window(series)
    partial = TODAY - dt.timedelta(days=13)
    days[partial] = [d for d in days[partial] if d.store_id == "0001"]

    wow = by_id(trends_of(days, expected_stores=ELEVEN))["week_over_week"]

    # Averaged with the partial day in, the week before would be 66,600.00 / 7 a day and the rise
    # +29.0%; paired weekday by weekday without that Friday, it is the true +10.0%.
    assert (wow.metric_change_percent, wow.trend_direction, wow.significance) == (Decimal("10.0"), "up", "high")
    assert "over 6 of the last 7 days" in wow.description
    assert (
        f"left out, with the weekday each pairs with, as partial days: Friday {partial} had 1 of 11 stores"
        in wow.description
    )
    assert "on the same weekdays the week before" in wow.description


def test_without_expected_stores_a_day_missing_a_usual_store_is_still_partial() -> None:
    series = {s: RHYTHM + [v * Decimal("1.10") for v in RHYTHM] for s in ELEVEN[:3]}
    days = window(series)
    yesterday = TODAY - dt.timedelta(days=1)
    days[yesterday] = [d for d in days[yesterday] if d.store_id != "0002"]

    report = trends_of(days)
    pace, wow = by_id(report)["sales_velocity"], by_id(report)["week_over_week"]

    assert pace.metric_change_percent == wow.metric_change_percent == Decimal("10.0")
    assert f"{yesterday:%A} {yesterday} had 2 of 3 stores" in pace.description
    assert "over 2 of the last 3 days" in pace.description


def test_a_product_on_a_day_some_stores_are_missing_is_judged_against_those_stores_only() -> None:
    # Two equal stores; today only 0001 reported and sold its usual half of the product's units.
    days = window({"0001": flat(), "0002": flat()})
    days[TODAY] = [d for d in days[TODAY] if d.store_id == "0001"]
    report = trends_of(days, units(A=100), same_weekdays(*[units(A=200)] * 4), expected_stores=["0001", "0002"])

    assert "product_trend-A" not in by_id(report)  # 100 of a usual 200 scaled to the one store: normal
    falling = by_id(trends_of(days, units(A=40), same_weekdays(*[units(A=200)] * 4), expected_stores=["0001", "0002"]))
    assert "scaled to the 1 of 2 stores that reported today" in falling["product_trend-A"].description
    assert summary_window(TODAY)[0] == TODAY - dt.timedelta(days=28)


def test_the_payment_mix_compares_the_same_stores_when_one_is_missing_today() -> None:
    # A cash-heavy store and a card-heavy one; today only the card-heavy one has reported.
    cashy = {"cash": Decimal("800"), "credit": Decimal("200")}
    cards = {"cash": Decimal("100"), "credit": Decimal("900")}
    days = {
        d: [store_day("0001", d, Decimal(1000), cashy), store_day("0002", d, Decimal(1000), cards)]
        for d in summary_window(TODAY)
    }
    days[TODAY] = [store_day("0002", TODAY, Decimal(1000), cards)]

    assert "payment_mix_shift" not in by_id(trends_of(days, expected_stores=["0001", "0002"]))
