"""Headers a client may legally send over HTTP/1.1 but gRPC metadata cannot carry never turn
into a server error. (Found by the fuzz test: Envoy forwarded a header named ``a&b`` and the
service's gRPC core refused the call with INTERNAL "Illegal header key".)"""

from __future__ import annotations

import pytest

from tests.plugins.mesh import Mesh
from tests.security.helpers import EDGES, client, user


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("name", ["a&b", "x~y", "dollar$", "back`tick", "pct%20", "star*", "q'"])
async def test_a_header_name_grpc_cannot_carry_is_dropped_not_a_500(
    mesh: Mesh, edge: str, name: str
) -> None:
    async with client(mesh, edge) as c:
        r = await c.get("/v1/categories", headers={**mesh.headers(user("hdr")), name: "value"})
        created = await c.post(
            "/v1/expenses",
            json={
                "amount": {"currencyCode": "GBP", "units": "2"},
                "description": "Header test",
            },
            headers={**mesh.headers(user("hdr")), name: "value"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["categories"]
    assert created.status_code == 200, created.text
