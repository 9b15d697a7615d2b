"""What a recommendation is, whichever engine writes it, and what an engine is given and gives
back. The schema is also the contract a Bedrock answer is validated against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sales_platform.domain.anomalies import Anomaly
from sales_platform.domain.company_metrics import CompanyDayMetrics
from sales_platform.domain.insight_levels import LEVELS, Level, rank
from sales_platform.domain.product_metrics import ProductDay
from sales_platform.domain.trends import Trend

Engine = Literal["rules", "bedrock"]
MAX_RECOMMENDATIONS = 10

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1500)]


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    priority: Level
    category: Literal["inventory", "marketing", "operations", "strategy"]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]
    description: Text
    affected_stores: list[str] = Field(default_factory=list, max_length=100)
    affected_products: list[str] = Field(default_factory=list, max_length=100)
    expected_impact: Text

    @field_validator("priority", "category", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def by_priority(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Highest priority first, at most MAX_RECOMMENDATIONS; the order is otherwise kept."""
    ranked = sorted(enumerate(recommendations), key=lambda pair: (rank(LEVELS, pair[1].priority), pair[0]))
    return [recommendation for _, recommendation in ranked][:MAX_RECOMMENDATIONS]


def recommendation_ids(engine: Engine, count: int) -> list[str]:
    """Stable ids by position: the same analysis gives the same list in the same order, and
    the items of a rerun replace the earlier ones."""
    return [f"{engine}-{n:02d}" for n in range(1, count + 1)]


@dataclass(frozen=True)
class AnalysisFacts:
    """Everything an engine may base its recommendations on."""

    business_date: dt.date
    company: CompanyDayMetrics
    top_products: list[ProductDay]
    anomalies: list[Anomaly]
    trends: list[Trend]
    # The stores the anomalies compared with their history (None: every store that reported),
    # and those they could not, with why: no claim of a normal range for those.
    compared_stores: Sequence[str] | None = None
    not_compared: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineAnswer:
    engine: Engine  # the engine that produced the recommendations
    recommendations: list[Recommendation]
    # insight id -> reworded description (Bedrock only; numbers checked unchanged)
    descriptions: dict[str, str] = field(default_factory=dict)
    requested_engine: Engine = "rules"
    fallback_reason: str | None = None
    model_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_cost_usd: Decimal | None = None
    attempts: int = 0
    rejected_descriptions: int = 0
