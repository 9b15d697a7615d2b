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
    sudden = Anomaly("sudden_drop", "critical", "0003", "t", "Net sales fell 60.0% from the day before.",
                     Decimal("812.40"), Decimal("2031.00"), Decimal("-60.0"))
    basket = Anomaly("basket_low", "warning", "0003", "t", "Basket 21.0% smaller.", Decimal("8.00"), Decimal("10.13"), Decimal("-21.0"))
    [only] = recommend_by_rules(facts(anomalies=(basket, sudden, DROP), trends=(), missing=[]))

    assert only.description.startswith(DROP.description)
    assert "Also flagged: basket low, sudden drop." in only.description


def test_a_surge_asks_for_restocking_and_a_smaller_basket_for_marketing() -> None:
    spike = Anomaly("sudden_spike", "critical", "0002", "t", "Net sales up 150.0% from the day before.",
                    Decimal("5000.00"), Decimal("2000.00"), Decimal("150.0"))
    basket = Anomaly("basket_low", "warning", "0001", "t", "Basket 25.0% smaller.", Decimal("7.50"), Decimal("10.00"), Decimal("-25.0"))
    found = by_title(recommend_by_rules(facts(anomalies=(spike, basket), trends=(), missing=[])))

    restock = found["Restock store 0002 after its surge"]
    assert (restock.category, restock.priority, restock.affected_stores) == ("inventory", "medium", ["0002"])
    lift = found["Lift the basket size at store 0001"]
    assert lift.category == "marketing" and "$2.50 per transaction" in lift.expected_impact


def test_stores_losing_momentum_and_falling_products() -> None:
    losing = Trend("store_momentum", "Store 0002 losing momentum", "Store 0002's net sales trend down by about 40.0%.",
                   ["0002"], "high", "down", Decimal("-40.0"), subject="0002")
    falling = Trend("product_trend", "Cola falling", "Cola 12 pk (BEV-1002) sold 40 units, -50.0% on its average.",
                    ["BEV-1002"], "medium", "down", Decimal("-50.0"), subject="BEV-1002")
    found = by_title(recommend_by_rules(facts(anomalies=(), trends=(losing, falling), missing=[])))

    review = found["Review the stores losing momentum: 0002"]
    assert (review.priority, review.category, review.affected_stores) == ("high", "strategy", ["0002"])
    products = found["Review falling products"]
    assert (products.priority, products.category, products.affected_products) == ("low", "marketing", ["BEV-1002"])


def test_a_quiet_day_still_says_so() -> None:
    [only] = recommend_by_rules(facts(anomalies=(), trends=(), missing=[]))

    assert only.title == "No action needed today"
    assert "$7,000.00" in only.description and "store 0001" in only.description


def test_the_same_day_gives_the_same_advice_and_never_more_than_ten() -> None:
    many = [
        Anomaly("historical_low", "warning", f"{n:04d}", "t", f"Net sales 30.0% below ({n}).", Decimal(700), Decimal(1000), Decimal(-30))
        for n in range(1, 30)
    ]
    first = recommend_by_rules(facts(anomalies=many))
    assert first == recommend_by_rules(facts(anomalies=many))
    assert len(first) == 10
    assert recommend_by_rules(facts()) == recommend_by_rules(facts(anomalies=(DROP,), trends=(RISING, WEAKER_WEEK)))
