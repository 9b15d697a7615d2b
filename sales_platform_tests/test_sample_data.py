"""The sample uploads look like what stores send and behave like a real chain's sales."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sales_platform.domain import upload_contract
from sales_platform.domain.upload_contract import FIELDS
from sales_platform.samples import store_files as sd

STORES = ["0001", "0002", "0004"]  # one flagship, one standard, one small store
END = date(2026, 3, 15)  # four weeks that include the US switch to daylight time (Mar 8)
DAYS = 28
NEW_YORK = "America/New_York"

# The contract's own lists: the generator must write exactly what validation accepts.
STRING_FIELDS = set(upload_contract.STRING_FIELDS)
MONEY = upload_contract.MONEY_FIELDS
PAYMENTS = set(upload_contract.PAYMENT_METHODS)
NAME = re.compile(r"^store_(\d{4})_(\d{4}-\d{2}-\d{2})\.json$")


# --------------------------------------------------------------------------- contract checker


def contract_errors(records: Any, file_day: date, tz: str) -> list[str]:
    """Rule codes broken by a parsed upload (money parsed as Decimal), one per broken rule and record."""
    if not isinstance(records, list) or not records:
        return ["not_a_non_empty_array"]
    zone = ZoneInfo(tz)
    errors: list[str] = []
    for record in records:
        if not isinstance(record, dict):
            errors.append("not_an_object")
            continue
        if set(FIELDS) - set(record):
            errors.append("missing_field")
        if set(record) - set(FIELDS):
            errors.append("extra_field")
        typed = True
        for name in STRING_FIELDS & set(record):
            if not isinstance(record[name], str) or (name == "transaction_id" and not record[name]):
                typed = False
        quantity = record.get("quantity")
        if "quantity" in record and (type(quantity) is not int or quantity < 1):
            typed = False
        for name in MONEY:
            value = record.get(name)
            if name in record and (isinstance(value, bool) or not isinstance(value, (Decimal, int))):
                typed = False
        if not typed:
            errors.append("field_type")
            continue
        if any(name in record and Decimal(record[name]).as_tuple().exponent < -2 for name in MONEY):
            errors.append("decimal_places")
        if "payment_method" in record and record["payment_method"] not in PAYMENTS:
            errors.append("payment_method")
        if {"quantity", "unit_price", "line_total"} <= set(record):
            if record["line_total"] != record["quantity"] * record["unit_price"]:
                errors.append("line_total_mismatch")
        if {"discount_amount", "line_total"} <= set(record):
            if not 0 <= record["discount_amount"] <= record["line_total"]:
                errors.append("discount_exceeds_line_total")
        if "transaction_timestamp" in record:
            try:
                stamp = datetime.fromisoformat(record["transaction_timestamp"])
            except ValueError:
                errors.append("timestamp_format")
                continue
            if stamp.tzinfo is None or stamp.utcoffset() != stamp.astimezone(zone).utcoffset():
                errors.append("timestamp_offset")
            elif stamp.astimezone(zone).date() != file_day:
                errors.append("timestamp_date")
    return errors


def load(path: Path) -> Any:
    return json.loads(path.read_bytes(), parse_float=Decimal)


def net(records: list[dict[str, Any]]) -> Decimal:
    return sum((r["line_total"] - r["discount_amount"] for r in records), Decimal(0))


def by_transaction(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[record["transaction_id"]].append(record)
    return groups


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sample_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, sd.SampleSummary]:
    out = tmp_path_factory.mktemp("uploads")
    return out, sd.write_sample_files(out, stores=STORES, days=DAYS, end_date=END, with_bad_files=True)


@pytest.fixture(scope="module")
def store_days(sample_set: tuple[Path, sd.SampleSummary]) -> dict[tuple[str, date], list[dict[str, Any]]]:
    _, summary = sample_set
    days = {}
    for path in summary.paths:
        store, day = NAME.match(path.name).groups()  # type: ignore[union-attr]
        days[(store, date.fromisoformat(day))] = load(path)
    return days


# --------------------------------------------------------------------------- good files


def test_catalogue_is_a_plausible_store_range() -> None:
    skus = [p.sku for p in sd.CATALOGUE]
    assert 60 <= len(skus) <= 120
    assert len(set(skus)) == len(skus)
    assert len({p.category for p in sd.CATALOGUE}) >= 5
    assert all(p.unit_price > 0 and p.unit_price.as_tuple().exponent == -2 for p in sd.CATALOGUE)
    assert set(sd.WAVE_SKUS) <= set(skus) and set(sd.SEASONAL_SKUS) <= set(skus)


@pytest.mark.slow
def test_one_file_per_store_and_day_with_the_expected_volume(sample_set) -> None:
    out, summary = sample_set
    assert summary.files == len(summary.paths) == len(STORES) * DAYS
    names = {p.name for p in summary.paths}
    expected_days = {(END - timedelta(days=n)).isoformat() for n in range(DAYS)}
    assert names == {f"store_{s}_{d}.json" for s in STORES for d in expected_days}
    assert summary.bytes == sum(p.stat().st_size for p in summary.paths)
    per_store_day = summary.transactions / summary.files
    assert 80 <= per_store_day <= 400
    assert summary.lines > 2 * summary.transactions


@pytest.mark.slow
def test_every_good_record_meets_the_upload_contract(store_days) -> None:
    for (store, day), records in store_days.items():
        assert contract_errors(records, day, NEW_YORK) == [], (store, day)
        ids = re.compile(rf"^TXN-{store}-{day:%Y%m%d}-\d{{6}}$")
        for transaction_id, lines in by_transaction(records).items():
            assert ids.match(transaction_id)
            assert 1 <= len(lines) <= 6
            # A transaction is one checkout: one time, one payment, one customer, distinct SKUs.
            assert len({(r["transaction_timestamp"], r["payment_method"], r["customer_id"]) for r in lines}) == 1
            assert len({r["item_sku"] for r in lines}) == len(lines)
        hours = {datetime.fromisoformat(r["transaction_timestamp"]).hour for r in records}
        assert min(hours) >= 8 and max(hours) <= 21
        assert all(re.match(r"^CUST-\d{6}$", r["customer_id"]) for r in records)


def test_timestamps_carry_the_local_offset_across_daylight_saving(store_days) -> None:
    before = store_days[("0001", date(2026, 3, 7))][0]["transaction_timestamp"]
    after = store_days[("0001", date(2026, 3, 9))][0]["transaction_timestamp"]
    assert before.startswith("2026-03-07T") and before.endswith("-05:00")
    assert after.startswith("2026-03-09T") and after.endswith("-04:00")

    berlin_before = sd.generate_store_day("0002", date(2026, 3, 28), timezone="Europe/Berlin")
    berlin_after = sd.generate_store_day("0002", date(2026, 3, 29), timezone="Europe/Berlin")
    assert {r["transaction_timestamp"][-6:] for r in berlin_before} == {"+01:00"}
    assert {r["transaction_timestamp"][-6:] for r in berlin_after} == {"+02:00"}
    assert (
        contract_errors(
            json.loads(sd.render_json(berlin_after), parse_float=Decimal), date(2026, 3, 29), "Europe/Berlin"
        )
        == []
    )


def test_money_is_rendered_with_two_decimals_and_round_trips_exactly() -> None:
    records = sd.generate_store_day("0001", date(2026, 11, 20))
    text = sd.render_json(records).decode()
    assert re.search(r'"unit_price": \d+\.\d\d,\n', text)
    assert not re.search(r'"(unit_price|line_total|discount_amount)": (\d+|\d+\.\d|\d+\.\d{3,})[,\n]', text)
    assert json.loads(text, parse_float=Decimal) == records


# --------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 42), ("b", 42), ("c", 7)):
        sd.write_sample_files(tmp_path / name, stores=["0001", "0003"], days=2, end_date=END, seed=seed)
        runs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert runs[0] == runs[1]
    assert runs[0].keys() == runs[2].keys()
    assert all(runs[0][name] != runs[2][name] for name in runs[0])


def test_one_store_day_alone_equals_the_same_file_in_a_big_set(sample_set) -> None:
    out, summary = sample_set
    for incident in summary.notable_days[:2]:
        alone = sd.generate_store_day(incident.store_id, incident.day, stores=STORES)
        assert sd.render_json(alone) == (out / sd.sample_file_name(incident.store_id, incident.day)).read_bytes()
    ordinary = sd.generate_store_day("0002", date(2026, 2, 20), stores=STORES)
    assert sd.render_json(ordinary) == (out / "store_0002_2026-02-20.json").read_bytes()


def test_default_end_date_is_yesterday_in_the_store_time_zone() -> None:
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # 22:00 on the 20th in New York
    assert sd.default_end_date(NEW_YORK, now=now) == date(2026, 11, 19)
    assert sd.default_end_date("Europe/Berlin", now=now) == date(2026, 11, 20)


# --------------------------------------------------------------------------- realism


def test_weekends_sell_more_than_weekdays(sample_set, store_days) -> None:
    planted = {(n.store_id, n.day) for n in sample_set[1].notable_days}
    # Each store's day relative to its own median, so big stores do not drown small ones.
    relative: dict[date, list[Decimal]] = defaultdict(list)
    for store in STORES:
        days = {d: net(r) for (s, d), r in store_days.items() if s == store and (s, d) not in planted}
        median = statistics.median(days.values())
        for day, value in days.items():
            relative[day].append(value / median)

    def mean_of(weekdays: set[int]) -> Decimal:
        return statistics.mean(v for d, values in relative.items() if d.weekday() in weekdays for v in values)

    weekend, weekday = mean_of({5, 6}), mean_of({0, 1, 2, 3, 4})
    fri_sat, mon_to_thu = mean_of({4, 5}), mean_of({0, 1, 2, 3})
    assert weekend > weekday * Decimal("1.1")
    assert fri_sat > mon_to_thu * Decimal("1.2")


def test_sales_follow_lunch_and_evening_peaks(store_days) -> None:
    per_hour: dict[int, int] = defaultdict(int)
    for (_, day), records in store_days.items():
        if day.weekday() < 5:
            for lines in by_transaction(records).values():
                per_hour[datetime.fromisoformat(lines[0]["transaction_timestamp"]).hour] += 1
    assert per_hour[12] > 2 * per_hour[8] and per_hour[18] > 2 * per_hour[21]
    assert per_hour[12] > per_hour[15] < per_hour[18]


@pytest.mark.slow
def test_store_tiers_differ_in_traffic_and_basket_size(store_days) -> None:
    def averages(store: str) -> tuple[float, float]:
        days = [records for (s, _), records in store_days.items() if s == store]
        transactions = [len(by_transaction(records)) for records in days]
        lines = sum(len(records) for records in days)
        return statistics.mean(transactions), lines / sum(transactions)

    flagship, standard, small = (averages(s) for s in STORES)
    assert [sd.store_tier(s) for s in STORES] == ["flagship", "standard", "small"]
    assert flagship[0] > standard[0] * 1.1 and standard[0] > small[0] * 1.5
    assert flagship[1] > standard[1] > small[1]


def test_baskets_discounts_customers_and_payments_look_real(store_days) -> None:
    records = [r for day in store_days.values() for r in day]
    transactions = by_transaction(records)
    assert sum(len(lines) > 1 for lines in transactions.values()) > len(transactions) / 2
    assert any(len(lines) == 6 for lines in transactions.values())

    discounted = [r for r in records if r["discount_amount"] > 0]
    assert 0.03 < len(discounted) / len(records) < 0.3
    coupons = [r for r in discounted if r["discount_amount"] in {Decimal(n) for n in (1, 2, 3, 5)}]
    assert coupons and len(coupons) < len(discounted)

    walk_ins = sum(r["customer_id"] == sd.WALK_IN_CUSTOMER_ID for r in records)
    assert 0.15 < walk_ins / len(records) < 0.45
    assert len({r["customer_id"] for r in records}) > 1000

    mixes = []
    for store in STORES:
        mine = [r for (s, _), day in store_days.items() if s == store for r in day]
        assert {r["payment_method"] for r in mine} == PAYMENTS
        mixes.append({m: sum(r["payment_method"] == m for r in mine) / len(mine) for m in PAYMENTS})
    # Each store has its own clientele: some pair of stores pays noticeably differently.
    distances = [sum(abs(a[m] - b[m]) for m in PAYMENTS) / 2 for a in mixes for b in mixes]
    assert max(distances) > 0.03


def test_seasonal_promo_spikes_and_wave_products_rise_and_fall(store_days) -> None:
    units: dict[tuple[str, date], int] = defaultdict(int)
    for (_, day), records in store_days.items():
        for r in records:
            units[(r["item_sku"], day)] += r["quantity"]
    days = sorted({day for _, day in store_days})

    promo_days = [d for d in days if sd.promo_sku(d)]
    assert 4 <= len(promo_days) <= 8
    for day in promo_days:
        sku = sd.promo_sku(day)
        usual = statistics.mean(units[(sku, d)] for d in days if sd.promo_sku(d) != sku)
        assert units[(sku, day)] > 4 * max(usual, 1)

    high = [units[(s, d)] for s in sd.WAVE_SKUS for d in days if sd.wave_factor(s, d) >= 1.4]
    low = [units[(s, d)] for s in sd.WAVE_SKUS for d in days if sd.wave_factor(s, d) <= 0.7]
    assert statistics.mean(high) > 1.8 * statistics.mean(low)


@pytest.mark.slow
def test_planted_bad_days_and_spikes_stand_out(sample_set, store_days) -> None:
    _, summary = sample_set
    kinds = [n.kind for n in summary.notable_days]
    assert kinds.count("bad_day") == kinds.count("spike") == DAYS // 7
    planted = {(n.store_id, n.day): n for n in summary.notable_days}
    for incident in summary.notable_days:
        normal = statistics.median(
            net(records) for (s, d), records in store_days.items() if s == incident.store_id and (s, d) not in planted
        )
        ratio = net(store_days[(incident.store_id, incident.day)]) / normal
        if incident.kind == "bad_day":
            assert incident.day.weekday() == 2 and ratio < Decimal("0.55")
        else:
            assert incident.day.weekday() == 3 and ratio > Decimal("1.7")
    # Ordinary days stay within the everyday rhythm.
    for (store, day), records in store_days.items():
        if (store, day) not in planted:
            normal = statistics.median(net(r) for (s, d), r in store_days.items() if s == store)
            assert Decimal("0.6") < net(records) / normal < Decimal("1.6")


def test_benchmark_options_give_a_clean_chain_with_the_anomalies_asked_for(tmp_path: Path) -> None:
    day, other = date(2026, 3, 11), date(2026, 3, 12)  # a Wednesday (a weekly bad day) and a Thursday
    plain = sd.SampleOptions(weekly_incidents=False)

    # No weekly incidents: no store has a bad day or a spike.
    assert sd.notable_days(STORES, day - timedelta(days=13), day, options=plain) == []
    # Fewer lines, another weekday rhythm: Saturday at 1.4 times Monday's 0.85.
    scaled = sd.SampleOptions(
        weekly_incidents=False, traffic_scale=0.5, weekday_traffic=(0.85, 0.82, 0.86, 0.92, 1.12, 1.40, 1.03)
    )
    full = len(sd.generate_store_day("0002", day, options=plain))
    assert 0.4 * full < len(sd.generate_store_day("0002", day, options=scaled)) < 0.6 * full
    saturday, monday = date(2026, 3, 14), date(2026, 3, 9)
    transactions = lambda d: len({r["transaction_id"] for r in sd.generate_store_day("0002", d, options=scaled)})  # noqa: E731
    assert 1.4 < transactions(saturday) / transactions(monday) < 1.9

    planted = sd.SampleOptions(
        weekly_incidents=False,
        planted=(
            sd.NotableDay("0001", day, "fewer_shoppers", traffic_factor=0.6),
            sd.NotableDay("0002", day, "bigger_baskets", basket_factor=2.0),
            sd.NotableDay("0004", day, "card_reader_down", payment_shift=(("credit", "debit"), "cash", 1.0)),
            sd.NotableDay("0001", other, "out_of_stock", out_of_stock=("GRO-1001", "BEV-1003")),
            sd.NotableDay("0002", other, "missing", missing=True),
        ),
    )
    made = {s: sd.generate_store_day(s, day, stores=STORES, options=planted) for s in STORES}
    clean = {s: sd.generate_store_day(s, day, stores=STORES, options=plain) for s in STORES}
    count = lambda records: len({r["transaction_id"] for r in records})  # noqa: E731
    assert 0.5 < count(made["0001"]) / count(clean["0001"]) < 0.7
    units = lambda records: sum(r["quantity"] for r in records) / count(records)  # noqa: E731
    assert count(made["0002"]) == count(clean["0002"]) and 1.8 < units(made["0002"]) / units(clean["0002"]) < 2.2
    assert {r["payment_method"] for r in made["0004"]} <= {"cash", "gift_card", "mobile"}
    next_day = sd.generate_store_day("0001", other, stores=STORES, options=planted)
    assert not {"GRO-1001", "BEV-1003"} & {r["item_sku"] for r in next_day}
    assert sd.generate_store_day("0002", other, stores=STORES, options=planted) == []
    # The planted days are listed, and a missing store-day has no file.
    summary = sd.write_sample_files(tmp_path, stores=STORES, days=2, end_date=other, options=planted)
    assert [n.kind for n in summary.notable_days] == [
        "fewer_shoppers",
        "bigger_baskets",
        "card_reader_down",
        "out_of_stock",
        "missing",
    ]
    assert summary.files == 5 and not (tmp_path / sd.sample_file_name("0002", other)).exists()
    with pytest.raises(ValueError, match="basket_factor is between 1 and 2"):
        sd.NotableDay("0001", day, "x", basket_factor=3.0)


# --------------------------------------------------------------------------- other formats


def test_jsonl_and_csv_carry_the_same_records() -> None:
    records = sd.generate_store_day("0004", date(2026, 11, 20))
    from_jsonl = [json.loads(line, parse_float=Decimal) for line in sd.render_jsonl(records).decode().splitlines()]
    assert from_jsonl == records

    rows = list(csv.DictReader(io.StringIO(sd.render_csv(records).decode())))
    assert sd.render_csv(records).decode().splitlines()[0] == ",".join(FIELDS)
    converted = [{**row, "quantity": int(row["quantity"]), **{m: Decimal(row[m]) for m in MONEY}} for row in rows]
    assert converted == records
    assert all(re.fullmatch(r"\d+\.\d\d", row["unit_price"]) for row in rows)


# --------------------------------------------------------------------------- bad files


def test_bad_files_each_break_exactly_the_rule_they_claim(sample_set) -> None:
    out, summary = sample_set
    bad = summary.bad_files
    assert 6 <= len(bad) <= 12
    assert len({b.rule for b in bad}) == len(bad)
    good_names = {p.name for p in summary.paths}
    assert not good_names & {b.path.name for b in bad}
    first_day = END - timedelta(days=DAYS - 1)

    for item in bad:
        assert item.path.parent == out and item.path.exists() and item.reason
        match = NAME.match(item.path.name)
        if item.rule == "file_name":
            assert match is None
            continue
        assert match, item
        store, day_text = match.groups()
        if item.rule == "file_date":
            with pytest.raises(ValueError):
                date.fromisoformat(day_text)
            continue
        day = date.fromisoformat(day_text)
        if item.rule == "unknown_store":
            assert store not in STORES
            assert contract_errors(load(item.path), day, NEW_YORK) == []
            continue
        # Every other bad file is a known store on a day before the good range.
        assert store in STORES and day < first_day
        if item.rule == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                load(item.path)
            continue
        assert contract_errors(load(item.path), day, NEW_YORK) == [item.rule], item


# --------------------------------------------------------------------------- large file


def test_large_file_streams_exactly_the_requested_lines(tmp_path: Path) -> None:
    path = tmp_path / "store_0001_2026-11-20.json"
    written = sd.write_large_store_file(path, 2500)
    data = path.read_bytes()
    assert written == len(data)
    records = json.loads(data, parse_float=Decimal)
    assert len(records) == 2500
    assert contract_errors(records, sd.LARGE_FILE_DAY, NEW_YORK) == []
    assert sd.render_json(records) == data  # the same layout as a normal upload
    stamps = [r["transaction_timestamp"] for r in records]
    assert stamps == sorted(stamps) and stamps[0] < "2026-11-20T09" and stamps[-1] > "2026-11-20T21"
    assert len(by_transaction(records)) > 2500 / 6

    one = tmp_path / "one.json"
    sd.write_large_store_file(one, 1)
    assert len(json.loads(one.read_bytes())) == 1
