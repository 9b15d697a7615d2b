"""The deterministic recommendation engine: the local default and Bedrock's fallback.

Each rule turns a finding into an action a store or category manager can take, naming the
stores, products and numbers it rests on, so the same day always gives the same advice.
"""

from __future__ import annotations

from collections.abc import Iterable

from sales_platform.domain.anomalies import Anomaly
from sales_platform.domain.recommendations import AnalysisFacts, Recommendation, by_priority
from sales_platform.domain.trends import Trend
from sales_platform.domain.wording import magnitude_percent, money, names

LOW_SIDE = {"historical_low", "transactions_low", "basket_low"}
# Which finding speaks for a store when it has several: the broadest measure first.
_PREFERENCE = [
    "historical_low",
    "peer_outlier",
    "transactions_low",
    "basket_low",
    "historical_high",
    "transactions_high",
    "basket_high",
]
# Findings with an action of their own; a store without a file is chased by its own rule.
_OWN_ACTION = {"payment_shift", "product_stopped", "store_missing"}


def _is_low(anomaly: Anomaly) -> bool:
    return anomaly.type in LOW_SIDE or (anomaly.type == "peer_outlier" and (anomaly.deviation_percent or 0) < 0)


def _lead(anomalies: list[Anomaly]) -> Anomaly:
    candidates = [a for a in anomalies if a.severity == "critical"] or anomalies
    return min(candidates, key=lambda a: _PREFERENCE.index(a.type) if a.type in _PREFERENCE else len(_PREFERENCE))


def _store_drop(store_id: str, findings: list[Anomaly]) -> Recommendation:
    lead = _lead(findings)
    critical = lead.severity == "critical"
    others = sorted({a.type.replace("_", " ") for a in findings} - {lead.type.replace("_", " ")})
    if lead.type == "basket_low":
        return Recommendation(
            priority="high" if critical else "medium",
            category="marketing",
            title=f"Lift the basket size at store {store_id}",
            description=f"{lead.description} Review bundles, multi-buy offers and till prompts at store {store_id}.",
            affected_stores=[store_id],
            expected_impact=f"Back to {money(lead.historical_average or 0)} per transaction would add "
            f"{money((lead.historical_average or 0) - lead.metric_value)} per transaction.",
        )
    if lead.type == "transactions_low":
        return Recommendation(
            priority="high" if critical else "medium",
            category="marketing",
            title=f"Bring shoppers back to store {store_id}",
            description=f"{lead.description} Check footfall drivers around store {store_id} (access, local "
            "competition, signage) and consider a local promotion.",
            affected_stores=[store_id],
            expected_impact=f"Recovering the usual {lead.historical_average} transactions a day.",
        )
    gap = (lead.historical_average or lead.metric_value) - lead.metric_value
    also = f" Also flagged: {', '.join(others)}." if others else ""
    return Recommendation(
        priority="high" if critical else "medium",
        category="operations",
        title=f"Investigate the sales drop at store {store_id}",
        description=f"{lead.description}{also} Check registers and payment terminals, staffing, opening hours "
        "and stock-outs at the store today.",
        affected_stores=[store_id],
        expected_impact=f"Getting back to its usual level is worth about {money(gap)} of net sales a day."
        if gap > 0
        else "Keeps a one-day dip from becoming a lasting one.",
    )


def _store_surge(store_id: str, findings: list[Anomaly]) -> Recommendation:
    lead = _lead(findings)
    return Recommendation(
        priority="medium" if lead.severity == "critical" else "low",
        category="inventory",
        title=f"Restock store {store_id} after its surge",
        description=f"{lead.description} Check stock of the store's best sellers and find out what drove the "
        "extra demand (a local event, a competitor closing) before the next trading day.",
        affected_stores=[store_id],
        expected_impact="Avoids lost sales from empty shelves while demand stays high.",
    )


def _till_and_shelf(anomalies: Iterable[Anomaly]) -> list[Recommendation]:
    found = []
    for anomaly in sorted(anomalies, key=lambda a: (a.store_id, a.type)):
        if anomaly.type == "payment_shift":
            found.append(
                Recommendation(
                    priority="high" if anomaly.severity == "critical" else "medium",
                    category="operations",
                    title=f"Check the card terminals at store {anomaly.store_id}",
                    description=f"{anomaly.description} A terminal or card reader down sends shoppers to cash or "
                    "away; ask the store whether payments failed today.",
                    affected_stores=[anomaly.store_id],
                    expected_impact="No sale lost because a card could not be taken.",
                )
            )
        elif anomaly.type == "product_stopped":
            found.append(
                Recommendation(
                    priority="medium",
                    category="inventory",
                    title=f"Restock or re-shelve at store {anomaly.store_id}",
                    description=f"{anomaly.description}",
                    affected_stores=[anomaly.store_id],
                    expected_impact=f"About {anomaly.historical_average} baskets a day with the product back on the "
                    "shelf.",
                )
            )
    return found


def _anomaly_rules(anomalies: Iterable[Anomaly]) -> list[Recommendation]:
    anomalies = list(anomalies)
    by_store: dict[str, list[Anomaly]] = {}
    for anomaly in anomalies:
        if anomaly.type not in _OWN_ACTION:
            by_store.setdefault(anomaly.store_id, []).append(anomaly)
    found = []
    for store_id, findings in sorted(by_store.items()):
        low = [a for a in findings if _is_low(a)]
        high = [a for a in findings if not _is_low(a)]
        if low:
            found.append(_store_drop(store_id, low))
        elif high:
            found.append(_store_surge(store_id, high))
    return found + _till_and_shelf(anomalies)


