"""The Bedrock engine against botocore's Stubber: the Converse request it sends, the answers it
accepts, and the rules answering instead whenever Bedrock fails or talks nonsense."""

import json
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY, Stubber

from sales_platform.domain.bedrock_conversation import estimate_cost, numbers_in
from sales_platform.domain.recommendation_rules import recommend_by_rules
from sales_platform.resources.recommendation_engines import BedrockEngine, RulesEngine, bedrock_client_factory
from sales_platform_tests.analysis_samples import facts

MODEL = "amazon.nova-lite-v1:0"

GOOD = {
    "recommendations": [
        {
            "priority": "high",
            "category": "operations",
            "title": "Send a technician to store 0003",
            "description": "Store 0003 took $812.40, 58.2% under its usual $1,941.10; check the tills first.",
            "affected_stores": ["0003"],
            "affected_products": [],
            "expected_impact": "About $1,128.70 a day back.",
        },
        {
            "priority": "Medium",
            "category": "Inventory",
            "title": "Order more whole milk",
            "description": "Whole milk sold 240 units, double its average.",
            "affected_stores": [],
            "affected_products": ["GRO-1001"],
            "expected_impact": "No empty milk shelves this weekend.",
        },
    ],
    "descriptions": {
        "historical_low-0003": "Store 0003 sold $812.40 on the day: 58.2% under the $1,941.10 of its last 5 Thursdays, "
        "10.7 times its usual spread of 8.5%.",
        "product_trend-GRO-1001": "Whole Milk 1 gal (GRO-1001) doubled: 250 units against 120.0 a day over 7 days, +100.0%.",
        "no-such-insight": "Made up.",
    },
}


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def stubber(client):
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def answer(text: str, input_tokens: int = 1200, output_tokens: int = 300, stop: str = "end_turn") -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 850},
    }


EXPECTED_REQUEST = {
    "modelId": MODEL,
    "system": ANY,
    "messages": ANY,
    "inferenceConfig": {"maxTokens": 2500, "temperature": 0.2},
}


