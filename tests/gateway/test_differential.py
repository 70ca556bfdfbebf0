"""The gateway and Envoy are one API: the same request gets the same status and the same JSON.

Every request here goes to Envoy (``mesh.envoy_url``) and to the FastAPI gateway
(``mesh.gateway_url``) of the real mesh; bodies are compared as parsed JSON (key order does not
matter, everything else does). Volatile fields are ignored only where the request itself makes
them differ (a compute timestamp; the ids and times of a resource each edge creates). Reads of
data that moves on its own (enrichment, insight projections) are compared only when two reads
through Envoy around the gateway's read agree, so a difference can only come from the edges.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import tokens
from tests.plugins.mesh import Mesh

VOLATILE_CREATE = frozenset({"id", "etag", "createTime", "updateTime", "expenseIds"})


@dataclass
class Edges:
    mesh: Mesh
    envoy: httpx.AsyncClient
    gateway: httpx.AsyncClient

    async def both(
        self, method: str, url: str, user: str | None, **kwargs: Any
    ) -> tuple[httpx.Response, httpx.Response]:
        headers = dict(kwargs.pop("headers", {}) or {})
        if user is not None:
            headers.update(self.mesh.headers(user))
        e = await self.envoy.request(method, url, headers=headers, **kwargs)
        g = await self.gateway.request(method, url, headers=headers, **kwargs)
        return e, g


@pytest.fixture
async def edges(mesh: Mesh) -> AsyncIterator[Edges]:
    async with (
        httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as envoy,
        httpx.AsyncClient(base_url=mesh.gateway_url, timeout=30) as gateway,
    ):
        yield Edges(mesh, envoy, gateway)


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _strip(value: Any, ignore: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, ignore) for k, v in value.items() if k not in ignore}
    if isinstance(value, list):
        return [_strip(v, ignore) for v in value]
    return value


def _body(resp: httpx.Response) -> Any:
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    return resp.json()


def assert_same(e: httpx.Response, g: httpx.Response, ignore: frozenset[str] = frozenset()) -> Any:
    """Same status, same JSON (ignoring ``ignore`` keys anywhere). Returns Envoy's body."""
    assert (e.status_code, _strip(_body(e), ignore)) == (g.status_code, _strip(_body(g), ignore)), (
        f"\nenvoy   {e.status_code} {e.text}\ngateway {g.status_code} {g.text}"
    )
    assert e.status_code < 500, e.text
    return e.json()


async def assert_same_when_stable(
    edges: Edges, method: str, url: str, user: str, ignore: frozenset[str] = frozenset()
) -> Any:
    """Envoy, gateway, Envoy again; compare when the two Envoy answers agree (data at rest)."""
    for _ in range(20):
        e1, g = await edges.both(method, url, user)
        e2 = await edges.envoy.request(method, url, headers=edges.mesh.headers(user))
        if (e1.status_code, _strip(e1.json(), ignore)) == (
            e2.status_code,
            _strip(e2.json(), ignore),
        ):
            return assert_same(e1, g, ignore)
        await asyncio.sleep(0.25)
    pytest.fail(f"{method} {url} never gave the same answer twice in a row")


async def settled_expense(edges: Edges, url: str, user: str) -> dict[str, Any]:
    """The expense once enrichment has been applied (its etag no longer moves on its own)."""
    deadline = asyncio.get_running_loop().time() + 120  # the ML path is slow on a busy machine
    while asyncio.get_running_loop().time() < deadline:
        r = await edges.envoy.get(url, headers=edges.mesh.headers(user))
        assert r.status_code == 200, r.text
        if r.json()["enrichmentState"] != "ENRICHMENT_STATE_PENDING":
            return dict(r.json())
        await asyncio.sleep(0.25)
    pytest.fail(f"{url} was never enriched")


def _expense(description: str, units: int = 3, nanos: int = 500_000_000) -> dict[str, Any]:
    return {
        "amount": {"currencyCode": "GBP", "units": str(units), "nanos": nanos},
        "description": description,
        "date": {"year": 2026, "month": 3, "day": 14},
    }


