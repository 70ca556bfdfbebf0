"""Figures, targets and percentiles shared by the benchmark parts."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Target:
    """A figure's goal, e.g. ``Target(">=", 0.7)``."""

    op: str
    value: float

    def met(self, figure: float) -> bool:
        return _OPS[self.op](figure, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
