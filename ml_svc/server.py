"""ml_svc entry point: open the database, apply migrations, serve the servicers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from finance.ml.v1 import categorizer_service_pb2, categorizer_service_pb2_grpc
from finmesh import db
from finmesh.config import ServiceConfig
from finmesh.server import ServiceDef
from ml_svc.service import CategorizerService

SCHEMA = "ml"
MIGRATIONS = Path(__file__).parent / "migrations"


@asynccontextmanager
async def app(cfg: ServiceConfig) -> AsyncIterator[Sequence[ServiceDef]]:
    await db.migrate(cfg.database.url, SCHEMA, MIGRATIONS)
    pool = await db.open_pool(cfg.database, schema=SCHEMA)
    try:
        servicer = CategorizerService(pool)  # type: ignore[abstract]  # RPCs land with their issues
        yield [
            ServiceDef(
                categorizer_service_pb2.DESCRIPTOR.services_by_name["CategorizerService"].full_name,
                lambda server: (
                    categorizer_service_pb2_grpc.add_CategorizerServiceServicer_to_server(
                        servicer, server
                    )
                ),
            )
        ]
    finally:
        await pool.close()
