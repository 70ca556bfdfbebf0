"""Every bad token is refused everywhere: 401 with a JSON body at Envoy and at the gateway on
every REST route, UNAUTHENTICATED from Envoy's native gRPC and from every service directly on
every business RPC (taken from the descriptors, called with empty requests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest

from tests import tokens
from tests.plugins.mesh import Mesh
from tests.security.helpers import EDGES, assert_json_error, edge_url
from tests.security.rpcs import Rpc, all_rpcs

RPCS = all_rpcs()
BAD_KINDS = [
    "missing",
    "expired",
    "not_yet_valid",
    "other_key",
    "alg_none",
    "hs256_public_key",
    "wrong_issuer",
    "wrong_audience",
    "garbage",
    "not_bearer",
    "empty_bearer",
]


@pytest.fixture(scope="module")
def bad_authorizations(mesh: Mesh, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    bad: dict[str, Any] = {
        kind: f"Bearer {token}"
        for kind, token in tokens.bad_tokens(
            mesh.cfg.keys_dir, tmp_path_factory.mktemp("badkeys"), mesh.cfg.auth
        ).items()
    }
    bad["missing"] = None
    bad["not_bearer"] = f"Basic {mesh.token('u1')}"
    bad["empty_bearer"] = "Bearer"
    assert set(bad) == set(BAD_KINDS)
    return bad


def test_the_descriptors_give_every_rpc() -> None:
    assert len(RPCS) >= 18
    assert {r.owner for r in RPCS} == {"expense_svc", "ml_svc", "insight_svc"}


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.id)
async def test_every_rest_route_refuses_every_bad_token_with_401_json(
    mesh: Mesh, bad_authorizations: dict[str, Any], edge: str, rpc: Rpc
) -> None:
    method, path = rpc.http()
    async with httpx.AsyncClient(base_url=edge_url(mesh, edge), timeout=30) as c:
        for kind, authorization in bad_authorizations.items():
            headers = {"authorization": authorization} if authorization else {}
            kwargs: dict[str, Any] = {"headers": headers}
            if method in ("POST", "PATCH"):
                kwargs["content"] = b"{}"
                headers["content-type"] = "application/json"
            r = await c.request(method, path, **kwargs)
            body = assert_json_error(r, 401)
            assert body["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0], (kind, body)


async def _call(channel: grpc.aio.Channel, rpc: Rpc, metadata: tuple[tuple[str, str], ...]) -> Any:
    req = rpc.empty_request()
    ident = (lambda b: b, lambda b: b)
    m = rpc.method
    if m.client_streaming:
        call = channel.stream_unary(rpc.grpc_path, *ident)

        async def one() -> AsyncIterator[bytes]:
            yield req

        return await call(one(), metadata=metadata, timeout=20)
    if m.server_streaming:
        stream = channel.unary_stream(rpc.grpc_path, *ident)(req, metadata=metadata, timeout=20)
        return [x async for x in stream]
    return await channel.unary_unary(rpc.grpc_path, *ident)(req, metadata=metadata, timeout=20)


@pytest.mark.parametrize("via", ["direct", "envoy"])
@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.id)
async def test_every_rpc_refuses_every_bad_token_with_unauthenticated(
    mesh: Mesh, bad_authorizations: dict[str, Any], via: str, rpc: Rpc
) -> None:
    target = mesh.target(rpc.owner) if via == "direct" else mesh.envoy_target
    async with grpc.aio.insecure_channel(target) as channel:
        for kind, authorization in bad_authorizations.items():
            metadata = (("authorization", authorization),) if authorization else ()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await _call(channel, rpc, metadata)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, (
                kind,
                info.value.code(),
                info.value.details(),
            )


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.id)
async def test_a_valid_token_passes_authentication_on_every_rpc_directly(
    mesh: Mesh, rpc: Rpc
) -> None:
    """The refusals above are about the token: with a good one the same empty request gets a
    business answer (success or a validation error), never UNAUTHENTICATED or INTERNAL."""
    async with mesh.channel(rpc.owner) as channel:
        try:
            if rpc.method.server_streaming:
                stream = channel.unary_stream(rpc.grpc_path, lambda b: b, lambda b: b)(
                    rpc.empty_request(), metadata=mesh.metadata("jwt-ok"), timeout=2
                )
                async for _ in stream:
                    break
                stream.cancel()
                return
            await _call(channel, rpc, mesh.metadata("jwt-ok"))
        except grpc.aio.AioRpcError as err:
            assert err.code() not in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.UNKNOWN,
            ), (err.code(), err.details())


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt"])
async def test_refusal_of_a_path_with_non_latin1_characters_is_401_not_500(
    mesh: Mesh, edge: str, authorization: str | None
) -> None:
    """The gateway's WWW-Authenticate header named the decoded path; a character outside
    latin-1 made that a 500 (found by the fuzz test)."""
    headers = {"authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=edge_url(mesh, edge), timeout=30) as c:
        r = await c.get("/v1/budgets/%F3%A5%94%B5%C3%94/%E2%82%AC", headers=headers)
    assert_json_error(r, 401)
    assert "www-authenticate" in r.headers
