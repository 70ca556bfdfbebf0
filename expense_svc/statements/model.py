"""What a parsed statement looks like, whatever the file format.

No gRPC and no database here: the ImportStatement servicer turns a `ParseResult` into expenses
(deduplicated on `ParsedLine.dedupe_key`) and `LineError`s into rejected lines.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Direction = Literal["DEBIT", "CREDIT"]
"""Money out of the account is a DEBIT, money in is a CREDIT."""

StatementFormat = Literal["csv", "ofx", "qif"]


class StatementFormatError(Exception):
    """The file is not a statement in any supported format, or cannot be read at all.

    The message names the problem in words a user can act on, e.g.
    "not a CSV, OFX or QIF statement: the file is a PNG image".
    """


@dataclass(frozen=True)
class ParsedLine:
    """One transaction read from a statement."""

    line_number: int
    """1-based physical line in the file where the transaction starts."""
    date: datetime.date
    amount: Decimal
    """Always > 0; the sign lives in `direction`."""
    direction: Direction
    description: str
    currency: str
    """Three-letter ISO 4217 code."""
    fitid: str | None
    """The bank's own transaction id (OFX FITID, a CSV "Transaction ID" column), if any."""
    dedupe_key: str
    """Stable across re-imports of the same file and of overlapping files (see `dedupe.py`)."""


@dataclass(frozen=True)
class LineError:
    """A line (or transaction record) that could not be read; the rest of the file still is."""

    line_number: int
    """1-based physical line in the file (for OFX/QIF the line where the record starts)."""
    reason: str
    """Why, without the line number, e.g. "amount 'abc' is not a number"."""
    content: str = ""
    """The line as it appears in the file, truncated to 200 characters."""

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


@dataclass(frozen=True)
class ParseResult:
    """Everything read from one statement file, in file order."""

    format: StatementFormat
    lines: list[ParsedLine]
    errors: list[LineError]


class LineProblem(ValueError):
    """Raised inside the parsers for one bad line; becomes a `LineError`, never escapes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CONTENT_MAX_CHARS = 200


def excerpt(text: str) -> str:
    """The line content as reported back in a LineError (`RejectedLine.content`)."""
    text = text.rstrip("\r\n")
    return text if len(text) <= CONTENT_MAX_CHARS else text[: CONTENT_MAX_CHARS - 1] + "…"
