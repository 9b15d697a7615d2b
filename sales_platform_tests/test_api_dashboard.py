"""What the dashboard shows for a small fixture whose every number was computed by hand.

Two days, three expected stores (0001, 0002, 0003). On DAY stores 0001 and 0002 reported,
0003 did not; the day before only 0001 did:

    store  day      gross   discount  net    transactions  lines  units  payments (net)
    0001   DAY      100.00  10.00     90.00  4             10     15     cash 40.00, credit 50.00
    0002   DAY       50.50   0.50     50.00  2              3      4     credit 30.00, mobile 20.00
    0001   BEFORE    80.00   0.00     80.00  5              7      9     cash 80.00

DAY for the company: gross 150.50, discounts 10.50, net 140.00, 6 transactions, 13 lines,
19 units, average transaction 140.00 / 6 = 23.33, 70.00 net per reporting store, best store
0001 (90.00), worst 0002 (50.00), payments cash 40.00, credit 80.00, mobile 20.00.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sales_platform.api.view_cache import TOKEN_CHECK_SECONDS
from sales_platform.domain.dashboard_analytics import analytics_view, kpis_from_store_summaries
from sales_platform.domain.dashboard_trends import sales_trend, trends_view, window
from sales_platform.domain.table_keys import days_from_keys
from sales_platform_tests.api_support import (
    Api,
    company_summary_item,
    insight_item,
    money,
    product_day_item,
    store_day_item,
    upload_tracking_item,
)

DAY = "2025-11-27"
BEFORE = "2025-11-26"
EXPECTED = ["0001", "0002", "0003"]

STORE_0001 = store_day_item(
    "0001",
    DAY,
    total_sales=money("100.00"),
    total_discount=money("10.00"),
    net_sales=money("90.00"),
    transaction_count=4,
    line_item_count=10,
    item_count=15,
    unique_customers=3,
    avg_transaction=money("22.50"),
    payment_breakdown={"cash": money("40.00"), "credit": money("50.00")},
    top_products=[{"sku": "SKU-A", "name": "Apples", "units": 6, "net_revenue": money("60.00")}],
)
STORE_0002 = store_day_item(
    "0002",
    DAY,
    total_sales=money("50.50"),
    total_discount=money("0.50"),
    net_sales=money("50.00"),
    transaction_count=2,
    line_item_count=3,
    item_count=4,
    unique_customers=2,
    avg_transaction=money("25.00"),
    payment_breakdown={"credit": money("30.00"), "mobile": money("20.00")},
)
STORE_0001_BEFORE = store_day_item(
    "0001",
    BEFORE,
    total_sales=money("80.00"),
    net_sales=money("80.00"),
    transaction_count=5,
    line_item_count=7,
    item_count=9,
    avg_transaction=money("16.00"),
    payment_breakdown={"cash": money("80.00")},
)
PRODUCTS = [
    product_day_item(
        DAY,
        "SKU-B",
        name="Bread",
        units=2,
        gross_revenue=money("41.00"),
        net_revenue=money("40.00"),
        stores_sold=2,
        rank=2,
    ),
    product_day_item(
        DAY,
        "SKU-A",
        name="Apples",
        units=6,
        gross_revenue=money("61.00"),
        net_revenue=money("60.00"),
        stores_sold=1,
        rank=1,
    ),
    product_day_item(
        BEFORE,
        "SKU-B",
        name="Bread loaf",
        units=1,
        gross_revenue=money("30.00"),
        net_revenue=money("30.00"),
        stores_sold=1,
        rank=1,
    ),
]
COMPANY_SUMMARY = company_summary_item(
    DAY,
    total_sales=money("150.50"),
    total_discount=money("10.50"),
    net_sales=money("140.00"),
    transaction_count=6,
    line_item_count=13,
    item_count=19,
    avg_transaction=money("23.33"),
    avg_net_sales_per_store=money("70.00"),
    stores_reported=2,
    stores_expected=3,
    reported_stores=["0002", "0001"],
    missing_stores=["0003"],
    best_store={"store_id": "0001", "net_sales": money("90.00")},
    worst_store={"store_id": "0002", "net_sales": money("50.00")},
    payment_breakdown={"cash": money("40.00"), "credit": money("80.00"), "mobile": money("20.00")},
    trigger="scheduled",
    analyzed_at="2025-11-28T04:00:00Z",
)
INSIGHTS = [
    insight_item(
        DAY,
        "anomaly",
        "0002-sudden_drop",
        type="sudden_drop",
        severity="warning",
        store_id="0002",
        title="Store 0002 dropped",
        description="Net sales fell.",
        metric_value=money("50.00"),
        historical_average=money("80.00"),
        deviation_percent=money("-37.5"),
    ),
    insight_item(
        DAY,
        "anomaly",
        "0001-historical_high",
        type="historical_high",
        severity="critical",
        store_id="0001",
        title="Store 0001 record",
        description="Best day.",
        metric_value=money("90.00"),
        historical_average=money("60.00"),
        deviation_percent=money("50.0"),
    ),
    insight_item(
        DAY,
        "trend",
        "week_over_week",
        type="week_over_week",
        title="Up",
        description="Week up.",
        affected_items=["0001"],
        significance="medium",
        trend_direction="up",
        metric_change_percent=money("12.5"),
    ),
    insight_item(
        DAY,
        "recommendation",
        "restock-sku-a",
        priority="low",
        category="inventory",
        title="Restock apples",
        description="Apples sell.",
        affected_stores=["0001"],
        affected_products=["SKU-A"],
        expected_impact="more sales",
    ),
    insight_item(
        DAY,
        "recommendation",
        "promote-0002",
        priority="high",
        category="marketing",
        title="Promote 0002",
        description="Traffic fell.",
        affected_stores=["0002"],
        affected_products=[],
        expected_impact="recover",
    ),
]

HAND_KPIS = {
    # the dashboard's names (contracts/dashboard-fields.md)
    "total_transactions": 6,
    "total_items": 19,
    "store_count": 2,
    "total_sales": 150.5,
    "total_discount": 10.5,
    "net_sales": 140.0,
    "transaction_count": 6,
    "line_item_count": 13,
    "item_count": 19,
    "avg_transaction": 23.33,
    "avg_net_sales_per_store": 70.0,
    "avg_store_sales": 75.25,  # gross per store, the old system's field, beside the net one
    "stores_reported": 2,
    "stores_expected": 3,
    "reported_stores": ["0001", "0002"],
    "missing_stores": ["0003"],
    "best_store": {"store_id": "0001", "net_sales": 90.0, "total_sales": 100.0},
    "worst_store": {"store_id": "0002", "net_sales": 50.0, "total_sales": 50.5},
    "payment_breakdown": {"cash": 40.0, "credit": 80.0, "debit": 0.0, "gift_card": 0.0, "mobile": 20.0},
}


def _write(api: Api, *items: dict) -> None:
    api.table.put_items(list(items))


@pytest.fixture
def summaries_only(api: Api) -> Api:
    """The day as the ingest leaves it, before the daily analysis has run."""
    _write(
        api,
        STORE_0001,
        STORE_0002,
        STORE_0001_BEFORE,
        upload_tracking_item("0001", DAY),
        upload_tracking_item("0002", DAY),
    )
    return api


@pytest.fixture
def analysed(summaries_only: Api) -> Api:
    _write(summaries_only, COMPANY_SUMMARY, *PRODUCTS, *INSIGHTS)
    return summaries_only


# --------------------------------------------------------------------------- pure views


def test_kpis_add_up_store_summaries_by_the_metric_definitions() -> None:
    kpis = kpis_from_store_summaries([STORE_0002, STORE_0001], EXPECTED)
    assert kpis["total_sales"] == Decimal("150.50") and kpis["net_sales"] == Decimal("140.00")
    assert kpis["avg_transaction"] == Decimal("23.33")  # net / distinct transactions, not gross / lines
    assert kpis["best_store"] == {"store_id": "0001", "net_sales": Decimal("90.00"), "total_sales": Decimal("100.00")}
    assert kpis["avg_store_sales"] == Decimal("75.25")  # the old name keeps its old meaning: gross per store
    assert kpis["missing_stores"] == ["0003"]
    assert kpis["payment_breakdown"] == {
        "cash": Decimal("40.00"),
        "credit": Decimal("80.00"),
        "debit": Decimal("0.00"),
        "gift_card": Decimal("0.00"),
        "mobile": Decimal("20.00"),
    }, "every payment method is named: the dashboard's pie chart reads each one"


def test_kpis_name_the_same_best_and_worst_store_as_the_company_summary_on_a_tie() -> None:
    level = {"net_sales": money("50.00"), "total_sales": money("50.00")}
    tied = [store_day_item("0002", DAY, **level), store_day_item("0001", DAY, **level)]
    kpis = kpis_from_store_summaries(tied, EXPECTED)
    assert kpis["best_store"]["store_id"] == kpis["worst_store"]["store_id"] == "0001"


def test_a_tie_names_the_same_stores_in_the_analysis_and_on_the_dashboard(api: Api) -> None:
    """0002 and 0003 tie for the lowest net sales, 0001 and 0004 for the highest: the company
    summary the analysis writes and the dashboard's KPIs must name the same two stores."""
    import datetime as dt

    from sales_platform.domain.analysis_items import company_summary_item as analysis_summary
    from sales_platform.domain.company_metrics import compute_company_metrics
    from sales_platform.services.analysis_reads import store_days

    high, low = money("90.00"), money("50.00")
    stores = {"0004": high, "0003": low, "0002": low, "0001": high}
    _write(api, *(store_day_item(s, DAY, net_sales=net, total_sales=net) for s, net in stores.items()))
    day = dt.date.fromisoformat(DAY)

    summary = analysis_summary(
        compute_company_metrics(day, store_days(api.table, day), api.settings.stores.expected_stores),
        trigger="manual",
        fingerprint="f",
        analyzed_at=dt.datetime(2025, 11, 28, tzinfo=dt.UTC),
    )
    kpis = api.client.get("/analytics", params={"date": DAY}).json()["kpis"]

    assert summary["best_store"]["store_id"] == kpis["best_store"]["store_id"] == "0001"
    assert summary["worst_store"]["store_id"] == kpis["worst_store"]["store_id"] == "0002"


