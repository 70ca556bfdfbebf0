"""Turning one transaction's values into a `ParsedLine`, with the checks every format shares."""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal

import babel.numbers

from expense_svc.statements.dedupe import DedupeKeys
from expense_svc.statements.model import (
    Direction,
    LineError,
    LineProblem,
    ParsedLine,
    ParseResult,
    StatementFormat,
    excerpt,
)


@functools.cache
def _iso_currencies() -> frozenset[str]:
    return frozenset(babel.numbers.list_currencies())


def is_currency_code(code: str) -> bool:
    """A three-letter ISO 4217 code (upper case)."""
    return len(code) == 3 and code.isascii() and code.isupper() and code in _iso_currencies()


def currency_or_problem(code: str) -> str:
    """Normalise a currency cell; raises `LineProblem` when it is not an ISO 4217 code."""
    normalised = code.strip().upper()
    if not is_currency_code(normalised):
        raise LineProblem(f"currency {code.strip()!r} is not an ISO 4217 code")
    return normalised


def clean_description(*parts: str | None) -> str:
    """Join the non-empty parts, collapsing runs of whitespace (banks pad with spaces)."""
    words: list[str] = []
    for part in parts:
        if part:
            words.extend(part.split())
    return " ".join(words)


def join_name_and_memo(name: str | None, memo: str | None) -> str:
    """OFX NAME/MEMO, QIF P/M: the payee, plus the memo when it adds something."""
    name = clean_description(name)
    memo = clean_description(memo)
    if not memo or memo.casefold() in name.casefold():
        return name
    if not name or memo.casefold().startswith(name.casefold()):
        return memo  # banks truncate NAME to 32 characters and repeat it in full in MEMO
    return f"{name} - {memo}"


class LineCollector:
    """Collects the lines and errors of one file and hands out their dedupe keys."""

    def __init__(self, *, default_currency: str) -> None:
        self.default_currency = default_currency
        self._keys = DedupeKeys()
        self._lines: list[ParsedLine] = []
        self._errors: list[LineError] = []

    def add(
        self,
        *,
        line_number: int,
        date: datetime.date,
        amount: Decimal,
        direction: Direction,
        description: str,
        currency: str | None,
        fitid: str | None,
        account_id: str | None = None,
    ) -> None:
        """Record one transaction; raises `LineProblem` (nothing recorded) when it is unusable.

        `amount` may carry a sign; only its magnitude is kept, `direction` says which way.
        """
        magnitude = abs(amount)
        if magnitude == 0:
            raise LineProblem("amount is zero")
        description = clean_description(description)
        if not description:
            raise LineProblem("description is empty")
        code = currency_or_problem(currency) if currency else self.default_currency
        fitid = fitid.strip() if fitid else None
        if fitid:
            key = self._keys.for_transaction_id(fitid, account_id=account_id)
        else:
            key = self._keys.for_content(
                date=date,
                amount=magnitude,
                direction=direction,
                description=description,
                currency=code,
            )
        self._lines.append(
            ParsedLine(
                line_number=line_number,
                date=date,
                amount=magnitude,
                direction=direction,
                description=description,
                currency=code,
                fitid=fitid or None,
                dedupe_key=key,
            )
        )

    def error(self, line_number: int, reason: str, content: str = "") -> None:
        self._errors.append(LineError(line_number, reason, excerpt(content)))

    def result(self, fmt: StatementFormat) -> ParseResult:
        errors = sorted(self._errors, key=lambda error: error.line_number)
        return ParseResult(format=fmt, lines=self._lines, errors=errors)
