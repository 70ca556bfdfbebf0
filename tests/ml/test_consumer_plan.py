"""Which raw events the enrichment pipeline answers (pure decoding and validation)."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.kafka import Event, PermanentError
from ml_svc.consumer import plan


def as_event(msg: events_pb2.ExpenseChanged | events_pb2.ExpenseRecorded, offset: int = 0) -> Event:
    return Event(
        topic="expenses.raw",
        partition=0,
        offset=offset,
        key=msg.user_id,
        event_id=msg.event_id,
        event_type=msg.DESCRIPTOR.full_name,
        value=msg.SerializeToString(),
    )


def changed(
    paths: list[str],
    source: int = expense_pb2.CATEGORY_SOURCE_MODEL,
    before: str = "TESCO",
    after: str = "TESCO EXPRESS",
) -> events_pb2.ExpenseChanged:
    return events_pb2.ExpenseChanged(
        event_id=str(uuid.uuid4()),
        user_id="u1",
        expense=expense_pb2.Expense(id="e1", description=after, category_source=source),  # type: ignore[arg-type]
        previous_expense=expense_pb2.Expense(id="e1", description=before),
        changed_fields=FieldMask(paths=paths),
    )


def test_changed_description_is_re_enriched_but_a_category_change_is_not() -> None:
    jobs, _ = plan([as_event(changed(["description"])), as_event(changed(["category"]), 1)])
    assert [j.expense.description for j in jobs] == ["TESCO EXPRESS"]


def test_a_users_own_category_is_never_re_enriched() -> None:
    jobs, _ = plan([as_event(changed(["description"], expense_pb2.CATEGORY_SOURCE_USER))])
    assert jobs == []


def test_without_a_field_mask_the_snapshots_are_compared() -> None:
    jobs, _ = plan(
        [
            as_event(changed([], before="A", after="B")),
            as_event(changed([], before="A", after="A"), 1),
        ]
    )
    assert len(jobs) == 1


def test_other_event_types_are_skipped_and_deletions_recorded() -> None:
    deleted = events_pb2.ExpenseDeleted(event_id=str(uuid.uuid4()), user_id="u1", expense_id="e9")
    other = Event("expenses.raw", 0, 5, "u1", "x", "finance.events.v1.Unknown", b"")
    jobs, gone = plan(
        [
            Event(
                "expenses.raw",
                0,
                4,
                "u1",
                deleted.event_id,
                deleted.DESCRIPTOR.full_name,
                deleted.SerializeToString(),
            ),
            other,
        ]
    )
    assert jobs == [] and gone == [("u1", "e9")]


@pytest.mark.parametrize("field", ["user_id", "expense.id", "expense.description"])
def test_an_expense_missing_what_enrichment_needs_is_permanent(field: str) -> None:
    msg = events_pb2.ExpenseRecorded(
        event_id=str(uuid.uuid4()),
        user_id="u1",
        expense=expense_pb2.Expense(id="e1", description="TESCO"),
    )
    if field == "user_id":
        msg.user_id = ""
    elif field == "expense.id":
        msg.expense.id = ""
    else:
        msg.expense.description = " "
    with pytest.raises(PermanentError):
        plan([as_event(msg)])
