"""The gateway's own refusals, in-process (no upstream is reached): body size, bad bytes,
unknown methods. Each is a JSON error with the right status, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from finmesh import auth
from finmesh.config import AuthConfig
from gateway.app import create_app
from gateway.config import GatewayConfig

UNREACHABLE = {"expense_svc": "127.0.0.1:1", "ml_svc": "127.0.0.1:1", "insight_svc": "127.0.0.1:1"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    keys = auth.generate_keys(tmp_path / "keys")
    cfg = GatewayConfig(
        auth=AuthConfig(jwks_path=keys / auth.JWKS_FILE),
        targets=UNREACHABLE,
        max_request_bytes=64 * 1024,
    )
    token = auth.sign_token(keys, cfg.auth, "limits-user")
    app = create_app(cfg)
    await app.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gw",
            headers={"authorization": f"Bearer {token}"},
        ) as c:
            yield c
    finally:
        await app.stop()


async def test_a_body_over_the_limit_is_413_with_a_json_body(client: httpx.AsyncClient) -> None:
    big = b'{"text":"' + b"a" * (70 * 1024) + b'"}'
    r = await client.post("/v1/ml:parse", content=big)
    assert r.status_code == 413
    assert r.json() == {"code": 8, "details": [], "message": "Payload Too Large"}


@pytest.mark.parametrize(
    ("method", "url", "body", "needle"),
    [
        ("POST", "/v1/ml:parse", b'{"text":"\\ud800"}', "Invalid request"),
        ("POST", "/v1/ml:parse", b"\xff\xfe{}", "Invalid JSON"),
        ("POST", "/v1/ml:parse", b"[" * 50_000, "Invalid JSON"),
        ("GET", "/v1/expenses?query=%FF", b"", "UTF-8"),
        ("GET", "/v1/expenses/%FF", b"", "not UTF-8"),
        ("POST", "/v1/expenses", b'{"amount":{"units":1e400}}', "invalid value"),
    ],
)
async def test_bad_bytes_are_400_not_500(
    client: httpx.AsyncClient, method: str, url: str, body: bytes, needle: str
) -> None:
    r = await client.request(method, url, content=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == 3
    assert needle in r.json()["message"]


async def test_head_and_unknown_methods_are_json_404s(client: httpx.AsyncClient) -> None:
    head = await client.head("/v1/categories")
    assert head.status_code == 404 and head.content == b""
    r = await client.put("/v1/categories")
    assert r.status_code == 404
    assert r.json()["message"] == "Could not resolve /v1/categories to a method."


async def test_an_unreachable_service_is_503_unavailable(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/categories")
    assert r.status_code == 503
    assert r.json()["code"] == 14
