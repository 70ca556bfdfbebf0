"""Fuzz both JSON edges with requests schemathesis generates from the gateway's OpenAPI.

Every operation in ``/openapi.json`` gets valid (positive) and invalid (negative) generated
requests, sent with a valid token first to the gateway and then, the same request, to Envoy.
More than 1,000 requests go to each edge. Neither may ever answer 5xx (a 500 is a bug, a 503
would mean a crashed or hung upstream), and every 4xx carries the contract's JSON error body
``{"code","message","details"}``. The services must still be healthy afterwards.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode

from tests.plugins.mesh import Mesh
from tests.security.helpers import user

#: Generated requests per operation and generation mode (positive, negative).
EXAMPLES = int(os.environ.get("FINMESH_FUZZ_EXAMPLES", "30"))
STREAMING_PATHS = {"/v1/insights:watch"}


@dataclass
class Tally:
    sent: dict[str, int] = field(default_factory=lambda: {"gateway": 0, "envoy": 0})
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _check(edge: str, case: Any, resp: requests.Response, tally: Tally) -> None:
    tally.sent[edge] += 1
    tally.statuses[resp.status_code] = tally.statuses.get(resp.status_code, 0) + 1
    where = f"{edge} {case.method} {case.formatted_path} query={case.query!r}"
    if resp.status_code >= 500:
        tally.failures.append(
            f"{where} body={case.body!r:.300} -> {resp.status_code} {resp.text[:300]}"
        )
        return
    if resp.status_code >= 400:
        try:
            body = resp.json()
        except ValueError:
            tally.failures.append(f"{where} -> {resp.status_code} non-JSON {resp.text[:200]!r}")
            return
        if not (
            isinstance(body, dict)
            and {"code", "message", "details"} <= set(body)
            and isinstance(body["details"], list)
        ):
            tally.failures.append(f"{where} -> {resp.status_code} bad error body {body!r:.200}")


def _send(
    session: requests.Session, base_url: str, case: Any, headers: dict[str, str]
) -> requests.Response:
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    streaming = case.path in STREAMING_PATHS
    resp = session.request(**kwargs, timeout=60, stream=streaming)
    if streaming:
        # A server stream never ends: the status and headers are the answer. Read the first
        # chunk of an error body, which is small and complete.
        if resp.status_code >= 400:
            resp._content = resp.raw.read(65536)
        resp.close()
    return resp


def _undotted(spec: dict[str, Any]) -> dict[str, Any]:
    """Path parameters named like ``{expense.id}`` (valid OpenAPI, from the google.api.http
    templates) trip schemathesis's ``str.format`` templating; rename them ``{expense_id}``.
    The URLs sent are unchanged: the name never appears in them."""
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        new_path = re.sub(r"\{([^}]*)\}", lambda m: "{" + m.group(1).replace(".", "_") + "}", path)
        for operation in item.values():
            for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if param.get("in") == "path":
                    param["name"] = param["name"].replace(".", "_")
        paths[new_path] = item
    return {**spec, "paths": paths}


@pytest.fixture(scope="module")
def schema(mesh: Mesh) -> Any:
    spec = requests.get(f"{mesh.gateway_url}/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(_undotted(spec))


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def test_fuzzed_requests_never_get_a_5xx_and_every_4xx_has_a_json_error_body(
    mesh: Mesh, schema: Any
) -> None:
    tally = Tally()
    owner = user("fuzz")
    headers = mesh.headers(owner)
    operations = list(_operations(schema))
    assert len(operations) >= 18, [op.label for op in operations]
    with requests.Session() as session:
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @hypothesis.settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=op.as_strategy(generation_mode=mode))
                def run(case: Any) -> None:
                    for edge, base in (("gateway", mesh.gateway_url), ("envoy", mesh.envoy_url)):
                        _check(edge, case, _send(session, base, case, headers), tally)

                run()
    report = json.dumps({"sent": tally.sent, "statuses": tally.statuses})
    assert not tally.failures, "\n".join([report, *tally.failures[:40]])
    assert tally.sent["gateway"] >= 1000 and tally.sent["envoy"] >= 1000, report
    # Mostly refusals, but some requests must get through, or the fuzzing proves little.
    assert tally.statuses.get(200, 0) >= 50, report
    assert sum(n for s, n in tally.statuses.items() if 400 <= s < 500) >= 100, report
    with requests.Session() as session:
        for base in (mesh.gateway_url, mesh.envoy_url):
            ok = session.get(f"{base}/v1/categories", headers=headers, timeout=30)
            assert ok.status_code == 200, ok.text
