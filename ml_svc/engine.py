"""What the servicers and the Kafka consumers share: the serving model and the database.

No gRPC and no Kafka here: classification with the callers' memories, parsing, corrections,
and the conversions between events and the cascade's items and results.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finance.ml.v1 import categorizer_service_pb2 as ml_pb2
from ml_svc import repository
from ml_svc.categorizer import CREDIT, DEBIT, Item, Result, Source, resolve_key
from ml_svc.normalize import merchant_key, normalize
from ml_svc.quick_add import QuickAdd, quick_add
from ml_svc.training import CORRECTION_WEIGHT, Artifact, load_or_train

log = logging.getLogger(__name__)

#: Namespace of the deterministic ExpenseEnriched event ids.
ENRICHED_NAMESPACE = uuid.UUID("6a0e3b51-0f0c-4f4c-9d55-1c1f3e0b7a10")

SOURCE_TO_PROTO = {
    Source.MEMORY: ml_pb2.CLASSIFICATION_SOURCE_MEMORY,
    Source.SIMILAR_EXPENSE: ml_pb2.CLASSIFICATION_SOURCE_SIMILAR_EXPENSE,
    Source.RULE: ml_pb2.CLASSIFICATION_SOURCE_RULE,
    Source.DICTIONARY: ml_pb2.CLASSIFICATION_SOURCE_DICTIONARY,
    Source.MODEL: ml_pb2.CLASSIFICATION_SOURCE_MODEL,
}


_ENRICHED_SHA1 = hashlib.sha1(ENRICHED_NAMESPACE.bytes, usedforsecurity=False)


def enriched_event_id(source_event_id: str, salt: str = "") -> str:
    """The ExpenseEnriched id for a source event: the same on every redelivery.

    ``str(uuid.uuid5(ENRICHED_NAMESPACE, salt + source_event_id))``, computed without the
    ``UUID`` object (a third of the time; the consumer derives one per message)."""
    h = _ENRICHED_SHA1.copy()
    h.update(f"{salt}{source_event_id}".encode())
    b = bytearray(h.digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = b.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def direction_of(value: int) -> str:
    return CREDIT if value == expense_pb2.DIRECTION_CREDIT else DEBIT


def money_to_decimal(units: int, nanos: int) -> Decimal:
    return Decimal(units) + Decimal(nanos).scaleb(-9)


def category_source(result: Result) -> int:
    if result.source is Source.MODEL:
        return (
            expense_pb2.CATEGORY_SOURCE_MODEL
            if result.auto_apply
            else expense_pb2.CATEGORY_SOURCE_SUGGESTED
        )
    return expense_pb2.CATEGORY_SOURCE_RULE


def classification_proto(r: Result) -> ml_pb2.Classification:
    return ml_pb2.Classification(
        category=r.category,
        confidence=r.confidence,
        merchant=r.merchant,
        source=SOURCE_TO_PROTO[r.source],
        alternatives=[ml_pb2.CategoryScore(category=c, confidence=p) for c, p in r.alternatives],
        explanation=r.explanation,
        auto_apply=r.auto_apply,
        model_version=r.model_version,
    )


@dataclass
class Engine:
    """The serving artifact (replaceable after a retrain) and the database pool."""

    artifact: Artifact
    pool: AsyncConnectionPool[Any]

    @classmethod
    async def start(cls, pool: AsyncConnectionPool[Any], artifacts_dir: Path) -> Engine:
        async with pool.connection() as conn:
            corrections = await repository.training_corrections(conn, CORRECTION_WEIGHT)
        artifact = await asyncio.to_thread(load_or_train, artifacts_dir, corrections=corrections)
        await asyncio.to_thread(artifact.categorizer.model.warm_up)
        log.info(
            "serving model %s (held-out accuracy %.3f, macro-F1 %.3f)",
            artifact.version,
            artifact.metrics.accuracy,
            artifact.metrics.macro_f1,
        )
        engine = cls(artifact, pool)
        await engine.rekey_memory()
        return engine

    async def rekey_memory(self) -> None:
        """File every stored correction under the keys this artifact's normaliser and
        dictionary give its merchant, if another artifact's computed them (an upgrade that
        reads "CO-OP" differently must not forget what a user taught it about CO-OP)."""
        fingerprint = str(self.artifact.meta.get("fingerprint", self.artifact.version))
        async with self.pool.connection() as conn:
            n = await repository.rekey_memory(conn, fingerprint, self.correction_keys)
        if n:
            log.info("re-keyed %d corrections for model %s", n, self.version)

    @property
    def version(self) -> str:
        return self.artifact.version

    async def classify(self, user_ids: Sequence[str], items: Sequence[Item]) -> list[Result]:
        """Classify ``items[i]`` for ``user_ids[i]`` with each user's memory."""
        async with self.pool.connection() as conn:
            memories = await repository.load_memories(conn, user_ids)
        classify = functools.partial(
            self.artifact.categorizer.classify,
            items,
            [memories[u] for u in user_ids],
        )
        if len(items) <= 8:
            return classify()
        return await asyncio.to_thread(classify)

    async def parse(self, user_id: str, text: str, locale: str, today: date) -> QuickAdd:
        async with self.pool.connection() as conn:
            memories = await repository.load_memories(conn, [user_id])
        return quick_add(text, locale, today, self.artifact.categorizer, memories[user_id])

    def correction_keys(self, description: str, merchant: str) -> tuple[str, ...]:
        """The memory keys a correction is filed under: the merchant's (dictionary-canonical
        when known) and the description's, so any later form of either finds it."""
        dictionary = self.artifact.categorizer.dictionary
        norm = normalize(description)
        keys = [
            resolve_key(norm, dictionary, merchant) if merchant else "",
            resolve_key(norm, dictionary),
            merchant_key(merchant) if merchant else "",
        ]
        return tuple(k for k in dict.fromkeys(keys) if k)

    async def record_correction(self, event: events_pb2.CategoryCorrected) -> bool:
        amount = (
            money_to_decimal(event.amount.units, event.amount.nanos)
            if event.HasField("amount")
            else None
        )
        record = repository.CorrectionRecord(
            event_id=event.event_id,
            user_id=event.user_id,
            occur_time=event.occur_time.ToDatetime(tzinfo=UTC),
            description=event.description,
            merchant=event.merchant,
            merchant_keys=self.correction_keys(event.description, event.merchant),
            amount=amount,
            direction=direction_of(event.direction),
            category=event.new_category,
        )
        async with self.pool.connection() as conn:
            stored = await repository.record_correction(conn, record)
            if stored and event.expense_id:
                await repository.mark_user_categorised(
                    conn, event.user_id, event.expense_id, event.new_category
                )
        return stored
