"""The mesh as users reach it: JSON through Envoy, native gRPC through Envoy, gRPC direct.

Proves the plumbing every later capability stands on: the edge routes and transcodes, every
layer demands a valid token, health and reflection stay public.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from finance.expense.v1 import expense_service_pb2, expense_service_pb2_grpc
from finance.insight.v1 import insight_service_pb2, insight_service_pb2_grpc
from finance.ml.v1 import categorizer_service_pb2, categorizer_service_pb2_grpc
from finmesh.taxonomy import CATEGORY_IDS
from tests import tokens
from tests.plugins.mesh import Mesh

BAD_TOKEN_KINDS = [
    "missing",
    "expired",
    "not_yet_valid",
    "other_key",
    "alg_none",
    "hs256_public_key",
    "wrong_issuer",
    "wrong_audience",
    "garbage",
]


def _bad_authorization(mesh: Mesh, tmp_path: Path, kind: str) -> str | None:
    if kind == "missing":
        return None
    token = tokens.bad_tokens(mesh.cfg.keys_dir, tmp_path, mesh.cfg.auth)[kind]
    return f"Bearer {token}"


async def test_valid_token_through_envoy_reaches_service_and_returns_proto3_json(
    mesh: Mesh,
) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.get("/v1/categories", headers=mesh.headers("u1"))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    ids = {c["id"] for c in body["categories"]}
    assert ids >= CATEGORY_IDS
    first = body["categories"][0]
    # proto3 JSON: camelCase names, primitive defaults printed.
    assert set(first) >= {"id", "displayName", "description", "userDefined"}
    assert "grpc-status" not in resp.headers


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
async def test_bad_token_is_401_at_envoy_with_json_body(
    mesh: Mesh, tmp_path: Path, kind: str
) -> None:
    authorization = _bad_authorization(mesh, tmp_path, kind)
    headers = {"authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.get("/v1/categories", headers=headers)
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert body["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert body["message"]


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
@pytest.mark.parametrize("service", ["expense_svc", "ml_svc", "insight_svc"])
async def test_bad_token_is_unauthenticated_at_each_service_directly(
    mesh: Mesh, tmp_path: Path, kind: str, service: str
) -> None:
    authorization = _bad_authorization(mesh, tmp_path, kind)
    metadata = (("authorization", authorization),) if authorization else ()
    async with mesh.channel(service) as channel:
        call: Any = {
            "expense_svc": lambda: expense_service_pb2_grpc.ExpenseServiceStub(
                channel
            ).ListCategories(expense_service_pb2.ListCategoriesRequest(), metadata=metadata),
            "ml_svc": lambda: categorizer_service_pb2_grpc.CategorizerServiceStub(channel).GetModel(
                categorizer_service_pb2.GetModelRequest(), metadata=metadata
            ),
            "insight_svc": lambda: insight_service_pb2_grpc.InsightServiceStub(
                channel
            ).ListInsights(insight_service_pb2.ListInsightsRequest(), metadata=metadata),
        }[service]
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call()
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_native_grpc_through_envoy_requires_a_token(mesh: Mesh) -> None:
    async with grpc.aio.insecure_channel(mesh.envoy_target) as channel:
        stub = expense_service_pb2_grpc.ExpenseServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListCategories(expense_service_pb2.ListCategoriesRequest())
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        resp = await stub.ListCategories(
            expense_service_pb2.ListCategoriesRequest(), metadata=mesh.metadata("u1")
        )
    assert {c.id for c in resp.categories} >= CATEGORY_IDS


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("expense_svc", {"finance.expense.v1.ExpenseService", "finance.expense.v1.BudgetService"}),
        ("ml_svc", {"finance.ml.v1.CategorizerService"}),
        ("insight_svc", {"finance.insight.v1.InsightService"}),
    ],
)
async def test_health_and_reflection_need_no_token(
    mesh: Mesh, service: str, expected: set[str]
) -> None:
    async with mesh.channel(service) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = set()
        async for resp in responses:
            names |= {s.name for s in resp.list_services_response.service}
    assert expected | {"grpc.health.v1.Health"} <= names


async def test_unknown_route_and_unknown_query_parameter_get_json_errors(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        missing = await client.get("/v1/nothing-here", headers=mesh.headers("u1"))
        bogus = await client.get("/v1/categories?bogus=1", headers=mesh.headers("u1"))
    assert missing.status_code == 404
    assert missing.json()["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert bogus.status_code == 400
    assert "bogus" in bogus.json()["message"]


async def test_failed_requests_are_logged_with_request_and_user_id(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.get(
            "/v1/expenses/does-not-exist",
            headers={**mesh.headers("log-user"), "x-request-id": "req-plumbing-2"},
        )
    assert resp.status_code >= 400
    log_text = (mesh.cfg.logs_dir / "expense_svc.log").read_text()
    lines = [line for line in log_text.splitlines() if "req-plumbing-2" in line]
    assert lines, log_text[-2000:]
    assert '"user_id": "log-user"' in lines[0]


async def test_invalid_utf8_in_a_path_is_400_not_a_server_error(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url) as client:
        resp = await client.get("/v1/expenses/%FF%FE", headers=mesh.headers("u1"))
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
