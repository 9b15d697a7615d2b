"""A known day for the recommendation engines: a store with a critical drop, a store that did
not report, a rising product and a weaker week."""

import datetime as dt
from decimal import Decimal

from sales_platform.domain.anomalies import Anomaly
from sales_platform.domain.company_metrics import CompanyDayMetrics, StoreNet
from sales_platform.domain.product_metrics import ProductDay
from sales_platform.domain.recommendations import AnalysisFacts
from sales_platform.domain.trends import Trend

DAY = dt.date(2025, 11, 27)

DROP = Anomaly(
    type="historical_low",
    severity="critical",
    store_id="0003",
    title="Store 0003 net sales 58.2% below a usual Thursday",
    description="Net sales of $812.40 are 58.2% below its last 5 Thursdays, $1,941.10 (their median). Its days usually "
    "stay within about 8.5% of such a baseline; this one is 10.7 times that away.",
    metric_value=Decimal("812.40"),
    historical_average=Decimal("1941.10"),
    deviation_percent=Decimal("-58.2"),
    baseline="last 5 Thursdays",
    robust_z=Decimal("-10.7"),
)
RISING = Trend(
    type="product_trend",
    subject="GRO-1001",
    title="Whole Milk 1 gal rising",
    description="Whole Milk 1 gal (GRO-1001) sold 240 units, +100.0% on its usual Thursday of 120.0 (the median of its "
    "last 4 Thursdays).",
    affected_items=["GRO-1001"],
    significance="high",
    trend_direction="up",
    metric_change_percent=Decimal("100.0"),
)
WEAKER_WEEK = Trend(
    type="week_over_week",
    title="Net sales down 12.5% week over week",
    description="Net sales averaged $7,000.00 a day over the last 7 days (2025-11-21 to 2025-11-27), -12.5% on "
    "$8,000.00 a day on the same weekdays the week before; most down: 0003 (-30.0%).",
    affected_items=["0003"],
    significance="high",
    trend_direction="down",
    metric_change_percent=Decimal("-12.5"),
)


def company(missing: list[str] | None = None) -> CompanyDayMetrics:
    missing = ["0004"] if missing is None else missing
    expected = ["0001", "0002", "0003", "0004"]
    return CompanyDayMetrics(
        date=DAY,
        total_sales=Decimal("7200.00"),
        total_discount=Decimal("200.00"),
        net_sales=Decimal("7000.00"),
        transaction_count=350,
        line_item_count=1200,
        item_count=1600,
        expected_stores=expected,
        reported_stores=[s for s in expected if s not in missing],
        missing_stores=missing,
        best_store=StoreNet("0001", Decimal("3500.00")),
        worst_store=StoreNet("0003", Decimal("812.40")),
        payment_breakdown={"cash": Decimal("2000.00"), "credit": Decimal("5000.00")},
    )


def facts(
    anomalies=(DROP,), trends=(RISING, WEAKER_WEEK), missing: list[str] | None = None, **coverage
) -> AnalysisFacts:
    return AnalysisFacts(
        business_date=DAY,
        company=company(missing),
        top_products=[
            ProductDay("GRO-1001", "Whole Milk 1 gal", 240, Decimal("1029.60"), Decimal("1000.00"), 3, 1),
            ProductDay("BEV-1002", "Cola 12 pk", 80, Decimal("599.20"), Decimal("550.00"), 3, 2),
        ],
        anomalies=list(anomalies),
        trends=list(trends),
        **coverage,
    )