def test_available_days_come_from_sort_keys_newest_first() -> None:
    keys = ["DATE#2025-11-26", "DATE#2025-11-27", "DATE#2025-11-26", "OTHER#x"]
    assert days_from_keys(keys) == ["2025-11-27", "2025-11-26"]


def test_trend_window_ends_at_the_latest_day_with_data() -> None:
    available = ["2025-11-27", "2025-11-20", "2025-10-01"]
    assert window(available, 8) == ("2025-11-20", "2025-11-27", ["2025-11-20", "2025-11-27"])
    assert window(available, 1) == ("2025-11-27", "2025-11-27", ["2025-11-27"])
    assert window([], 30) == (None, None, [])


def test_analytics_view_without_analysis_has_empty_analysis_lists() -> None:
    view = analytics_view(DAY, [DAY, BEFORE], [upload_tracking_item("0001", DAY)], [STORE_0002, STORE_0001], EXPECTED)
    assert [store["store_id"] for store in view["stores"]] == ["0001", "0002"]
    assert view["top_products"] == view["anomalies"] == view["trends"] == view["recommendations"] == []
    assert view["analysis"]["status"] == "pending"
    assert "PK" not in view["stores"][0] and "item_type" not in view["stores"][0]


def test_trends_view_zeroes_a_store_without_a_file_and_says_who_reported() -> None:
    view = trends_view(30, [DAY, BEFORE], [STORE_0001, STORE_0002, STORE_0001_BEFORE], PRODUCTS)
    before, day = view["time_series"]
    assert before["date"] == BEFORE and before["0002_sales"] == 0 and before["0002_transactions"] == 0
    assert before["reported_stores"] == ["0001"]
    assert day["0002_sales"] == Decimal("50.50") and day["reported_stores"] == ["0001", "0002"]


