"""ml_svc entry point: migrate, load (or train) the model, start the Kafka consumers, serve.

The model artifact lives in ``FINMESH_ML_ARTIFACTS_DIR`` (default
``$FINMESH_HOME/data/ml_svc/artifacts``); when none matches the running code, one is trained
at start (about 20 s on two cores) before the server reports healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from finance.ml.v1 import categorizer_service_pb2, categorizer_service_pb2_grpc
from finmesh import db
from finmesh.config import ServiceConfig
from finmesh.kafka import EventConsumer, EventProducer
from finmesh.server import ServiceDef
from ml_svc.artifacts import artifacts_dir_from_env
from ml_svc.consumer import (
    ENRICHMENT_GROUP,
    FEEDBACK_GROUP,
    FEEDBACK_TOPIC,
    RAW_TOPIC,
    EnrichmentPipeline,
    FeedbackConsumer,
)
from ml_svc.engine import Engine
from ml_svc.service import CategorizerService

SCHEMA = "ml"
MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger(__name__)


async def _supervise(name: str, run: object) -> None:
    """Run a consumer loop; log and restart it after an unexpected failure."""
    assert callable(run)
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s consumer failed; restarting in 2s", name)
            await asyncio.sleep(2)


@asynccontextmanager
async def app(cfg: ServiceConfig) -> AsyncIterator[Sequence[ServiceDef]]:
    await db.migrate(cfg.database.url, SCHEMA, MIGRATIONS)
    pool = await db.open_pool(cfg.database, schema=SCHEMA)
    tasks: list[asyncio.Task[None]] = []
    closers = []
    try:
        engine = await Engine.start(pool, artifacts_dir_from_env(cfg.data_dir))
        if cfg.kafka.bootstrap_servers:
            bootstrap = cfg.kafka.bootstrap_servers
            producer = EventProducer(bootstrap, client_id=f"{cfg.kafka.client_id}-enrichment")
            raw = EventConsumer(
                bootstrap,
                group_id=ENRICHMENT_GROUP,
                topics=[RAW_TOPIC],
                client_id=cfg.kafka.client_id,
                dlq_producer=producer,
            )
            feedback = EventConsumer(
                bootstrap,
                group_id=FEEDBACK_GROUP,
                topics=[FEEDBACK_TOPIC],
                client_id=cfg.kafka.client_id,
                dlq_producer=producer,
            )
            pipeline = EnrichmentPipeline(engine, raw, producer)
            learner = FeedbackConsumer(engine, feedback)
            tasks.append(asyncio.create_task(_supervise("enrichment", pipeline.run)))
            tasks.append(asyncio.create_task(_supervise("feedback", learner.run)))
            closers = [raw.close, feedback.close, producer.close_async]
        servicer = CategorizerService(engine)
        yield [
            ServiceDef.of(
                categorizer_service_pb2,
                "CategorizerService",
                categorizer_service_pb2_grpc.add_CategorizerServiceServicer_to_server,
                servicer,
            )
        ]
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        await pool.close()
