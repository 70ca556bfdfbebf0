"""Thin gRPC servicers for ml_svc: proto <-> domain, validation, domain errors."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from google.type import date_pb2, money_pb2

from finance.expense.v1 import expense_pb2
from finance.ml.v1 import categorizer_service_pb2 as ml_pb2
from finance.ml.v1 import categorizer_service_pb2_grpc
from finmesh import errors
from finmesh.auth import current_user_id
from ml_svc.categorizer import CREDIT, DEBIT, Item
from ml_svc.engine import Engine, classification_proto, direction_of
from ml_svc.model import LABELS

MAX_ITEMS = 1000
MAX_TEXT = 2000
_LOCALE_RE = re.compile(r"^[a-zA-Z]{2,3}(?:[_-][a-zA-Z]{2})?$")


def _money(amount: Decimal, currency: str) -> money_pb2.Money:
    units = int(amount)
    nanos = int(((amount - units) * 1_000_000_000).to_integral_value())
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def _today(req: ml_pb2.ParseExpenseRequest) -> date:
    if not req.HasField("today"):
        return datetime.now(UTC).date()
    t = req.today
    try:
        return date(t.year, t.month, t.day)
    except ValueError:
        raise errors.InvalidArgument(
            "today is not a valid date", violations={"today": "must be a full, valid date"}
        ) from None


class CategorizerService(categorizer_service_pb2_grpc.CategorizerServiceServicer):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def ClassifyExpenses(
        self, request: ml_pb2.ClassifyExpensesRequest, context: Any
    ) -> ml_pb2.ClassifyExpensesResponse:
        user_id = current_user_id()
        n = len(request.items)
        if n == 0 or n > MAX_ITEMS:
            raise errors.InvalidArgument(
                f"between 1 and {MAX_ITEMS} items are required, got {n}",
                violations={"items": f"must hold 1 to {MAX_ITEMS} items"},
            )
        violations: dict[str, str] = {}
        for i, it in enumerate(request.items):
            if not it.description.strip():
                violations[f"items[{i}].description"] = "must not be empty"
            elif len(it.description) > MAX_TEXT:
                violations[f"items[{i}].description"] = f"must be at most {MAX_TEXT} characters"
        if violations:
            raise errors.InvalidArgument("invalid items", violations=violations)
        items = [
            Item(
                description=it.description,
                direction=direction_of(it.direction),
                merchant=it.merchant.strip(),
            )
            for it in request.items
        ]
        results = await self._engine.classify([user_id] * n, items)
        return ml_pb2.ClassifyExpensesResponse(
            results=[classification_proto(r) for r in results],
            model_version=self._engine.version,
        )

    async def ParseExpense(
        self, request: ml_pb2.ParseExpenseRequest, context: Any
    ) -> ml_pb2.ParseExpenseResponse:
        user_id = current_user_id()
        text = request.text.strip()
        if not text:
            raise errors.InvalidArgument(
                "text is required", violations={"text": "must not be empty"}
            )
        if len(text) > MAX_TEXT:
            raise errors.InvalidArgument(
                "text is too long", violations={"text": f"must be at most {MAX_TEXT} characters"}
            )
        locale = request.locale.strip() or "en_GB"
        if not _LOCALE_RE.match(locale):
            raise errors.InvalidArgument(
                f"unknown locale {locale!r}", violations={"locale": "must look like en_GB"}
            )
        today = _today(request)
        q = await self._engine.parse(user_id, text, locale, today)
        p = q.parsed
        resp = ml_pb2.ParseExpenseResponse(
            direction=(expense_pb2.DIRECTION_CREDIT if p.credit else expense_pb2.DIRECTION_DEBIT),
            merchant=q.merchant,
            date=date_pb2.Date(
                year=p.date.value.year, month=p.date.value.month, day=p.date.value.day
            ),
            description=p.description,
            category=q.classification.category,
            confidence=ml_pb2.ParsedFieldConfidence(
                amount=p.amount.amount_confidence if p.amount else 0.0,
                currency=p.amount.currency_confidence if p.amount else 0.0,
                merchant=q.merchant_confidence if q.merchant else 0.0,
                date=p.date.confidence,
                category=q.classification.confidence,
            ),
            classification=classification_proto(q.classification),
        )
        if p.amount is not None:
            resp.amount.CopyFrom(_money(p.amount.amount, p.amount.currency))
        return resp

    async def GetModel(self, request: ml_pb2.GetModelRequest, context: Any) -> ml_pb2.Model:
        current_user_id()
        a = self._engine.artifact
        m = a.metrics
        model = ml_pb2.Model(
            version=a.version,
            backend=str(a.meta.get("backend", "tfidf-logreg")),
            categories=list(LABELS),
            validation_metrics=ml_pb2.ModelMetrics(
                example_count=m.example_count,
                accuracy=m.accuracy,
                macro_f1=m.macro_f1,
                per_category=[
                    ml_pb2.CategoryMetrics(
                        category=c["category"],
                        precision=c["precision"],
                        recall=c["recall"],
                        f1=c["f1"],
                        support=c["support"],
                    )
                    for c in m.per_category
                ],
            ),
            training_example_count=int(a.meta.get("training_example_count", 0)),
            confidence_threshold=a.categorizer.threshold,
            library_versions={
                str(k): str(v) for k, v in a.meta.get("library_versions", {}).items()
            },
        )
        model.train_time.FromDatetime(datetime.fromisoformat(str(a.meta["train_time"])))
        return model


__all__ = ["CREDIT", "DEBIT", "CategorizerService"]