def test_a_trend_is_a_robust_line_through_every_day_not_the_first_day_against_the_last() -> None:
    # An outage on the first day, then a flat week: first-against-last said +900%.
    outage = [("2025-11-01", Decimal(10))] + [(f"2025-11-0{n}", Decimal(100)) for n in range(2, 8)]
    assert sales_trend(outage) == (Decimal("0.0"), "stable")
    # +10 a day from 100: the line rises 30 over the span, on an average day of 115.
    rising = [(f"2025-11-0{n + 1}", Decimal(100 + 10 * n)) for n in range(4)]
    assert sales_trend(rising) == (Decimal("26.1"), "increasing")
    # Days apart count as calendar days: 100 then 90 four days later, then 80 four days later.
    falling = [("2025-11-01", Decimal(100)), ("2025-11-05", Decimal(90)), ("2025-11-09", Decimal(80))]
    assert sales_trend(falling) == (Decimal("-22.2"), "decreasing")  # -20 over 8 days on 90
    assert sales_trend([("2025-11-01", Decimal(100)), ("2025-11-02", Decimal(103))]) == (
        Decimal("0.0"),
        "insufficient_data",
    )
    assert sales_trend([(f"2025-11-0{n}", Decimal(100 + n)) for n in range(1, 5)])[1] == "stable"


