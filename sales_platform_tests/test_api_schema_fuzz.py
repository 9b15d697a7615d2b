"""Property-based run over the API's own OpenAPI document (schemathesis + Hypothesis): for every
operation, generated requests (with the key, against a day of data) never get a 5xx, and every
answer matches the documented status codes, content type and schema."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sales_platform_tests.api_support import API_KEY, Api

# Hundreds of generated requests per operation: seconds each.
pytestmark = pytest.mark.slow

OPERATIONS = [
    ("GET", "/health"),
    ("POST", "/generate-upload-url"),
    ("GET", "/files"),
    ("POST", "/generate-download-url"),
    ("GET", "/analytics"),
    ("GET", "/trends"),
    ("PUT", "/bucket/{key}"),
    ("GET", "/bucket/{key}"),
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _schema(api: Api):
    return schemathesis.openapi.from_asgi("/openapi.json", api.app)


def test_every_operation_is_fuzzed(loaded: Api) -> None:
    served = {
        (method.upper(), path) for path, methods in _schema(loaded).raw_schema["paths"].items() for method in methods
    }
    assert served == set(OPERATIONS)


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error_and_answers_match_the_schema(loaded: Api, method: str, path: str) -> None:
    operation = _schema(loaded)[path][method]

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
    )
    def requests_never_break_the_api(case) -> None:
        response = case.call(headers={"X-Api-Key": API_KEY})
        case.validate_response(response, checks=CHECKS)

    requests_never_break_the_api()
