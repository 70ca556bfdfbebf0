"""Bytes that are not UTF-8 where a string belongs (path, query, JSON body) are a client error
at both edges, never a 5xx."""

from __future__ import annotations

import pytest

from tests.plugins.mesh import Mesh
from tests.security.helpers import EDGES, assert_json_error, client, user

CASES = [
    ("GET", "/v1/expenses/%FF%FE", b""),
    ("GET", "/v1/expenses?query=%FF", b""),
    ("GET", "/v1/insights/summary?month=%C3%28", b""),
    ("GET", "/v1/budgets/%FF/groceries", b""),
    ("DELETE", "/v1/expenses/%C0%AF", b""),
    ("POST", "/v1/ml:parse", b'{"text":"\xff\xfe"}'),
    (
        "POST",
        "/v1/expenses",
        b'{"description":"\xc3\x28","amount":{"currencyCode":"GBP","units":"1"}}',
    ),
    ("POST", "/v1/expenses:quickAdd", b'{"text":"\\ud800 coffee 3"}'),
]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize(("method", "url", "body"), CASES, ids=[f"{m} {u}" for m, u, _ in CASES])
async def test_bytes_that_are_not_utf8_are_a_4xx_with_a_json_body(
    mesh: Mesh, edge: str, method: str, url: str, body: bytes
) -> None:
    async with client(mesh, edge) as c:
        r = await c.request(
            method,
            url,
            content=body or None,
            headers={**mesh.headers(user("bytes")), "content-type": "application/json"},
        )
    assert 400 <= r.status_code < 500, f"{r.status_code} {r.text[:300]}"
    assert_json_error(r, r.status_code)