# Requests whose answer does not depend on anything created before them.
STATIC_CASES: list[tuple[str, str, str, Any]] = [
    ("list-categories", "GET", "/v1/categories", None),
    ("list-categories-trailing-slash", "GET", "/v1/categories/", None),
    ("list-categories-snake-case-param", "GET", "/v1/categories?page_size=5", None),
    ("unknown-query-param", "GET", "/v1/categories?bogus=1", None),
    ("nested-unknown-query-param", "POST", "/v1/expenses:quickAdd?today.bogus=1", {"text": "x"}),
    ("non-leaf-query-param", "GET", "/v1/expenses?month.x=1", None),
    ("bad-int-query-param", "GET", "/v1/expenses?pageSize=abc", None),
    ("out-of-range-int-query-param", "GET", "/v1/expenses?pageSize=99999999999", None),
    ("negative-page-size", "GET", "/v1/expenses?pageSize=-1", None),
    ("bad-enum-query-param", "GET", "/v1/insights?type=BOGUS", None),
    ("enum-by-name", "GET", "/v1/insights?type=INSIGHT_TYPE_PRICE_RISE", None),
    ("enum-by-number", "GET", "/v1/insights?type=2", None),
    ("unknown-path", "GET", "/v1/nothing-here", None),
    ("unknown-path-outside-v1", "GET", "/nothing-here", None),
    ("wrong-method", "POST", "/v1/categories", {}),
    ("too-many-segments", "GET", "/v1/expenses/a/b", None),
    ("not-found", "GET", "/v1/expenses/does-not-exist", None),
    ("escaped-slash-in-id", "GET", "/v1/expenses/a%2Fb", None),
    ("delete-not-found", "DELETE", "/v1/expenses/does-not-exist?etag=x", None),
    ("create-missing-amount", "POST", "/v1/expenses", {"description": "x"}),
    (
        "create-negative-amount",
        "POST",
        "/v1/expenses",
        {"amount": {"currencyCode": "GBP", "units": "-3"}, "description": "Latte"},
    ),
    ("create-wrong-type-in-body", "POST", "/v1/expenses", {"amount": {"units": 1.5}}),
    ("create-enum-unknown-name", "POST", "/v1/expenses", {"direction": "SIDEWAYS"}),
    ("create-body-not-an-object", "POST", "/v1/expenses", "just a string"),
    ("create-body-a-list", "POST", "/v1/expenses", [1]),
    ("create-unknown-body-field-is-ignored", "POST", "/v1/expenses", {"bogus": 1}),
    ("quick-add-empty", "POST", "/v1/expenses:quickAdd", {}),
    ("classify-wrong-type-in-list", "POST", "/v1/ml:classify", {"items": [{"direction": "NOPE"}]}),
    (
        "classify",
        "POST",
        "/v1/ml:classify",
        {"items": [{"description": "TESCO STORES 1234"}, {"description": "Uber trip"}]},
    ),
    (
        "parse",
        "POST",
        "/v1/ml:parse",
        {
            "text": "Latte at Starbucks £3.50",
            "locale": "en-GB",
            "today": {"year": 2026, "month": 3, "day": 4},
        },
    ),
    ("parse-empty", "POST", "/v1/ml:parse", {}),
    # The model's confidences are float32: printed with 9 digits when 6 do not round-trip.
    ("classify-by-model", "POST", "/v1/ml:classify", {"items": [{"description": "single"}]}),
    ("model", "GET", "/v1/ml/model", None),
    ("summary-bad-month", "GET", "/v1/insights/summary?month=bad", None),
    ("forecast-bad-month", "GET", "/v1/insights/forecast?month=13", None),
    ("insights", "GET", "/v1/insights", None),
    ("recurring", "GET", "/v1/insights/recurring", None),
    ("recurring-bad-status", "GET", "/v1/insights/recurring?status=NOPE", None),
    ("budgets", "GET", "/v1/budgets", None),
    ("budget-not-found", "GET", "/v1/budgets/2026-01/groceries", None),
    ("budget-bad-month", "GET", "/v1/budgets/2026-13/groceries", None),
    ("budget-delete-not-found", "DELETE", "/v1/budgets/2026-01/groceries", None),
    (
        "budget-stale-etag-on-missing",
        "PATCH",
        "/v1/budgets/2026-01/groceries",
        {"limit": {"currencyCode": "GBP", "units": "100"}, "etag": 'W/"7"'},
    ),
    (
        "budget-bad-update-mask",
        "PATCH",
        "/v1/budgets/2026-01/groceries?updateMask=spent",
        {"limit": {"currencyCode": "GBP", "units": "100"}},
    ),
]


