"""Store-day metrics against numbers worked out by hand."""

import datetime as dt
import json
from decimal import Decimal

from sales_platform.domain.store_metrics import compute_store_metrics
from sales_platform.domain.table_items import store_day_summary_item, upload_tracking_item
from sales_platform.domain.upload_contract import parse_upload_name
from sales_platform.domain.upload_validation import ValidationRules, validate_upload


def rec(txn, sku, name, qty, price, total, discount, method, customer, minute=0):
    return {
        "transaction_id": txn,
        "transaction_timestamp": f"2025-11-27T10:{minute:02d}:00-05:00",
        "item_sku": sku,
        "item_name": name,
        "quantity": qty,
        "unit_price": price,
        "line_total": total,
        "discount_amount": discount,
        "payment_method": method,
        "customer_id": customer,
    }


# Three transactions, six lines. By hand:
#   gross    = 3.00 + 2.25 + 10.00 + 0.99 + 5.97 + 12.00 = 34.21
#   discount = 0.30 + 0     + 1.00  + 0    + 0.60 + 2.40  =  4.30
#   net      = 29.91; transactions 3; lines 6; units 2+1+4+1+3+1 = 12
#   net by payment: credit (T1) 3.00-0.30 + 2.25 = 4.95; cash (T2) 10.00-1.00 + 0.99 = 9.99;
#                   mobile (T3) 5.97-0.60 + 12.00-2.40 = 14.97
#   net by product: SKU-C 9.00, SKU-E 9.60, SKU-D 0.99 + 5.37 = 6.36, SKU-A 2.70, SKU-B 2.25
#   average net per transaction: 29.91 / 3 = 9.97
LINES = [
    rec("T1", "SKU-A", "Apples", 2, 1.50, 3.00, 0.30, "credit", "CUST-1", 1),
    rec("T1", "SKU-B", "Bread", 1, 2.25, 2.25, 0, "credit", "CUST-1", 1),
    rec("T2", "SKU-C", "Coffee", 4, 2.50, 10.00, 1.00, "cash", "CUST-2", 5),
    rec("T2", "SKU-D", "Dates", 1, 0.99, 0.99, 0, "cash", "CUST-2", 5),
    rec("T3", "SKU-D", "Dates", 3, 1.99, 5.97, 0.60, "mobile", "CUST-1", 9),
    rec("T3", "SKU-E", "Espresso beans", 1, 12.00, 12.00, 2.40, "mobile", "CUST-1", 9),
]


def metrics_of(tmp_path):
    path = tmp_path / "store_0001_2025-11-27.json"
    path.write_text(json.dumps(LINES))
    return compute_store_metrics(validate_upload(path, parse_upload_name(path.name), ValidationRules()))


def test_totals_follow_the_metric_definitions(tmp_path):
    metrics = metrics_of(tmp_path)
    assert metrics.total_sales == Decimal("34.21")
    assert metrics.total_discount == Decimal("4.30")
    assert metrics.net_sales == Decimal("29.91")
    assert metrics.transaction_count == 3  # distinct transactions, not the 6 lines
    assert metrics.line_item_count == 6
    assert metrics.item_count == 12
    assert metrics.unique_customers == 2
    assert metrics.avg_transaction == Decimal("9.97")


def test_payment_breakdown_and_top_products_are_net(tmp_path):
    metrics = metrics_of(tmp_path)
    assert metrics.payment_breakdown == {"cash": Decimal("9.99"), "credit": Decimal("4.95"), "mobile": Decimal("14.97")}
    assert sum(metrics.payment_breakdown.values()) == metrics.net_sales
    top = [(p.sku, p.units, p.net_revenue) for p in metrics.top_products]
    assert top == [
        ("SKU-E", 1, Decimal("9.60")),
        ("SKU-C", 4, Decimal("9.00")),
        ("SKU-D", 4, Decimal("6.36")),
        ("SKU-A", 2, Decimal("2.70")),
        ("SKU-B", 1, Decimal("2.25")),
    ]


def test_money_is_rounded_to_cents_only_in_the_table_item(tmp_path):
    lines = [rec(f"T{n}", "SKU-A", "Apples", 1, 1.00, 1.00, 0, "cash", "C", n) for n in range(1, 4)]
    lines[0]["unit_price"] = lines[0]["line_total"] = 1.01
    path = tmp_path / "store_0001_2025-11-27.json"
    path.write_text(json.dumps(lines))
    metrics = compute_store_metrics(validate_upload(path, parse_upload_name(path.name), ValidationRules()))
    assert metrics.avg_transaction == Decimal("3.01") / 3  # 1.00333..., exact
    item = store_day_summary_item(
        "0001",
        dt.date(2025, 11, 27),
        metrics,
        source_file=path.name,
        processed_key="k",
        processed_at=dt.datetime(2025, 11, 28, 5, 0, tzinfo=dt.UTC),
    )
    assert item["avg_transaction"] == Decimal("1.00")
    assert (item["PK"], item["SK"], item["GSI1PK"], item["GSI1SK"]) == (
        "STORE#0001",
        "DATE#2025-11-27",
        "DATE#2025-11-27",
        "STORE#0001",
    )
    assert item["processed_at"] == "2025-11-28T05:00:00Z"
    tracking = upload_tracking_item(
        "0001",
        dt.date(2025, 11, 27),
        source_file=path.name,
        source_version="v1",
        rows=3,
        processed_at=dt.datetime(2025, 11, 28, 5, 0, tzinfo=dt.UTC),
    )
    assert (tracking["PK"], tracking["SK"], tracking["status"]) == ("DATE#2025-11-27", "UPLOAD#STORE#0001", "processed")
