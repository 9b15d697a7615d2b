"""The daily report: what managers read every morning, from the day's table items.

The plain-text layout is the one the old system mailed (company summary, best and worst store,
payment breakdown, top products, anomalies, trends, recommendations) with what it got wrong put
right: stores are counted against the configured list instead of a fixed 11, payment methods
read as words, and the report says which engine wrote the recommendations instead of always
crediting Bedrock. The HTML part carries the same content in tables plus two charts.

Nothing here depends on when it runs: the same items give the same bytes, so a content hash
tells whether a re-run changed anything worth sending again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sales_platform.domain import report_charts
from sales_platform.domain import report_format as fmt

Item = Mapping[str, Any]
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
        for part in (self.subject.encode(), self.text.encode(), self.email_html.encode(), *(c.png for c in self.charts)):
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


def _rank(order: Sequence[str], value: object) -> int:
    return order.index(value) if value in order else len(order)


def _engine_line(engines: Sequence[str], fallback_reason: str | None) -> str:
    if not engines:
        return "No recommendations for this day."
    writers = " and ".join(fmt.engine(engine) for engine in engines)
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
        key=lambda a: (_rank(fmt.SEVERITY_ORDER, a.get("severity")), a.get("store_id") or "", a.get("title", "")),
    )
    trends = sorted(
        _of_type(inputs.insights, "trend"),
        key=lambda t: (_rank(("high", "medium", "low"), t.get("significance")), t.get("title", "")),
    )
    recommendations = sorted(
        _of_type(inputs.insights, "recommendation"),
        key=lambda r: (_rank(fmt.PRIORITY_ORDER, r.get("priority")), r.get("title", "")),
    )
    engines = sorted({r.get("engine") for r in recommendations if r.get("engine")})
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
    return f"Store {store.get('store_id')} ({fmt.money(store.get('net_sales'))} net)"


def _summary_rows(inputs: ReportInputs, facts: _Facts) -> list[tuple[str, str]]:
    company = inputs.company
    return [
        ("Net sales", fmt.money(company.get("net_sales"))),
        ("Gross sales", fmt.money(company.get("total_sales"))),
        ("Discounts", fmt.money(company.get("total_discount"))),
        ("Transactions", fmt.count(company.get("transaction_count"))),
        ("Items sold", fmt.count(company.get("item_count"))),
        ("Average transaction", fmt.money(company.get("avg_transaction"))),
        ("Average net sales per store", fmt.money(company.get("avg_net_sales_per_store"))),
        ("Stores reporting", f"{len(facts.reported)}/{len(facts.expected)}"),
        ("Best store", _store_line(company.get("best_store"))),
        ("Worst store", _store_line(company.get("worst_store"))),
    ]


def _share(amount: Decimal, total: Decimal) -> str:
    return fmt.percent(amount / total * 100, signed=False) if total else "n/a"


def _trend_change(trend: Item) -> str:
    change = trend.get("metric_change_percent")
    if change is None:
        return ""
    # A payment mix shift moves a share, so its change is in percentage points.
    return f"{Decimal(str(change)):+.1f} points" if trend.get("type") == "payment_mix_shift" else fmt.percent(change)


def _trend_figures(trend: Item) -> str:
    return ", ".join(part for part in (trend.get("trend_direction") or "", _trend_change(trend)) if part)


def _list(values: object) -> str:
    return ", ".join(str(value) for value in values) if isinstance(values, (list, tuple)) and values else ""


# --------------------------------------------------------------------------- plain text


def _grouped(items: Sequence[Item], field: str, order: Sequence[str]) -> list[tuple[str, list[Item]]]:
    """Items in groups by `field`, in `order`; unknown values last as `other`."""
    groups = [(value, [i for i in items if i.get(field) == value]) for value in order]
    groups.append(("other", [i for i in items if i.get(field) not in order]))
    return [(label, group) for label, group in groups if group]


def _wrap(text: str | None, indent: str = "     ") -> list[str]:
    if not text:
        return []
    return textwrap.wrap(str(text), width=76, initial_indent=indent, subsequent_indent=indent)


def _text(inputs: ReportInputs, facts: _Facts) -> str:
    lines = [f"DAILY SALES REPORT - {inputs.day.isoformat()} ({inputs.day:%A})", "=" * 60, ""]
    lines += ["COMPANY SUMMARY", RULE]
    lines += [f"{label + ':':<30}{value}" for label, value in _summary_rows(inputs, facts)]

    lines += ["", "PAYMENT BREAKDOWN (net)", RULE]
    total = sum((amount for _, amount in facts.payments), Decimal(0))
    if not facts.payments:
        lines.append("No payments recorded.")
    for method, amount in facts.payments:
        lines.append(f"  {fmt.payment_method(method):<20}{fmt.money(amount):>14}  {_share(amount, total):>6}")

    lines += ["", "TOP PRODUCTS (net revenue)", RULE]
    if not facts.products:
        lines.append("No product figures for this day.")
    for position, product in enumerate(facts.products, 1):
        lines.append(
            f"{position}. {product.get('name')} ({product.get('sku')}): {fmt.count(product.get('units'))} units, "
            f"{fmt.money(product.get('net_revenue'))}"
        )

    lines += ["", "ANOMALIES", RULE]
    if not facts.anomalies:
        lines += _wrap(_no_anomalies_line(facts), indent="")
    for severity, group in _grouped(facts.anomalies, "severity", fmt.SEVERITY_ORDER):
        lines.append(f"{severity.upper()} ({len(group)})")
        for anomaly in group:
            store = f"Store {anomaly['store_id']}" if anomaly.get("store_id") else ""
            where = f"{store}: " if store and store not in (anomaly.get("title") or "") else ""
            lines.append(f"  - {where}{anomaly.get('title')}")
            lines += _wrap(anomaly.get("description"))
    if unchecked := _not_compared_line(facts):
        lines += _wrap(unchecked, indent="")

    lines += ["", "TRENDS", RULE]
    if not facts.trends:
        lines.append("No notable trends." if not facts.trend_notes else "No notable trends in what could be measured.")
    for trend in facts.trends:
        figures = _trend_figures(trend)
        lines.append(f"  -> {trend.get('title')}" + (f" ({figures})" if figures else ""))
        lines += _wrap(trend.get("description"))
    if unmeasured := _trend_notes_line(facts):
        lines += _wrap(unmeasured, indent="")

    lines += ["", "RECOMMENDATIONS", RULE, facts.engine_line]
    number = 0
    for priority, group in _grouped(facts.recommendations, "priority", fmt.PRIORITY_ORDER):
        lines.append(f"{priority.upper()} PRIORITY")
        for recommendation in group:
            number += 1
            category = f" [{recommendation['category']}]" if recommendation.get("category") else ""
            lines.append(f"  {number}. {recommendation.get('title')}{category}")
            lines += _wrap(recommendation.get("description"))
            if recommendation.get("expected_impact"):
                lines += _wrap(f"Expected impact: {recommendation['expected_impact']}")
            affected = [
                f"stores {_list(recommendation.get('affected_stores'))}" if _list(recommendation.get("affected_stores")) else "",
                f"products {_list(recommendation.get('affected_products'))}" if _list(recommendation.get("affected_products")) else "",
            ]
            if any(affected):
                lines += _wrap("Affects " + "; ".join(part for part in affected if part))

    lines += ["", "STORES MISSING", RULE]
    if facts.missing:
        lines.append(f"{len(facts.missing)} of {len(facts.expected)} expected stores sent no data: {', '.join(facts.missing)}")
    else:
        lines.append(f"None: all {len(facts.expected)} expected stores reported.")
    lines += ["", RULE, "Sales Data Platform"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- HTML

_STYLE = (
    "body{font-family:Arial,Helvetica,sans-serif;color:#222;max-width:760px}"
    "table{border-collapse:collapse;margin:6px 0 14px}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "td.num,th.num{text-align:right}th{background:#f2f2f2}"
    ".critical{color:#b00020;font-weight:bold}.warning{color:#b26a00;font-weight:bold}"
)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(inputs: ReportInputs, facts: _Facts, charts: Sequence[Chart], image_source: Callable[[Chart], str]) -> str:
    day = inputs.day
    parts = [
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{_e(subject_for(day))}</title>"
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Daily Sales Report &ndash; {_e(day.isoformat())} ({_e(f'{day:%A}')})</h1>",
        "<h2>Company summary</h2>",
        _table(["", ""], _summary_rows(inputs, facts), numeric=(1,)),
    ]
    for chart in charts:
        parts.append(
            f'<h2>{_e(chart.title)}</h2><img src="{_e(image_source(chart))}" alt="{_e(chart.title)}" width="720">'
        )
    total = sum((amount for _, amount in facts.payments), Decimal(0))
    parts += [
        "<h2>Payment breakdown (net)</h2>",
        _table(
            ["Method", "Net sales", "Share"],
            [(fmt.payment_method(m), fmt.money(a), _share(a, total)) for m, a in facts.payments],
            numeric=(1, 2),
        ),
        "<h2>Top products (net revenue)</h2>",
        _table(
            ["#", "Product", "SKU", "Units", "Net revenue"],
            [
                (i, p.get("name"), p.get("sku"), fmt.count(p.get("units")), fmt.money(p.get("net_revenue")))
                for i, p in enumerate(facts.products, 1)
            ],
            numeric=(0, 3, 4),
        ),
        "<h2>Anomalies</h2>",
    ]
    if facts.anomalies:
        rows = "".join(
            f'<tr><td class="{_e(a.get("severity"))}">{_e((a.get("severity") or "").capitalize())}</td>'
            f"<td>{_e(a.get('store_id') or '')}</td><td><b>{_e(a.get('title'))}</b><br>{_e(a.get('description'))}</td>"
            f'<td class="num">{_e(fmt.percent(a.get("deviation_percent")) if a.get("deviation_percent") is not None else "")}</td></tr>'
            for a in facts.anomalies
        )
        parts.append(
            "<table><thead><tr><th>Severity</th><th>Store</th><th>Anomaly</th><th class=\"num\">Deviation</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
    else:
        parts.append(f"<p>{_e(_no_anomalies_line(facts))}</p>")
    if unchecked := _not_compared_line(facts):
        parts.append(f"<p>{_e(unchecked)}</p>")
    parts.append("<h2>Trends</h2>")
    if facts.trends:
        parts.append(
            _table(
                ["Trend", "Direction", "Change", "Significance", "Details"],
                [
                    (
                        t.get("title"),
                        t.get("trend_direction") or "",
                        _trend_change(t),
                        t.get("significance") or "",
                        t.get("description"),
                    )
                    for t in facts.trends
                ],
                numeric=(2,),
            )
        )
    else:
        parts.append("<p>No notable trends.</p>" if not facts.trend_notes else "<p>No notable trends in what could be measured.</p>")
    if unmeasured := _trend_notes_line(facts):
        parts.append(f"<p>{_e(unmeasured)}</p>")
    parts += ["<h2>Recommendations</h2>", f"<p>{_e(facts.engine_line)}</p>"]
    if facts.recommendations:
        parts.append(
            _table(
                ["Priority", "Category", "Recommendation", "Expected impact", "Stores", "Products"],
                [
                    (
                        (r.get("priority") or "").capitalize(),
                        r.get("category") or "",
                        f"{r.get('title')}: {r.get('description')}" if r.get("description") else r.get("title"),
                        r.get("expected_impact") or "",
                        _list(r.get("affected_stores")),
                        _list(r.get("affected_products")),
                    )
                    for r in facts.recommendations
                ],
            )
        )
    parts.append("<h2>Stores missing</h2>")
    if facts.missing:
        parts.append(
            f"<p>{len(facts.missing)} of {len(facts.expected)} expected stores sent no data: "
            f"<b>{_e(', '.join(facts.missing))}</b></p>"
        )
    else:
        parts.append(f"<p>None: all {len(facts.expected)} expected stores reported.</p>")
    parts.append("<hr><p>Sales Data Platform</p></body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- the report


def build_daily_report(inputs: ReportInputs) -> DailyReport:
    facts = _facts(inputs)
    net_by_store = {store: None for store in facts.expected}
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
        text=_text(inputs, facts),
        charts=charts,
        engine=facts.engine,
        _html=lambda image_source: _html(inputs, facts, charts, image_source),
    )
