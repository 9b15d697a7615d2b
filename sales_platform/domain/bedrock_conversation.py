"""What the platform says to a Bedrock model and how its answer is checked, free of any AWS
call (the resource in `resources/recommendation_engines.py` does the talking).

The model gets the day's facts as JSON and must answer with one JSON object: recommendations
following the `Recommendation` schema, and optionally clearer wording for anomaly and trend
descriptions. Anything else (prose, a cut-off answer, a store or product that does not exist)
rejects the answer and the rules answer instead. A reworded description is kept only if it
carries exactly the numbers of the original: the model may phrase, never compute.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sales_platform.domain.money import to_cents
from sales_platform.domain.recommendations import MAX_RECOMMENDATIONS, AnalysisFacts, Recommendation

PROMPT_ANOMALIES = 30
PROMPT_TRENDS = 20
PROMPT_PRODUCTS = 10
MAX_ANSWER_TOKENS = 2500

SYSTEM_PROMPT = (
    "You are a retail operations analyst for a chain of stores. You receive one business day's "
    "figures, anomalies and trends as JSON, all computed exactly. Reply with a single JSON object "
    "and nothing else:\n"
    '{"recommendations": [{"priority": "high|medium|low", "category": "inventory|marketing|operations|strategy", '
    '"title": "...", "description": "...", "affected_stores": ["0001"], "affected_products": ["SKU"], '
    '"expected_impact": "..."}], "descriptions": {"<anomaly or trend id>": "clearer wording"}}\n'
    f"Give 3 to {MAX_RECOMMENDATIONS} recommendations, most important first, each concrete and actionable, "
    "naming only store ids and SKUs that appear in the facts and quoting the facts' numbers. "
    "In `descriptions` you may reword anomaly and trend descriptions for a store manager; keep every "
    "number, date and store id exactly as written and add no new number. Omit `descriptions` if unsure."
)

# Published on-demand prices in US dollars per 1,000 tokens (input, output), for the metadata's
# cost estimate; a model not listed gets token counts without a cost.
PRICES_PER_1K_TOKENS: dict[str, tuple[Decimal, Decimal]] = {
    "amazon.nova-micro-v1:0": (Decimal("0.000035"), Decimal("0.00014")),
    "amazon.nova-lite-v1:0": (Decimal("0.00006"), Decimal("0.00024")),
    "amazon.nova-pro-v1:0": (Decimal("0.0008"), Decimal("0.0032")),
    "anthropic.claude-3-haiku-20240307-v1:0": (Decimal("0.00025"), Decimal("0.00125")),
    "anthropic.claude-3-5-haiku-20241022-v1:0": (Decimal("0.0008"), Decimal("0.004")),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (Decimal("0.003"), Decimal("0.015")),
}
_INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")


class AnswerRejected(ValueError):
    """The model's answer cannot be used; the message says why, for the run's metadata."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    recommendations: list[Recommendation] = Field(min_length=1, max_length=MAX_RECOMMENDATIONS)
    descriptions: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class ParsedAnswer:
    recommendations: list[Recommendation]
    descriptions: dict[str, str]
    rejected_descriptions: int


def _number(value: Decimal) -> float:
    return float(to_cents(value)) if value == to_cents(value) else float(value)


