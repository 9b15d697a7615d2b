"""What the daily analysis writes: table items keyed by `table_keys`, the working
documents each step leaves in the bucket for the next, and the fingerprint that says which
uploads a day's analysis was made from.

Every key is built from the day and a stable id, so a rerun replaces items instead of adding
copies; item sets that can shrink on a rerun are written with `replace_items`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sales_platform.domain.anomalies import Anomaly, AnomalyReport
from sales_platform.domain.company_metrics import CompanyDayMetrics
from sales_platform.domain.money import to_cents
from sales_platform.domain.product_metrics import ProductDay
from sales_platform.domain.recommendations import EngineAnswer, Recommendation, recommendation_ids
from sales_platform.domain.table_items import sales_totals
from sales_platform.domain.table_keys import (
    company_summary_key,
    insight_index_key,
    insight_key,
    item_keys,
    product_day_index_key,
    product_day_key,
)
from sales_platform.domain.trends import Trend, TrendReport
from sales_platform.domain.utc_time import utc_timestamp

TRIGGERS = ("complete", "scheduled", "manual")


def analysis_fingerprint(tracking_items: Iterable[Mapping[str, Any]]) -> str:
    """Which version of which store's upload a day's figures come from. A late store or a
    corrected file changes it; the same data always gives the same fingerprint."""
    parts = sorted(f"{i['store_id']}:{i.get('source_file', '')}:{i.get('source_version', '')}" for i in tracking_items)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def company_figures(metrics: CompanyDayMetrics) -> dict[str, Any]:
    """The company's day as the summary item and the dashboard's KPIs carry it, in cents. The
    best and worst store are ranked by net sales and carry their gross beside it, and the old
    system's `avg_store_sales` (gross per store) sits beside the net `avg_net_sales_per_store`."""
    store = lambda s: (  # noqa: E731
        {"store_id": s.store_id, "net_sales": to_cents(s.net_sales), "total_sales": to_cents(s.total_sales or 0)}
        if s
        else None
    )
    return {
        **sales_totals(metrics),
        "avg_net_sales_per_store": to_cents(metrics.avg_net_sales_per_store),
        "avg_store_sales": to_cents(metrics.avg_store_sales),  # gross, the old system's name and meaning
        "stores_reported": len(metrics.reported_stores),
        "stores_expected": len(metrics.expected_stores),
        "reported_stores": list(metrics.reported_stores),
        "missing_stores": list(metrics.missing_stores),
        "best_store": store(metrics.best_store),
        "worst_store": store(metrics.worst_store),
    }


def company_summary_item(
    metrics: CompanyDayMetrics, *, trigger: str, fingerprint: str, analyzed_at: dt.datetime
) -> dict[str, Any]:
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger is one of {', '.join(TRIGGERS)}, not {trigger!r}")
    return {
        **item_keys(company_summary_key(metrics.date)),
        "item_type": "COMPANY_SUMMARY",
        "date": metrics.date.isoformat(),
        **company_figures(metrics),
        "trigger": trigger,
        # The uploads this analysis is made from; it counts as done for them only once the whole
        # day is through (`analysis_finished`), so a run stopped half-way is run again.
        "analysing_fingerprint": fingerprint,
        "source_fingerprint": None,
        "analyzed_at": utc_timestamp(analyzed_at),
    }


def analysis_finished(company_summary: dict[str, Any]) -> dict[str, Any]:
    """The company summary of a day whose analysis went all the way through."""
    return {**company_summary, "source_fingerprint": company_summary["analysing_fingerprint"]}


def product_day_items(business_date: dt.date, products: Iterable[ProductDay]) -> list[dict[str, Any]]:
    day = business_date.isoformat()
    return [
        {
            **item_keys(product_day_key(day, p.sku), product_day_index_key(day, p.sku)),
            "item_type": "PRODUCT_DAY",
            "date": day,
            "sku": p.sku,
            "name": p.name,
            "units": p.units,
            "gross_revenue": to_cents(p.gross_revenue),
            "net_revenue": to_cents(p.net_revenue),
            "stores_sold": p.stores_sold,
            "rank": p.rank,
        }
        for p in products
    ]


def _insight(
    business_date: dt.date, insight_type: str, insight_id: str, engine: str, written_at: dt.datetime
) -> dict[str, Any]:
    day = business_date.isoformat()
    return {
        **item_keys(insight_key(day, insight_type, insight_id), insight_index_key(day, insight_type)),
        "item_type": "INSIGHT",
        "date": day,
        "insight_type": insight_type,
        "insight_id": insight_id,
        "engine": engine,
        "written_at": utc_timestamp(written_at),
    }


