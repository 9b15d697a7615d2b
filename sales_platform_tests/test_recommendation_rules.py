"""The rules engine: each finding becomes an action naming the stores, products and numbers it
rests on, most urgent first, the same every time."""

from decimal import Decimal

from sales_platform.domain.anomalies import Anomaly
from sales_platform.domain.recommendation_rules import recommend_by_rules
from sales_platform.domain.trends import Trend
from sales_platform_tests.analysis_samples import DROP, RISING, WEAKER_WEEK, facts


def by_title(recommendations) -> dict[str, object]:
    return {r.title: r for r in recommendations}


def test_a_critical_drop_gets_a_high_priority_operations_recommendation_with_its_numbers() -> None:
    recommendations = recommend_by_rules(facts(trends=(), missing=[]))

    [drop] = recommendations
    assert (drop.priority, drop.category, drop.affected_stores) == ("high", "operations", ["0003"])
    assert "store 0003" in drop.title
    assert "$812.40" in drop.description and "58.2%" in drop.description and "$1,941.10" in drop.description
    # Back to its average: 1,941.10 - 812.40 = 1,128.70 a day.
    assert "$1,128.70" in drop.expected_impact


def test_every_finding_of_a_day_becomes_an_action_most_urgent_first() -> None:
    recommendations = recommend_by_rules(facts())

    assert [(r.priority, r.category) for r in recommendations] == [
        ("high", "operations"),  # the store that did not report
        ("high", "operations"),  # the drop at 0003
        ("high", "strategy"),  # the weaker week
        ("medium", "inventory"),  # the rising product
    ]
    chase = recommendations[0]
    assert chase.affected_stores == ["0004"] and "3 of 4 stores" in chase.description
    stock = recommendations[3]
    assert stock.affected_products == ["GRO-1001"] and "240 units" in stock.description
    week = recommendations[2]
    assert "12.5%" in week.title and week.affected_stores == ["0003"]


def test_several_findings_for_one_store_make_one_recommendation_led_by_the_broadest() -> None:
    fewer = Anomaly(
        "transactions_low",
        "critical",
        "0003",
        "t",
        "40 transactions are 60.0% below its last 5 Thursdays.",
        Decimal("40"),
        Decimal("100.0"),
        Decimal("-60.0"),
    )
    basket = Anomaly(
        "basket_low",
        "warning",
        "0003",
        "t",
        "Basket 21.0% smaller.",
        Decimal("8.00"),
        Decimal("10.13"),
        Decimal("-21.0"),
    )
    [only] = recommend_by_rules(facts(anomalies=(basket, fewer, DROP), trends=(), missing=[]))

    assert only.description.startswith(DROP.description)
    assert "Also flagged: basket low, transactions low." in only.description


def test_a_surge_asks_for_restocking_and_a_smaller_basket_for_marketing() -> None:
    spike = Anomaly(
        "historical_high",
        "critical",
        "0002",
        "t",
        "Net sales are 150.0% above its last 5 Thursdays.",
        Decimal("5000.00"),
        Decimal("2000.00"),
        Decimal("150.0"),
    )
    basket = Anomaly(
        "basket_low",
        "warning",
        "0001",
        "t",
        "Basket 25.0% smaller.",
        Decimal("7.50"),
        Decimal("10.00"),
        Decimal("-25.0"),
    )
    found = by_title(recommend_by_rules(facts(anomalies=(spike, basket), trends=(), missing=[])))

    restock = found["Restock store 0002 after its surge"]
    assert (restock.category, restock.priority, restock.affected_stores) == ("inventory", "medium", ["0002"])
    lift = found["Lift the basket size at store 0001"]
    assert lift.category == "marketing" and "$2.50 per transaction" in lift.expected_impact


