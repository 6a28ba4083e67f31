"""The OpenAPI document says what the API answers (services/api/openapi.py): the fuzzer's
conformance checks are only as good as the document they check against."""

from __future__ import annotations

from typing import Any

from tests.support.api_app import ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]

PROBLEM = "#/components/schemas/Problem"
VALIDATION = "#/components/schemas/ValidationProblem"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in document["paths"].items() for m, op in item.items()]


def _schema(response: dict[str, Any]) -> str:
    return str(response["content"]["application/json"]["schema"].get("$ref"))


def test_every_error_is_documented_with_the_body_it_has(api: ApiWorld) -> None:
    document = api.admin().get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in str(document)
    problems = []
    for method, path, op in _operations(document):
        responses, label = op["responses"], f"{method} {path}"
        expected = set()
        if op.get("security"):
            expected |= {"401", "503"}
            if "APIKeyHeader" in op["security"][0]:
                expected.add("403")
        if "requestBody" in op:
            expected |= {"400", "413", "422"}
        if op.get("parameters"):
            expected.add("422")
        if missing := expected - responses.keys():
            problems.append(f"{label}: {sorted(missing)} not documented")
        for code, response in responses.items():
            if code >= "400":
                want = VALIDATION if code == "422" else PROBLEM
                if _schema(response) != want:
                    problems.append(f"{label}: {code} is {_schema(response)}, not {want}")
    assert not problems, "\n".join(problems)


def test_a_422_has_the_documented_shape(api: ApiWorld) -> None:
    document = api.admin().get("/api/v1/openapi.json").json()
    schema = document["components"]["schemas"]["ValidationProblem"]
    answer = api.admin().post("/api/v1/users", json={"login": 1, "shell": []})
    assert answer.status_code == 422
    body = answer.json()
    assert set(body) <= set(schema["properties"]) and set(schema["required"]) <= set(body)
    assert isinstance(body["detail"], str) and body["errors"]
    assert all(set(e) == {"field", "problem"} for e in body["errors"]), body
