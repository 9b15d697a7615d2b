"""Realistic store upload files for demos, tests and benchmarks.

The platform is only as convincing as the data it is shown with, so this module produces
what the stores really send: one `store_XXXX_YYYY-MM-DD.json` per store and business day,
a JSON array of line items with exactly the fields of `contracts/upload-schema.json`.
It is pure Python and fully deterministic: every store-day draws from its own
`random.Random` seeded by (seed, store, date), so one store-day generated alone is
byte-identical to the same store-day inside a bigger set, and nothing reads the clock
except `default_end_date()` (used only when the caller names no end date).

What makes the numbers look like a real chain:

- Catalogue: 94 SKUs in 8 categories with real price points (`CATALOGUE`), cheaper items
  selling more often.
- Store tiers, fixed by the store number so a store keeps its character: numbers
  1, 5, 9, 13, ... are flagship (about 340 transactions a day, 4.5 lines per basket),
  numbers divisible by 4 are small (about 110 a day, 3 lines), the rest standard (about
  230 a day, 4 lines). Every store also gets its own traffic level (+-8%) and payment
  mix (small stores take more cash).
- Week and day: Friday and Saturday peak, Sunday is above every weekday, Tuesday is the
  quietest day; shops open 08:00-22:00 local with lunch and evening peaks (flatter at
  weekends). Each day has a little noise (traffic about +-6%, categories +-5%).
- Transactions have 1-6 lines (distinct SKUs) sharing one `transaction_id`
  (`TXN-<store>-<yyyymmdd>-<seq>`, numbered in time order), one timestamp, one payment
  method and one customer. About 30% of transactions are anonymous walk-ins that share
  the generic id `CUST-000000` (they pay cash more often); the others are loyalty
  customers `CUST-<6 digits>`, mostly regulars of that store.
- Discounts: a weekly circular puts 6 SKUs at 10-20% off chain-wide (and lifts their
  demand), the featured seasonal promo below is 25% off, and about 4% of loyalty
  transactions redeem a $1-$5 coupon on their dearest line. Percent discounts are rounded
  half-up to the cent; a discount never exceeds its line total.
- Product waves: eight SKUs (`WAVE_SKUS`) follow an 8-week cycle, rising for four weeks
  from half to twice their usual demand and falling for four, with phases staggered by a
  week so any two weeks show some clearly rising and some clearly falling.
- Seasonal promo: seasonal SKUs sell little, except that in every 14-day block of the
  calendar (`block = date.toordinal() // 14`) one of them, `SEASONAL_SKUS[(block + seed) %
  6]`, is 25% off with 14 times its usual demand on four days (`toordinal() % 14` in
  5..8), chain-wide (`promo_sku()` names it for a date).

Notable days the analysis should flag (`notable_days()` lists them for any range):
every ISO week, `random.Random(f"sample:{seed}:incidents:{iso_year}-W{iso_week}")` draws
two different stores, `rng.sample(sorted(stores), 2)`. The first has a bad day on that
week's Wednesday: traffic at 40% of normal, so net sales about -60% (a register outage).
The second has a spike on that week's Thursday: 2.5 times its normal traffic (a local
event).
Any 14-day range therefore holds two bad days and two spikes. With a single store there
is only the bad day; a store not in `stores` never has an incident.

`SampleOptions` changes the chain for benchmarks: no weekly incidents, another weekday rhythm
(the old system's samples ran Saturdays at about 1.4 times an average day), fewer
transactions per store (`traffic_scale`; `traffic_scale_for` finds the one for a number of lines a
day), and store-days planted with a given change
(`NotableDay`: traffic, basket size, a payment method's share, products out of stock, or no
file at all). The defaults are the chain described above.

Money is `Decimal` in the records and rendered with exactly two decimals
(`render_json`), `line_total == quantity * unit_price` exactly, and timestamps carry the
store's UTC offset for the given IANA time zone, correct across daylight-saving changes
(opening hours never touch the hours that are skipped or repeated).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from sales_platform.domain.identifiers import DEFAULT_STORES
from sales_platform.domain.money import CENT, to_cents
from sales_platform.domain.time_zones import DEFAULT_STORE_TIMEZONE
from sales_platform.domain.upload_contract import FIELDS as CONTRACT_FIELDS
from sales_platform.domain.upload_contract import MONEY_FIELDS, PAYMENT_METHODS

WALK_IN_CUSTOMER_ID = "CUST-000000"
LARGE_FILE_DAY = date(2026, 11, 20)

OPEN_HOUR, CLOSE_HOUR = 8, 22

# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    unit_price: Decimal
    popularity: float


# (category, SKU prefix, relative demand, quantity weights for 1..n units, items)
_CATEGORY_TABLE: tuple[tuple[str, str, float, tuple[float, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        "Grocery",
        "GRO",
        1.0,
        (60, 25, 10, 5),
        (
            ("Whole Milk 1 gal", "4.29"),
            ("Large Eggs 12 ct", "3.99"),
            ("Sliced White Bread", "2.79"),
            ("Bananas 1 lb", "0.69"),
            ("Gala Apples 3 lb", "4.99"),
            ("Cheddar Cheese 8 oz", "3.49"),
            ("Greek Yogurt 32 oz", "5.79"),
            ("Spaghetti 16 oz", "1.49"),
            ("Marinara Sauce 24 oz", "3.29"),
            ("Long Grain Rice 2 lb", "2.99"),
            ("Chicken Breast 1 lb", "5.49"),
            ("Ground Beef 1 lb", "6.29"),
            ("Baby Spinach 5 oz", "3.79"),
            ("Peanut Butter 16 oz", "3.19"),
            ("Honey Oat Cereal", "4.49"),
            ("Frozen Pizza Pepperoni", "6.99"),
            ("Salted Butter 1 lb", "4.89"),
            ("Russet Potatoes 5 lb", "4.29"),
            ("Avocados 4 ct", "5.00"),
            ("Black Beans 15 oz", "1.09"),
        ),
    ),
    (
        "Beverages",
        "BEV",
        0.85,
        (55, 25, 10, 6, 0, 4),
        (
            ("Spring Water 24 pk", "4.99"),
            ("Cola 12 pk", "7.49"),
            ("Orange Juice 52 oz", "4.59"),
            ("Cold Brew Coffee 32 oz", "5.99"),
            ("Green Tea 6 pk", "6.49"),
            ("Sparkling Water Lime 8 pk", "5.29"),
            ("Energy Drink 16 oz", "2.99"),
            ("Sports Drink 20 oz", "1.79"),
            ("Oat Milk 64 oz", "4.79"),
            ("Ground Coffee 12 oz", "8.99"),
            ("Kombucha Ginger", "3.49"),
            ("Lemonade 59 oz", "3.29"),
            ("Almond Milk 64 oz", "3.99"),
            ("Craft Root Beer 4 pk", "6.99"),
        ),
    ),
    (
        "Bakery & Deli",
        "BAK",
        0.7,
        (70, 20, 10),
        (
            ("Butter Croissant", "2.49"),
            ("Blueberry Muffin", "2.29"),
            ("Sourdough Loaf", "5.49"),
            ("Bagels 6 ct", "4.29"),
            ("Chocolate Chip Cookies 12 ct", "4.99"),
            ("Turkey Club Sandwich", "7.99"),
            ("Caesar Salad Bowl", "8.49"),
            ("Rotisserie Chicken", "7.99"),
            ("Cinnamon Roll", "2.99"),
            ("Hummus 10 oz", "3.99"),
            ("Sushi Combo 12 pc", "10.99"),
            ("Apple Pie 9 in", "9.99"),
        ),
    ),
    (
        "Household",
        "HOU",
        0.45,
        (80, 20),
        (
            ("Paper Towels 6 rolls", "9.99"),
            ("Toilet Paper 12 rolls", "12.49"),
            ("Dish Soap 24 oz", "3.49"),
            ("Laundry Detergent 92 oz", "13.99"),
            ("Trash Bags 40 ct", "8.99"),
            ("Sponges 6 pk", "3.99"),
            ("All-Purpose Cleaner", "4.29"),
            ("Aluminum Foil 75 sq ft", "4.79"),
            ("Zip Bags Gallon 30 ct", "3.89"),
            ("AA Batteries 8 pk", "9.49"),
            ("Light Bulbs LED 4 pk", "11.99"),
            ("Dishwasher Pods 42 ct", "14.99"),
        ),
    ),
    (
        "Personal Care",
        "PER",
        0.4,
        (80, 20),
        (
            ("Toothpaste Mint", "3.79"),
            ("Shampoo 13 oz", "6.99"),
            ("Conditioner 13 oz", "6.99"),
            ("Body Wash 18 oz", "7.49"),
            ("Deodorant Stick", "5.49"),
            ("Razor Cartridges 4 ct", "15.99"),
            ("Sunscreen SPF 50", "10.99"),
            ("Hand Soap 12 oz", "2.99"),
            ("Lip Balm 3 pk", "4.49"),
            ("Cotton Swabs 500 ct", "3.29"),
            ("Face Moisturizer", "12.99"),
            ("Pain Reliever 100 ct", "8.99"),
        ),
    ),
    (
        "Electronics",
        "ELE",
        0.16,
        (95, 5),
        (
            ("USB-C Cable 6 ft", "12.99"),
            ("Wall Charger 20W", "19.99"),
            ("Wireless Earbuds", "49.99"),
            ("Phone Case Clear", "14.99"),
            ("Power Bank 10000 mAh", "29.99"),
            ("Bluetooth Speaker Mini", "34.99"),
            ("HDMI Cable 10 ft", "11.99"),
            ("Screen Protector 2 pk", "9.99"),
            ("Smart Plug", "17.99"),
            ("Over-Ear Headphones", "79.99"),
        ),
    ),
    (
        "Home & Kitchen",
        "HOM",
        0.14,
        (90, 10),
        (
            ("Scented Candle", "12.99"),
            ("Coffee Mug 14 oz", "7.99"),
            ("Chef Knife 8 in", "29.99"),
            ("Cutting Board Bamboo", "15.99"),
            ("Kitchen Towels 4 pk", "9.99"),
            ("Storage Containers 10 pc", "19.99"),
            ("Throw Pillow", "14.99"),
            ("Nonstick Skillet 10 in", "24.99"),
        ),
    ),
    (
        "Seasonal",
        "SEA",
        0.04,
        (70, 20, 10),
        (
            ("Pumpkin Spice Coffee 12 oz", "9.49"),
            ("Holiday Cookie Tin", "12.99"),
            ("Gift Wrap 3 rolls", "8.99"),
            ("Patio String Lights", "24.99"),
            ("Beach Towel", "16.99"),
            ("Hot Cocoa Mix 10 ct", "4.99"),
        ),
    ),
)


def _build_catalogue() -> tuple[Product, ...]:
    products = []
    for category, prefix, demand, _quantities, items in _CATEGORY_TABLE:
        for rank, (name, price) in enumerate(items):
            # Earlier items in a category are its staples; dear items sell less often.
            popularity = demand * (1.0 / (1.0 + 0.12 * rank)) * (6.0 / (4.0 + float(price))) ** 0.5
            products.append(Product(f"{prefix}-{1001 + rank}", name, category, Decimal(price), popularity))
    return tuple(products)


CATALOGUE: tuple[Product, ...] = _build_catalogue()
_QUANTITY_WEIGHTS: dict[str, tuple[float, ...]] = {c[0]: c[3] for c in _CATEGORY_TABLE}
SEASONAL_SKUS: tuple[str, ...] = tuple(p.sku for p in CATALOGUE if p.category == "Seasonal")
# SKUs in the 8-week demand cycle, each a week further into the cycle than the previous.
WAVE_SKUS: tuple[str, ...] = (
    "BEV-1007",
    "GRO-1019",
    "BAK-1011",
    "PER-1007",
    "ELE-1003",
    "BEV-1011",
    "HOM-1001",
    "GRO-1003",
)
WAVE_PERIOD_DAYS = 56
PROMO_BLOCK_DAYS, PROMO_FIRST_OFFSET, PROMO_LENGTH = 14, 5, 4
PROMO_PERCENT, PROMO_DEMAND = 25, 14.0
CIRCULAR_SIZE, CIRCULAR_DEMAND = 6, 1.4
BAD_DAY_WEEKDAY, BAD_DAY_TRAFFIC = 2, 0.4  # Wednesday
SPIKE_WEEKDAY, SPIKE_TRAFFIC = 3, 2.5  # Thursday

# --------------------------------------------------------------------------- stores


@dataclass(frozen=True)
class _Tier:
    name: str
    transactions: int
    basket_weights: tuple[float, ...]  # for 1..6 lines
    category_affinity: dict[str, float]


_TIERS = {
    "flagship": _Tier(
        "flagship", 340, (4, 8, 12, 20, 26, 30), {"Electronics": 1.8, "Home & Kitchen": 1.6, "Household": 1.1}
    ),
    "standard": _Tier("standard", 230, (6, 10, 18, 24, 22, 20), {}),
    "small": _Tier(
        "small",
        110,
        (20, 24, 22, 16, 11, 7),
        {"Beverages": 1.4, "Bakery & Deli": 1.3, "Electronics": 0.4, "Home & Kitchen": 0.3},
    ),
}
# Monday .. Sunday: Friday and Saturday peak, Sunday above every weekday.
_WEEKDAY_TRAFFIC = (0.88, 0.84, 0.90, 0.96, 1.16, 1.26, 1.08)
# Relative traffic for each opening hour 08..21, weekdays and weekends.
_HOURLY_WEEKDAY = (0.45, 0.6, 0.75, 1.05, 1.6, 1.4, 0.85, 0.8, 0.95, 1.35, 1.65, 1.4, 0.95, 0.55)
_HOURLY_WEEKEND = (0.4, 0.7, 1.0, 1.25, 1.4, 1.4, 1.3, 1.2, 1.15, 1.15, 1.2, 1.0, 0.75, 0.45)
_BASE_PAYMENT_WEIGHTS = (0.17, 0.38, 0.24, 0.04, 0.17)
_WALK_IN_PAYMENT_BOOST = (2.5, 0.8, 0.9, 0.5, 0.6)
_WALK_IN_SHARE = 0.30
_COUPON_SHARE = 0.04
_COUPON_AMOUNTS = (Decimal("1.00"), Decimal("2.00"), Decimal("3.00"), Decimal("5.00"))


def store_tier(store_id: str) -> str:
    """Tier of a store, from its number alone so a store keeps its character across seeds."""
    number = _store_number(store_id)
    if number % 4 == 1:
        return "flagship"
    if number % 4 == 0:
        return "small"
    return "standard"


def _store_number(store_id: str) -> int:
    if store_id.isdigit():
        return int(store_id)
    return sum(ord(ch) * 31**i for i, ch in enumerate(store_id)) % 10_000


@dataclass(frozen=True)
class _StoreProfile:
    tier: _Tier
    traffic: float
    payment_cum: tuple[float, ...]
    walk_in_payment_cum: tuple[float, ...]
    regulars: int


@lru_cache(maxsize=256)
def _store_profile(store_id: str, seed: int) -> _StoreProfile:
    rng = Random(f"sample:{seed}:store:{store_id}")
    tier = _TIERS[store_tier(store_id)]
    weights = [w * rng.uniform(0.75, 1.3) for w in _BASE_PAYMENT_WEIGHTS]
    if tier.name == "small":
        weights[0] *= 1.4
    walk_in = [w * b for w, b in zip(weights, _WALK_IN_PAYMENT_BOOST)]
    return _StoreProfile(
        tier=tier,
        traffic=rng.uniform(0.92, 1.08),
        payment_cum=_cumulative(weights),
        walk_in_payment_cum=_cumulative(walk_in),
        regulars=rng.randrange(2500, 6000),
    )


def _cumulative(weights: Iterable[float]) -> tuple[float, ...]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class NotableDay:
    """A store-day planted to stand out; the analysis is expected to flag it.

    The weekly incidents only change traffic; a planted day (`SampleOptions.planted`) may also
    make baskets bigger (each line's quantity doubled with probability `basket_factor - 1`),
    move a share of some payment methods' transactions to another (a card reader down: credit
    and debit to cash), take products off the shelves, or leave the store without a file.
    """

    store_id: str
    day: date
    kind: str  # "bad_day" or "spike" for the weekly incidents; any label for a planted day
    traffic_factor: float = 1.0
    story: str = ""
    basket_factor: float = 1.0
    payment_shift: tuple[tuple[str, ...], str, float] | None = None  # (from methods, to method, share moved)
    out_of_stock: tuple[str, ...] = ()
    missing: bool = False

    def __post_init__(self) -> None:
        if not 1.0 <= self.basket_factor <= 2.0:
            raise ValueError(f"basket_factor is between 1 and 2, not {self.basket_factor}")
        if self.payment_shift and not {*self.payment_shift[0], self.payment_shift[1]} <= set(PAYMENT_METHODS):
            raise ValueError(f"payment_shift names methods of {', '.join(PAYMENT_METHODS)}: {self.payment_shift}")


@dataclass(frozen=True)
class SampleOptions:
    """How the generated chain differs from the default one (see the module docstring)."""

    weekly_incidents: bool = True
    weekday_traffic: tuple[float, ...] = _WEEKDAY_TRAFFIC  # Monday .. Sunday
    traffic_scale: float = 1.0
    planted: tuple[NotableDay, ...] = ()

    def __post_init__(self) -> None:
        if len(self.weekday_traffic) != 7 or min(self.weekday_traffic) <= 0:
            raise ValueError("weekday_traffic has 7 positive factors, Monday to Sunday")
        if self.traffic_scale <= 0:
            raise ValueError(f"traffic_scale is positive, not {self.traffic_scale}")

    def planted_on(self, store_id: str, day: date) -> NotableDay | None:
        return next((p for p in self.planted if p.store_id == store_id and p.day == day), None)


DEFAULT_OPTIONS = SampleOptions()


def traffic_scale_for(lines_per_day: float, stores: Sequence[str], *, seed: int = 42) -> float:
    """The `SampleOptions.traffic_scale` at which the stores send about `lines_per_day` line
    items per store-day on average over a week (planted and weekly incidents aside)."""
    if lines_per_day <= 0:
        raise ValueError(f"lines per day is positive, not {lines_per_day}")
    week = sum(_WEEKDAY_TRAFFIC) / len(_WEEKDAY_TRAFFIC)
    expected = []
    for store_id in stores:
        profile = _store_profile(store_id, seed)
        weights = profile.tier.basket_weights
        basket = sum(size * w for size, w in enumerate(weights, start=1)) / sum(weights)
        expected.append(profile.tier.transactions * profile.traffic * week * basket)
    return lines_per_day / (sum(expected) / len(expected))


def _incident_stores(day: date, stores: Sequence[str], seed: int) -> tuple[str | None, str | None]:
    iso = day.isocalendar()
    pool = sorted(set(stores))
    if not pool:
        return None, None
    rng = Random(f"sample:{seed}:incidents:{iso.year}-W{iso.week:02d}")
    if len(pool) == 1:
        return pool[0], None
    bad, spike = rng.sample(pool, 2)
    return bad, spike


def notable_day_for(
    store_id: str,
    day: date,
    *,
    seed: int = 42,
    stores: Sequence[str] | None = None,
    options: SampleOptions = DEFAULT_OPTIONS,
) -> NotableDay | None:
    """The incident planted on this store-day, if any (see the module docstring)."""
    planted = options.planted_on(store_id, day)
    if planted or not options.weekly_incidents:
        return planted
    bad, spike = _incident_stores(day, DEFAULT_STORES if stores is None else stores, seed)
    if day.weekday() == BAD_DAY_WEEKDAY and store_id == bad:
        return NotableDay(
            store_id, day, "bad_day", BAD_DAY_TRAFFIC, "register outage: traffic at 40% of normal, net sales about -60%"
        )
    if day.weekday() == SPIKE_WEEKDAY and store_id == spike:
        return NotableDay(store_id, day, "spike", SPIKE_TRAFFIC, "local event: traffic at 2.5 times normal")
    return None


def notable_days(
    stores: Sequence[str], start: date, end: date, *, seed: int = 42, options: SampleOptions = DEFAULT_OPTIONS
) -> list[NotableDay]:
    """Every incident planted between `start` and `end` inclusive, in date order."""
    found = []
    day = start
    while day <= end:
        for store_id in sorted(stores):
            incident = notable_day_for(store_id, day, seed=seed, stores=stores, options=options)
            if incident:
                found.append(incident)
        day += timedelta(days=1)
    return found


def promo_sku(day: date, seed: int = 42) -> str | None:
    """The seasonal SKU on its 25%-off promo that day, or None outside the promo days."""
    block, offset = divmod(day.toordinal(), PROMO_BLOCK_DAYS)
    if not PROMO_FIRST_OFFSET <= offset < PROMO_FIRST_OFFSET + PROMO_LENGTH:
        return None
    return SEASONAL_SKUS[(block + seed) % len(SEASONAL_SKUS)]


def wave_factor(sku: str, day: date) -> float:
    """Demand multiplier of a wave SKU: 0.5 to 2.0 along an 8-week up-and-down cycle."""
    if sku not in WAVE_SKUS:
        return 1.0
    phase = (day.toordinal() + 7 * WAVE_SKUS.index(sku)) % WAVE_PERIOD_DAYS
    half = WAVE_PERIOD_DAYS / 2
    position = phase / half if phase < half else (WAVE_PERIOD_DAYS - phase) / half
    return 0.5 * 4.0**position


@lru_cache(maxsize=64)
def weekly_circular(day: date, seed: int = 42) -> dict[str, int]:
    """SKU -> percent off for the chain-wide circular of the ISO week containing `day`."""
    iso = day.isocalendar()
    rng = Random(f"sample:{seed}:circular:{iso.year}-W{iso.week:02d}")
    eligible = [p.sku for p in CATALOGUE if p.category != "Seasonal"]
    return {sku: rng.choice((10, 15, 20)) for sku in sorted(rng.sample(eligible, CIRCULAR_SIZE))}


def default_end_date(timezone: str = DEFAULT_STORE_TIMEZONE, now: datetime | None = None) -> date:
    """Yesterday in the stores' time zone: the latest business day that is complete."""
    current = now if now is not None else datetime.now(UTC)
    return current.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class _DayContext:
    store_id: str
    day: date
    zone: ZoneInfo
    profile: _StoreProfile
    products: tuple[Product, ...]
    product_cum: tuple[float, ...]
    percent_off: dict[str, int]
    hour_cum: tuple[float, ...]
    ymd: str
    incident: NotableDay | None = None


