"""finmesh.devserver: the dashboard's static files, the dev-only token endpoint and the
same-origin forwarding of /v1/ to Envoy (against the real mesh)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from finmesh import auth
from finmesh.config import AuthConfig
from finmesh.devserver import DevServerConfig, make_server
from tests.plugins.mesh import Mesh


def _serve(cfg: DevServerConfig) -> Iterator[str]:
    server = make_server(replace(cfg, host="127.0.0.1", port=0))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text("<!doctype html><title>finmesh</title>")
    (d / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for you")
    return d


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return auth.generate_keys(tmp_path / "keys")


def _cfg(dist: Path, keys: Path, **kw: object) -> DevServerConfig:
    base = DevServerConfig(
        dist_dir=dist,
        host="127.0.0.1",
        port=0,
        envoy_port=1,
        keys_dir=keys,
        auth=AuthConfig(jwks_path=keys / auth.JWKS_FILE),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture
def dev_url(dist: Path, keys: Path) -> Iterator[str]:
    yield from _serve(_cfg(dist, keys, dev_tokens=True))


@pytest.fixture
def prod_url(dist: Path, keys: Path) -> Iterator[str]:
    yield from _serve(_cfg(dist, keys, dev_tokens=False))


def test_token_endpoint_is_off_unless_enabled(prod_url: str) -> None:
    r = httpx.post(f"{prod_url}/dev/token", json={"user": "alice"})
    assert r.status_code == 404
    assert "token" not in r.text
    assert httpx.get(f"{prod_url}/config.json").json() == {"apiBaseUrl": "", "devTokens": False}


def test_enabled_token_endpoint_signs_a_token_the_stack_accepts(dev_url: str, keys: Path) -> None:
    r = httpx.post(f"{dev_url}/dev/token", json={"user": "alice"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in r.headers
    body = r.json()
    principal = auth.TokenVerifier(AuthConfig(jwks_path=keys / auth.JWKS_FILE)).verify(
        body["token"]
    )
    assert principal.user_id == "alice"
    assert body["user"] == "alice"
    assert httpx.get(f"{dev_url}/config.json").json()["devTokens"] is True


@pytest.mark.parametrize(
    ("payload", "headers", "status"),
    [
        ({"user": ""}, {}, 400),
        ({"user": "../../etc"}, {}, 400),
        ({"user": "a" * 65}, {}, 400),
        ({"name": "alice"}, {}, 400),
        ("not json", {"content-type": "application/json"}, 400),
        ({"user": "alice"}, {"content-type": "text/plain"}, 415),
        ({"user": "alice"}, {"origin": "http://evil.example"}, 403),
    ],
)
def test_token_endpoint_refuses_bad_requests(
    dev_url: str, payload: object, headers: dict[str, str], status: int
) -> None:
    content = payload if isinstance(payload, str) else json.dumps(payload)
    h = {"content-type": "application/json", **headers}
    r = httpx.post(f"{dev_url}/dev/token", content=content, headers=h)
    assert r.status_code == status, r.text
    assert "token" not in r.json()


def test_static_files_with_spa_fallback_and_no_escape(dev_url: str) -> None:
    index = httpx.get(f"{dev_url}/")
    assert index.status_code == 200
    assert "<title>finmesh</title>" in index.text
    assert index.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in index.headers["content-security-policy"]
    asset = httpx.get(f"{dev_url}/assets/app-1234.js")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    # A client-side route gets the app; a missing asset does not.
    assert httpx.get(f"{dev_url}/budgets").text == index.text
    assert httpx.get(f"{dev_url}/assets/missing.js").status_code == 404
    # No path leaves dist/.
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        r = httpx.get(f"{dev_url}{path}")
        assert "not for you" not in r.text


def test_unbuilt_app_says_how_to_build_it(tmp_path: Path, keys: Path) -> None:
    for url in _serve(_cfg(tmp_path / "nothing", keys)):
        r = httpx.get(f"{url}/")
        assert r.status_code == 503
        assert "npm run build" in r.text


@pytest.fixture
def edge_url(mesh: Mesh, dist: Path) -> Iterator[str]:
    cfg = _cfg(dist, mesh.cfg.keys_dir, envoy_port=mesh.cfg.ports.envoy)
    yield from _serve(cfg)


async def test_api_calls_are_forwarded_to_envoy_unchanged(edge_url: str, mesh: Mesh) -> None:
    async with httpx.AsyncClient() as client:
        direct = await client.get(f"{mesh.envoy_url}/v1/categories", headers=mesh.headers("u1"))
        via = await client.get(f"{edge_url}/v1/categories", headers=mesh.headers("u1"))
        assert via.status_code == direct.status_code == 200
        assert via.json() == direct.json()
        # Envoy still checks the token.
        anon = await client.get(f"{edge_url}/v1/categories")
        assert anon.status_code == 401
        assert anon.json()["code"] == 16


async def test_the_watch_stream_passes_through_as_it_happens(edge_url: str, mesh: Mesh) -> None:
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{edge_url}/v1/insights:watch", headers=mesh.headers("u1")) as r,
    ):
        assert r.status_code == 200
        # The stream never ends by itself: the first message (a heartbeat sent on subscribe)
        # arriving proves chunks are forwarded as they come, not buffered to the end.
        first = b""
        async for chunk in r.aiter_bytes():
            first += chunk
            if b"}" in first:
                break
        assert b'"heartbeat"' in first
