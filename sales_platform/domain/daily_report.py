"""The daily report: what managers read every morning, from the day's table items.

The plain-text layout is the one the old system mailed (company summary, best and worst store,
payment breakdown, top products, anomalies, trends, recommendations) with what it got wrong put
right: stores are counted against the configured list instead of a fixed 11, payment methods
read as words, and the report says which engine wrote the recommendations instead of always
crediting Bedrock. The HTML part carries the same content in tables plus two charts. Both
layouts are Jinja2 templates (`sales_platform/templates/`); this module works out what they show.

Nothing here depends on when it runs: the same items give the same bytes, so a content hash
tells whether a re-run changed anything worth sending again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import jinja2

from sales_platform.domain import report_charts, wording
from sales_platform.domain.insight_levels import LEVELS, SEVERITIES, rank

Item = Mapping[str, Any]
_Row = TypeVar("_Row", bound=Item)
TOP_PRODUCTS = 5
RULE = "-" * 60


@dataclass(frozen=True)
class ReportInputs:
    day: dt.date
    company: Item  # the company summary item
    stores: Sequence[Item]  # the day's store summaries
    products: Sequence[Item]  # the day's product items
    insights: Sequence[Item]  # the day's anomaly, trend and recommendation items
    history: Sequence[tuple[dt.date, Decimal | None]]  # company net sales, oldest first, None = no summary
    expected_stores: Sequence[str]
    fallback_reason: str | None = None  # set when Bedrock was asked for and rules answered


@dataclass(frozen=True)
class Chart:
    name: str
    file_name: str
    title: str
    png: bytes

    @property
    def content_id(self) -> str:
        return f"{self.name}@sales-platform"


@dataclass(frozen=True)
class DailyReport:
    day: dt.date
    subject: str
    text: str
    charts: tuple[Chart, ...]
    engine: str | None  # which engine wrote the recommendations (None: there are none)
    _html: Callable[[Callable[[Chart], str]], str]

    def html(self, image_source: Callable[[Chart], str]) -> str:
        """The HTML part; `image_source` says how it points at a chart (a `cid:` in an email,
        a file name beside it in the bucket)."""
        return self._html(image_source)

    @property
    def email_html(self) -> str:
        return self.html(lambda chart: f"cid:{chart.content_id}")

    @property
    def file_html(self) -> str:
        return self.html(lambda chart: chart.file_name)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for part in (
            self.subject.encode(),
            self.text.encode(),
            self.email_html.encode(),
            *(c.png for c in self.charts),
        ):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()


def subject_for(day: dt.date) -> str:
    """Managers' mail filters match this exactly."""
    return f"Daily Sales Report - {day.isoformat()}"


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Facts:
    """What both parts show, worked out once."""

    reported: list[str]
    expected: list[str]
    missing: list[str]
    payments: list[tuple[str, Decimal]]
    products: list[Item]
    anomalies: list[Item]
    trends: list[Item]
    recommendations: list[Item]
    engine: str | None
    engine_line: str
    anomaly_coverage: Item | None  # which stores the anomalies compared (None: an analysis that did not say)
    trend_notes: list[str]


def _of_type(insights: Sequence[Item], kind: str) -> list[Item]:
    return [item for item in insights if item.get("insight_type") == kind]


def _engine_line(engines: Sequence[str], fallback_reason: str | None) -> str:
    if not engines:
        return "No recommendations for this day."
    writers = " and ".join(wording.engine(engine) for engine in engines)
    if fallback_reason:
        return f"Recommendations written by {writers}: Amazon Bedrock was unavailable ({fallback_reason})."
    return f"Recommendations written by {writers}."


def _facts(inputs: ReportInputs) -> _Facts:
    company = inputs.company
    expected = sorted(inputs.expected_stores)
    reported = sorted(set(company.get("reported_stores") or [s["store_id"] for s in inputs.stores]))
    missing = [store for store in expected if store not in reported]
    payments = sorted(
        ((method, Decimal(str(amount))) for method, amount in (company.get("payment_breakdown") or {}).items()),
        key=lambda pair: (-pair[1], pair[0]),
    )
    products = sorted(inputs.products, key=lambda p: (p.get("rank", 10**9), p.get("sku", "")))[:TOP_PRODUCTS]
    anomalies = sorted(
        _of_type(inputs.insights, "anomaly"),
        key=lambda a: (rank(SEVERITIES, a.get("severity")), a.get("store_id") or "", a.get("title", "")),
    )
    trends = sorted(
        _of_type(inputs.insights, "trend"),
        key=lambda t: (rank(LEVELS, t.get("significance")), t.get("title", "")),
    )
    recommendations = sorted(
        _of_type(inputs.insights, "recommendation"),
        key=lambda r: (rank(LEVELS, r.get("priority")), r.get("title", "")),
    )
    engines = sorted({str(r["engine"]) for r in recommendations if r.get("engine")})
    engine = " and ".join(engines) if engines else None
    coverage = {item.get("insight_id"): item for item in _of_type(inputs.insights, "coverage")}
    return _Facts(
        reported=reported,
        expected=expected,
        missing=missing,
        payments=payments,
        products=products,
        anomalies=anomalies,
        trends=trends,
        recommendations=recommendations,
        engine=engine,
        engine_line=_engine_line(engines, inputs.fallback_reason if engines == ["rules"] else None),
        anomaly_coverage=coverage.get("anomalies"),
        trend_notes=list((coverage.get("trends") or {}).get("notes") or []),
    )


