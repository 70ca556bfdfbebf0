"""ParseExpense's logic: parse the text, resolve the merchant, categorise the description.

The merchant comes from, in order: a statement descriptor's normalised merchant (all-caps
text), the words after "at"/"from" ("Latte at Starbucks"), a known brand anywhere in the text
("uber home 14.20"), a capitalised name ("croissant Paul"). The dictionary's canonical name
wins whenever it knows the candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ml_svc.categorizer import CREDIT, DEBIT, Categorizer, Item, Result, UserMemory
from ml_svc.normalize import merchant_key, normalize
from ml_svc.parse import Parsed, looks_like_descriptor, parse


@dataclass(frozen=True, slots=True)
class QuickAdd:
    parsed: Parsed
    merchant: str
    merchant_confidence: float
    classification: Result


def resolve_merchant(parsed: Parsed, text: str, categorizer: Categorizer) -> tuple[str, float]:
    dictionary = categorizer.dictionary
    rest = parsed.description
    if looks_like_descriptor(rest):
        # the whole descriptor: its narrative ("PURCHASE AUTHORIZED ON 05/03 …") holds the
        # date the parser took out, and normalize knows where the merchant starts around it
        norm = normalize(text if looks_like_descriptor(text) else rest)
        hit = dictionary.lookup(norm.key)
        if hit:
            return hit.merchant, 0.9
        return (norm.merchant, 0.8) if norm.merchant else ("", 0.0)
    if parsed.merchant:
        hit = dictionary.exact(merchant_key(parsed.merchant)) or dictionary.lookup(
            merchant_key(parsed.merchant)
        )
        if hit:
            return hit.merchant, 0.95
        if parsed.merchant_confidence >= 0.85:
            return parsed.merchant, parsed.merchant_confidence
    hit = dictionary.scan(rest)
    if hit:
        return hit.merchant, 0.9
    return parsed.merchant, parsed.merchant_confidence


def quick_add(
    text: str,
    locale: str,
    today: date,
    categorizer: Categorizer,
    memory: UserMemory | None = None,
) -> QuickAdd:
    parsed, _info = parse(text, locale, today)
    merchant, conf = resolve_merchant(parsed, text, categorizer)
    item = Item(
        description=parsed.description,
        direction=CREDIT if parsed.credit else DEBIT,
        amount=parsed.amount.amount if parsed.amount else None,
        merchant=merchant,
    )
    result = categorizer.classify([item], [memory] if memory else None)[0]
    return QuickAdd(parsed, merchant, conf, result)
