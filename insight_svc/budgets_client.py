"""The budgets of a month, read from expense_svc's BudgetService over gRPC.

insight_svc never reads expense_svc's schema. It calls ``ListBudgets`` with the caller's own
``authorization`` metadata (so expense_svc verifies the token and scopes the answer to that
user) and a deadline. When expense_svc cannot answer (down, too slow, not deployed yet) the
summary and the forecast degrade: they are computed without budgets and the response carries
the header ``x-finmesh-degraded: budgets-unavailable`` (see service.py). A bad token cannot
reach here: this service's interceptor has verified it already.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc

from finance.expense.v1 import budget_service_pb2, budget_service_pb2_grpc
from insight_svc.model import BudgetLimit, Month, to_decimal

log = logging.getLogger(__name__)

PAGE_SIZE = 500
MAX_PAGES = 20


class BudgetsUnavailable(Exception):
    """expense_svc did not answer ``ListBudgets``."""


class BudgetClient:
    """Reads budgets from expense_svc. One channel, shared by all requests."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_seconds: float = 2.0) -> None:
        self._stub = budget_service_pb2_grpc.BudgetServiceStub(channel)
        self._timeout = timeout_seconds

    async def list_budgets(self, month: Month, authorization: str) -> Sequence[BudgetLimit]:
        """The caller's budgets for ``month``. Raises :class:`BudgetsUnavailable`."""
        out: list[BudgetLimit] = []
        token = ""
        for _ in range(MAX_PAGES):
            request = budget_service_pb2.ListBudgetsRequest(
                page_size=PAGE_SIZE, page_token=token, month=str(month)
            )
            try:
                resp = await self._stub.ListBudgets(
                    request,
                    timeout=self._timeout,
                    metadata=(("authorization", authorization),),
                )
            except grpc.aio.AioRpcError as exc:
                log.warning("expense_svc ListBudgets failed: %s %s", exc.code().name, exc.details())
                raise BudgetsUnavailable(exc.code().name) from exc
            for b in resp.budgets:
                if b.month != str(month) or not b.limit.currency_code:
                    continue
                limit = to_decimal(b.limit)
                if b.limit.currency_code == b.carried_over.currency_code:
                    limit += to_decimal(b.carried_over)
                out.append(BudgetLimit(b.category, b.limit.currency_code, limit))
            token = resp.next_page_token
            if not token:
                break
        return out