def _day_context(
    store_id: str, day: date, seed: int, timezone: str, rng: Random, incident: NotableDay | None = None
) -> _DayContext:
    profile = _store_profile(store_id, seed)
    circular = weekly_circular(day, seed)
    promo = promo_sku(day, seed)
    category_noise = {c[0]: max(0.85, min(1.15, rng.gauss(1.0, 0.05))) for c in _CATEGORY_TABLE}
    off_shelf = set(incident.out_of_stock) if incident else set()
    weights = []
    for product in CATALOGUE:
        if product.sku in off_shelf:
            weights.append(0.0)
            continue
        w = product.popularity * profile.tier.category_affinity.get(product.category, 1.0)
        w *= category_noise[product.category] * wave_factor(product.sku, day)
        if product.sku in circular:
            w *= CIRCULAR_DEMAND
        if product.sku == promo:
            w *= PROMO_DEMAND
        weights.append(w)
    percent_off = dict(circular)
    if promo:
        percent_off[promo] = PROMO_PERCENT
    hourly = _HOURLY_WEEKEND if day.weekday() >= 5 else _HOURLY_WEEKDAY
    return _DayContext(
        store_id,
        day,
        ZoneInfo(timezone),
        profile,
        CATALOGUE,
        _cumulative(weights),
        percent_off,
        _cumulative(hourly),
        day.strftime("%Y%m%d"),
        incident,
    )