def coverage_items(
    business_date: dt.date, anomalies: AnomalyReport, trends: TrendReport, written_at: dt.datetime
) -> list[dict[str, Any]]:
    """What the day's analysis could not look at, as two `coverage` insights (`anomalies`,
    `trends`): the report says it instead of calling those stores normal."""
    anomaly_item = _insight(business_date, "coverage", "anomalies", "rules", written_at)
    anomaly_item.update(
        compared_stores=list(anomalies.compared_stores),
        not_compared=[{"store_id": store, "reason": why} for store, why in sorted(anomalies.not_compared.items())],
        notes=list(anomalies.notes),
    )
    trend_item = _insight(business_date, "coverage", "trends", "rules", written_at)
    trend_item.update(notes=list(trends.notes))
    return [anomaly_item, trend_item]


def insight_items(
    business_date: dt.date,
    anomalies: Iterable[Anomaly],
    trends: Iterable[Trend],
    answer: EngineAnswer,
    written_at: dt.datetime,
) -> list[dict[str, Any]]:
    """Anomalies, trends and recommendations as insight items. An anomaly or trend whose
    description the model reworded (numbers unchanged) says `bedrock`; the others `rules`."""
    items = []
    for anomaly in anomalies:
        description = answer.descriptions.get(anomaly.insight_id)
        item = _insight(business_date, "anomaly", anomaly.insight_id, "bedrock" if description else "rules", written_at)
        item.update(dataclasses.asdict(anomaly), description=description or anomaly.description)
        items.append(item)
    for trend in trends:
        description = answer.descriptions.get(trend.insight_id)
        item = _insight(business_date, "trend", trend.insight_id, "bedrock" if description else "rules", written_at)
        item.update(dataclasses.asdict(trend), description=description or trend.description)
        del item["subject"]
        items.append(item)
    for insight_id, recommendation in zip(
        recommendation_ids(answer.engine, len(answer.recommendations)), answer.recommendations
    ):
        item = _insight(business_date, "recommendation", insight_id, answer.engine, written_at)
        item.update(recommendation.model_dump())
        items.append(item)
    return items


# --------------------------------------------------------------------------- bucket documents


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # cents and tenths: the shortest float text is the same number
    raise TypeError(f"cannot write {type(value).__name__}")


def render_document(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, default=_plain, indent=1, ensure_ascii=False).encode()


def read_document(data: bytes) -> dict[str, Any]:
    return json.loads(data, parse_float=Decimal)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def anomalies_document(business_date: dt.date, report: AnomalyReport) -> dict[str, Any]:
    return {
        "date": business_date.isoformat(),
        "anomalies": [dataclasses.asdict(a) for a in report.anomalies],
        "notes": report.notes,
        "compared_stores": report.compared_stores,
        "not_compared": report.not_compared,
    }


_ANOMALY_NUMBERS = ("metric_value", "historical_average", "deviation_percent", "robust_z")


def anomaly_report_from(document: Mapping[str, Any]) -> AnomalyReport:
    anomalies = []
    for entry in document["anomalies"]:
        numbers = {k: _decimal(entry.get(k)) for k in _ANOMALY_NUMBERS}
        anomalies.append(Anomaly(**{**entry, **numbers}))
    return AnomalyReport(
        anomalies,
        list(document.get("notes", [])),
        list(document.get("compared_stores", [])),
        dict(document.get("not_compared", {})),
    )


def trends_document(business_date: dt.date, report: TrendReport) -> dict[str, Any]:
    return {
        "date": business_date.isoformat(),
        "trends": [dataclasses.asdict(t) for t in report.trends],
        "notes": report.notes,
    }


def trend_report_from(document: Mapping[str, Any]) -> TrendReport:
    trends = [
        Trend(**{**entry, "metric_change_percent": _decimal(entry["metric_change_percent"])})
        for entry in document["trends"]
    ]
    return TrendReport(trends, list(document.get("notes", [])))


def recommendations_document(business_date: dt.date, answer: EngineAnswer) -> dict[str, Any]:
    document = dataclasses.asdict(answer)
    document["recommendations"] = [r.model_dump() for r in answer.recommendations]
    return {"date": business_date.isoformat(), **document}


def engine_answer_from(document: Mapping[str, Any]) -> EngineAnswer:
    fields = {f.name for f in dataclasses.fields(EngineAnswer)}
    values = {k: v for k, v in document.items() if k in fields}
    values["recommendations"] = [Recommendation.model_validate(r) for r in document["recommendations"]]
    values["estimated_cost_usd"] = _decimal(document.get("estimated_cost_usd"))
    return EngineAnswer(**values)
