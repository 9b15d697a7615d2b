"""Company and product figures of a day against numbers worked out by hand."""

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq

from sales_platform.domain.company_metrics import StoreDay, StoreNet, compute_company_metrics
from sales_platform.domain.product_metrics import compute_product_metrics
from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item
from sales_platform_tests.conftest import line_items_table

DAY = dt.date(2025, 11, 27)


def store(store_id, net, gross, transactions, lines, units, payments):
    gross, net = Decimal(gross), Decimal(net)
    return StoreDay(
        store_id=store_id,
        date=DAY,
        total_sales=gross,
        total_discount=gross - net,
        net_sales=net,
        transaction_count=transactions,
        line_item_count=lines,
        item_count=units,
        avg_transaction=net / transactions,
        payment_breakdown={method: Decimal(amount) for method, amount in payments.items()},
    )


# Three stores; by hand:
#   gross 120.00 + 80.50 + 300.25 = 500.75; net 100.00 + 80.50 + 290.10 = 470.60; discounts 30.15
#   transactions 4 + 2 + 10 = 16; lines 9 + 3 + 25 = 37; units 12 + 5 + 40 = 57
#   avg per transaction 470.60 / 16 = 29.4125; per store 470.60 / 3 = 156.8666... net, 500.75 / 3 = 166.9166... gross
#   best 0003 (290.10), worst 0002 (80.50); payments: cash 60 + 80.50 = 140.50, credit 40 + 290.10 = 330.10
STORES = [
    store("0001", "100.00", "120.00", 4, 9, 12, {"cash": "60.00", "credit": "40.00"}),
    store("0002", "80.50", "80.50", 2, 3, 5, {"cash": "80.50"}),
    store("0003", "290.10", "300.25", 10, 25, 40, {"credit": "290.10"}),
]


def test_company_totals_follow_the_metric_definitions() -> None:
    company = compute_company_metrics(DAY, reversed(STORES), ["0001", "0002", "0003", "0004"])

    assert company.total_sales == Decimal("500.75")
    assert company.net_sales == Decimal("470.60")
    assert company.total_discount == Decimal("30.15")
    assert (company.transaction_count, company.line_item_count, company.item_count) == (16, 37, 57)
    assert company.avg_transaction == Decimal("29.4125")
    assert round(company.avg_net_sales_per_store, 2) == Decimal("156.87")
    assert round(company.avg_store_sales, 2) == Decimal("166.92")  # the old name, gross per store as it was
    assert company.best_store == StoreNet("0003", Decimal("290.10"), total_sales=Decimal("300.25"))
    assert company.worst_store == StoreNet("0002", Decimal("80.50"), total_sales=Decimal("80.50"))
    assert company.payment_breakdown == {"cash": Decimal("140.50"), "credit": Decimal("330.10")}
    assert company.reported_stores == ["0001", "0002", "0003"]
    assert company.missing_stores == ["0004"]
    assert not company.complete


def test_a_day_without_any_store_has_zero_totals_and_every_store_missing() -> None:
    company = compute_company_metrics(DAY, [], ["0001", "0002"])

    assert company.net_sales == 0 and company.avg_transaction == 0 and company.avg_net_sales_per_store == 0
    assert company.avg_store_sales == 0
    assert company.best_store is None and company.worst_store is None
    assert company.missing_stores == ["0001", "0002"]


def test_store_day_is_read_back_from_its_table_item() -> None:
    records = [
        {
            "transaction_id": "T1",
            "transaction_timestamp": "2025-11-27T10:00:00-05:00",
            "item_sku": "A",
            "item_name": "Apple",
            "quantity": 2,
            "unit_price": Decimal("1.50"),
            "line_total": Decimal("3.00"),
            "discount_amount": Decimal("0.30"),
            "payment_method": "cash",
            "customer_id": "C1",
        },
    ]
    item = store_day_summary_item(
        "0007",
        DAY,
        compute_store_metrics(line_items_table(records)),
        source_file="f",
        processed_key="k",
        processed_at=dt.datetime(2025, 11, 28, tzinfo=dt.UTC),
    )
    day = StoreDay.from_item(item)
    assert (day.store_id, day.date, day.net_sales, day.total_sales, day.transaction_count) == (
        "0007",
        DAY,
        Decimal("2.70"),
        Decimal("3.00"),
        1,
    )
    assert day.payment_breakdown == {"cash": Decimal("2.70")} and day.processed_key == "k"


def line(txn, sku, name, qty, price, discount, minute=0):
    price = Decimal(price)
    return {
        "transaction_id": txn,
        "transaction_timestamp": f"2025-11-27T10:{minute:02d}:00-05:00",
        "item_sku": sku,
        "item_name": name,
        "quantity": qty,
        "unit_price": price,
        "line_total": price * qty,
        "discount_amount": Decimal(discount),
        "payment_method": "cash",
        "customer_id": "C1",
    }


def test_products_come_from_every_line_of_every_store(tmp_path) -> None:
    # Store 1: A 2 x 1.50 (0.30 off), B 1 x 2.25, C 4 x 2.50 (1.00 off)
    # Store 2: A 3 x 1.50, C 1 x 2.50 (0.50 off), D 6 x 0.99 -- named differently later that day
    # By hand, net: A 2.70 + 4.50 = 7.20 (units 5, 2 stores); C 9.00 + 2.00 = 11.00 (units 5, 2 stores);
    #               D 5.94 (units 6); B 2.25 (units 1). Gross C = 10.00 + 2.50 = 12.50.
    first = [
        line("T1", "A", "Apple", 2, "1.50", "0.30"),
        line("T1", "B", "Bread", 1, "2.25", "0"),
        line("T2", "C", "Coffee", 4, "2.50", "1.00"),
    ]
    second = [
        line("T9", "A", "Apple", 3, "1.50", "0"),
        line("T9", "C", "Coffee", 1, "2.50", "0.50"),
        line("T9", "D", "Dates", 3, "0.99", "0", minute=1),
        line("T10", "D", "Dates 250 g", 3, "0.99", "0", minute=5),
    ]
    paths = []
    for number, records in enumerate((first, second), start=1):
        paths.append(tmp_path / f"store{number}.parquet")
        pq.write_table(line_items_table(records), paths[-1])

    products = compute_product_metrics(paths)

    assert [(p.rank, p.sku, p.units, p.net_revenue, p.stores_sold) for p in products] == [
        (1, "C", 5, Decimal("11.00"), 2),
        (2, "A", 5, Decimal("7.20"), 2),
        (3, "D", 6, Decimal("5.94"), 1),
        (4, "B", 1, Decimal("2.25"), 1),
    ]
    assert products[0].gross_revenue == Decimal("12.50")
    assert products[2].name == "Dates 250 g"  # the name on the latest line
    assert sum(p.net_revenue for p in products) == Decimal("26.39")  # both stores' net sales
    assert compute_product_metrics([]) == []
