"""Proto ↔ domain for expense_svc: request validation and resource rendering.

No gRPC here (protobuf messages only): the servicers call these, and so do the domain modules
that put protobuf events into the outbox. Validation raises
:class:`finmesh.errors.InvalidArgument` with a field violation naming the request field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from google.type import date_pb2

from expense_svc.money import positive_amount, to_money
from finance.expense.v1 import expense_pb2
from finmesh.errors import InvalidArgument

DESCRIPTION_MAX_CHARS = 1_000
MERCHANT_MAX_CHARS = 200
CATEGORY_MAX_CHARS = 64
QUERY_MAX_CHARS = 200
REQUEST_ID_MAX_CHARS = 128
DEFAULT_LOCALE = "en_GB"

_CATEGORY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_LOCALE_RE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")

#: The Expense fields UpdateExpense may change (update_mask paths).
UPDATABLE_FIELDS: tuple[str, ...] = (
    "amount",
    "direction",
    "description",
    "merchant",
    "category",
    "date",
)

_DIRECTIONS: dict[int, str] = {
    expense_pb2.DIRECTION_UNSPECIFIED: "DEBIT",
    expense_pb2.DIRECTION_DEBIT: "DEBIT",
    expense_pb2.DIRECTION_CREDIT: "CREDIT",
}


@dataclass(frozen=True)
class ExpenseDraft:
    """A validated new expense (or the new values of an updated one)."""

    amount: Decimal
    currency: str
    direction: str  # "DEBIT" | "CREDIT"
    description: str
    merchant: str
    category: str | None
    date: dt.date


@dataclass(frozen=True)
class ExpenseRow:
    """One row of ``expenses`` as the domain sees it."""

    id: str
    user_id: str
    amount: Decimal
    currency: str
    direction: str
    description: str
    merchant: str
    category: str | None
    category_source: str | None
    category_confidence: Decimal | None
    category_explanation: str
    model_version: str
    enrichment_state: str
    date: dt.date
    version: int
    create_time: dt.datetime
    update_time: dt.datetime
    origin: str
    locale: str


#: The ``expenses`` columns in :class:`ExpenseRow` order.
EXPENSE_COLUMNS = (
    "id, user_id, amount, currency, direction, description, merchant, category,"
    " category_source, category_confidence, category_explanation, model_version,"
    " enrichment_state, date, version, create_time, update_time, origin, locale"
)


def row_to_expense_row(row: Sequence[Any]) -> ExpenseRow:
    values = list(row)
    values[0] = str(values[0])
    values[3] = str(values[3]).strip()
    return ExpenseRow(*values)


# -- validation --------------------------------------------------------------------------------


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def check_date(date: date_pb2.Date, field: str, *, default: dt.date | None) -> dt.date:
    """A full calendar date; an unset Date (all zero) is ``default`` (or an error if None)."""
    if date.year == 0 and date.month == 0 and date.day == 0:
        if default is None:
            raise InvalidArgument.field(field, "is required")
        return default
    try:
        return dt.date(date.year, date.month, date.day)
    except ValueError:
        raise InvalidArgument.field(
            field, f"{date.year:04d}-{date.month:02d}-{date.day:02d} is not a calendar date"
        ) from None


def check_direction(value: int, field: str) -> str:
    try:
        return _DIRECTIONS[value]
    except KeyError:
        raise InvalidArgument.field(field, f"unknown direction {value}") from None


def check_description(value: str, field: str) -> str:
    if len(value) > DESCRIPTION_MAX_CHARS:
        raise InvalidArgument.field(field, f"must be at most {DESCRIPTION_MAX_CHARS} characters")
    text = value.strip()
    if not text:
        raise InvalidArgument.field(field, "is required")
    if "\x00" in text:
        raise InvalidArgument.field(field, "must not contain NUL characters")
    return text


def check_merchant(value: str, field: str) -> str:
    if len(value) > MERCHANT_MAX_CHARS:
        raise InvalidArgument.field(field, f"must be at most {MERCHANT_MAX_CHARS} characters")
    if "\x00" in value:
        raise InvalidArgument.field(field, "must not contain NUL characters")
    return value.strip()


def check_category_id(value: str, field: str) -> str:
    """The syntax of a category id (lower_snake_case); whether it exists is checked against
    the taxonomy and the user's own categories by the caller."""
    if not _CATEGORY_RE.fullmatch(value):
        raise InvalidArgument.field(field, f"{value[:70]!r} is not a category id")
    return value


def check_request_id(value: str, field: str = "request_id") -> str:
    if len(value) > REQUEST_ID_MAX_CHARS:
        raise InvalidArgument.field(field, f"must be at most {REQUEST_ID_MAX_CHARS} characters")
    if value and not value.isprintable():
        raise InvalidArgument.field(field, "must be printable text")
    return value


def check_locale(value: str, field: str = "locale") -> str:
    if not value:
        return DEFAULT_LOCALE
    if not _LOCALE_RE.fullmatch(value):
        raise InvalidArgument.field(field, f"{value[:20]!r} is not a locale like en_GB")
    return value


def check_page_size(value: int, *, default: int, field: str = "page_size") -> int:
    if value < 0:
        raise InvalidArgument.field(field, "must not be negative")
    return default if value == 0 else min(value, 500)


