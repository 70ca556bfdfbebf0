"""InsightRaised → stored Insight (pure): dedupe keys, ids, severities, rejected events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from finance.events.v1 import events_pb2
from finance.insight.v1 import insight_service_pb2 as pb
from insight_svc import insights
from insight_svc.model import to_money
from tests.insight.helpers import threshold

NOW = dt.datetime(2026, 5, 14, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("percent", "severity"),
    [(50, pb.SEVERITY_INFO), (80, pb.SEVERITY_WARNING), (100, pb.SEVERITY_CRITICAL)],
)
def test_budget_thresholds_map_to_severity_and_one_key_per_budget_month_and_threshold(
    percent: int, severity: int
) -> None:
    a = threshold("u1", "2026-05", "dining", percent, "100.00", "200.00")
    b = threshold("u1", "2026-05", "dining", percent, "101.00", "200.00")  # another event id
    sa, sb = insights.to_insight(a), insights.to_insight(b)
    assert sa.dedupe_key == sb.dedupe_key == f"budget:2026-05:dining:{percent}"
    assert sa.insight.id == sb.insight.id
    assert sa.insight.severity == severity
    assert sa.insight.threshold_percent == percent
    assert "£100.00" in sa.insight.message and "£200.00" in sa.insight.message
    # Another user's identical alert is another insight.
    other = insights.to_insight(threshold("u2", "2026-05", "dining", percent, "1", "2"))
    assert other.insight.id != sa.insight.id


def _unusual(occur: dt.datetime) -> events_pb2.InsightRaised:
    return insights.unusual_spend(
        "u1",
        occur,
        expense_id="e1",
        day=dt.date(2026, 5, 3),
        category="groceries",
        merchant="Tesco",
        amount=to_money(Decimal("250"), "GBP"),
        typical=to_money(Decimal("48"), "GBP"),
    )


def test_derived_events_have_deterministic_event_ids_and_round_trip() -> None:
    one = _unusual(NOW)
    two = _unusual(NOW + dt.timedelta(hours=1))
    assert one.event_id == two.event_id
    stored = insights.to_insight(one)
    assert stored.dedupe_key == "unusual:e1"
    assert stored.insight.type == pb.INSIGHT_TYPE_UNUSUAL_SPEND
    assert stored.insight.month == "2026-05"
    assert list(stored.insight.expense_ids) == ["e1"]
    dup = insights.duplicate_charge(
        "u1",
        NOW,
        expense_ids=["a", "b"],
        day=dt.date(2026, 5, 4),
        category="dining",
        merchant="Deliveroo",
        amount=to_money(Decimal("19.99"), "GBP"),
    )
    assert insights.to_insight(dup).dedupe_key == "duplicate:b"
    assert insights.to_insight(dup).insight.severity == pb.SEVERITY_CRITICAL


@pytest.mark.parametrize(
    "event",
    [
        events_pb2.InsightRaised(event_id="x", user_id="u1"),  # no kind
        threshold("", "2026-05", "dining", 50, "1", "2"),  # no user
        threshold("u1", "2026-13", "dining", 50, "1", "2"),  # bad month
        threshold("u1", "2026-05", "dining", 60, "1", "2"),  # not a threshold we raise
        events_pb2.InsightRaised(
            event_id="x", user_id="u1", duplicate_charge=events_pb2.DuplicateCharge(month="2026-05")
        ),  # no expenses
    ],
)
def test_events_that_cannot_be_insights_are_rejected(event: events_pb2.InsightRaised) -> None:
    with pytest.raises(insights.BadInsightEvent):
        insights.to_insight(event)