def _timestamp(ctx: _DayContext, second_of_day: int) -> str:
    hours, rest = divmod(second_of_day, 3600)
    local = datetime.combine(ctx.day, time(hours, rest // 60, rest % 60), tzinfo=ctx.zone)
    return local.isoformat()


def _customer(rng: Random, ctx: _DayContext) -> str:
    if rng.random() < _WALK_IN_SHARE:
        return WALK_IN_CUSTOMER_ID
    if rng.random() < 0.1:  # a loyalty customer from another store
        return f"CUST-{rng.randrange(10_000, 120_000):06d}"
    # Squaring skews towards low numbers: a store's best regulars come back often.
    regular = int(ctx.profile.regulars * rng.random() ** 2)
    return f"CUST-{_store_number(ctx.store_id) * 10_000 + regular:06d}"


def _transaction(
    rng: Random, ctx: _DayContext, transaction_id: str, timestamp: str, line_count: int
) -> list[dict[str, Any]]:
    customer_id = _customer(rng, ctx)
    walk_in = customer_id == WALK_IN_CUSTOMER_ID
    payment_cum = ctx.profile.walk_in_payment_cum if walk_in else ctx.profile.payment_cum
    payment_method = rng.choices(PAYMENT_METHODS, cum_weights=payment_cum)[0]
    incident = ctx.incident
    if incident and incident.payment_shift and payment_method in incident.payment_shift[0]:
        if rng.random() < incident.payment_shift[2]:
            payment_method = incident.payment_shift[1]

    chosen: list[Product] = []
    seen: set[str] = set()
    while len(chosen) < line_count:
        for product in rng.choices(ctx.products, cum_weights=ctx.product_cum, k=line_count - len(chosen)):
            if product.sku not in seen:
                seen.add(product.sku)
                chosen.append(product)

    lines: list[dict[str, Any]] = []
    for product in chosen:
        quantity_weights = _QUANTITY_WEIGHTS[product.category]
        quantity = rng.choices(range(1, len(quantity_weights) + 1), weights=quantity_weights)[0]
        if incident and incident.basket_factor > 1 and rng.random() < incident.basket_factor - 1:
            quantity *= 2
        line_total = product.unit_price * quantity
        percent = ctx.percent_off.get(product.sku)
        discount = to_cents(line_total * percent / 100) if percent else Decimal("0.00")
        lines.append(
            {
                "transaction_id": transaction_id,
                "transaction_timestamp": timestamp,
                "item_sku": product.sku,
                "item_name": product.name,
                "quantity": quantity,
                "unit_price": product.unit_price,
                "line_total": line_total,
                "discount_amount": discount,
                "payment_method": payment_method,
                "customer_id": customer_id,
            }
        )

    if not walk_in and rng.random() < _COUPON_SHARE:
        undiscounted = [line for line in lines if not line["discount_amount"]]
        if undiscounted:
            target = max(undiscounted, key=lambda line: line["line_total"])
            target["discount_amount"] = min(rng.choice(_COUPON_AMOUNTS), target["line_total"])
    return lines


def _transaction_count(rng: Random, ctx: _DayContext, options: SampleOptions) -> int:
    noise = max(0.88, min(1.12, rng.gauss(1.0, 0.06)))
    factor = ctx.profile.traffic * options.weekday_traffic[ctx.day.weekday()] * noise * options.traffic_scale
    if ctx.incident:
        factor *= ctx.incident.traffic_factor
    return max(1, round(ctx.profile.tier.transactions * factor))


def generate_store_day(
    store_id: str,
    day: date,
    *,
    seed: int = 42,
    timezone: str = DEFAULT_STORE_TIMEZONE,
    stores: Sequence[str] | None = None,
    options: SampleOptions = DEFAULT_OPTIONS,
) -> list[dict[str, Any]]:
    """All line items one store sends for one business day, in time order (none on a day
    planted as `missing`).

    `stores` is the chain the store belongs to (default `DEFAULT_STORES`); it only decides
    which stores carry the planted notable days, so pass the same list as for the full set
    to get the same file.
    """
    incident = notable_day_for(store_id, day, seed=seed, stores=stores, options=options)
    if incident and incident.missing:
        return []
    rng = Random(f"sample:{seed}:{store_id}:{day.isoformat()}")
    ctx = _day_context(store_id, day, seed, timezone, rng, incident)
    count = _transaction_count(rng, ctx, options)

    hours = range(OPEN_HOUR, CLOSE_HOUR)
    seconds = sorted(rng.choices(hours, cum_weights=ctx.hour_cum)[0] * 3600 + rng.randrange(3600) for _ in range(count))
    basket_sizes = range(1, len(ctx.profile.tier.basket_weights) + 1)
    records: list[dict[str, Any]] = []
    for sequence, second in enumerate(seconds, start=1):
        transaction_id = f"TXN-{store_id}-{ctx.ymd}-{sequence:06d}"
        line_count = rng.choices(basket_sizes, weights=ctx.profile.tier.basket_weights)[0]
        records.extend(_transaction(rng, ctx, transaction_id, _timestamp(ctx, second), line_count))
    return records


# --------------------------------------------------------------------------- rendering


def _money_text(value: Any) -> str:
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        amount = Decimal(value)
        # More than two decimals is left visible, never rounded away: bad samples need it.
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            return str(amount)
        return f"{amount:.2f}"
    if isinstance(value, float):
        return _money_text(Decimal(repr(value)))
    return json.dumps(value)


# Printable ASCII without quote or backslash needs no JSON escaping; skipping json.dumps
# for it is what keeps a million-line file fast.
_PLAIN_TEXT = re.compile(r"[ !#-\[\]-~]*\Z").match


def _value_text(key: str, value: Any) -> str:
    if key in MONEY_FIELDS:
        return _money_text(value)
    if type(value) is str and _PLAIN_TEXT(value):
        return f'"{value}"'
    if type(value) is int:
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def _key_text(key: str, indent: str) -> str:
    return f"{indent}{json.dumps(key)}: "


_INDENTED_KEYS = {key: _key_text(key, "    ") for key in CONTRACT_FIELDS}
_INLINE_KEYS = {key: _key_text(key, "") for key in CONTRACT_FIELDS}


def _record_json(record: dict[str, Any]) -> str:
    """One record as `json.dumps(records, indent=2)` lays it out inside the array."""
    body = ",\n".join(
        (_INDENTED_KEYS.get(key) or _key_text(key, "    ")) + _value_text(key, value) for key, value in record.items()
    )
    return "  {\n" + body + "\n  }"


def render_json(records: Sequence[dict[str, Any]]) -> bytes:
    """The JSON array as a store exports it: indent 2, contract field order, money as 12.50."""
    if not records:
        return b"[]\n"
    return ("[\n" + ",\n".join(_record_json(r) for r in records) + "\n]\n").encode("utf-8")


def render_jsonl(records: Sequence[dict[str, Any]]) -> bytes:
    """One compact JSON object per line, the same values as `render_json`."""
    lines = (
        "{" + ", ".join((_INLINE_KEYS.get(k) or _key_text(k, "")) + _value_text(k, v) for k, v in r.items()) + "}"
        for r in records
    )
    return "".join(line + "\n" for line in lines).encode("utf-8")


def render_csv(records: Sequence[dict[str, Any]]) -> bytes:
    """A header row of the contract fields in contract order, then one row per line item."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CONTRACT_FIELDS)
    for record in records:
        writer.writerow([_money_text(record[f]) if f in MONEY_FIELDS else record[f] for f in CONTRACT_FIELDS])
    return buffer.getvalue().encode("utf-8")


def sample_file_name(store_id: str, day: date) -> str:
    return f"store_{store_id}_{day.isoformat()}.json"


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class BadFile:
    """A deliberately broken upload and the refusal the platform should give it."""

    path: Path
    rule: str
    reason: str


@dataclass
class SampleSummary:
    """What `write_sample_files` wrote. Counts cover the good files; bad ones are listed apart."""

    paths: list[Path] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    transactions: int = 0
    bytes: int = 0
    bad_files: list[BadFile] = field(default_factory=list)
    notable_days: list[NotableDay] = field(default_factory=list)


def write_sample_files(
    out_dir: Path,
    *,
    stores: Sequence[str],
    days: int,
    end_date: date,
    seed: int = 42,
    timezone: str = DEFAULT_STORE_TIMEZONE,
    with_bad_files: bool = False,
    options: SampleOptions = DEFAULT_OPTIONS,
) -> SampleSummary:
    """One good file per store and day for the `days` days ending on `end_date` (none for a
    store-day planted as `missing`).

    With `with_bad_files`, also the broken uploads of `bad_samples` (see there), named so
    they never overwrite a good file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    start = end_date - timedelta(days=days - 1)
    summary = SampleSummary(notable_days=notable_days(stores, start, end_date, seed=seed, options=options))
    for offset in range(days):
        day = start + timedelta(days=offset)
        for store_id in stores:
            records = generate_store_day(store_id, day, seed=seed, timezone=timezone, stores=stores, options=options)
            if not records:
                continue
            data = render_json(records)
            path = out_dir / sample_file_name(store_id, day)
            path.write_bytes(data)
            summary.paths.append(path)
            summary.files += 1
            summary.lines += len(records)
            summary.transactions += len({r["transaction_id"] for r in records})
            summary.bytes += len(data)
    if with_bad_files:
        for name, data, rule, reason in bad_samples(
            stores=stores, start=start, end_date=end_date, seed=seed, timezone=timezone
        ):
            path = out_dir / name
            path.write_bytes(data)
            summary.bad_files.append(BadFile(path, rule, reason))
    return summary


def _unknown_store(stores: Sequence[str]) -> str:
    known = set(stores)
    return next(f"{n:04d}" for n in range(9999, 0, -1) if f"{n:04d}" not in known)


def bad_samples(
    *, stores: Sequence[str], start: date, end_date: date, seed: int = 42, timezone: str = DEFAULT_STORE_TIMEZONE
) -> list[tuple[str, bytes, str, str]]:
    """Broken uploads a store manager could plausibly send: (file name, bytes, rule, reason).

    The files whose only fault is the name carry a copy of a real day. The unknown-store
    file uses the highest four-digit id not in `stores`. Every other file belongs to the
    first store on its own date just before the generated range (start - 1, start - 2, ...),
    so none of them replaces or competes with a good file, and each breaks one rule in one
    record in the middle of an otherwise valid day.
    """
    first = stores[0]
    good_copy = render_json(generate_store_day(first, end_date, seed=seed, timezone=timezone, stores=stores))
    unknown = _unknown_store(stores)
    samples: list[tuple[str, bytes, str, str]] = [
        ("sales_export.json", good_copy, "file_name", "file name does not match store_XXXX_YYYY-MM-DD.json"),
        (
            f"store_{first}_{end_date.year}-02-30.json",
            good_copy,
            "file_date",
            f"file name date {end_date.year}-02-30 is not a calendar date",
        ),
        (
            sample_file_name(unknown, end_date),
            render_json(generate_store_day(unknown, end_date, seed=seed, timezone=timezone, stores=stores)),
            "unknown_store",
            f"store {unknown} is not an expected store",
        ),
    ]

    def day_before(n: int) -> tuple[date, list[dict[str, Any]], dict[str, Any]]:
        day = start - timedelta(days=n)
        records = generate_store_day(first, day, seed=seed, timezone=timezone, stores=stores)
        return day, records, records[len(records) // 2]

    day, records, _ = day_before(1)
    data = render_json(records)
    samples.append(
        (
            sample_file_name(first, day),
            data[: len(data) * 3 // 5],
            "invalid_json",
            "not valid JSON: the file is cut off",
        )
    )

    day, records, target = day_before(2)
    del target["customer_id"]
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "missing_field",
            f"record of {target['transaction_id']} lacks required field customer_id",
        )
    )

    day, records, target = day_before(3)
    target["loyalty_points"] = 12
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "extra_field",
            f"record of {target['transaction_id']} has unexpected field loyalty_points",
        )
    )

    day, records, target = day_before(4)
    target["quantity"] = str(target["quantity"])
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "field_type",
            f"quantity of {target['transaction_id']} is a string, not an integer",
        )
    )

    day, records, target = day_before(5)
    target["discount_amount"] = target["line_total"] + Decimal("5.00")
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "discount_exceeds_line_total",
            f"discount_amount of {target['transaction_id']} is larger than its line_total",
        )
    )

    day, records, target = day_before(6)
    target["line_total"] = target["line_total"] + Decimal("1.00")
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "line_total_mismatch",
            f"line_total of {target['transaction_id']} is not quantity x unit_price",
        )
    )

    day, records, target = day_before(7)
    # Two units at a half-cent price keep line_total at two decimals: only the price is wrong.
    target["unit_price"] = target["unit_price"] - Decimal("0.005")
    target["quantity"] = 2
    target["line_total"] = (target["unit_price"] * 2).quantize(CENT)
    target["discount_amount"] = Decimal("0.00")
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "decimal_places",
            f"unit_price of {target['transaction_id']} has more than 2 decimals",
        )
    )

    day, records, target = day_before(8)
    stamp = datetime.fromisoformat(target["transaction_timestamp"])
    earlier = datetime.combine(day - timedelta(days=1), stamp.time(), tzinfo=ZoneInfo(timezone))
    target["transaction_timestamp"] = earlier.isoformat()
    samples.append(
        (
            sample_file_name(first, day),
            render_json(records),
            "timestamp_date",
            f"transaction_timestamp of {target['transaction_id']} is on {earlier.date()}, not the file's date {day}",
        )
    )
    return samples