def draft_from_proto(expense: expense_pb2.Expense, prefix: str = "expense") -> ExpenseDraft:
    """Validate the input fields of an Expense; output-only fields are ignored."""
    if not expense.HasField("amount"):
        raise InvalidArgument.field(f"{prefix}.amount", "is required")
    amount, currency = positive_amount(expense.amount, f"{prefix}.amount")
    category = (
        check_category_id(expense.category, f"{prefix}.category") if expense.category else None
    )
    return ExpenseDraft(
        amount=amount,
        currency=currency,
        direction=check_direction(expense.direction, f"{prefix}.direction"),
        description=check_description(expense.description, f"{prefix}.description"),
        merchant=check_merchant(expense.merchant, f"{prefix}.merchant"),
        category=category,
        date=check_date(expense.date, f"{prefix}.date", default=today_utc()),
    )


def update_paths(paths: Iterable[str], field: str = "update_mask") -> tuple[set[str], bool]:
    """The update mask as a set of updatable fields, and whether it means "all" (empty or
    ``*``)."""
    given = [p.strip() for p in paths if p.strip()]
    if not given or given == ["*"]:
        return set(UPDATABLE_FIELDS), True
    out: set[str] = set()
    for path in given:
        # proto3 JSON clients may send camelCase; every updatable field is one word anyway.
        if path not in UPDATABLE_FIELDS:
            raise InvalidArgument.field(
                field,
                f"{path[:60]!r} cannot be updated; updatable: {', '.join(UPDATABLE_FIELDS)}",
            )
        out.add(path)
    return out, False


def canonical_hash(method: str, message: Message) -> bytes:
    """A stable hash of a request for idempotency: the method name and the deterministic
    serialization of ``message`` (with the idempotency key itself already cleared)."""
    h = hashlib.sha256(method.encode())
    h.update(b"\x00")
    h.update(message.SerializeToString(deterministic=True))
    return h.digest()


# -- rendering ---------------------------------------------------------------------------------


def to_date(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_timestamp(when: dt.datetime) -> timestamp_pb2.Timestamp:
    """``when`` (naive: UTC) as a Timestamp: the arithmetic of ``Timestamp.FromDatetime``
    without its pure-Python detours (a sixth of a created expense's rendering)."""
    delta = (when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1_000
    )


def etag_of(version: int) -> str:
    return f'W/"{version}"'


def version_of_etag(etag: str) -> int | None:
    """The version an etag names, or None if it is not one of ours."""
    if etag.startswith('W/"') and etag.endswith('"') and etag[3:-1].isdigit():
        return int(etag[3:-1])
    return None


# Stored name -> enum number, looked up once (``EnumTypeWrapper.Value`` is a Python call).
_DIRECTION_NUMBERS = {n.removeprefix("DIRECTION_"): v for n, v in expense_pb2.Direction.items()}
_SOURCE_NUMBERS = {
    n.removeprefix("CATEGORY_SOURCE_"): v for n, v in expense_pb2.CategorySource.items()
}
_STATE_NUMBERS = {
    n.removeprefix("ENRICHMENT_STATE_"): v for n, v in expense_pb2.EnrichmentState.items()
}
_ORIGIN_NUMBERS = {
    n.removeprefix("EXPENSE_ORIGIN_"): v for n, v in expense_pb2.ExpenseOrigin.items()
}


def expense_to_proto(row: ExpenseRow) -> expense_pb2.Expense:
    source = row.category_source
    confidence = (
        1.0
        if source == "USER"
        else float(row.category_confidence)
        if row.category_confidence is not None
        else 0.0
    )
    created = to_timestamp(row.create_time)
    return expense_pb2.Expense(
        id=row.id,
        amount=to_money(row.amount, row.currency),
        direction=_DIRECTION_NUMBERS[row.direction],
        description=row.description,
        merchant=row.merchant,
        category=row.category or "",
        category_source=_SOURCE_NUMBERS[source]
        if source
        else expense_pb2.CATEGORY_SOURCE_UNSPECIFIED,
        category_confidence=confidence,
        date=to_date(row.date),
        enrichment_state=_STATE_NUMBERS[row.enrichment_state],
        model_version=row.model_version,
        category_explanation=row.category_explanation,
        origin=_ORIGIN_NUMBERS[row.origin],
        etag=etag_of(row.version),
        create_time=created,
        update_time=created
        if row.update_time == row.create_time
        else to_timestamp(row.update_time),
    )


def update_values(
    expense: expense_pb2.Expense, paths: set[str], replace_all: bool, prefix: str = "expense"
) -> ExpenseDraft:
    """The validated new values of the fields in ``paths``. The others get placeholders the
    caller never reads. In a full replacement (``replace_all``) an unset ``amount``/``date``
    and an empty ``category`` mean "keep"; named explicitly, they are required."""
    amount, currency = Decimal(0), ""
    if "amount" in paths:
        if expense.HasField("amount"):
            amount, currency = positive_amount(expense.amount, f"{prefix}.amount")
        elif not replace_all:
            raise InvalidArgument.field(f"{prefix}.amount", "is required")
    category: str | None = None
    if "category" in paths:
        if expense.category:
            category = check_category_id(expense.category, f"{prefix}.category")
        elif not replace_all:
            raise InvalidArgument.field(
                f"{prefix}.category", "must name a category (it cannot be cleared)"
            )
    day = today_utc()
    if "date" in paths and (expense.HasField("date") or not replace_all):
        day = check_date(expense.date, f"{prefix}.date", default=None)
    return ExpenseDraft(
        amount=amount,
        currency=currency,
        direction=check_direction(expense.direction, f"{prefix}.direction")
        if "direction" in paths
        else "DEBIT",
        description=check_description(expense.description, f"{prefix}.description")
        if "description" in paths
        else "",
        merchant=check_merchant(expense.merchant, f"{prefix}.merchant")
        if "merchant" in paths
        else "",
        category=category,
        date=day,
    )
