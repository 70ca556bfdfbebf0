"""Dedupe keys: the same bank transaction gets the same key however often it is imported.

- With a bank transaction id (OFX FITID, a CSV "Transaction ID" column):
  ``id:`` + sha256(account id, transaction id). Banks promise FITIDs are unique per account.
- Without one: ``h:`` + sha256(date, amount, direction, normalised description, currency),
  then ``:<n>`` where n counts identical transactions within the file (1 for the first). Two
  identical coffees on one day are two expenses (``…:1`` and ``…:2``), and importing the same
  file again, or an overlapping one that holds both, produces the same two keys.

A repeated transaction id within one file (some banks reuse FITIDs) also gets ``:<n>`` from the
second occurrence on, so no transaction in a file is silently lost.

Keys are opaque, at most 70 characters, and are unique per user in the database
(`expenses.import_hash`).
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from decimal import Decimal

from expense_svc.statements.model import Direction

_DIGEST_CHARS = 40


def normalise_description(description: str) -> str:
    """Case and whitespace never make two transactions different."""
    return " ".join(description.casefold().split())


def canonical_amount(amount: Decimal) -> str:
    """The amount without trailing zeros: 4.50 and 4.5 are the same amount."""
    return format(amount.normalize(), "f")


class DedupeKeys:
    """Hands out keys for one file, counting repeats in file order."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def for_transaction_id(self, transaction_id: str, *, account_id: str | None) -> str:
        material = f"{account_id or ''}\x1f{transaction_id.strip()}"
        base = "id:" + _digest(material)
        self._seen[base] += 1
        count = self._seen[base]
        return base if count == 1 else f"{base}:{count}"

    def for_content(
        self,
        *,
        date: datetime.date,
        amount: Decimal,
        direction: Direction,
        description: str,
        currency: str,
    ) -> str:
        material = "\x1f".join(
            (
                date.isoformat(),
                canonical_amount(amount),
                direction,
                normalise_description(description),
                currency,
            )
        )
        base = "h:" + _digest(material)
        self._seen[base] += 1
        return f"{base}:{self._seen[base]}"


def _digest(material: str) -> str:
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
