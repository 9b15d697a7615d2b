"""The legacy API contract that the dashboard and the store upload scripts already call: every
path, method, parameter and response field it names is served, in our OpenAPI document and in
real answers.

The contract is `shared/contracts/legacy-api-openapi.yaml`; the repository keeps a copy in
docs/contracts/ so a clone alone can run this, and checks the copy against the original when
the shared folder sits beside the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sales_platform_tests.api_support import DAY, Api

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / "docs" / "contracts" / "legacy-api-openapi.yaml"
SHARED_CONTRACT = REPO.parent / "shared" / "contracts" / "legacy-api-openapi.yaml"
JSON_TYPES = {"string": str, "integer": int, "array": list, "object": dict, "number": (int, float), "boolean": bool}
# Fields the issue names for a listed file (the YAML only says `object`).
FILE_FIELDS = {"key", "name", "size", "last_modified", "status", "partitions", "error"}


def _contract() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT.read_text())


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method != "options"  # CORS preflight, answered by the middleware
    ]


CONTRACT_OPERATIONS = _operations(_contract())
OPERATION_IDS = [f"{method.upper()} {path}" for path, method, _ in CONTRACT_OPERATIONS]


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    if "anyOf" in schema:  # Optional[...]: the non-null branch
        branches = [branch for branch in schema["anyOf"] if branch.get("type") != "null"]
        if len(branches) == 1:
            return {**_resolve(branches[0], document), **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def _json_type(schema: dict[str, Any], document: dict[str, Any]) -> str | None:
    return _resolve(schema, document).get("type")


def test_the_repository_copy_is_the_shared_contract() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"no shared folder beside the repository ({SHARED_CONTRACT.parent})")
    assert CONTRACT.read_bytes() == SHARED_CONTRACT.read_bytes()


def test_the_contract_names_the_five_endpoints() -> None:
    assert {(path, method) for path, method, _ in CONTRACT_OPERATIONS} == {
        ("/generate-upload-url", "post"),
        ("/files", "get"),
        ("/generate-download-url", "post"),
        ("/analytics", "get"),
        ("/trends", "get"),
    }


@pytest.mark.parametrize("path,method,operation", CONTRACT_OPERATIONS, ids=OPERATION_IDS)
def test_our_openapi_document_keeps_every_path_parameter_and_field(
    api: Api, path: str, method: str, operation: dict
) -> None:
    ours = api.anonymous().get("/openapi.json").json()
    assert path in ours["paths"] and method in ours["paths"][path], f"{method.upper()} {path} is not served"
    served = ours["paths"][path][method]

    our_parameters = {(p["name"], p["in"]): p for p in served.get("parameters", [])}
    for parameter in operation.get("parameters", []):
        mine = our_parameters.get((parameter["name"], parameter["in"]))
        assert mine is not None, f"parameter {parameter['name']} ({parameter['in']}) is missing"
        assert not mine.get("required") or parameter.get("required"), f"{parameter['name']} became required"
        theirs, schema = parameter["schema"], _resolve(mine["schema"], ours)
        if "type" in theirs and theirs["type"] != "string":
            assert schema.get("type") == theirs["type"], parameter["name"]
        if "enum" in theirs:
            assert set(theirs["enum"]) <= set(schema.get("enum", [])), f"{parameter['name']} lost enum values"
        if "default" in theirs:
            assert schema.get("default") == theirs["default"], f"{parameter['name']} default changed"

    if "requestBody" in operation:
        their_body = operation["requestBody"]["content"]["application/json"]["schema"]
        our_body = _resolve(served["requestBody"]["content"]["application/json"]["schema"], ours)
        for name in their_body.get("properties", {}):
            assert name in our_body["properties"], f"request field {name} is missing"
        assert set(their_body.get("required", [])) <= set(our_body.get("required", []))

    their_fields = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    our_response = _resolve(served["responses"]["200"]["content"]["application/json"]["schema"], ours)
    for name, schema in their_fields.items():
        assert name in our_response["properties"], f"response field {name} is missing"
        assert _json_type(our_response["properties"][name], ours) == schema["type"], (
            f"response field {name} changed type"
        )


# --------------------------------------------------------------------------- real answers


def _request(api: Api, path: str, method: str) -> Any:
    if path == "/generate-upload-url":
        return api.client.post(path, json={"filename": "store_0001_2025-11-27.json"})
    if path == "/generate-download-url":
        return api.client.post(path, json={"key": "processed/year=2025/month=11/day=27/store_id=0001/data.parquet"})
    return api.client.request(method.upper(), path)


@pytest.mark.parametrize("path,method,operation", CONTRACT_OPERATIONS, ids=OPERATION_IDS)
def test_real_answers_carry_every_contract_field(loaded: Api, path: str, method: str, operation: dict) -> None:
    answer = _request(loaded, path, method)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for name, schema in operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"].items():
        assert name in body, f"{name} missing from {method.upper()} {path}"
        assert isinstance(body[name], JSON_TYPES[schema["type"]]), (
            f"{name} is {type(body[name]).__name__}, not {schema['type']}"
        )
        item_type = schema.get("items", {}).get("type")
        if item_type:
            assert all(isinstance(item, JSON_TYPES[item_type]) for item in body[name]), name
        if schema["type"] == "array":
            assert body[name], f"{name} is empty in the fixture, so its items were not checked"


def test_listed_files_carry_the_fields_the_dashboard_reads(loaded: Api) -> None:
    files = loaded.client.get("/files").json()["files"]
    assert {entry["status"] for entry in files} == {"processed", "rejected"}
    for entry in files:
        assert FILE_FIELDS <= set(entry), entry
    processed = next(entry for entry in files if entry["status"] == "processed")
    assert processed["partitions"] == {"year": "2025", "month": "11", "day": "27", "store_id": "0001", "date": DAY}
    rejected = next(entry for entry in files if entry["status"] == "rejected")
    assert rejected["error"] == "line 1: bad JSON" and rejected["partitions"] is None


def test_time_series_points_are_named_as_the_charts_expect(loaded: Api) -> None:
    point = loaded.client.get("/trends").json()["time_series"][0]
    assert set(point) == {
        "date",
        "total_sales",
        "total_transactions",
        "reported_stores",
        "0001_sales",
        "0001_transactions",
        "0002_sales",
        "0002_transactions",
    }


@pytest.mark.parametrize("path,method", sorted({(p, m) for p, m, _ in CONTRACT_OPERATIONS}))
def test_every_contract_path_answers_the_cors_preflight(api: Api, path: str, method: str) -> None:
    answer = api.anonymous().options(
        path,
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": method.upper(),
            # What the legacy API Gateway allowed, so whatever the dashboard sends still passes.
            "Access-Control-Request-Headers": "content-type,x-amz-date,authorization,x-api-key,x-amz-security-token",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
