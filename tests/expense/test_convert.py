"""Rendering rows as protos: the fast paths give what the protobuf library's own would."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from google.protobuf import timestamp_pb2

from expense_svc.convert import to_timestamp


def _reference(when: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


def test_to_timestamp_equals_from_datetime() -> None:
    rng = random.Random(7)
    india = dt.timezone(dt.timedelta(hours=5, minutes=30))
    for _ in range(3_000):
        when = dt.datetime.fromtimestamp(rng.uniform(-2e9, 4e9), dt.UTC)
        when = when.replace(microsecond=rng.randrange(1_000_000))
        for variant in (when, when.replace(tzinfo=None), when.astimezone(india)):
            assert to_timestamp(variant) == _reference(variant), variant


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 4, 2, 30, 0, 1),  # noqa: DTZ001  (naive: read as UTC)
    ],
)
def test_to_timestamp_at_the_edges(when: dt.datetime) -> None:
    assert to_timestamp(when) == _reference(when)
