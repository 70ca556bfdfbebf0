"""The categorisation cascade, first match wins:

1. the user's memory: exact merchant key -> the category they chose (one correction is enough);
2. the nearest of the user's corrected expenses by similarity (same merchant in another
   descriptor form: truncated, another store number, another wrapper);
3. rules, then the global merchant dictionary;
4. the global model, confidence-gated: below ``threshold`` the result is only a suggestion.

Pure logic: the memory comes in as a :class:`UserMemory` (loaded by the caller from the
database); nothing here touches gRPC, Kafka or SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum

import numpy as np
from rapidfuzz import fuzz

from ml_svc.dictionary import DictionaryHit, MerchantDictionary, match_rule
from ml_svc.model import LABELS, TextModel, model_input
from ml_svc.normalize import Normalized, merchant_key, normalize
from ml_svc.parse import candidate_merchant, looks_like_descriptor

DEBIT = "debit"
CREDIT = "credit"


class Source(Enum):
    MEMORY = "memory"
    SIMILAR_EXPENSE = "similar_expense"
    RULE = "rule"
    DICTIONARY = "dictionary"
    MODEL = "model"


@dataclass(frozen=True, slots=True)
class Item:
    description: str
    direction: str = DEBIT
    amount: Decimal | None = None
    merchant: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    category: str
    confidence: float
    merchant: str
    source: Source
    explanation: str
    auto_apply: bool
    model_version: str = ""
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Correction:
    key: str
    text: str
    category: str
    merchant: str = ""


@dataclass
class UserMemory:
    """One user's corrections: ``exact`` merchant key -> category, and the corrections."""

    exact: dict[str, str] = field(default_factory=dict)
    merchants: dict[str, str] = field(default_factory=dict)
    corrections: list[Correction] = field(default_factory=list)


EMPTY_MEMORY = UserMemory()
SIMILARITY_THRESHOLD = 88.0


def resolve_key(norm: Normalized, dictionary: MerchantDictionary, merchant: str = "") -> str:
    """The memory key of an expense: the dictionary's canonical merchant when it knows the
    alias (so "SBUX 1234" and "STARBUCKS STORE 9" share a key), else the normalised key."""
    key = merchant_key(merchant) if merchant else norm.key
    hit = dictionary.lookup(key) or (dictionary.lookup(norm.key) if merchant else None)
    return hit.key if hit else key


def typed_merchant(text: str, dictionary: MerchantDictionary) -> str:
    """The merchant of text a person typed ("Latte at Starbucks" -> Starbucks), found the way
    ParseExpense finds it: the words after at/from, else a known brand anywhere in the text,
    else a capitalised name; the dictionary's canonical name when it knows the candidate. Empty
    for a bank descriptor (mostly capitals), which :func:`normalize` reads instead."""
    if looks_like_descriptor(text) or not any(c.islower() for c in text):
        return ""
    name, conf = candidate_merchant(text)
    if name:
        key = merchant_key(name)
        hit = dictionary.exact(key) or dictionary.lookup(key)
        if hit:
            return hit.merchant
        if conf >= 0.85:
            return name
    hit = dictionary.scan(text)
    if hit:
        return hit.merchant
    return name


def _similar(key: str, text: str, memory: UserMemory) -> tuple[Correction, float] | None:
    best: tuple[Correction, float] | None = None
    for c in memory.corrections:
        if key and c.key:
            short, long_ = sorted((key, c.key), key=len)
            score = 95.0 if len(short) >= 5 and long_.startswith(short) else fuzz.ratio(key, c.key)
        else:
            score = fuzz.token_set_ratio(text, c.text)
        if score >= SIMILARITY_THRESHOLD and (best is None or score > best[1]):
            best = (c, score)
    return best


