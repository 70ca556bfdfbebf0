"""Thin gRPC servicers for expense_svc: proto in, domain call, proto out.

Validation and rendering live in :mod:`expense_svc.convert`; the work in
:mod:`expense_svc.expenses`, :mod:`expense_svc.budgets`, :mod:`expense_svc.quick_add` and
:mod:`expense_svc.importer`. Domain errors propagate to the server interceptor, which maps
them to ``google.rpc`` status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import empty_pb2

from expense_svc import budgets, convert, expenses, importer, quick_add
from expense_svc.batching import Batcher
from expense_svc.convert import (
    check_category_id,
    check_page_size,
    check_request_id,
    draft_from_proto,
)
from expense_svc.idempotency import IdempotencyKey
from expense_svc.ml_client import MlClient
from expense_svc.money import check_currency, positive_amount, to_money
from expense_svc.tx import Pool
from finance.expense.v1 import (
    budget_service_pb2,
    budget_service_pb2_grpc,
    expense_pb2,
    expense_service_pb2,
    expense_service_pb2_grpc,
)
from finmesh.auth import current_user_id
from finmesh.errors import InvalidArgument
from finmesh.taxonomy import CATEGORIES

Context = grpc.aio.ServicerContext[Any, Any]

#: gRPC metadata the HTTP ``Idempotency-Key`` header arrives as (through Envoy).
IDEMPOTENCY_HEADER = "idempotency-key"
CATEGORY_PAGE_DEFAULT = 100


def idempotency_key(request_id: str, context: Context) -> str:
    """The request's idempotency key: ``request_id`` or the ``Idempotency-Key`` header; both
    may be given only if they agree."""
    header = ""
    for key, value in context.invocation_metadata() or ():
        if key == IDEMPOTENCY_HEADER:
            header = value.decode() if isinstance(value, bytes) else str(value)
    check_request_id(request_id)
    check_request_id(header, "Idempotency-Key")
    if request_id and header and request_id != header:
        raise InvalidArgument.field(
            "request_id", "differs from the Idempotency-Key header; send one key"
        )
    return request_id or header


class ExpenseService(expense_service_pb2_grpc.ExpenseServiceServicer):
    def __init__(self, pool: Pool, ml: MlClient) -> None:
        self._pool = pool
        self._ml = ml
        # One user's concurrent creates share a transaction (group commit; see batching).
        self._creates: Batcher[str, expenses.NewExpense, expense_pb2.Expense] = Batcher(
            lambda user_id, news: expenses.create_expenses(pool, user_id, news),
            name="CreateExpense",
            conflict_key=lambda new: new.idem.key if new.idem is not None else None,
        )

    async def aclose(self) -> None:
        """Let the group-commit batches in flight finish (after the server has stopped)."""
        await self._creates.aclose()

    async def CreateExpense(
        self, request: expense_service_pb2.CreateExpenseRequest, context: Context
    ) -> expense_pb2.Expense:
        user_id = current_user_id()
        key = idempotency_key(request.request_id, context)
        draft = draft_from_proto(request.expense)
        idem = None
        if key:
            idem = IdempotencyKey(
                key=key,
                method="CreateExpense",
                request_hash=convert.canonical_hash("CreateExpense", canonical_create(request)),
            )
        return await self._creates.submit(user_id, expenses.NewExpense(draft, idem=idem))

    async def GetExpense(
        self, request: expense_service_pb2.GetExpenseRequest, context: Context
    ) -> expense_pb2.Expense:
        return await expenses.get_expense(self._pool, current_user_id(), request.id)

    async def ListExpenses(
        self, request: expense_service_pb2.ListExpensesRequest, context: Context
    ) -> expense_service_pb2.ListExpensesResponse:
        user_id = current_user_id()
        page_size = check_page_size(request.page_size, default=50)
        if request.month and not budgets.is_month(request.month):
            raise InvalidArgument.field("month", f"{request.month[:20]!r} is not YYYY-MM")
        if request.category:
            check_category_id(request.category, "category")
        if len(request.query) > convert.QUERY_MAX_CHARS:
            raise InvalidArgument.field(
                "query", f"must be at most {convert.QUERY_MAX_CHARS} characters"
            )
        page = await expenses.list_expenses(
            self._pool,
            user_id,
            expenses.ExpenseFilter(request.month, request.category, request.query.strip()),
            page_size=page_size,
            page_token=request.page_token,
        )
        return expense_service_pb2.ListExpensesResponse(
            expenses=page.expenses, next_page_token=page.next_page_token
        )

    async def UpdateExpense(
        self, request: expense_service_pb2.UpdateExpenseRequest, context: Context
    ) -> expense_pb2.Expense:
        user_id = current_user_id()
        if not request.expense.id:
            raise InvalidArgument.field("expense.id", "is required")
        paths, replace_all = convert.update_paths(request.update_mask.paths)
        values = convert.update_values(request.expense, paths, replace_all)
        if replace_all:
            # A full replacement keeps what the client left unset.
            if not request.expense.HasField("amount"):
                paths.discard("amount")
            if not request.expense.HasField("date"):
                paths.discard("date")
        return await expenses.update_expense(
            self._pool, user_id, request.expense.id, values, paths, etag=request.expense.etag
        )

    async def DeleteExpense(
        self, request: expense_service_pb2.DeleteExpenseRequest, context: Context
    ) -> empty_pb2.Empty:
        await expenses.delete_expense(self._pool, current_user_id(), request.id, etag=request.etag)
        return empty_pb2.Empty()

    async def QuickAddExpense(
        self, request: expense_service_pb2.QuickAddExpenseRequest, context: Context
    ) -> expense_pb2.Expense:
        user_id = current_user_id()
        key = idempotency_key(request.request_id, context)
        canonical = expense_service_pb2.QuickAddExpenseRequest()
        canonical.CopyFrom(request)
        canonical.request_id = ""
        idem = (
            IdempotencyKey(
                key=key,
                method="QuickAddExpense",
                request_hash=convert.canonical_hash("QuickAddExpense", canonical),
            )
            if key
            else None
        )
        return await quick_add.quick_add(
            self._pool,
            user_id,
            request,
            idem=idem,
            ml=self._ml,
            authorization=_metadata(context, "authorization"),
        )

    async def ImportStatement(
        self,
        request_iterator: AsyncIterator[expense_service_pb2.ImportStatementRequest],
        context: Context,
    ) -> expense_service_pb2.ImportStatementResponse:
        user_id = current_user_id()
        upload = await importer.receive(request_iterator)
        key = idempotency_key(upload.request_id, context)
        return await importer.import_statement(self._pool, user_id, upload, request_id=key)

    async def ListCategories(
        self, request: expense_service_pb2.ListCategoriesRequest, context: Context
    ) -> expense_service_pb2.ListCategoriesResponse:
        user_id = current_user_id()
        page_size = check_page_size(request.page_size, default=CATEGORY_PAGE_DEFAULT)
        offset = 0
        if request.page_token:
            if not request.page_token.isdigit():
                raise InvalidArgument.field("page_token", "is not a page token from this list")
            offset = int(request.page_token)
        out = [
            expense_pb2.Category(id=c.id, display_name=c.display_name, description=c.description)
            for c in CATEGORIES
        ]
        for cid, name, _ in await expenses.list_categories(self._pool, user_id):
            out.append(expense_pb2.Category(id=cid, display_name=name, user_defined=True))
        page = out[offset : offset + page_size]
        more = offset + page_size < len(out)
        return expense_service_pb2.ListCategoriesResponse(
            categories=page, next_page_token=str(offset + page_size) if more else ""
        )


def canonical_create(
    request: expense_service_pb2.CreateExpenseRequest,
) -> expense_service_pb2.CreateExpenseRequest:
    """The request as it counts for idempotency: input fields only, no key, defaults
    spelled out (``DIRECTION_UNSPECIFIED`` is ``DIRECTION_DEBIT``)."""
    e = request.expense
    expense = expense_pb2.Expense(
        amount=e.amount,
        direction=e.direction or expense_pb2.DIRECTION_DEBIT,
        description=e.description,
        merchant=e.merchant,
        category=e.category,
        date=e.date,
    )
    return expense_service_pb2.CreateExpenseRequest(expense=expense)


def _metadata(context: Context, name: str) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


# -- budgets -------------------------------------------------------------------------------------


def budget_to_proto(view: budgets.BudgetView) -> budget_service_pb2.Budget:
    out = budget_service_pb2.Budget(
        month=view.month,
        category=view.category,
        limit=to_money(view.limit, view.currency),
        spent=to_money(view.spent, view.currency),
        remaining=to_money(view.remaining, view.currency),
        percent_used=round(view.percent_used, 4),
        rollover=view.rollover,
        carried_over=to_money(view.carried_over, view.currency),
        overspent=to_money(view.overspent, view.currency),
        etag=convert.etag_of(view.version),
    )
    out.create_time.CopyFrom(convert.to_timestamp(view.create_time))
    out.update_time.CopyFrom(convert.to_timestamp(view.update_time))
    return out


def _budget_name(month: str, category: str, prefix: str = "") -> None:
    if not budgets.is_month(month):
        raise InvalidArgument.field(
            f"{prefix}month", f"{month[:20]!r} is not a month (YYYY-MM, month 01-12)"
        )
    check_category_id(category, f"{prefix}category")


class BudgetService(budget_service_pb2_grpc.BudgetServiceServicer):
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def UpdateBudget(
        self, request: budget_service_pb2.UpdateBudgetRequest, context: Context
    ) -> budget_service_pb2.Budget:
        user_id = current_user_id()
        b = request.budget
        _budget_name(b.month, b.category, "budget.")
        paths = [p.strip() for p in request.update_mask.paths if p.strip()]
        everything = not paths or paths == ["*"]
        for p in paths:
            if p not in ("limit", "rollover") and not everything:
                raise InvalidArgument.field(
                    "update_mask", f"{p[:60]!r} cannot be updated; updatable: limit, rollover"
                )
        limit = None
        if everything or "limit" in paths:
            if b.HasField("limit"):
                limit = positive_amount(b.limit, "budget.limit")
            elif not everything:
                raise InvalidArgument.field("budget.limit", "is required")
        rollover = b.rollover if everything or "rollover" in paths else None
        if limit is not None:
            check_currency(limit[1], "budget.limit.currency_code")
        view = await budgets.update_budget(
            self._pool,
            user_id,
            b.month,
            b.category,
            limit=limit,
            rollover=rollover,
            etag=b.etag,
            allow_missing=request.allow_missing if request.HasField("allow_missing") else True,
        )
        return budget_to_proto(view)

    async def GetBudget(
        self, request: budget_service_pb2.GetBudgetRequest, context: Context
    ) -> budget_service_pb2.Budget:
        _budget_name(request.month, request.category)
        view = await budgets.get_budget(
            self._pool, current_user_id(), request.month, request.category
        )
        return budget_to_proto(view)

    async def ListBudgets(
        self, request: budget_service_pb2.ListBudgetsRequest, context: Context
    ) -> budget_service_pb2.ListBudgetsResponse:
        page_size = check_page_size(request.page_size, default=100)
        if request.month and not budgets.is_month(request.month):
            raise InvalidArgument.field("month", f"{request.month[:20]!r} is not YYYY-MM")
        page = await budgets.list_budgets(
            self._pool,
            current_user_id(),
            month=request.month,
            page_size=page_size,
            page_token=request.page_token,
        )
        return budget_service_pb2.ListBudgetsResponse(
            budgets=[budget_to_proto(v) for v in page.budgets],
            next_page_token=page.next_page_token,
        )

    async def DeleteBudget(
        self, request: budget_service_pb2.DeleteBudgetRequest, context: Context
    ) -> empty_pb2.Empty:
        _budget_name(request.month, request.category)
        await budgets.delete_budget(
            self._pool, current_user_id(), request.month, request.category, etag=request.etag
        )
        return empty_pb2.Empty()