RAW_CASES: list[tuple[str, str, str, bytes]] = [
    (
        "duplicate-keys-concatenate-lists",
        "POST",
        "/v1/ml:classify",
        b'{"items":[{"description":"TESCO"}],"items":[{"description":"Uber trip"}]}',
    ),
    ("empty-body", "POST", "/v1/expenses:quickAdd", b""),
    ("null-body-for-whole-request", "POST", "/v1/ml:parse", b"null"),
    ("null-body-for-a-field", "PATCH", "/v1/budgets/2026-01/groceries", b"null"),
    ("scalar-body-for-whole-request", "POST", "/v1/ml:parse", b"5"),
    ("list-for-a-scalar", "POST", "/v1/expenses:quickAdd", b'{"text":["x"]}'),
    ("object-for-a-scalar", "POST", "/v1/expenses:quickAdd", b'{"text":{"a":1}}'),
]


@pytest.mark.parametrize(
    ("method", "url", "raw"),
    [pytest.param(m, u, b, id=name) for name, m, u, b in RAW_CASES],
)
async def test_same_raw_body_same_answer(edges: Edges, method: str, url: str, raw: bytes) -> None:
    e, g = await edges.both(method, url, _user("diff-raw"), content=raw)
    assert_same(e, g)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [pytest.param(m, u, b, id=name) for name, m, u, b in STATIC_CASES],
)
async def test_same_request_same_answer(edges: Edges, method: str, url: str, body: Any) -> None:
    user = _user("diff-static")
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["content"] = json.dumps(body).encode()
        kwargs["headers"] = {"content-type": "application/json"}
    e, g = await edges.both(method, url, user, **kwargs)
    ignore = frozenset({"computeTime"})
    if method == "POST" and url == "/v1/expenses" and e.status_code == 200:
        ignore = VOLATILE_CREATE | {"computeTime"}
    assert_same(e, g, ignore)


BAD_TOKEN_KINDS = [
    "expired",
    "not_yet_valid",
    "other_key",
    "alg_none",
    "hs256_public_key",
    "wrong_issuer",
    "wrong_audience",
    "garbage",
]


@pytest.mark.parametrize("kind", ["missing", "basic-scheme", "lowercase-bearer", *BAD_TOKEN_KINDS])
@pytest.mark.parametrize("url", ["/v1/categories", "/v1/nothing-here"])
async def test_unauthenticated_requests_get_the_same_401(
    edges: Edges, tmp_path: Path, kind: str, url: str
) -> None:
    cfg = edges.mesh.cfg
    if kind == "missing":
        headers = {}
    elif kind == "basic-scheme":
        headers = {"authorization": "Basic dTE6cHc="}
    elif kind == "lowercase-bearer":
        headers = {"authorization": f"bearer {edges.mesh.token('u1')}"}
    else:
        token = tokens.bad_tokens(cfg.keys_dir, tmp_path, cfg.auth)[kind]
        headers = {"authorization": f"Bearer {token}"}
    e, g = await edges.both("GET", url, None, headers=headers)
    assert e.status_code == 401
    assert_same(e, g)


async def test_a_create_replayed_through_the_other_edge_is_byte_for_byte_the_same(
    edges: Edges,
) -> None:
    user = _user("diff-create")
    for first, second in ((edges.envoy, edges.gateway), (edges.gateway, edges.envoy)):
        key = uuid.uuid4().hex
        headers = {**edges.mesh.headers(user), "idempotency-key": key}
        body = _expense(f"Latte {key[:6]}")
        created = await first.post("/v1/expenses", json=body, headers=headers)
        replayed = await second.post("/v1/expenses", json=body, headers=headers)
        assert created.status_code == 200, created.text
        assert_same(created, replayed)
        # Same key, different payload: the same refusal at both edges.
        other = {**body, "description": "something else"}
        e = await edges.envoy.post("/v1/expenses", json=other, headers=headers)
        g = await edges.gateway.post("/v1/expenses", json=other, headers=headers)
        assert e.status_code == 400
        assert_same(e, g)


async def test_creates_through_each_edge_differ_only_in_ids_and_times(edges: Edges) -> None:
    user = _user("diff-create2")
    e, g = await edges.both("POST", "/v1/expenses", user, json=_expense("Train ticket", 12, 0))
    assert e.status_code == 200
    body = assert_same(e, g, VOLATILE_CREATE)
    assert e.json()["id"] != g.json()["id"]
    assert body["description"] == "Train ticket"


