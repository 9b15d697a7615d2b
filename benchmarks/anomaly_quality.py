"""How well the anomaly rules find what matters and stay quiet on ordinary days.

Generates 12 weeks of clean sample data for the 11 sample stores (weekly rhythm as on the old
system's samples: Saturday about 1.4 times an average day, Monday 0.85; store tiers; product
waves; about 470 lines per store-day), with no weekly incidents, and plants anomalies of nine
kinds on known store-days:

    collapse           traffic at 40% (a register outage): net sales about -60%
    spike              traffic at 2.5 times (a local event)
    fewer_shoppers     transactions -40%, the basket unchanged (a road closed outside)
    bigger_baskets     the basket +70% (each line's quantity doubled 7 times in 10), same shoppers
    store_missing      no file from the store that day
    payment_shift      80% of the card payments (credit, debit) taken in cash (a card reader down
                       most of the day)
    product_stopped    the store's best-selling staple sells none (out of stock); not at small stores,
                       where no product is in enough baskets for a day without it to stand out
    busy_day_collapse  a Saturday at 60% of its traffic: about 16% under the chain's average day,
                       so a 7-day mean sees nothing
    quiet_day_spike    a Tuesday at 1.4 times its traffic: about 15% above the chain's average day,
                       under the 7-day mean's 25%

No store gets two planted days on the same weekday: each is an isolated incident.

Every store-day's line items are written as the ingest writes them into a local platform
(Parquet in a folder bucket; the ingest's own store metrics as store-day summaries in a SQLite
table); then every day is analysed in date order by the real Dagster assets (`company_metrics`,
`product_metrics`, which also counts each store's baskets, and `anomalies`, with their checks)
with `dagster.materialize`, and the days from the fourth week on (when every store has 3
earlier same weekdays, the minimum history) are scored. The same store-days also go through a
faithful copy of the rules the platform used before (each store against the plain mean of its
previous 7 reported days, the previous day and the other stores), kept below as `old_rules`.

It prints, for each kind and overall, the recall (planted store-days with a warning or critical
anomaly for that store on that day) and, over the clean store-days (every scored store-day with
nothing planted), false alarms per 100 store-days, warnings and criticals apart (each anomaly
counts), for the new rules and the old side by side, then lists the new rules' false alarms and
misses. The goals: recall of at least 95% for every kind; no critical and at most 1 warning per
100 clean store-days. On a 2-core machine it takes about 2 minutes.

    python benchmarks/anomaly_quality.py [--weeks 12] [--per-kind 8] [--seed 42] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

START = dt.date(2025, 9, 1)  # a Monday
STORES = tuple(f"{n:04d}" for n in range(1, 12))
# Monday .. Sunday, as the old system's sample files ran (an average day is 1.0).
OLD_SYSTEM_WEEKDAYS = (0.85, 0.82, 0.86, 0.92, 1.12, 1.40, 1.03)
TRAFFIC_SCALE = 0.48  # about 470 lines per store-day, as in the old system's samples
FIRST_SCORED_WEEK = 3  # days before it are history only (the rules need 3 earlier same weekdays)
# The Saturdays and the Monday whose false alarms the issue quotes from the old system's samples.
QUOTED_DAYS = (dt.date(2025, 11, 1), dt.date(2025, 11, 3), dt.date(2025, 11, 22))


# --------------------------------------------------------------------------- what is planted


@dataclass(frozen=True)
class Kind:
    name: str
    weekday: int | None  # only on this weekday (0 = Monday), or any
    small_stores: bool = True  # also at small stores


KINDS = (
    Kind("collapse", None),
    Kind("spike", None),
    Kind("fewer_shoppers", None),
    Kind("bigger_baskets", None),
    Kind("store_missing", None),
    Kind("payment_shift", None),
    # A small store sells no product 10 times a day: a stop is only told from chance elsewhere.
    Kind("product_stopped", None, small_stores=False),
    Kind("busy_day_collapse", 5),
    Kind("quiet_day_spike", 1),
)


def best_sellers(seed: int) -> dict[str, str]:
    """Each store's best-selling staple over the unscored first weeks: the SKU in most
    transactions, leaving out the sample data's wave and seasonal products, whose demand halves
    or doubles from week to week by design."""
    from sales_platform.samples.store_files import SEASONAL_SKUS, WAVE_SKUS, SampleOptions, generate_store_day

    options = SampleOptions(weekly_incidents=False, weekday_traffic=OLD_SYSTEM_WEEKDAYS, traffic_scale=TRAFFIC_SCALE)
    found = {}
    for store_id in STORES:
        baskets: Counter[str] = Counter()
        for offset in range(7 * FIRST_SCORED_WEEK):
            for record in generate_store_day(store_id, START + dt.timedelta(days=offset), seed=seed, options=options):
                if record["item_sku"] not in WAVE_SKUS and record["item_sku"] not in SEASONAL_SKUS:
                    baskets[record["item_sku"]] += 1  # a SKU is on one line of a transaction
        found[store_id] = min(baskets, key=lambda sku: (-baskets[sku], sku))
    return found


def plant(kind: str, store_id: str, day: dt.date, best_seller: str):
    from sales_platform.samples.store_files import NotableDay

    changes = {
        "collapse": dict(traffic_factor=0.4),
        "spike": dict(traffic_factor=2.5),
        "fewer_shoppers": dict(traffic_factor=0.6),
        "bigger_baskets": dict(basket_factor=1.7),
        "store_missing": dict(missing=True),
        "payment_shift": dict(payment_shift=(("credit", "debit"), "cash", 0.8)),
        "product_stopped": dict(out_of_stock=(best_seller,)),
        "busy_day_collapse": dict(traffic_factor=0.6),
        "quiet_day_spike": dict(traffic_factor=1.4),
    }[kind]
    return NotableDay(store_id, day, kind, story=kind, **changes)


def plan(weeks: int, per_kind: int, seed: int) -> list:
    """`per_kind` planted store-days of each kind on scored days, drawn with a fixed seed, at
    most one per store and weekday: each is an isolated incident. (A store whose Tuesdays all
    changed has a new normal, a different question from an anomaly.)"""
    from sales_platform.samples.store_files import store_tier

    rng = random.Random(f"anomaly-quality:{seed}")
    best = best_sellers(seed)
    scored = [START + dt.timedelta(days=n) for n in range(7 * FIRST_SCORED_WEEK, 7 * weeks)]
    taken: set[tuple[str, int]] = set()
    planted = []
    # The kinds tied to one weekday first, while every store still has that weekday free.
    for kind in sorted(KINDS, key=lambda k: k.weekday is None):
        candidates = [
            (s, d)
            for d in scored
            for s in STORES
            if (kind.weekday is None or d.weekday() == kind.weekday) and (kind.small_stores or store_tier(s) != "small")
        ]
        rng.shuffle(candidates)
        chosen = 0
        for store_id, day in candidates:
            if chosen == per_kind:
                break
            if (store_id, day.weekday()) not in taken:
                taken.add((store_id, day.weekday()))
                planted.append(plant(kind.name, store_id, day, best[store_id]))
                chosen += 1
        if chosen < per_kind:
            raise SystemExit(f"only {chosen} store-days free for {kind.name}: use fewer --per-kind or more --weeks")
    return sorted(planted, key=lambda p: (p.day, p.store_id))


# --------------------------------------------------------------------------- the platform


def settings_for(home: Path):
    from sales_platform.settings import load_settings

    return load_settings(
        SALES_PLATFORM_HOME=str(home),
        EXPECTED_STORES=",".join(STORES),
        PARTITIONS_START_DATE=START.isoformat(),
        RECOMMENDATION_ENGINE="rules",
    )


def line_items(records: Sequence[dict]):
    """The records as the contract validation hands them on (`LINE_ITEM_SCHEMA`). Built here
    rather than by validating each rendered file, which would double the benchmark's time for
    files the sample data tests already prove valid."""
    import pyarrow as pa

    from sales_platform.domain.upload_contract import LINE_ITEM_SCHEMA

    columns: dict[str, list] = {f.name: [] for f in LINE_ITEM_SCHEMA}
    for record in records:
        for name, values in columns.items():
            value = record[name]
            if name == "transaction_timestamp":
                value = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
            values.append(value)
    return pa.Table.from_pydict(columns, schema=LINE_ITEM_SCHEMA)


def ingest(settings, planted: Sequence, weeks: int, seed: int) -> dict:
    """Every store-day as the ingest leaves it: Parquet in the bucket, the store metrics (the
    ingest's own code) as store-day summary and upload tracking items in the table."""
    import pyarrow.parquet as pq

    from sales_platform.domain.store_metrics import compute_store_metrics
    from sales_platform.domain.table_items import store_day_summary_item, upload_tracking_item
    from sales_platform.resources.factory import build_bucket, build_table
    from sales_platform.samples.store_files import SampleOptions, generate_store_day, sample_file_name

    options = SampleOptions(
        weekly_incidents=False, weekday_traffic=OLD_SYSTEM_WEEKDAYS, traffic_scale=TRAFFIC_SCALE, planted=tuple(planted)
    )
    table, bucket, layout = build_table(settings), build_bucket(settings), settings.storage.layout
    staging = settings.home_path / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    lines = files = 0
    for offset in range(7 * weeks):
        day = START + dt.timedelta(days=offset)
        items = []
        for store_id in STORES:
            records = generate_store_day(store_id, day, seed=seed, stores=STORES, options=options)
            if not records:
                continue
            rows = line_items(records)
            pq.write_table(rows, staging / "data.parquet", compression="zstd")
            key = layout.processed_key(day, store_id)
            bucket.write_file(key, staging / "data.parquet")
            name = sample_file_name(store_id, day)
            metrics = compute_store_metrics(rows)
            items.append(
                store_day_summary_item(store_id, day, metrics, source_file=name, processed_key=key, processed_at=now)
            )
            items.append(
                upload_tracking_item(
                    store_id, day, source_file=name, source_version="1", rows=rows.num_rows, processed_at=now
                )
            )
            lines += rows.num_rows
            files += 1
        table.put_items(items)
    return {"lines": lines, "files": files}


def analyse(settings, days: Sequence[dt.date]) -> dict[dt.date, list[dict]]:
    """The anomalies the Dagster assets find for each day, as their document says."""
    import dagster as dg

    from sales_platform.defs.loading import build_definitions
    from sales_platform.resources.factory import build_bucket

    definitions = build_definitions(settings)
    chosen = [definitions.get_assets_def(name) for name in ("company_metrics", "product_metrics", "anomalies")]
    resources = definitions.resources
    bucket = build_bucket(settings)
    found = {}
    with dg.instance_for_test() as instance:
        for day in days:
            result = dg.materialize(
                chosen,
                partition_key=day.isoformat(),
                resources=resources,
                instance=instance,
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
            assert result.success, day
            key = settings.storage.layout.analysis_document_key(day, "anomalies")
            found[day] = json.loads(bucket.read_bytes(key))["anomalies"]
    return found


# --------------------------------------------------------------------------- the old rules


def old_rules(today: Sequence, history: Mapping[str, Sequence]) -> list[dict]:
    """The rules the platform used before, kept to compare (thresholds and logic as they were
    in `sales_platform/domain/anomalies.py`): each store against the plain mean of its last 7
    reported days (at least 3), the previous day, and the other stores."""

    def severity(deviation: float, warning: float, critical: float) -> str | None:
        return "critical" if abs(deviation) >= critical else "warning" if abs(deviation) >= warning else None

    def change(now: float, before: float) -> float:
        return (now - before) / before * 100

    found, means = [], {}
    for day in sorted(today, key=lambda d: d.store_id):
        earlier = sorted(
            (d for d in history.get(day.store_id, ()) if d.date < day.date), key=lambda d: d.date, reverse=True
        )[:7]
        if len(earlier) < 3:
            continue
        net = statistics.fmean(float(d.net_sales) for d in earlier)
        means[day.store_id] = net
        typical = statistics.median(float(d.net_sales) for d in earlier)
        previous = float(earlier[0].net_sales)
        checks = []
        if net > 0:
            checks.append(("historical", change(float(day.net_sales), net), 25, 50))
        if previous > 0 and typical > 0:
            step, from_typical = change(float(day.net_sales), previous), change(float(day.net_sales), typical)
            if step < 0 and from_typical <= -15:
                checks.append(("sudden_drop", step, 35, 55))
            elif step > 0 and from_typical >= 15:
                checks.append(("sudden_spike", step, 50, 100))
        transactions = statistics.fmean(d.transaction_count for d in earlier)
        if transactions > 0:
            checks.append(("transactions", change(day.transaction_count, transactions), 25, 50))
        basket = statistics.fmean(float(d.avg_transaction) for d in earlier)
        if day.transaction_count and basket > 0:
            checks.append(("basket", change(float(day.avg_transaction), basket), 20, 35))
        for kind, deviation, warning, critical in checks:
            level = severity(deviation, warning, critical)
            if level:
                suffix = "" if kind.startswith("sudden") else "_low" if deviation < 0 else "_high"
                found.append({"store_id": day.store_id, "type": kind + suffix, "severity": level})
    by_store = {d.store_id: d for d in today}
    deviations = {s: change(float(by_store[s].net_sales), m) for s, m in means.items() if m > 0}
    if len(deviations) >= 5:
        median = statistics.median(deviations.values())
        spread = statistics.median(abs(v - median) for v in deviations.values())
        scale = (
            0.6745 / spread
            if spread
            else 0.7979 / (statistics.fmean(abs(v - median) for v in deviations.values()) or 1)
        )
        for store_id, deviation in sorted(deviations.items()):
            z = abs(deviation - median) * scale
            level = "critical" if z >= 7.0 else "warning" if z >= 3.5 else None
            if level and abs(deviation - median) >= 15:
                found.append({"store_id": store_id, "type": "peer_outlier", "severity": level})
    return found


def old_analysis(settings, days: Sequence[dt.date]) -> dict[dt.date, list[dict]]:
    from sales_platform.resources.factory import build_table
    from sales_platform.services.analysis_reads import store_days

    table = build_table(settings)
    found = {}
    for day in days:
        history: dict[str, list] = defaultdict(list)
        for back in range(1, 15):
            for store in store_days(table, day - dt.timedelta(days=back)):
                history[store.store_id].append(store)
        found[day] = old_rules(store_days(table, day), history)
    return found


# --------------------------------------------------------------------------- scoring


def score(found: dict[dt.date, list[dict]], planted: Sequence, days: Sequence[dt.date]) -> dict:
    found = {day: found[day] for day in days}
    alarms = {(d, a["store_id"]) for d, anomalies in found.items() for a in anomalies if a["severity"] != "info"}
    plants = {(p.day, p.store_id): p.kind for p in planted}
    recall: dict[str, list[bool]] = defaultdict(list)
    # For each kind, the anomaly types that found its planted days.
    found_by: dict[str, Counter[str]] = defaultdict(Counter)
    for d, anomalies in found.items():
        for a in anomalies:
            if (d, a["store_id"]) in plants and a["severity"] != "info":
                found_by[plants[(d, a["store_id"])]][a["type"]] += 1
    missed = []
    for (day, store_id), kind in sorted(plants.items()):
        recall[kind].append((day, store_id) in alarms)
        if (day, store_id) not in alarms:
            missed.append((day, store_id, kind))
    clean = [(d, s) for d in days for s in STORES if (d, s) not in plants]
    clean_set = set(clean)
    false = Counter(
        a["severity"] for d, anomalies in found.items() for a in anomalies if (d, a["store_id"]) in clean_set
    )
    listed = [(d, a) for d, anomalies in sorted(found.items()) for a in anomalies if (d, a["store_id"]) in clean_set]
    return {
        "recall": recall,
        "clean": len(clean),
        "false": false,
        "false_listed": listed,
        "missed": missed,
        "found_by": found_by,
    }


def report(new: dict, old: dict, seconds: dict[str, float], made: dict, weeks: int) -> None:
    print(
        f"{made['files']:,} store files, {made['lines']:,} lines ({made['lines'] / made['files']:.0f} a store-day) "
        f"over {weeks} weeks for {len(STORES)} stores; ingest {seconds['ingest']:.0f} s, "
        f"analysis {seconds['analysis']:.0f} s ({seconds['analysis'] / seconds['days']:.2f} s a day), "
        f"old rules {seconds['old']:.1f} s"
    )
    print()
    print(f"{'kind':<20}{'planted':>8}{'recall new':>12}{'recall old':>12}")
    total_new = total_old = count = 0
    for kind in KINDS:
        hits_new, hits_old = new["recall"][kind.name], old["recall"][kind.name]
        total_new, total_old, count = total_new + sum(hits_new), total_old + sum(hits_old), count + len(hits_new)
        print(
            f"{kind.name:<20}{len(hits_new):>8}{sum(hits_new) / len(hits_new):>12.0%}{sum(hits_old) / len(hits_old):>12.0%}"
        )
    print(f"{'overall':<20}{count:>8}{total_new / count:>12.0%}{total_old / count:>12.0%}")
    for kind in ("busy_day_collapse", "quiet_day_spike"):
        plain = sum(n for t, n in old["found_by"][kind].items() if t != "peer_outlier")
        print(
            f"  {kind}: the old rules' anomalies on those days {dict(old['found_by'][kind].most_common())} "
            f"({plain} from the 7-day mean or the day before, the rest from the peer comparison)"
        )
    print()
    per_100 = lambda result, severity: 100 * result["false"][severity] / result["clean"]  # noqa: E731
    print(f"false alarms per 100 clean store-days ({new['clean']} clean store-days analysed):")
    print(f"{'':<20}{'new':>12}{'old':>12}")
    for severity in ("critical", "warning"):
        print(f"{severity:<20}{per_100(new, severity):>12.2f}{per_100(old, severity):>12.2f}")
    print("the days the issue quotes, on this data's clean store-days (old rules -> new rules):")
    for day in QUOTED_DAYS:
        on_day = lambda result: Counter(a["type"] for d, a in result["false_listed"] if d == day)  # noqa: E731
        print(
            f"  {day} {day:%A}: {sum(on_day(old).values())} false alarms {dict(on_day(old).most_common())} -> "
            f"{sum(on_day(new).values())}"
        )
    old_types = Counter(a["type"] for _, a in old["false_listed"])
    print(f"old rules' false alarms by type: {dict(old_types.most_common())}")
    old_days = Counter(d.strftime("%A") for d, _ in old["false_listed"])
    print(f"old rules' false alarms by weekday: {dict(old_days.most_common())}")
    if new["false_listed"]:
        print("new rules' false alarms:")
        for day, anomaly in new["false_listed"]:
            print(f"  {day} {day:%a} {anomaly['severity']:<8} {anomaly['title']}")
    if new["missed"]:
        print("planted but missed by the new rules:")
        for day, store_id, kind in new["missed"]:
            print(f"  {day} {day:%a} store {store_id} {kind}")


def main() -> None:
    warnings.simplefilter("ignore")  # Dagster's notes on its beta APIs would bury the figures
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--per-kind", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="keep the platform home (table, bucket) at this path")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="anomaly-quality-") as folder:
        home = args.keep or Path(folder) / "home"
        settings = settings_for(home)
        planted = plan(args.weeks, args.per_kind, args.seed)
        seconds = {}
        started = time.perf_counter()
        made = ingest(settings, planted, args.weeks, args.seed)
        seconds["ingest"] = time.perf_counter() - started
        every_day = [START + dt.timedelta(days=n) for n in range(7 * args.weeks)]
        days = every_day[7 * FIRST_SCORED_WEEK :]
        started = time.perf_counter()
        new = analyse(settings, every_day)
        seconds["analysis"], seconds["days"] = time.perf_counter() - started, len(every_day)
        started = time.perf_counter()
        old = old_analysis(settings, days)
        seconds["old"] = time.perf_counter() - started
        report(score(new, planted, days), score(old, planted, days), seconds, made, args.weeks)


if __name__ == "__main__":
    main()