def build_prompt(facts: AnalysisFacts, baseline: list[Recommendation]) -> str:
    """The user message: the day's facts, and the rules engine's advice as a starting point."""
    company = facts.company
    document = {
        "date": facts.business_date.isoformat(),
        "company": {
            "net_sales": _number(company.net_sales),
            "gross_sales": _number(company.total_sales),
            "discounts": _number(company.total_discount),
            "transactions": company.transaction_count,
            "avg_transaction": _number(to_cents(company.avg_transaction)),
            "stores_reported": len(company.reported_stores),
            "stores_expected": len(company.expected_stores),
            "missing_stores": company.missing_stores,
            "best_store": {"store_id": company.best_store.store_id, "net_sales": _number(company.best_store.net_sales)}
            if company.best_store
            else None,
            "worst_store": {
                "store_id": company.worst_store.store_id,
                "net_sales": _number(company.worst_store.net_sales),
            }
            if company.worst_store
            else None,
            "payment_breakdown": {method: _number(amount) for method, amount in company.payment_breakdown.items()},
        },
        "top_products": [
            {"sku": p.sku, "name": p.name, "units": p.units, "net_revenue": _number(p.net_revenue)}
            for p in facts.top_products[:PROMPT_PRODUCTS]
        ],
        "anomalies": [
            {
                "id": a.insight_id,
                "type": a.type,
                "severity": a.severity,
                "store_id": a.store_id,
                "description": a.description,
            }
            for a in facts.anomalies[:PROMPT_ANOMALIES]
        ],
        "trends": [
            {
                "id": t.insight_id,
                "type": t.type,
                "direction": t.trend_direction,
                "significance": t.significance,
                "description": t.description,
            }
            for t in facts.trends[:PROMPT_TRENDS]
        ],
        "baseline_recommendations": [r.model_dump() for r in baseline],
    }
    return "Facts for the day:\n" + json.dumps(document, indent=1)


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _json_text(text: str) -> str:
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start == -1:
        raise AnswerRejected(f"no JSON object in the answer: {text.strip()[:120]!r}")
    return text[start : end + 1] if end > start else text[start:]


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> Counter[str]:
    """Dates, then numbers (1,941.10 and 1941.1 are the same; signs are in the words)."""
    found: Counter[str] = Counter(_DATE.findall(text))
    for token in _NUMBER.findall(_DATE.sub(" ", text)):
        try:
            found[str(Decimal(token.replace(",", "")).normalize())] += 1
        except InvalidOperation:
            found[token] += 1
    return found


def _same_numbers(original: str, reworded: str, also_allowed: str) -> bool:
    before, after = numbers_in(original), numbers_in(reworded)
    allowed = set(before) | set(numbers_in(also_allowed))
    return all(after[number] >= count for number, count in before.items()) and set(after) <= allowed


def parse_answer(text: str, facts: AnalysisFacts) -> ParsedAnswer:
    """The model's reply, validated; raises AnswerRejected saying what is wrong."""
    try:
        document = json.loads(_json_text(text))
    except json.JSONDecodeError as error:
        raise AnswerRejected(f"the answer is not valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(document, dict):
        raise AnswerRejected("the answer is not a JSON object")
    try:
        answer = _Answer.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AnswerRejected(f"the answer does not follow the recommendation schema: {where}: {first['msg']}") from None
    stores = set(facts.company.expected_stores) | set(facts.company.reported_stores)
    products = {p.sku for p in facts.top_products} | {t.subject for t in facts.trends if t.type == "product_trend"}
    for recommendation in answer.recommendations:
        unknown = [s for s in recommendation.affected_stores if s not in stores]
        unknown += [p for p in recommendation.affected_products if p not in products]
        if unknown:
            raise AnswerRejected(f"a recommendation names {', '.join(unknown)}, not in the day's facts")
    originals = {a.insight_id: (a.description, f"{a.title} {a.store_id}") for a in facts.anomalies[:PROMPT_ANOMALIES]}
    originals |= {t.insight_id: (t.description, t.title) for t in facts.trends[:PROMPT_TRENDS]}
    descriptions = {}
    for insight_id, reworded in answer.descriptions.items():
        original = originals.get(insight_id)
        if original and reworded.strip() and _same_numbers(original[0], reworded, original[1]):
            descriptions[insight_id] = reworded.strip()
    return ParsedAnswer(answer.recommendations, descriptions, len(answer.descriptions) - len(descriptions))


def estimate_cost(model_id: str, input_tokens: int, output_tokens: int) -> Decimal | None:
    model = model_id
    for prefix in _INFERENCE_PROFILE_PREFIXES:
        model = model.removeprefix(prefix)
    prices = PRICES_PER_1K_TOKENS.get(model)
    if prices is None:
        return None
    return (prices[0] * input_tokens + prices[1] * output_tokens) / 1000