# --------------------------------------------------------------------------- over HTTP


def test_analytics_of_a_day_with_only_store_summaries(summaries_only: Api) -> None:
    answer = summaries_only.client.get("/analytics", params={"date": DAY})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["date"] == DAY
    assert body["available_dates"] == [DAY, BEFORE]
    assert body["kpis"] == HAND_KPIS
    assert [store["store_id"] for store in body["stores"]] == ["0001", "0002"]
    first = body["stores"][0]
    assert (first["total_sales"], first["net_sales"], first["transaction_count"], first["avg_transaction"]) == (
        100.0,
        90.0,
        4,
        22.5,
    )
    assert first["top_products"] == [{"sku": "SKU-A", "name": "Apples", "units": 6, "net_revenue": 60.0}]
    assert body["top_products"] == body["anomalies"] == body["trends"] == body["recommendations"] == []
    assert body["analysis"] == {"status": "pending", "trigger": None, "analyzed_at": None, "stores_analyzed": []}


def test_analytics_without_a_date_is_the_latest_day(summaries_only: Api) -> None:
    body = summaries_only.client.get("/analytics").json()
    assert body["date"] == DAY and body["kpis"]["net_sales"] == 140.0


def test_analytics_of_an_analysed_day_shows_the_analysis(analysed: Api) -> None:
    body = analysed.client.get("/analytics", params={"date": DAY}).json()
    assert body["kpis"] == HAND_KPIS
    assert body["analysis"] == {
        "status": "complete",
        "trigger": "scheduled",
        "analyzed_at": "2025-11-28T04:00:00Z",
        "stores_analyzed": ["0001", "0002"],
    }
    assert [(p["rank"], p["sku"], p["net_revenue"], p["units"]) for p in body["top_products"]] == [
        (1, "SKU-A", 60.0, 6),
        (2, "SKU-B", 40.0, 2),
    ]
    assert [(p["name"], p["units_sold"], p["revenue"]) for p in body["top_products"]] == [
        ("Apples", 6, 60.0),
        ("Bread", 2, 40.0),
    ]
    # most severe first; high priority first
    assert [a["insight_id"] for a in body["anomalies"]] == ["0001-historical_high", "0002-sudden_drop"]
    assert body["anomalies"][1]["deviation_percent"] == -37.5
    assert [(t["type"], t["trend_type"]) for t in body["trends"]] == [("week_over_week", "week_over_week")]
    assert [r["insight_id"] for r in body["recommendations"]] == ["promote-0002", "restock-sku-a"]
    assert "PK" not in body["recommendations"][0] and body["recommendations"][0]["engine"] == "rules"


def test_a_store_reporting_after_the_analysis_keeps_kpis_and_stores_in_agreement(analysed: Api) -> None:
    late = store_day_item(
        "0003",
        DAY,
        total_sales=money("10.00"),
        net_sales=money("10.00"),
        transaction_count=1,
        line_item_count=1,
        item_count=1,
    )
    analysed.table.put_items([late])
    body = analysed.client.get("/analytics", params={"date": DAY}).json()
    assert body["analysis"]["status"] == "outdated"
    assert body["kpis"]["net_sales"] == 150.0 and body["kpis"]["transaction_count"] == 7
    assert body["kpis"]["missing_stores"] == [] and len(body["stores"]) == 3
    assert body["anomalies"], "the last analysis still shows until the next one"