async def test_reads_and_stale_writes_of_one_expense_are_the_same(edges: Edges) -> None:
    owner, stranger = _user("diff-owner"), _user("diff-stranger")
    created = await edges.envoy.post(
        "/v1/expenses",
        json=_expense("Groceries at Tesco", 25, 0),
        headers=edges.mesh.headers(owner),
    )
    assert created.status_code == 200, created.text
    url = f"/v1/expenses/{created.json()['id']}"
    expense = await settled_expense(edges, url, owner)
    await assert_same_when_stable(edges, "GET", url, owner)
    await assert_same_when_stable(edges, "GET", "/v1/expenses?month=2026-03", owner)
    # Another user's expense does not exist for them, at both edges.
    e, g = await edges.both("GET", url, stranger)
    assert e.status_code == 404
    assert_same(e, g)
    # An update moves the etag on; the old one is stale at both edges and changes nothing.
    old_etag = expense["etag"]
    updated = await edges.envoy.patch(
        f"{url}?updateMask=category",
        json={"category": "dining", "etag": old_etag},
        headers=edges.mesh.headers(owner),
    )
    assert updated.status_code == 200, updated.text
    e, g = await edges.both(
        "PATCH", f"{url}?updateMask=category", owner, json={"category": "travel", "etag": old_etag}
    )
    assert e.status_code == 409
    assert_same(e, g)
    e, g = await edges.both("DELETE", f"{url}?etag={old_etag}", owner)
    assert e.status_code == 409
    assert_same(e, g)
    after = await assert_same_when_stable(edges, "GET", url, owner)
    assert after["category"] == "dining"
    assert after["categorySource"] == "CATEGORY_SOURCE_USER"


async def test_updates_through_each_edge_have_the_same_result(edges: Edges) -> None:
    user = _user("diff-update")
    headers = edges.mesh.headers(user)
    ids = []
    for client in (edges.envoy, edges.gateway):
        r = await client.post(
            "/v1/expenses", json=_expense("Cinema tickets", 18, 0), headers=headers
        )
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    # Both enriched first (it sets the merchant), so the edges update equal expenses.
    for expense_id in ids:
        await settled_expense(edges, f"/v1/expenses/{expense_id}", user)
    results = []
    for client, expense_id in zip((edges.envoy, edges.gateway), ids, strict=True):
        results.append(
            await client.patch(
                f"/v1/expenses/{expense_id}?updateMask=category,description",
                json={"category": "entertainment", "description": "Cinema"},
                headers=headers,
            )
        )
    assert results[0].status_code == 200, results[0].text
    body = assert_same(results[0], results[1], VOLATILE_CREATE)
    assert body["category"] == "entertainment"


async def test_budgets_read_and_stale_writes_are_the_same(edges: Edges) -> None:
    user = _user("diff-budget")
    url = "/v1/budgets/2026-03/groceries"
    put = await edges.envoy.patch(
        url,
        json={"limit": {"currencyCode": "GBP", "units": "200"}, "rollover": False},
        headers=edges.mesh.headers(user),
    )
    assert put.status_code == 200, put.text
    budget = await assert_same_when_stable(edges, "GET", url, user)
    assert budget["limit"] == {"currencyCode": "GBP", "units": "200", "nanos": 0}
    await assert_same_when_stable(edges, "GET", "/v1/budgets?month=2026-03", user)
    moved = await edges.envoy.patch(
        url,
        json={"limit": {"currencyCode": "GBP", "units": "250"}, "etag": budget["etag"]},
        headers=edges.mesh.headers(user),
    )
    assert moved.status_code == 200, moved.text
    e, g = await edges.both(
        "PATCH",
        url,
        user,
        json={"limit": {"currencyCode": "GBP", "units": "1"}, "etag": budget["etag"]},
    )
    assert e.status_code == 409
    assert_same(e, g)
    e, g = await edges.both("DELETE", f"{url}?etag={budget['etag']}", user)
    assert e.status_code == 409
    assert_same(e, g)
    final = await assert_same_when_stable(edges, "GET", url, user)
    assert final["limit"]["units"] == "250"


async def test_insight_reads_are_the_same(edges: Edges) -> None:
    user = _user("diff-insight")
    headers = edges.mesh.headers(user)
    for day in (1, 8, 15):
        body = {
            **_expense("NETFLIX.COM", 10, 990_000_000),
            "date": {"year": 2026, "month": 3, "day": day},
        }
        r = await edges.envoy.post("/v1/expenses", json=body, headers=headers)
        assert r.status_code == 200, r.text
    ignore = frozenset({"computeTime"})
    for url in (
        "/v1/insights/summary?month=2026-03",
        "/v1/insights/forecast?month=2026-03",
        "/v1/insights/recurring",
        "/v1/insights?month=2026-03",
    ):
        await assert_same_when_stable(edges, "GET", url, user, ignore)