class Clock:
    """A clock the engine's backoff advances instead of sleeping."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def engine(client, clock: Clock | None = None, timeout: float = 60, model: str = MODEL) -> BedrockEngine:
    clock = clock or Clock()
    return BedrockEngine(model, timeout, client_factory=lambda: client, sleep=clock.sleep, clock=clock)


def test_a_good_answer_becomes_the_days_recommendations_with_tokens_and_cost(client, stubber) -> None:
    sent = {}
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", lambda params, **_: sent.update(params)
    )
    stubber.add_response("converse", answer(json.dumps(GOOD)), EXPECTED_REQUEST)

    result = engine(client).recommend(facts())

    assert result.engine == "bedrock" and result.fallback_reason is None
    assert [(r.priority, r.category, r.title) for r in result.recommendations] == [
        ("high", "operations", "Send a technician to store 0003"),
        ("medium", "inventory", "Order more whole milk"),
    ]
    assert (result.input_tokens, result.output_tokens, result.attempts) == (1200, 300, 1)
    # Nova Lite: 1,200 x 0.00006 / 1,000 + 300 x 0.00024 / 1,000
    assert result.estimated_cost_usd == Decimal("0.000144")
    # The model saw the day's facts: the anomaly with its id and numbers, the missing store.
    prompt = sent["messages"][0]["content"][0]["text"]
    assert "historical_low-0003" in prompt and "$812.40" in prompt and '"0004"' in prompt
    assert "JSON" in sent["system"][0]["text"]


def test_reworded_descriptions_are_kept_only_with_the_same_numbers(client, stubber) -> None:
    stubber.add_response("converse", answer(json.dumps(GOOD)), EXPECTED_REQUEST)

    result = engine(client).recommend(facts())

    # The anomaly keeps $812.40, 58.2%, 5, $1,941.10, 8.5 and 10.7; the trend's "250 units" is not the 240 sold.
    assert set(result.descriptions) == {"historical_low-0003"}
    assert result.rejected_descriptions == 2
    assert numbers_in(result.descriptions["historical_low-0003"]) >= numbers_in(facts().anomalies[0].description)


def test_an_answer_in_a_json_code_fence_is_accepted(client, stubber) -> None:
    fenced = "Here are my recommendations:\n```json\n" + json.dumps(GOOD, indent=2) + "\n```\nHope this helps."
    stubber.add_response("converse", answer(fenced), EXPECTED_REQUEST)

    result = engine(client).recommend(facts())

    assert result.engine == "bedrock" and len(result.recommendations) == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I'm sorry, I can't help with that.", "no JSON object"),
        ('{"recommendations": [{"priority": "high"', "not valid JSON"),
        (json.dumps({"recommendations": []}), "recommendations"),
        (json.dumps({"recommendations": [{**GOOD["recommendations"][0], "category": "finance"}]}), "category"),
        (json.dumps({"recommendations": [{**GOOD["recommendations"][0], "affected_stores": ["0099"]}]}), "0099"),
    ],
    ids=["prose", "cut-off-json", "empty", "unknown-category", "made-up-store"],
)
def test_garbage_gives_the_rules_answer_and_says_why(client, stubber, text, reason) -> None:
    stubber.add_response("converse", answer(text), EXPECTED_REQUEST)

    result = engine(client).recommend(facts())

    assert result.engine == "rules" and result.requested_engine == "bedrock"
    assert result.recommendations == recommend_by_rules(facts())
    assert "unusably" in result.fallback_reason and reason in result.fallback_reason
    assert result.descriptions == {}
    assert (result.input_tokens, result.output_tokens) == (1200, 300)  # paid for all the same


def test_an_answer_cut_off_at_the_token_limit_is_not_used(client, stubber) -> None:
    stubber.add_response("converse", answer(json.dumps(GOOD), stop="max_tokens"), EXPECTED_REQUEST)

    result = engine(client).recommend(facts())

    assert result.engine == "rules" and "cut off" in result.fallback_reason


def test_throttling_is_retried_with_growing_pauses_then_succeeds(client, stubber) -> None:
    stubber.add_client_error(
        "converse", "ThrottlingException", "Too many requests", 429, expected_params=EXPECTED_REQUEST
    )
    stubber.add_client_error(
        "converse", "ThrottlingException", "Too many requests", 429, expected_params=EXPECTED_REQUEST
    )
    stubber.add_response("converse", answer(json.dumps(GOOD)), EXPECTED_REQUEST)
    clock = Clock()

    result = engine(client, clock).recommend(facts())

    assert result.engine == "bedrock" and result.attempts == 3
    assert len(clock.sleeps) == 2
    assert 0.8 <= clock.sleeps[0] <= 1.2 and 1.6 <= clock.sleeps[1] <= 2.4  # exponential, with jitter


def test_throttling_that_outlasts_the_timeout_gives_the_rules_answer(client, stubber) -> None:
    for _ in range(3):
        stubber.add_client_error(
            "converse", "ThrottlingException", "Too many requests", 429, expected_params=EXPECTED_REQUEST
        )
    clock = Clock()

    result = engine(client, clock, timeout=5).recommend(facts())

    # Pauses of about 1 and 2 seconds fit in 5 s; the next one (about 4) would not.
    assert result.engine == "rules" and result.attempts == 3 and len(clock.sleeps) == 2
    assert "ThrottlingException" in result.fallback_reason and "BEDROCK_TIMEOUT_SECONDS=5" in result.fallback_reason


def test_a_permanent_error_gives_the_rules_answer_at_once(client, stubber) -> None:
    stubber.add_client_error(
        "converse", "AccessDeniedException", "You don't have access to the model", 403, expected_params=EXPECTED_REQUEST
    )
    clock = Clock()

    result = engine(client, clock).recommend(facts())

    assert result.engine == "rules" and result.attempts == 1 and clock.sleeps == []
    assert result.fallback_reason == "Bedrock failed: AccessDeniedException: You don't have access to the model"
    assert result.recommendations == recommend_by_rules(facts())


def test_a_read_timeout_gives_the_rules_answer() -> None:
    class SlowClient:
        def converse(self, **_):
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    result = BedrockEngine(MODEL, 5, client_factory=SlowClient).recommend(facts())

    assert result.engine == "rules" and "ReadTimeoutError" in result.fallback_reason


def test_the_client_waits_no_longer_than_the_timeout_and_leaves_retries_to_the_engine(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = bedrock_client_factory("eu-west-1", 42)()

    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.read_timeout == 42
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_the_rules_engine_is_the_rules() -> None:
    result = RulesEngine().recommend(facts())

    assert result.engine == "rules" and result.requested_engine == "rules" and result.fallback_reason is None
    assert result.recommendations == recommend_by_rules(facts())


def test_cost_is_estimated_for_known_models_and_their_inference_profiles() -> None:
    assert estimate_cost("us.amazon.nova-lite-v1:0", 1000, 1000) == Decimal("0.00030")
    assert estimate_cost("some.other-model", 1000, 1000) is None
