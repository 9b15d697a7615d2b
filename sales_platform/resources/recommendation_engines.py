"""The two recommendation engines behind one interface: deterministic rules, and Amazon Bedrock
through the Converse API with the rules as fallback.

Bedrock is an outside service that can be slow, throttled, down or wrong. Throttling is retried
with exponential backoff inside one overall time limit; any other failure, and any answer that
does not validate, gives the rules' answer instead, with the reason and the tokens spent
recorded, so a day is never left without recommendations.
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable
from typing import Any

from sales_platform.domain.bedrock_conversation import (
    MAX_ANSWER_TOKENS,
    SYSTEM_PROMPT,
    AnswerRejected,
    build_prompt,
    estimate_cost,
    parse_answer,
)
from sales_platform.domain.recommendation_rules import recommend_by_rules
from sales_platform.domain.recommendations import AnalysisFacts, Engine, EngineAnswer, Recommendation, by_priority

# Bedrock's "slow down" answers; worth another try after a pause. Anything else is final.
RETRYABLE_CODES = frozenset({"ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException"})


class RecommendationEngine(abc.ABC):
    name: Engine

    @abc.abstractmethod
    def recommend(self, facts: AnalysisFacts) -> EngineAnswer:
        """Recommendations for the day; never raises for a failing outside service."""


class RulesEngine(RecommendationEngine):
    name: Engine = "rules"

    def recommend(self, facts: AnalysisFacts) -> EngineAnswer:
        return EngineAnswer(engine="rules", recommendations=recommend_by_rules(facts), requested_engine="rules")


class BedrockUnavailable(RuntimeError):
    """Bedrock did not answer in time or refused; the message says which."""


def bedrock_client_factory(region: str, timeout_seconds: int) -> Callable[[], Any]:
    """A `bedrock-runtime` client made on first use: loading the code location must not need
    AWS credentials. botocore's own retries are off; throttling is retried here, in budget."""

    def make() -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            read_timeout=timeout_seconds,
            connect_timeout=min(timeout_seconds, 10),
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        return boto3.client("bedrock-runtime", region_name=region, config=config)

    return make


class BedrockEngine(RecommendationEngine):
    name: Engine = "bedrock"

    def __init__(
        self,
        model_id: str,
        timeout_seconds: float,
        client_factory: Callable[[], Any],
        *,
        max_attempts: int = 5,
        first_delay_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_id = model_id
        self.timeout_seconds = timeout_seconds
        self._client_factory = client_factory
        self._client: Any = None
        self.max_attempts = max_attempts
        self.first_delay_seconds = first_delay_seconds
        self._sleep = sleep
        self._clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def recommend(self, facts: AnalysisFacts) -> EngineAnswer:
        baseline = recommend_by_rules(facts)
        usage = {"input_tokens": 0, "output_tokens": 0, "attempts": 0}
        try:
            text = self._converse(build_prompt(facts, baseline), usage)
            parsed = parse_answer(text, facts)
        except AnswerRejected as rejected:
            return self._fallback(baseline, f"Bedrock answered, but unusably: {rejected}", usage)
        except Exception as error:  # any failure of an outside service: the rules answer
            return self._fallback(baseline, f"Bedrock failed: {_describe(error)}", usage)
        return EngineAnswer(
            engine="bedrock",
            recommendations=by_priority(parsed.recommendations),
            descriptions=parsed.descriptions,
            requested_engine="bedrock",
            model_id=self.model_id,
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            estimated_cost_usd=estimate_cost(self.model_id, usage["input_tokens"], usage["output_tokens"]),
            attempts=usage["attempts"],
            rejected_descriptions=parsed.rejected_descriptions,
        )

    def _fallback(self, baseline: list[Recommendation], reason: str, usage: dict[str, int]) -> EngineAnswer:
        return EngineAnswer(
            engine="rules",
            recommendations=baseline,
            requested_engine="bedrock",
            fallback_reason=reason,
            model_id=self.model_id,
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            estimated_cost_usd=estimate_cost(self.model_id, usage["input_tokens"], usage["output_tokens"]),
            attempts=usage["attempts"],
        )

    def _converse(self, prompt: str, usage: dict[str, int]) -> str:
        from botocore.exceptions import ClientError

        deadline = self._clock() + self.timeout_seconds
        delay = self.first_delay_seconds
        while True:
            usage["attempts"] += 1
            try:
                response = self.client.converse(
                    modelId=self.model_id,
                    system=[{"text": SYSTEM_PROMPT}],
                    messages=[{"role": "user", "content": [{"text": prompt}]}],
                    inferenceConfig={"maxTokens": MAX_ANSWER_TOKENS, "temperature": 0.2},
                )
                break
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code not in RETRYABLE_CODES:
                    raise
                if usage["attempts"] >= self.max_attempts:
                    raise BedrockUnavailable(f"{code} on all {usage['attempts']} attempts") from None
                pause = delay * random.uniform(0.8, 1.2)
                if self._clock() + pause >= deadline:
                    raise BedrockUnavailable(
                        f"{code} after {usage['attempts']} attempt(s); no time left within "
                        f"BEDROCK_TIMEOUT_SECONDS={self.timeout_seconds:g}"
                    ) from None
                self._sleep(pause)
                delay *= 2
        tokens = response.get("usage", {})
        usage["input_tokens"] += int(tokens.get("inputTokens", 0))
        usage["output_tokens"] += int(tokens.get("outputTokens", 0))
        if response.get("stopReason") == "max_tokens":
            raise AnswerRejected(f"the answer was cut off at {MAX_ANSWER_TOKENS} tokens")
        parts = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(part.get("text", "") for part in parts)


def _describe(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        details = response["Error"]
        return f"{details.get('Code', type(error).__name__)}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"