CSV = (
    "Date,Description,Amount\n"
    "01/03/2026,TESCO STORES 1234,-25.40\n"
    "02/03/2026,PRET A MANGER,-4.50\n"
    "03/03/2026,SALARY ACME LTD,2500.00\n"
)


async def test_statement_import_streams_the_same_file_to_the_same_result(edges: Edges) -> None:
    # Two fresh users, one per edge: each import is the first, so the answers must agree.
    url = "/v1/expenses:import?filename=march.csv&format=STATEMENT_FORMAT_CSV&currencyCode=GBP"
    results = []
    for client in (edges.envoy, edges.gateway):
        results.append(
            await client.post(
                url,
                content=CSV.encode(),
                headers={**edges.mesh.headers(_user("diff-import")), "content-type": "text/csv"},
            )
        )
    assert results[0].status_code == 200, results[0].text
    body = assert_same(results[0], results[1], frozenset({"expenseIds"}))
    assert body["importedCount"] == 3
    # Bad files are refused the same way.
    e, g = await edges.both(
        "POST",
        "/v1/expenses:import?filename=x.ofx&format=STATEMENT_FORMAT_OFX",
        _user("diff-import-bad"),
        content=b"garbage",
    )
    assert e.status_code == 400
    assert_same(e, g)


async def test_a_statement_larger_than_one_chunk_arrives_whole(edges: Edges) -> None:
    lines = ["Date,Description,Amount"]
    lines += [
        f"{1 + i % 28:02d}/03/2026,SHOP NUMBER {i:06d} {'x' * 110},-1.{i % 100:02d}"
        for i in range(9000)
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 1024 * 1024  # more than one 1 MiB message
    user = _user("diff-big-import")
    r = await edges.gateway.post(
        "/v1/expenses:import?format=STATEMENT_FORMAT_CSV&currencyCode=GBP",
        content=data,
        headers={**edges.mesh.headers(user), "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["importedCount"] + body["duplicateCount"] + body["rejectedCount"] == 9000


async def _stream_events(resp: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Elements of a streamed JSON array as they arrive."""
    decoder = json.JSONDecoder()
    buf = ""
    async for chunk in resp.aiter_text():
        buf += chunk
        while True:
            stripped = buf.lstrip("[, \n")
            if not stripped or stripped.startswith("]"):
                buf = stripped
                break
            try:
                obj, end = decoder.raw_decode(stripped)
            except json.JSONDecodeError:
                buf = stripped
                break
            buf = stripped[end:]
            yield obj


async def test_watch_streams_deliver_the_same_events(edges: Edges) -> None:
    user = _user("diff-watch")
    headers = edges.mesh.headers(user)
    created = await edges.envoy.post(
        "/v1/expenses", json=_expense("Watched coffee"), headers=headers
    )
    assert created.status_code == 200, created.text
    expense = created.json()
    url = f"/v1/expenses/{expense['id']}"

    async def first_event_for(
        client: httpx.AsyncClient, ready: asyncio.Event, box: list[Any]
    ) -> None:
        async with client.stream("GET", "/v1/insights:watch", headers=headers) as resp:
            box.append(resp.status_code)
            async for event in _stream_events(resp):
                if "heartbeat" in event:
                    ready.set()
                    continue
                changed = event.get("expense", {})
                # The user's correction (enrichment may change the expense too, earlier).
                if changed.get("id") == expense["id"] and changed.get("category") == "travel":
                    box.append(event)
                    return

    boxes: list[list[Any]] = [[], []]
    readies = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(first_event_for(c, r, b))
        for c, r, b in zip((edges.envoy, edges.gateway), readies, boxes, strict=True)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 20)
        # A user's correction changes the expense: both streams must carry that change.
        updated = await edges.envoy.patch(
            f"{url}?updateMask=category", json={"category": "travel"}, headers=headers
        )
        assert updated.status_code == 200, updated.text
        await asyncio.wait_for(asyncio.gather(*tasks), 45)
    finally:
        for t in tasks:
            t.cancel()
    assert boxes[0][0] == boxes[1][0] == 200
    assert boxes[0][1] == boxes[1][1]
    assert boxes[0][1]["expense"]["categorySource"] == "CATEGORY_SOURCE_USER"


async def test_unauthenticated_watch_is_refused_the_same_way(edges: Edges) -> None:
    e, g = await edges.both("GET", "/v1/insights:watch", None)
    assert e.status_code == 401
    assert_same(e, g)