def test_a_day_without_data_shows_the_latest_day_and_malformed_dates_are_refused(summaries_only: Api) -> None:
    unknown = summaries_only.client.get("/analytics", params={"date": "2025-11-01"})
    assert unknown.status_code == 200, "the dashboard expects the latest day, as the old API gave"
    body = unknown.json()
    assert (body["date"], body["requested_date"]) == (DAY, "2025-11-01")
    assert body["kpis"] == HAND_KPIS and "message" not in body
    asked = summaries_only.client.get("/analytics", params={"date": BEFORE}).json()
    assert (asked["date"], asked["requested_date"], asked["kpis"]["net_sales"]) == (BEFORE, BEFORE, 80.0)
    for bad in ("2025-02-30", "27-11-2025", "2025-11-27T00:00", "yesterday", "2025-1-27"):
        answer = summaries_only.client.get("/analytics", params={"date": bad})
        assert answer.status_code == 422, bad
        assert "date" in answer.json()["message"]


def test_analytics_with_no_data_at_all_is_a_message_and_zeroes(api: Api) -> None:
    answer = api.client.get("/analytics")
    assert answer.status_code == 200
    body = answer.json()
    assert body["message"] == "No data available" and body["available_dates"] == [] and body["date"] is None
    assert (
        body["stores"] == body["top_products"] == body["anomalies"] == body["trends"] == body["recommendations"] == []
    )
    kpis = body["kpis"]
    assert kpis["total_sales"] == kpis["total_transactions"] == kpis["total_items"] == kpis["store_count"] == 0
    assert kpis["avg_transaction"] == 0 and set(kpis["payment_breakdown"].values()) == {0}
    assert kpis["missing_stores"] == EXPECTED
    asked = api.client.get("/analytics", params={"date": DAY}).json()
    assert (asked["message"], asked["date"], asked["requested_date"]) == ("No data available", DAY, DAY)
    trends = api.client.get("/trends")
    assert trends.status_code == 200
    assert trends.json()["message"] == "No data available" and trends.json()["time_series"] == []


def test_trends_over_the_fixture(analysed: Api) -> None:
    body = analysed.client.get("/trends").json()
    assert body["days_requested"] == 30
    assert body["stores"] == ["0001", "0002"]
    assert body["dates"] == [BEFORE, DAY]
    assert body["available_dates"] == [DAY, BEFORE]
    assert body["time_series"] == [
        {
            "date": BEFORE,
            "total_sales": 80.0,
            "total_transactions": 5,
            "reported_stores": ["0001"],
            "0001_sales": 80.0,
            "0001_transactions": 5,
            "0002_sales": 0,
            "0002_transactions": 0,
        },
        {
            "date": DAY,
            "total_sales": 150.5,
            "total_transactions": 6,
            "reported_stores": ["0001", "0002"],
            "0001_sales": 100.0,
            "0001_transactions": 4,
            "0002_sales": 50.5,
            "0002_transactions": 2,
        },
    ]
    first = body["store_summaries"][0]
    assert first == {
        "store_id": "0001",
        "days_reported": 2,
        "days_with_data": 2,
        "total_sales": 180.0,
        "total_discount": 10.0,
        "net_sales": 170.0,
        "total_transactions": 9,
        "avg_daily_sales": 90.0,
        "avg_daily_net_sales": 85.0,
        "avg_transaction": 18.89,  # 170.00 / 9
        "best_day": {"date": DAY, "net_sales": 90.0},
        "worst_day": {"date": BEFORE, "net_sales": 80.0},
        "trend_percent": 0.0,
        "trend_direction": "insufficient_data",  # two days make no line
    }
    bread, apples = body["product_trends"]
    assert (
        bread["sku"],
        bread["name"],
        bread["units"],
        bread["net_revenue"],
        bread["gross_revenue"],
        bread["days_sold"],
    ) == (
        "SKU-B",
        "Bread",
        3,
        70.0,
        71.0,
        2,
    )
    # the dashboard's names: over the two analysed days
    assert (
        bread["total_units_sold"],
        bread["total_revenue"],
        bread["avg_daily_units"],
        bread["avg_daily_revenue"],
    ) == (
        3,
        70.0,
        1.5,
        35.0,
    )
    assert bread["daily_history"] == [
        {"date": BEFORE, "units_sold": 1, "revenue": 30.0},
        {"date": DAY, "units_sold": 2, "revenue": 40.0},
    ]
    assert bread["trend_direction"] == "insufficient_data"
    assert apples["sku"] == "SKU-A" and apples["net_revenue"] == 60.0 and apples["days_sold"] == 1
    assert apples["daily_history"] == [
        {"date": BEFORE, "units_sold": 0, "revenue": 0.0},
        {"date": DAY, "units_sold": 6, "revenue": 60.0},
    ], "a sparkline point for every analysed day, 0 where the product did not sell"


