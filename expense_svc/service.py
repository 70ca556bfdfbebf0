"""Thin gRPC servicers for expense_svc: proto in, domain call, proto out.

Methods not overridden here answer UNIMPLEMENTED (the generated base class) until their
issue lands.
"""

from __future__ import annotations

from typing import Any

import grpc
from psycopg_pool import AsyncConnectionPool

from finance.expense.v1 import (
    budget_service_pb2_grpc,
    expense_pb2,
    expense_service_pb2,
    expense_service_pb2_grpc,
)
from finmesh.auth import current_user_id
from finmesh.taxonomy import CATEGORIES


class ExpenseService(expense_service_pb2_grpc.ExpenseServiceServicer):
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def ListCategories(
        self,
        request: expense_service_pb2.ListCategoriesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> expense_service_pb2.ListCategoriesResponse:
        user_id = current_user_id()
        out = [
            expense_pb2.Category(id=c.id, display_name=c.display_name, description=c.description)
            for c in CATEGORIES
        ]
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, display_name FROM user_categories WHERE user_id = %s ORDER BY id",
                (user_id,),
            )
            for cid, name in await cur.fetchall():
                out.append(expense_pb2.Category(id=cid, display_name=name, user_defined=True))
        return expense_service_pb2.ListCategoriesResponse(categories=out)


class BudgetService(budget_service_pb2_grpc.BudgetServiceServicer):
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
