"""Abuse limits at both JSON edges of the real mesh: body size, page size, import size, rate
limit, CORS.

The body-size test is the regression test for Envoy's transcoder letting a transcoded JSON body
larger than ``max_request_body_size`` through to the service: the edge now caps bodies with the
buffer filter (except the streamed statement upload, which the service caps itself).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from finmesh.stack import envoy
from finmesh.stack.procs import free_port
from tests.plugins.mesh import Mesh
from tests.security.helpers import EDGES, assert_json_error, client, expense_body, user

MiB = 1024 * 1024


OVERSIZED = [
    ("/v1/expenses", lambda pad: expense_body(pad)),
    ("/v1/expenses:quickAdd", lambda pad: {"text": pad}),
    ("/v1/ml:parse", lambda pad: {"text": pad}),
    ("/v1/ml:classify", lambda pad: {"items": [{"description": pad}]}),
    ("/v1/budgets/2026-03/dining", lambda pad: {"limit": {"currencyCode": "GBP"}, "etag": pad}),
]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("path", "make"), OVERSIZED, ids=[p for p, _ in OVERSIZED])
async def test_a_json_body_over_16_mib_is_413_with_a_json_body_and_changes_nothing(
    mesh: Mesh, edge: str, chunked: bool, path: str, make: Any
) -> None:
    owner = user(f"big-{edge}")
    data = json.dumps(make("x" * (17 * MiB))).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(data), MiB):
            yield data[i : i + MiB]

    method = "PATCH" if path.startswith("/v1/budgets") else "POST"
    async with client(mesh, edge) as c:
        r = await c.request(
            method,
            path,
            content=pieces() if chunked else data,
            headers={**mesh.headers(owner), "content-type": "application/json"},
        )
        assert_json_error(r, 413)
        expenses = await c.get("/v1/expenses", headers=mesh.headers(owner))
        budgets = await c.get("/v1/budgets", headers=mesh.headers(owner))
    assert expenses.status_code == 200 and expenses.json()["expenses"] == []
    assert budgets.status_code == 200 and budgets.json()["budgets"] == []


@pytest.mark.parametrize("edge", EDGES)
async def test_a_large_body_under_the_cap_still_reaches_the_service(mesh: Mesh, edge: str) -> None:
    """The cap is not so low it blocks legitimate large requests: a 2 MiB description is the
    service's to judge (it answers 400 naming the field), not the edge's 413."""
    async with client(mesh, edge) as c:
        r = await c.post(
            "/v1/expenses", json=expense_body("y" * (2 * MiB)), headers=mesh.headers(user("mid"))
        )
    body = assert_json_error(r, 400)
    assert "description" in r.text, body


def _csv(size_bytes: int) -> bytes:
    lines = ["Date,Description,Amount"]
    line = "01/03/2026,CAPPED SHOP {i:08d} " + "z" * 100 + ",-1.00"
    total = len(lines[0]) + 1
    i = 0
    while total < size_bytes:
        text = line.format(i=i)
        lines.append(text)
        total += len(text) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("edge", EDGES)
async def test_a_statement_over_the_import_cap_is_refused_by_the_service_and_imports_nothing(
    mesh: Mesh, edge: str
) -> None:
    """21 MiB (the cap is 20 MiB): the upload is streamed past the edge's body buffer (so the
    refusal is the service's own, naming its cap), answered 413, and nothing is imported."""
    owner = user(f"bigimport-{edge}")
    data = _csv(21 * MiB)
    async with client(mesh, edge, timeout_seconds=180) as c:
        r = await c.post(
            "/v1/expenses:import?filename=big.csv&format=STATEMENT_FORMAT_CSV&currencyCode=GBP",
            content=data,
            headers={**mesh.headers(owner), "content-type": "text/csv"},
        )
        # Too large is 413 (do not retry), not RESOURCE_EXHAUSTED's canonical 429.
        body = assert_json_error(r, 413)
        assert body["code"] == 8
        assert any(d.get("reason") == "FILE_TOO_LARGE" for d in body["details"]), body
        assert "20 MiB" in r.json()["message"], r.text[:300]
        listed = await c.get("/v1/expenses?pageSize=1", headers=mesh.headers(owner))
    assert listed.status_code == 200
    assert listed.json()["expenses"] == []


LISTS = ["/v1/expenses", "/v1/budgets", "/v1/categories", "/v1/insights", "/v1/insights/recurring"]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("path", LISTS)
async def test_a_negative_page_size_is_400_naming_the_field(
    mesh: Mesh, edge: str, path: str
) -> None:
    async with client(mesh, edge) as c:
        r = await c.get(f"{path}?pageSize=-1", headers=mesh.headers(user("pagesize")))
    body = assert_json_error(r, 400)
    violations = [
        v
        for d in body["details"]
        if d.get("@type", "").endswith("google.rpc.BadRequest")
        for v in d.get("fieldViolations", [])
    ]
    assert any(v["field"] in ("page_size", "pageSize") for v in violations), body


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("path", LISTS)
async def test_a_page_size_over_500_is_refused_or_clamped(mesh: Mesh, edge: str, path: str) -> None:
    async with client(mesh, edge) as c:
        r = await c.get(f"{path}?pageSize=100000", headers=mesh.headers(user("pagesize")))
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_json_error(r, 400)
        assert "page" in r.text.lower()


