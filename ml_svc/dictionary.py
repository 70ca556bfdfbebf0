"""Rules and the global merchant dictionary: steps (3) of the cascade, before the model.

Rules are a few high-precision patterns for money that has no shop behind it (cash machines,
bank fees, salary, interest, council tax). The dictionary maps merchant aliases from the open
data sets and our brand list to a canonical name and category; a descriptor matches when its
normalised merchant key equals an alias key or starts with one (whole words).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ml_svc.dataset import DictionaryEntry
from ml_svc.generator import ADJECTIVES, FIRST_NAMES, LOCAL_WORDS, PLACES, SURNAMES
from ml_svc.normalize import merchant_key, normalize


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    category: str
    pattern: re.Pattern[str]
    direction: str | None  # "debit" / "credit" / None for both
    explanation: str


def _rule(name: str, category: str, pattern: str, direction: str | None, why: str) -> Rule:
    return Rule(name, category, re.compile(pattern), direction, why)


RULES: tuple[Rule, ...] = (
    _rule(
        "bank_fee",
        "fees",
        r"\b(?:OVERDRAFT (?:FEE|INTEREST|CHARGE)|UNARRANGED OD|ARRANGED OVERDRAFT|"
        r"NON[- ]STERLING (?:TRANSACTION |CASH )?FEE|FOREIGN TRANSACTION FEE|"
        r"INTL TRANSACTION FEE|ATM FEE|MONTHLY (?:ACCOUNT|MAINTENANCE|SERVICE) FEE|"
        r"UNPAID ITEM|RETURNED ITEM FEE|NSF FEE|LATE (?:PAYMENT )?FEE|CASH ADVANCE FEE|"
        r"INTEREST CHARGED?\b|PURCHASE INTEREST|ANNUAL (?:CARD )?FEE|PACKAGED ACCOUNT FEE|"
        r"ACCOUNT SERVICE CHARGE)",
        "debit",
        "a bank fee or interest charged",
    ),
    _rule(
        "fuel",
        "transport",
        r"\b(?:PFS|PETROL(?: STATION)?|FILLING STATION|FUEL STATION|SERVICE STATION|"
        r"DIESEL|EV CHARGING|FUEL)\b",
        "debit",
        "fuel (a supermarket's filling station is transport)",
    ),
    _rule(
        "atm",
        "transfers",
        r"\b(?:ATM|CASH WITHDRAWAL|CASH MACHINE|ATM W/D|CASHPOINT)\b",
        "debit",
        "cash from a cash machine",
    ),
    _rule(
        "salary",
        "income",
        r"\b(?:SALARY|PAYROLL|WAGES|DIRECT DEP|DIRECT DEPOSIT|PAYCHECK)\b",
        "credit",
        "salary or wages",
    ),
    _rule(
        "interest_in",
        "income",
        r"\b(?:INTEREST (?:PAID|EARNED|CREDIT|PAYMENT)|GROSS INTEREST|CREDIT INTEREST|"
        r"SAVINGS INTEREST)\b",
        "credit",
        "interest received",
    ),
    _rule(
        "tax_refund",
        "income",
        r"\b(?:TAX REFUND|HMRC REFUND|TREAS 310|DWP|CHILD BENEFIT|UNIVERSAL CREDIT|"
        r"STATE PENSION)\b",
        "credit",
        "a tax refund or benefit",
    ),
    _rule(
        "council_tax",
        "housing",
        r"\b(?:COUNCIL TAX|CTAX|PROPERTY TAX)\b",
        "debit",
        "council or property tax",
    ),
    _rule(
        "apple_billing",
        "subscriptions",
        r"\b(?:APPLE\.COM/BILL|APPLE\.COM BILL|ITUNES\.COM(?:/BILL)?)\b",
        "debit",
        "Apple's billing of App Store, iCloud and other subscriptions",
    ),
    _rule(
        "vehicle_tax",
        "transport",
        r"\b(?:DVLA|VEHICLE TAX|ROAD TAX|CAR TAX)\b",
        "debit",
        "vehicle tax",
    ),
)


def match_rule(upper_text: str, direction: str) -> Rule | None:
    for rule in RULES:
        if rule.direction is not None and rule.direction != direction:
            continue
        if rule.pattern.search(upper_text):
            return rule
    return None


GENERIC_TOKENS = frozenset(
    t
    for words in LOCAL_WORDS.values()
    for w in words
    for t in merchant_key(w).split()
    if len(t) > 2 and t not in ("and", "the", "for", "ins")
) | frozenset(
    [
        "office",
        "home",
        "food",
        "foods",
        "mobile",
        "services",
        "service",
        "group",
        "company",
        "centre",
        "center",
        "shop",
        "shops",
        "store",
        "stores",
        "market",
        "royal",
        "city",
        "national",
        "international",
        "global",
        "direct",
        "online",
        "uk",
        "usa",
        "pay",
        "payment",
        "payments",
    ]
)
_GENERIC_KEYS = frozenset(merchant_key(w) for words in LOCAL_WORDS.values() for w in words) | {
    "the",
    "store",
    "shop",
    "market",
    "online",
    "payment",
    "purchase",
    "card",
    "bill",
    "cafe",
    "restaurant",
    "bar",
    "pub",
    "taxi",
    "hotel",
    "parking",
    "pharmacy",
    "gas",
    "fuel",
    "rent",
}


# Common names and words that start many unrelated businesses ("PHILLIPS PATISSERIE", "THE
# PREMIER CONCERTS"): on their own they are not enough to recognise a brand by prefix.
NAME_WORDS = frozenset(
    merchant_key(w) for w in (*SURNAMES, *FIRST_NAMES, *ADJECTIVES, *PLACES)
) | frozenset(merchant_key(w)[:-1] for w in FIRST_NAMES)


@dataclass(frozen=True, slots=True)
class DictionaryHit:
    merchant: str
    category: str
    alias: str
    key: str


class MerchantDictionary:
    """Alias key -> (canonical merchant, category)."""

    def __init__(self, entries: Iterable[DictionaryEntry]) -> None:
        votes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        for e in entries:
            for key in {merchant_key(e.alias), merchant_key(normalize(e.alias).merchant)}:
                if len(key) < 2 or key in _GENERIC_KEYS or key.isdigit():
                    continue
                votes[key][(e.merchant, e.category)] += 1
        self._map: dict[str, tuple[str, str]] = {}
        for key, counter in votes.items():
            (best, n), *rest = counter.most_common()
            categories = {c for (_m, c) in counter}
            if rest and len(categories) > 1 and rest[0][1] == n:
                continue  # ambiguous alias: leave it to the model
            self._map[key] = best
        self.max_words = max((len(k.split()) for k in self._map), default=1)

    def __len__(self) -> int:
        return len(self._map)

    def entries(self) -> dict[str, tuple[str, str]]:
        return dict(self._map)

    @classmethod
    def from_map(cls, mapping: dict[str, tuple[str, str]]) -> MerchantDictionary:
        self = cls(())
        self._map = dict(mapping)
        self.max_words = max((len(k.split()) for k in self._map), default=1)
        return self

    def exact(self, key: str) -> DictionaryHit | None:
        hit = self._map.get(key)
        return DictionaryHit(hit[0], hit[1], key, merchant_key(hit[0])) if hit else None

    def scan(self, text: str, max_words: int = 3) -> DictionaryHit | None:
        """The longest word n-gram of typed text that is a known alias ("uber home" -> Uber)."""
        words = merchant_key(text).split()
        for n in range(min(max_words, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                gram = " ".join(words[i : i + n])
                if len(gram) < 3 or gram in _GENERIC_KEYS or gram in GENERIC_TOKENS:
                    continue
                hit = self.exact(gram)
                if hit:
                    return hit
        return None

    def lookup(self, key: str) -> DictionaryHit | None:
        """Exact key, else the longest whole-word prefix of it that is a known alias."""
        if not key:
            return None
        hit = self._map.get(key)
        if hit:
            return DictionaryHit(hit[0], hit[1], key, merchant_key(hit[0]))
        words = key.split()
        for n in range(min(len(words) - 1, self.max_words), 0, -1):
            if any(w in GENERIC_TOKENS for w in words[n:]):
                break  # "MARCOS HOSPITAL" is not Marco's Pizza: leave it to the model
            prefix = " ".join(words[:n])
            if n == 1 and (len(prefix) < 4 or prefix in GENERIC_TOKENS or prefix in NAME_WORDS):
                continue
            hit = self._map.get(prefix)
            if hit:
                return DictionaryHit(hit[0], hit[1], prefix, merchant_key(hit[0]))
        return None
