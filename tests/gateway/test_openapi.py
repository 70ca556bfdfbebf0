"""The OpenAPI document and the gateway's own pages, generated from the descriptor set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from finmesh import auth
from finmesh.config import AuthConfig
from gateway import descriptors, openapi
from gateway.app import create_app
from gateway.config import DESCRIPTOR_SET, GatewayConfig


def _annotated_rpcs() -> set[str]:
    """Every RPC with a google.api.http option, read straight from the descriptor set."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    out = set()
    for f in fds.file:
        for s in f.service:
            for m in s.method:
                if m.options.HasExtension(annotations_pb2.http):
                    out.add(f"{f.package}.{s.name}/{m.name}")
    return out


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi.build(descriptors.load(DESCRIPTOR_SET))


def test_every_annotated_rpc_is_an_operation(spec: dict[str, Any]) -> None:
    ops = {
        op["x-grpc-method"].lstrip("/"): op
        for item in spec["paths"].values()
        for op in item.values()
    }
    assert set(ops) == _annotated_rpcs()
    assert len(ops) >= 20
    for full, op in ops.items():
        assert op["operationId"] == full.rsplit("/", 1)[1]
        assert op["tags"] == [full.split("/")[0].rsplit(".", 1)[1]]
        assert op["description"], full


def test_paths_methods_and_parameters_follow_the_annotations(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    get = paths["/v1/expenses/{id}"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in get["parameters"]] == [
        ("id", "path", True)
    ]
    update = paths["/v1/budgets/{budget.month}/{budget.category}"]["patch"]
    names = {p["name"]: p["in"] for p in update["parameters"]}
    assert names["budget.month"] == "path" and names["budget.category"] == "path"
    assert names["updateMask"] == "query" and names["allowMissing"] == "query"
    assert update["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "finance.expense.v1.Budget"
    )
    listing = {p["name"] for p in paths["/v1/expenses"]["get"]["parameters"]}
    assert listing == {"pageSize", "pageToken", "month", "category", "query"}
    quick = paths["/v1/expenses:quickAdd"]["post"]
    assert "parameters" not in quick  # body "*": everything is in the body
    imp = paths["/v1/expenses:import"]["post"]
    assert imp["requestBody"]["content"]["*/*"]["schema"]["format"] == "binary"
    assert {p["name"] for p in imp["parameters"]} >= {"filename", "format", "currencyCode"}
    watch = paths["/v1/insights:watch"]["get"]["responses"]["200"]
    assert watch["content"]["application/json"]["schema"]["type"] == "array"


def test_schemas_carry_proto_comments_and_field_behaviour(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    expense = schemas["finance.expense.v1.Expense"]
    assert expense["description"]
    props = expense["properties"]
    assert set(props) >= {"id", "amount", "description", "categorySource", "createTime"}
    assert props["amount"]["description"]
    assert props["categorySource"]["readOnly"] is True
    assert props["createTime"]["format"] == "date-time"
    assert set(expense["required"]) == {"amount", "description"}
    money = schemas["google.type.Money"]["properties"]
    assert money["units"] == {**money["units"], "type": "string", "format": "int64"}
    direction = schemas["finance.expense.v1.Direction"]
    assert direction["enum"] == ["DIRECTION_UNSPECIFIED", "DIRECTION_DEBIT", "DIRECTION_CREDIT"]
    status = schemas["google.rpc.Status"]["properties"]
    assert set(status) == {"code", "message", "details"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]


def _cfg(tmp_path: Path) -> GatewayConfig:
    keys = auth.generate_keys(tmp_path / "keys")
    return GatewayConfig(
        auth=AuthConfig(jwks_path=keys / auth.JWKS_FILE),
        targets={
            "expense_svc": "127.0.0.1:1",
            "ml_svc": "127.0.0.1:1",
            "insight_svc": "127.0.0.1:1",
        },
    )


async def test_gateway_serves_openapi_docs_health_and_json_404s(tmp_path: Path) -> None:
    app = create_app(_cfg(tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        served = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
        health = await client.get("/healthz")
        missing = await client.get("/nothing")
        unauthenticated = await client.get("/v1/categories")
    assert served == openapi.build(descriptors.load(DESCRIPTOR_SET))
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert health.json() == {"status": "SERVING"}
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 5,
        "details": [],
        "message": "Could not resolve /nothing to a method.",
    }
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"code": 16, "details": [], "message": "Jwt is missing"}