def _not_compared(facts: _Facts) -> list[tuple[str, str]]:
    return [(entry["store_id"], entry["reason"]) for entry in (facts.anomaly_coverage or {}).get("not_compared") or []]


def _no_anomalies_line(facts: _Facts) -> str:
    """What an empty anomaly list means, never more than was checked."""
    if facts.anomaly_coverage is None:
        return "No anomalies detected."
    compared = len(facts.anomaly_coverage.get("compared_stores") or [])
    if not compared:
        return "No store could be compared with its own history yet, so none can be called normal."
    if _not_compared(facts):
        return f"No anomalies at the {compared} store(s) compared with their history."
    return f"No anomalies: all {compared} stores that reported were compared with their history."


def _not_compared_line(facts: _Facts) -> str | None:
    missing = _not_compared(facts)
    if not missing:
        return None
    listed = "; ".join(f"store {store} ({why})" for store, why in missing)
    return f"Not compared with their history ({len(missing)} store(s)): {listed}."


def _trend_notes_line(facts: _Facts) -> str | None:
    return f"Not measured: {'; '.join(facts.trend_notes)}." if facts.trend_notes else None


def _store_line(store: Item | None) -> str:
    if not store:
        return "n/a"
    return f"Store {store.get('store_id')} ({wording.money(store.get('net_sales'))} net)"


def _summary_rows(inputs: ReportInputs, facts: _Facts) -> list[tuple[str, str]]:
    company = inputs.company
    return [
        ("Net sales", wording.money(company.get("net_sales"))),
        ("Gross sales", wording.money(company.get("total_sales"))),
        ("Discounts", wording.money(company.get("total_discount"))),
        ("Transactions", wording.count(company.get("transaction_count"))),
        ("Items sold", wording.count(company.get("item_count"))),
        ("Average transaction", wording.money(company.get("avg_transaction"))),
        ("Average net sales per store", wording.money(company.get("avg_net_sales_per_store"))),
        ("Stores reporting", f"{len(facts.reported)}/{len(facts.expected)}"),
        ("Best store", _store_line(company.get("best_store"))),
        ("Worst store", _store_line(company.get("worst_store"))),
    ]


def _share(amount: Decimal, total: Decimal) -> str:
    return wording.table_percent(amount / total * 100, signed=False) if total else "n/a"


def _trend_change(trend: Item) -> str:
    change = trend.get("metric_change_percent")
    if change is None:
        return ""
    # A payment mix shift moves a share, so its change is in percentage points.
    if trend.get("type") == "payment_mix_shift":
        return f"{Decimal(str(change)):+.1f} points"
    return wording.table_percent(change)


def _trend_figures(trend: Item) -> str:
    return ", ".join(part for part in (trend.get("trend_direction") or "", _trend_change(trend)) if part)


def _list(values: object) -> str:
    return ", ".join(str(value) for value in values) if isinstance(values, (list, tuple)) and values else ""


# --------------------------------------------------------------------------- rendering


def _wrap(text: str | None, indent: str = "     ") -> list[str]:
    if not text:
        return []
    return textwrap.wrap(str(text), width=76, initial_indent=indent, subsequent_indent=indent)


# The layouts are files beside the code (`sales_platform/templates/`); the HTML one escapes every
# value it shows, so a product named `<b>` or `A & B` reads as written.
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("sales_platform", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    finalize=lambda value: "" if value is None else value,
)
_TEMPLATES.filters["wrap"] = _wrap


def _grouped(items: Sequence[_Row], field: str, order: Sequence[str]) -> list[tuple[str, list[_Row]]]:
    """Items in groups by `field`, in `order`; unknown values last as `other`."""
    groups = [(value, [i for i in items if i.get(field) == value]) for value in order]
    groups.append(("other", [i for i in items if i.get(field) not in order]))
    return [(label, group) for label, group in groups if group]