# direction -> (priority, category, title, what to do, expected impact)
_PRODUCT_ADVICE = {
    "up": (
        "medium",
        "inventory",
        "Stock up on rising products",
        "Raise orders and shelf space for these before they sell out.",
        "Keeps rising demand from running into empty shelves.",
    ),
    "down": (
        "low",
        "marketing",
        "Review falling products",
        "Promote them or reduce the next orders to avoid overstock.",
        "Less stock tied up in products that slow down.",
    ),
}


def _product_rules(trends: list[Trend]) -> list[Recommendation]:
    found = []
    for direction, (priority, category, title, action, impact) in _PRODUCT_ADVICE.items():
        moving = [t for t in trends if t.type == "product_trend" and t.trend_direction == direction][:3]
        if moving:
            found.append(
                Recommendation(
                    priority=priority,
                    category=category,
                    title=title,
                    description=" ".join(t.description for t in moving) + " " + action,
                    affected_products=[t.subject for t in moving],
                    expected_impact=impact,
                )
            )
    return found


def _chain_rules(trends: list[Trend]) -> list[Recommendation]:
    found = []
    for trend in trends:
        if trend.type == "week_over_week" and trend.trend_direction == "down" and trend.significance != "low":
            found.append(
                Recommendation(
                    priority="high" if trend.significance == "high" else "medium",
                    category="strategy",
                    title=f"Chain sales down {magnitude_percent(trend.metric_change_percent)} on last week",
                    description=f"{trend.description} Review this week's prices, promotions and competitor "
                    "activity in the stores that fell most.",
                    affected_stores=list(trend.affected_items),
                    expected_impact="Stops a weekly decline before it compounds.",
                )
            )
        elif trend.type == "week_over_week" and trend.trend_direction == "up" and trend.significance == "high":
            found.append(
                Recommendation(
                    priority="low",
                    category="strategy",
                    title=f"Build on a {magnitude_percent(trend.metric_change_percent)} week-over-week rise",
                    description=f"{trend.description} Find out what worked in the leading stores and repeat it.",
                    affected_stores=list(trend.affected_items),
                    expected_impact="Turns a good week into a lasting gain.",
                )
            )
    losing = [t for t in trends if t.type == "store_momentum" and t.trend_direction == "down"]
    if losing:
        stores = [t.subject for t in losing]
        found.append(
            Recommendation(
                priority="high" if any(t.significance == "high" for t in losing) else "medium",
                category="strategy",
                title=f"Review the stores losing momentum: {names(stores)}",
                description=" ".join(t.description for t in losing[:3])
                + " A steady slide calls for a visit: range, staffing, local competition.",
                affected_stores=stores,
                expected_impact="Halts a decline that one good day would hide.",
            )
        )
    for trend in trends:
        if trend.type == "payment_mix_shift" and trend.significance != "low":
            found.append(
                Recommendation(
                    priority="low",
                    category="operations",
                    title="Adjust for the shift in how customers pay",
                    description=f"{trend.description} Check card terminals, cash floats and gift card stock "
                    "match the new mix.",
                    expected_impact="Fewer failed payments and less idle cash.",
                )
            )
    return found


def _not_compared(facts: AnalysisFacts) -> Recommendation | None:
    if not facts.not_compared:
        return None
    stores = sorted(facts.not_compared)
    reasons = "; ".join(f"store {store}: {why}" for store, why in sorted(facts.not_compared.items()))
    return Recommendation(
        priority="low",
        category="operations",
        title=f"Look at store(s) {names(stores)} yourself: too little history to check",
        description=f"The analysis could not compare {len(stores)} store(s) with their own history on "
        f"{facts.business_date.isoformat()} ({reasons}), so a bad day there would not be flagged.",
        affected_stores=stores,
        expected_impact="No store goes unwatched while its history builds up.",
    )


def _quiet_day(facts: AnalysisFacts) -> Recommendation | None:
    """Said only of the stores that could be checked."""
    company = facts.company
    compared = list(facts.compared_stores) if facts.compared_stores is not None else list(company.reported_stores)
    if not compared:
        return None
    best = company.best_store
    who = (
        "Every store traded within its normal range"
        if not facts.not_compared
        else f"The {len(compared)} store(s) compared with their history traded within their normal range"
    )
    return Recommendation(
        priority="low",
        category="strategy",
        title="No action needed today",
        description=f"{who} on {facts.business_date.isoformat()}; net sales were {money(company.net_sales)}"
        + (f", led by store {best.store_id} with {money(best.net_sales)}." if best else "."),
        affected_stores=[best.store_id] if best else [],
        expected_impact="Keep the current plan.",
    )


def recommend_by_rules(facts: AnalysisFacts) -> list[Recommendation]:
    company = facts.company
    found: list[Recommendation] = []
    if company.missing_stores:
        found.append(
            Recommendation(
                priority="high",
                category="operations",
                title=f"Chase the {len(company.missing_stores)} store(s) that have not reported",
                description=f"No sales file from store(s) {names(company.missing_stores, limit=20)} for "
                f"{facts.business_date.isoformat()}: the day's figures cover {len(company.reported_stores)} of "
                f"{len(company.expected_stores)} stores.",
                affected_stores=list(company.missing_stores),
                expected_impact="Complete figures for the day; the analysis runs again by itself once the files "
                "are in.",
            )
        )
    found += _anomaly_rules(facts.anomalies)
    found += _chain_rules(facts.trends)
    found += _product_rules(facts.trends)
    if not found and (quiet := _quiet_day(facts)):
        found.append(quiet)
    if unchecked := _not_compared(facts):
        found.append(unchecked)
    return by_priority(found)
