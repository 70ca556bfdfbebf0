"""ml_svc as users reach it: JSON through Envoy with a token, and its Kafka side in the mesh."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.kafka import EventConsumer, EventProducer
from finmesh.taxonomy import CATEGORY_IDS
from ml_svc import embeddings
from tests.plugins.mesh import Mesh


async def classify(mesh: Mesh, user: str, items: list[dict[str, Any]]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as client:
        return await client.post(
            "/v1/ml:classify", json={"items": items}, headers=mesh.headers(user)
        )


async def test_classify_through_envoy_returns_results_in_order_with_provenance(mesh: Mesh) -> None:
    resp = await classify(
        mesh,
        "u-rpc",
        [
            {"description": "CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024"},
            {"description": "SQ *ROSIES CAFE 0423 LEEDS GB", "direction": "DIRECTION_DEBIT"},
            {"description": "ACME LTD SALARY", "direction": "DIRECTION_CREDIT"},
            {"description": "XQZ 77 LTD"},
        ],
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    results = body["results"]
    assert [r["category"] for r in results[:3]] == ["groceries", "dining", "income"]
    tesco, cafe, salary, vague = results
    assert tesco["source"] == "CLASSIFICATION_SOURCE_DICTIONARY" and tesco["merchant"] == "Tesco"
    assert tesco["autoApply"] is True
    # a dictionary hit has the model's runners-up too, its own category not among them
    assert len(tesco["alternatives"]) == 3
    assert "groceries" not in {a["category"] for a in tesco["alternatives"]}
    assert salary["alternatives"] and "income" not in {
        a["category"] for a in salary["alternatives"]
    }
    assert cafe["source"] == "CLASSIFICATION_SOURCE_MODEL"
    assert cafe["modelVersion"] == body["modelVersion"] != ""
    assert len(cafe["alternatives"]) == 3 and cafe["explanation"]
    assert salary["source"] == "CLASSIFICATION_SOURCE_RULE"
    assert vague["category"] in CATEGORY_IDS and vague["autoApply"] is False


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{"description": "  "}], "items[0].description"),
        ([{"description": "TESCO"}, {"description": ""}], "items[1].description"),
        ([{"description": "x"}] * 1001, "items"),
    ],
)
async def test_bad_classify_request_is_400_naming_the_field(
    mesh: Mesh, items: list[dict[str, Any]], field: str
) -> None:
    resp = await classify(mesh, "u-rpc", items)
    assert resp.status_code == 400, resp.text
    details = resp.json()["details"]
    violations = [v for d in details for v in d.get("fieldViolations", [])]
    assert [v["field"] for v in violations] == [field]


async def test_parse_through_envoy(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as client:
        resp = await client.post(
            "/v1/ml:parse",
            json={
                "text": "$12 lunch at Chipotle last friday",
                "locale": "en_US",
                "today": {"year": 2025, "month": 3, "day": 14},
            },
            headers=mesh.headers("u-rpc"),
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["amount"] == {"currencyCode": "USD", "units": "12", "nanos": 0}
        assert body["date"] == {"year": 2025, "month": 3, "day": 7}
        assert body["merchant"] == "Chipotle"
        assert body["description"] == "lunch at Chipotle"
        assert body["category"] == "dining"
        assert body["direction"] == "DIRECTION_DEBIT"
        assert body["classification"]["category"] == "dining"
        conf = body["confidence"]
        assert conf["amount"] > 0.9 and conf["currency"] > 0.9 and conf["date"] > 0.8
        resp = await client.post(
            "/v1/ml:parse",
            json={
                "text": "€4,50 croissant Paul",
                "locale": "fr_FR",
                "today": {"year": 2025, "month": 3, "day": 14},
            },
            headers=mesh.headers("u-rpc"),
        )
        body = resp.json()
        assert body["amount"] == {"currencyCode": "EUR", "units": "4", "nanos": 500000000}
        assert body["date"] == {"year": 2025, "month": 3, "day": 14}
        assert body["confidence"]["date"] < 0.8  # defaulted to today


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "coffee 3", "locale": "not a locale!"}, "locale"),
        ({"text": "coffee 3", "today": {"year": 2025, "month": 2, "day": 30}}, "today"),
    ],
)
async def test_bad_parse_request_is_400_naming_the_field(
    mesh: Mesh, payload: dict[str, Any], field: str
) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as client:
        resp = await client.post("/v1/ml:parse", json=payload, headers=mesh.headers("u-rpc"))
    assert resp.status_code == 400, resp.text
    violations = [v for d in resp.json()["details"] for v in d.get("fieldViolations", [])]
    assert [v["field"] for v in violations] == [field]


async def test_get_model_reports_version_metrics_and_libraries(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.envoy_url, timeout=30) as client:
        resp = await client.get("/v1/ml/model", headers=mesh.headers("u-rpc"))
        unauth = await client.get("/v1/ml/model")
    assert unauth.status_code == 401
    assert resp.status_code == 200, resp.text
    model = resp.json()
    with_embeddings = embeddings.backend_id() != "none"
    assert model["backend"] == "tfidf-logreg" + ("+minilm-static" if with_embeddings else "")
    assert set(model["categories"]) == CATEGORY_IDS
    metrics = model["validationMetrics"]
    assert metrics["exampleCount"] > 1000 and 0 < metrics["accuracy"] <= 1
    assert 0 < metrics["macroF1"] <= 1 and len(metrics["perCategory"]) == 18
    assert model["libraryVersions"]["scikit-learn"]
    assert 0 < model["confidenceThreshold"] < 1 and model["trainTime"]
    assert model["trainingExampleCount"] > 1000


async def test_service_enriches_expenses_raw_and_learns_from_expenses_feedback(
    mesh: Mesh,
) -> None:
    bootstrap = mesh.cfg.kafka_bootstrap_servers
    user = f"u-mesh-{uuid.uuid4().hex[:6]}"
    ts = Timestamp()
    ts.GetCurrentTime()
    event = events_pb2.ExpenseRecorded(
        event_id=str(uuid.uuid4()),
        occur_time=ts,
        user_id=user,
        locale="en_GB",
        expense=expense_pb2.Expense(id=str(uuid.uuid4()), description="IZ *HIGHGATE BARBERS"),
    )
    reader = EventConsumer(
        bootstrap, group_id=f"reader-{uuid.uuid4().hex[:8]}", topics=["expenses.parsed"]
    )
    producer = EventProducer(bootstrap)
    try:
        await producer.produce_and_wait("expenses.raw", user, event, event_id=event.event_id)
        deadline = time.monotonic() + 60
        found = None
        while found is None:
            assert time.monotonic() < deadline, "no ExpenseEnriched for the recorded expense"
            for e in await reader.consume(max_messages=500, max_wait=0.5):
                if e.key != user:  # the topic is shared with other tests (poison included)
                    continue
                msg = e.decode(events_pb2.ExpenseEnriched)
                if msg.source_event_id == event.event_id:
                    found = msg
        assert found.category == "personal_care" and found.expense_id == event.expense.id
        # One correction through expenses.feedback: the next prediction follows it at once.
        fix = events_pb2.CategoryCorrected(
            event_id=str(uuid.uuid4()),
            occur_time=ts,
            user_id=user,
            expense_id=event.expense.id,
            description=event.expense.description,
            merchant=found.merchant,
            old_category=found.category,
            new_category="health",
        )
        await producer.produce_and_wait("expenses.feedback", user, fix, event_id=fix.event_id)
    finally:
        await reader.close()
        await producer.close_async()
    forms = [
        "HIGHGATE BARBERS LONDON GB",
        "CARD PAYMENT TO HIGHGATE BARBERS ON 01-02-2025",
        "SQ *HIGHGATE BARBERS 0042",
    ]
    deadline = time.monotonic() + 30
    while True:
        resp = await classify(mesh, user, [{"description": f} for f in forms])
        cats = [r["category"] for r in resp.json()["results"]]
        if cats == ["health"] * 3:
            break
        assert time.monotonic() < deadline, cats
        await asyncio.sleep(0.3)
    other = await classify(mesh, "someone-else", [{"description": forms[0]}])
    assert other.json()["results"][0]["category"] == "personal_care"
