"""expense_svc entry point: open the database, apply migrations, start the enrichment consumer
in the background, serve the servicers. The outbox relay runs beside it as a process of its own
(``python -m expense_svc.relay``; see :mod:`expense_svc.relay` for why)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from expense_svc import consumer
from expense_svc.ml_client import MlClient
from expense_svc.service import BudgetService, ExpenseService
from finance.expense.v1 import (
    budget_service_pb2,
    budget_service_pb2_grpc,
    expense_service_pb2,
    expense_service_pb2_grpc,
)
from finmesh import db
from finmesh.config import ServiceConfig
from finmesh.server import ServiceDef

SCHEMA = "expense"
MIGRATIONS = Path(__file__).parent / "migrations"


@asynccontextmanager
async def app(cfg: ServiceConfig) -> AsyncIterator[Sequence[ServiceDef]]:
    await db.migrate(cfg.database.url, SCHEMA, MIGRATIONS)
    pool = await db.open_pool(cfg.database, schema=SCHEMA)
    try:
        ml = MlClient(cfg.ml_target)
        expenses = ExpenseService(pool, ml)
        budgets = BudgetService(pool)
        try:
            async with consumer.start_background(cfg, pool):
                yield [
                    ServiceDef.of(
                        expense_service_pb2,
                        "ExpenseService",
                        expense_service_pb2_grpc.add_ExpenseServiceServicer_to_server,
                        expenses,
                    ),
                    ServiceDef.of(
                        budget_service_pb2,
                        "BudgetService",
                        budget_service_pb2_grpc.add_BudgetServiceServicer_to_server,
                        budgets,
                    ),
                ]
        finally:
            await expenses.aclose()  # the server has stopped: no batch starts after this
            await ml.close()
    finally:
        await pool.close()