async def test_page_size_501_returns_at_most_500_expenses(mesh: Mesh) -> None:
    """A user with 600 expenses asks for 501 per page: 400, or 500 and a next page token."""
    owner = user("clamp")
    lines = ["Date,Description,Amount"] + [
        f"{1 + i % 28:02d}/03/2026,CLAMP SHOP {i:05d},-1.00" for i in range(600)
    ]
    async with client(mesh, "envoy", timeout_seconds=120) as c:
        imported = await c.post(
            "/v1/expenses:import?format=STATEMENT_FORMAT_CSV&currencyCode=GBP",
            content=("\n".join(lines) + "\n").encode(),
            headers={**mesh.headers(owner), "content-type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["importedCount"] == 600
        for edge in EDGES:
            async with client(mesh, edge, timeout_seconds=120) as e:
                r = await e.get("/v1/expenses?pageSize=501", headers=mesh.headers(owner))
            if r.status_code == 400:
                assert_json_error(r, 400)
                continue
            assert r.status_code == 200, r.text[:300]
            assert len(r.json()["expenses"]) == 500
            assert r.json()["nextPageToken"]


# ---------------------------------------------------------------- local rate limit


@pytest.fixture
def limited_envoy(mesh: Mesh, tmp_path: Path) -> Iterator[str]:
    """A second Envoy, rendered by the same generator with a tiny token bucket (2 requests,
    refilled at 1 per second), in front of the mesh's services."""
    settings = dataclasses.replace(
        mesh.stack.envoy_settings(),
        listen_port=free_port(),
        admin_port=free_port(),
        rate_limit_per_second=1,
        rate_limit_burst=2,
    )
    config = envoy.write_config(settings, tmp_path / "envoy-limited.json")
    envoy.validate(config)
    log = (tmp_path / "envoy-limited.log").open("w")
    proc = subprocess.Popen(
        [*envoy.command(config), "--base-id", str(free_port())],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{settings.listen_port}"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.admin_port}") as admin:
            for _ in range(100):
                try:
                    if admin.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                pytest.fail("the rate-limited Envoy never became ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def test_envoy_local_rate_limit_answers_429_with_a_json_body(
    mesh: Mesh, limited_envoy: str
) -> None:
    headers = mesh.headers(user("ratelimit"))
    async with httpx.AsyncClient(base_url=limited_envoy, timeout=30) as c:
        responses = [await c.get("/v1/categories", headers=headers) for _ in range(8)]
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) >= 1, statuses
        limited = [r for r in responses if r.status_code == 429]
        assert len(limited) >= 4, statuses
        body = assert_json_error(limited[0], 429)
        assert body["code"] == 8  # RESOURCE_EXHAUSTED
        # The bucket refills: after a pause the caller is served again.
        await asyncio.sleep(2.5)
        again = await c.get("/v1/categories", headers=headers)
    assert again.status_code == 200, again.text


def test_the_default_rate_limit_is_high_enough_for_benchmarks() -> None:
    s = envoy.EnvoySettings(
        listen_port=1, admin_port=2, upstreams={}, jwks_path=Path("x"), issuer="i", audience="a"
    )
    assert s.rate_limit_per_second >= 1000 and s.rate_limit_burst >= s.rate_limit_per_second


# ---------------------------------------------------------------- CORS


def _preflight_headers(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }


async def test_cors_preflight_from_the_dashboard_origin_is_allowed(mesh: Mesh) -> None:
    origin = f"http://localhost:{mesh.cfg.ports.frontend}"
    async with client(mesh, "envoy") as c:
        r = await c.options("/v1/expenses", headers=_preflight_headers(origin))
        simple = await c.get(
            "/v1/categories", headers={**mesh.headers(user("cors")), "origin": origin}
        )
    assert r.status_code == 200, r.text
    assert r.headers.get("access-control-allow-origin") == origin
    assert "POST" in r.headers.get("access-control-allow-methods", "")
    assert "authorization" in r.headers.get("access-control-allow-headers", "").lower()
    assert simple.status_code == 200
    assert simple.headers.get("access-control-allow-origin") == origin


@pytest.mark.parametrize("edge", EDGES)
async def test_cors_from_another_origin_gets_no_allow_origin(mesh: Mesh, edge: str) -> None:
    evil = "http://evil.example"
    async with client(mesh, edge) as c:
        pre = await c.options("/v1/expenses", headers=_preflight_headers(evil))
        simple = await c.get(
            "/v1/categories", headers={**mesh.headers(user("cors")), "origin": evil}
        )
    for r in (pre, simple):
        assert "access-control-allow-origin" not in r.headers, r.headers
        assert r.status_code < 500
    assert "access-control-allow-credentials" not in pre.headers