def write_large_store_file(
    path: Path,
    lines: int,
    *,
    store_id: str = "0001",
    day: date = LARGE_FILE_DAY,
    seed: int = 42,
    timezone: str = DEFAULT_STORE_TIMEZONE,
) -> int:
    """Stream a valid upload of exactly `lines` line items and return the bytes written.

    For load tests: records are written as they are made, so a million-line file never
    sits in memory. Transactions are spread evenly over opening hours in time order and
    the layout is exactly `render_json`'s.
    """
    rng = Random(f"sample:{seed}:large:{store_id}:{day.isoformat()}")
    ctx = _day_context(store_id, day, seed, timezone, rng)
    weights = ctx.profile.tier.basket_weights
    basket_sizes = range(1, len(weights) + 1)
    mean_basket = sum(n * w for n, w in zip(basket_sizes, weights)) / sum(weights)
    expected_transactions = max(1.0, lines / mean_basket)
    open_seconds = OPEN_HOUR * 3600
    span = (CLOSE_HOUR - OPEN_HOUR) * 3600

    remaining, sequence = lines, 0
    last_second, last_stamp = -1, ""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("[\n" if lines else "[")
        first = True
        while remaining > 0:
            second = open_seconds + min(span - 1, int(sequence * span / expected_transactions))
            if second != last_second:
                last_second, last_stamp = second, _timestamp(ctx, second)
            sequence += 1
            line_count = min(remaining, rng.choices(basket_sizes, weights=weights)[0])
            transaction_id = f"TXN-{store_id}-{ctx.ymd}-{sequence:06d}"
            chunk = ",\n".join(_record_json(r) for r in _transaction(rng, ctx, transaction_id, last_stamp, line_count))
            out.write(chunk if first else ",\n" + chunk)
            first = False
            remaining -= line_count
        out.write("\n]\n" if lines else "]\n")
    return path.stat().st_size