def test_trends_of_one_store_and_a_short_window(analysed: Api) -> None:
    one = analysed.client.get("/trends", params={"store_id": "0002"}).json()
    assert one["stores"] == ["0002"] and one["store_id"] == "0002"
    assert one["time_series"] == [
        {
            "date": DAY,
            "total_sales": 50.5,
            "total_transactions": 2,
            "reported_stores": ["0002"],
            "0002_sales": 50.5,
            "0002_transactions": 2,
        },
    ]
    short = analysed.client.get("/trends", params={"days": 1}).json()
    assert short["dates"] == [DAY] and short["days_requested"] == 1
    assert short["start_date"] == short["end_date"] == DAY


def test_trends_validates_days_and_store_ids(summaries_only: Api) -> None:
    client = summaries_only.client
    for days in (0, 367, -1):
        answer = client.get("/trends", params={"days": days})
        assert answer.status_code == 422 and "days" in answer.json()["message"], days
    assert client.get("/trends", params={"days": 366}).status_code == 200
    assert client.get("/trends", params={"days": "many"}).status_code == 422
    for store in ("1", "00001", "abcd", "0001\n", "٠٠٠١"):
        answer = client.get("/trends", params={"store_id": store})
        assert answer.status_code == 422 and "store id" in answer.json()["message"], store
    unknown = client.get("/trends", params={"store_id": "0042"})
    assert unknown.status_code == 404 and "0001, 0002, 0003" in unknown.json()["message"]


def test_answers_are_reused_until_the_table_changes(make_api) -> None:
    api = make_api(API_CACHE_SECONDS="30")
    reads = []
    compute = api.context.dashboard.analytics
    api.context.dashboard.analytics = lambda *args: reads.append(args) or compute(*args)
    api.table.put_items([STORE_0001])
    for _ in range(3):
        assert api.client.get("/analytics").json()["kpis"]["net_sales"] == 90.0
    assert len(reads) == 1, "nothing was written: the table is not read again"
    api.table.put_items([STORE_0002])
    time.sleep(TOKEN_CHECK_SECONDS)
    assert api.client.get("/analytics").json()["kpis"]["net_sales"] == 140.0, "a write shows at once"
    assert len(reads) == 2


def test_without_a_change_token_answers_are_reused_for_api_cache_seconds(make_api) -> None:
    api = make_api(API_CACHE_SECONDS="30")
    for cache in (api.context.views, api.context.dates):
        cache._change_token = lambda: None  # as on DynamoDB
    api.table.put_items([STORE_0001])
    assert api.client.get("/analytics").json()["kpis"]["net_sales"] == 90.0
    api.table.put_items([STORE_0002])
    assert api.client.get("/analytics").json()["kpis"]["net_sales"] == 90.0  # within 30 s: the same answer
    for cache in (api.context.views, api.context.dates):
        cache._clock = lambda: 10**9  # 30 s later
    # The request that finds it stale reads the table again (others meanwhile get the old one).
    assert api.client.get("/analytics").json()["kpis"]["net_sales"] == 140.0