def _affects(recommendation: Item) -> str:
    stores, products = _list(recommendation.get("affected_stores")), _list(recommendation.get("affected_products"))
    parts = [f"stores {stores}" if stores else "", f"products {products}" if products else ""]
    return "Affects " + "; ".join(part for part in parts if part) if any(parts) else ""


def _fields(item: Item, *names: str) -> dict[str, Any]:
    """The item's values as stored; the templates show a missing one as nothing."""
    return {name: item.get(name) for name in names}


def _view(inputs: ReportInputs, facts: _Facts) -> dict[str, Any]:
    """What the templates show, every figure already written as people read it."""
    total = sum((amount for _, amount in facts.payments), Decimal(0))
    anomalies = [
        {
            **_fields(a, "severity", "title", "description"),
            "severity_word": (a.get("severity") or "").capitalize(),
            "store_id": a.get("store_id") or "",
            "deviation": "" if a.get("deviation_percent") is None else wording.table_percent(a["deviation_percent"]),
        }
        for a in facts.anomalies
    ]
    for anomaly in anomalies:
        store = f"Store {anomaly['store_id']}" if anomaly["store_id"] else ""
        anomaly["where"] = f"{store}: " if store and store not in (anomaly["title"] or "") else ""
    trends = [
        {
            **_fields(t, "title", "description"),
            "direction": t.get("trend_direction") or "",
            "change": _trend_change(t),
            "figures": _trend_figures(t),
            "significance": t.get("significance") or "",
        }
        for t in facts.trends
    ]
    recommendations = [
        {
            **_fields(r, "priority", "title", "description"),
            "priority_word": (r.get("priority") or "").capitalize(),
            "category": r.get("category") or "",
            "cell": f"{r.get('title')}: {r.get('description')}" if r.get("description") else r.get("title"),
            "expected_impact": r.get("expected_impact") or "",
            "stores": _list(r.get("affected_stores")),
            "products": _list(r.get("affected_products")),
            "affects": _affects(r),
        }
        for r in facts.recommendations
    ]
    number = iter(range(1, len(recommendations) + 1))
    for recommendation in (r for _, group in _grouped(recommendations, "priority", LEVELS) for r in group):
        recommendation["number"] = next(number)
    return {
        "day": inputs.day.isoformat(),
        "weekday": f"{inputs.day:%A}",
        "subject": subject_for(inputs.day),
        "rule": RULE,
        "summary_rows": _summary_rows(inputs, facts),
        "payments": [(wording.payment_method(m), wording.money(a), _share(a, total)) for m, a in facts.payments],
        "products": [
            {
                "position": position,
                "name": p.get("name"),
                "sku": p.get("sku"),
                "units": wording.count(p.get("units")),
                "revenue": wording.money(p.get("net_revenue")),
            }
            for position, p in enumerate(facts.products, 1)
        ],
        "anomalies": anomalies,
        "anomaly_groups": _grouped(anomalies, "severity", SEVERITIES),
        "no_anomalies_line": _no_anomalies_line(facts),
        "not_compared_line": _not_compared_line(facts),
        "trends": trends,
        "trend_notes_line": _trend_notes_line(facts),
        "engine_line": facts.engine_line,
        "recommendations": recommendations,
        "recommendation_groups": _grouped(recommendations, "priority", LEVELS),
        "missing": facts.missing,
        "expected_count": len(facts.expected),
    }


def _text(view: Mapping[str, Any]) -> str:
    return _TEMPLATES.get_template("daily_report.txt.j2").render(view)


def _html(view: Mapping[str, Any], charts: Sequence[Chart], image_source: Callable[[Chart], str]) -> str:
    images = [{"title": chart.title, "source": image_source(chart)} for chart in charts]
    return _TEMPLATES.get_template("daily_report.html.j2").render(view, charts=images)


# --------------------------------------------------------------------------- the report


def build_daily_report(inputs: ReportInputs) -> DailyReport:
    facts = _facts(inputs)
    view = _view(inputs, facts)
    net_by_store: dict[str, Decimal | None] = dict.fromkeys(facts.expected)
    for store in inputs.stores:
        net_by_store[store["store_id"]] = Decimal(str(store["net_sales"]))
    charts = (
        Chart(
            "net-sales-by-store",
            "net_sales_by_store.png",
            "Net sales by store",
            report_charts.net_sales_by_store(inputs.day, net_by_store),
        ),
        Chart(
            "company-net-sales-30-days",
            "company_net_sales_30_days.png",
            f"Company net sales, last {len(inputs.history)} days",
            report_charts.company_net_sales_history(inputs.history),
        ),
    )
    return DailyReport(
        day=inputs.day,
        subject=subject_for(inputs.day),
        text=_text(view),
        charts=charts,
        engine=facts.engine,
        _html=lambda image_source: _html(view, charts, image_source),
    )
