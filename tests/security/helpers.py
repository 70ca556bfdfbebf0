"""Shared bits of the security tests: both JSON edges, fresh users, JSON error checks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.plugins.mesh import Mesh

EDGES = ("envoy", "gateway")


def user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def edge_url(mesh: Mesh, edge: str) -> str:
    return mesh.envoy_url if edge == "envoy" else mesh.gateway_url


@asynccontextmanager
async def client(
    mesh: Mesh, edge: str, timeout_seconds: float = 60
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge_url(mesh, edge), timeout=timeout_seconds) as c:
        yield c


def expense_body(description: str, units: int = 3, day: int = 14) -> dict[str, Any]:
    return {
        "amount": {"currencyCode": "GBP", "units": str(units), "nanos": 500_000_000},
        "description": description,
        "date": {"year": 2026, "month": 3, "day": day},
    }


def assert_json_error(resp: httpx.Response, status: int) -> dict[str, Any]:
    """``status`` with the contract's error body ``{"code","message","details"}``."""
    assert resp.status_code == status, f"{resp.status_code} {resp.text[:500]}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and {"code", "message", "details"} <= set(body), body
    assert isinstance(body["code"], int) and isinstance(body["details"], list), body
    return body