def test_stores_losing_momentum_and_falling_products() -> None:
    losing = Trend(
        "store_momentum",
        "Store 0002 losing momentum",
        "Store 0002's net sales trend down by about 40.0%.",
        ["0002"],
        "high",
        "down",
        Decimal("-40.0"),
        subject="0002",
    )
    falling = Trend(
        "product_trend",
        "Cola falling",
        "Cola 12 pk (BEV-1002) sold 40 units, -50.0% on its average.",
        ["BEV-1002"],
        "medium",
        "down",
        Decimal("-50.0"),
        subject="BEV-1002",
    )
    found = by_title(recommend_by_rules(facts(anomalies=(), trends=(losing, falling), missing=[])))

    review = found["Review the stores losing momentum: 0002"]
    assert (review.priority, review.category, review.affected_stores) == ("high", "strategy", ["0002"])
    products = found["Review falling products"]
    assert (products.priority, products.category, products.affected_products) == ("low", "marketing", ["BEV-1002"])


def test_a_quiet_day_still_says_so() -> None:
    [only] = recommend_by_rules(facts(anomalies=(), trends=(), missing=[]))

    assert only.title == "No action needed today"
    assert only.description.startswith("Every store traded within its normal range on 2025-11-27")
    assert "$7,000.00" in only.description and "store 0001" in only.description


def test_a_quiet_day_claims_a_normal_range_only_for_the_stores_it_could_check() -> None:
    short = {"0003": "2 earlier Thursday(s) in the last 8 weeks, 3 needed"}
    quiet, look = recommend_by_rules(
        facts(anomalies=(), trends=(), missing=[], compared_stores=["0001", "0002", "0004"], not_compared=short)
    )

    assert quiet.description.startswith("The 3 store(s) compared with their history traded within their normal range")
    assert "Every store" not in quiet.description
    assert look.title == "Look at store(s) 0003 yourself: too little history to check"
    assert "store 0003: 2 earlier Thursday(s) in the last 8 weeks, 3 needed" in look.description
    assert (look.priority, look.affected_stores) == ("low", ["0003"])

    # Nothing could be compared: no word about a normal range at all.
    [only] = recommend_by_rules(
        facts(
            anomalies=(),
            trends=(),
            missing=[],
            compared_stores=[],
            not_compared=dict.fromkeys(["0001", "0002", "0003", "0004"], "new"),
        )
    )
    assert "normal range" not in only.description and only.affected_stores == ["0001", "0002", "0003", "0004"]


def test_a_card_reader_and_an_empty_shelf_get_actions_of_their_own() -> None:
    payments = Anomaly(
        "payment_shift",
        "warning",
        "0002",
        "t",
        "Of its transactions today, cash 70.0% (usually 20.0%).",
        Decimal("70.0"),
        Decimal("20.0"),
        Decimal("50.0"),
    )
    shelf = Anomaly(
        "product_stopped",
        "warning",
        "0004",
        "t",
        "Not one of today's 120 transactions included Milk.",
        Decimal(0),
        Decimal("14.2"),
        Decimal("-100.0"),
    )
    missing = Anomaly("store_missing", "warning", "0003", "t", "No file from store 0003.", Decimal(0), None, None)
    found = by_title(recommend_by_rules(facts(anomalies=(payments, shelf, missing), trends=(), missing=["0003"])))

    terminals = found["Check the card terminals at store 0002"]
    assert (terminals.category, terminals.affected_stores) == (
        "operations",
        ["0002"],
    ) and "cash 70.0%" in terminals.description
    restock = found["Restock or re-shelve at store 0004"]
    assert restock.category == "inventory" and "14.2 baskets a day" in restock.expected_impact
    # The missing store is chased once, not also investigated for a drop.
    assert [t for t in found if "0003" in t] == [] and "Chase the 1 store(s) that have not reported" in found


def test_the_same_day_gives_the_same_advice_and_never_more_than_ten() -> None:
    many = [
        Anomaly(
            "historical_low",
            "warning",
            f"{n:04d}",
            "t",
            f"Net sales 30.0% below ({n}).",
            Decimal(700),
            Decimal(1000),
            Decimal(-30),
        )
        for n in range(1, 30)
    ]
    first = recommend_by_rules(facts(anomalies=many))
    assert first == recommend_by_rules(facts(anomalies=many))
    assert len(first) == 10
    assert recommend_by_rules(facts()) == recommend_by_rules(facts(anomalies=(DROP,), trends=(RISING, WEAKER_WEEK)))