class Categorizer:
    def __init__(
        self,
        model: TextModel,
        dictionary: MerchantDictionary,
        *,
        version: str,
        threshold: float = 0.6,
    ) -> None:
        self.model = model
        self.dictionary = dictionary
        self.version = version
        self.threshold = threshold

    def classify(
        self,
        items: Sequence[Item],
        memories: Sequence[UserMemory] | None = None,
    ) -> list[Result]:
        """Classify ``items``; ``memories[i]`` is the memory of item i's owner.

        Every result carries the model's runners-up (up to three, most likely first), also
        one that memory, a rule or the dictionary decided: the categories a person would
        pick from instead."""
        results: list[Result] = []
        norms = [normalize(it.description) for it in items]
        model = self.model
        for i, (item, norm) in enumerate(zip(items, norms, strict=True)):
            if not item.merchant:
                typed = typed_merchant(item.description, self.dictionary)
                if typed:
                    item = replace(item, merchant=typed)
            memory = memories[i] if memories is not None else EMPTY_MEMORY
            direction = CREDIT if item.direction == CREDIT else DEBIT
            hit = self.dictionary.lookup(merchant_key(item.merchant) if item.merchant else norm.key)
            if hit is None and item.merchant:
                hit = self.dictionary.lookup(norm.key)
            merchant = hit.merchant if hit else (item.merchant or norm.merchant)
            key = hit.key if hit else (merchant_key(item.merchant) if item.merchant else norm.key)
            early = self._early(item, norm, key, merchant, direction, memory, hit)
            z, idx, val = model.item_logits(
                model_input(item.description, direction, item.merchant, norm)
            )
            z = z / model.temperature
            if _not_income(items[i]):
                z[_INCOME] = -np.inf
            p = np.exp(z - z.max())
            p /= p.sum()
            order = np.argsort(-p)[:4].tolist()
            if early is not None:  # the artifact's cascade decided: its version, as the model's
                others = [j for j in order if LABELS[j] != early.category][:3]
                results.append(
                    replace(
                        early,
                        model_version=self.version,
                        alternatives=tuple((LABELS[j], float(p[j])) for j in others),
                    )
                )
                continue
            best = order[0]
            conf = float(p[best])
            feats = model.explain(idx, val, best)
            why = f"top features: {', '.join(repr(f) for f in feats)}" if feats else "model"
            results.append(
                Result(
                    category=LABELS[best],
                    confidence=conf,
                    merchant=merchant,
                    source=Source.MODEL,
                    explanation=why,
                    auto_apply=conf >= self.threshold,
                    model_version=self.version,
                    alternatives=tuple((LABELS[j], float(p[j])) for j in order[1:4]),
                )
            )
        return results

    def _early(
        self,
        item: Item,
        norm: Normalized,
        key: str,
        merchant: str,
        direction: str,
        memory: UserMemory,
        hit: DictionaryHit | None,
    ) -> Result | None:
        if memory.exact or memory.corrections:
            keys = [k for k in dict.fromkeys((key, norm.key)) if k]
            for k in keys:
                if k in memory.exact:
                    name = memory.merchants.get(k) or merchant
                    return Result(
                        memory.exact[k],
                        1.0,
                        name,
                        Source.MEMORY,
                        f"you filed {name or k} as {memory.exact[k]}",
                        True,
                    )
            similar = _similar(key, norm.text, memory)
            if similar is not None:
                c, score = similar
                return Result(
                    c.category,
                    round(score / 100, 3),
                    merchant or c.merchant,
                    Source.SIMILAR_EXPENSE,
                    f"like {c.merchant or c.key}, which you filed as {c.category}",
                    True,
                )
        rule = match_rule(item.description.upper(), direction)
        if rule is not None:
            return Result(rule.category, 0.97, merchant, Source.RULE, rule.explanation, True)
        if hit is not None and (direction == DEBIT or _is_refund(item, hit)):
            return Result(
                hit.category,
                0.95,
                hit.merchant,
                Source.DICTIONARY,
                f"{hit.merchant} is a known {hit.category} merchant",
                True,
            )
        return None


_REFUND_RE = re.compile(r"\b(?:REFUND|RETURN|RFND|REVERSAL|CREDIT VOUCHER)\b")
_INCOME = LABELS.index("income")


def _not_income(item: Item) -> bool:
    """Money out is never income, and neither is a refund: a shop's refund is in the shop's
    category (the model, which reads the direction, would otherwise call an unknown shop's
    refund income)."""
    return item.direction != CREDIT or bool(_REFUND_RE.search(item.description.upper()))


def _is_refund(item: Item, hit: DictionaryHit) -> bool:
    """A credit that says it is a refund from a known shop: the shop's category. Other credits
    (a salary from a shop's owner, a transfer) go to the model, which reads the direction."""
    return hit.category not in ("transfers", "income") and bool(
        _REFUND_RE.search(item.description.upper())
    )
