"""Free-text and descriptor parsing: amount, currency, date, merchant, direction.

"Latte at Starbucks £3.50 yesterday", "$12 lunch at Chipotle last friday", "€4,50 croissant
Paul", "2x cinema tickets Odeon 23.98", "TFL TRAVEL CH 12/03",
"CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024".

Our own patterns find the spans (dates first, so "12/03" is never an amount; then amounts with
a currency sign, code or word; then bare decimals; then bare integers that are not quantities
like "2x", routes like "bus 73" or counts like "table for 4"). Library parsers only ever see a
span found here: ``price_parser`` turns an amount span into a Decimal with the decimal separator
we decided, ``babel`` gives the locale's currency and day/month order. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies
from price_parser import Price

DEFAULT_LOCALE = "en_GB"


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ParsedAmount:
    amount: Decimal
    currency: str
    amount_confidence: float
    currency_confidence: float
    span: Span


@dataclass(frozen=True, slots=True)
class ParsedDate:
    value: date
    confidence: float
    span: Span | None


@dataclass(frozen=True, slots=True)
class Parsed:
    amount: ParsedAmount | None
    date: ParsedDate
    merchant: str
    merchant_confidence: float
    description: str
    credit: bool


# ---- locale ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocaleInfo:
    currency: str
    day_first: bool
    decimal_comma: bool


@lru_cache(maxsize=64)
def locale_info(locale: str) -> LocaleInfo:
    """Default currency and day/month order of ``locale`` (``en_GB`` when unknown)."""
    try:
        loc = Locale.parse((locale or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        loc = Locale.parse(DEFAULT_LOCALE)
    territory = loc.territory or {"en": "GB", "de": "DE", "fr": "FR", "es": "ES"}.get(
        loc.language, "GB"
    )
    currencies = get_territory_currencies(territory)
    pattern = loc.date_formats["short"].pattern
    d, m = pattern.find("d"), pattern.find("M")
    decimal = loc.number_symbols.get("latn", loc.number_symbols).get("decimal", ".")
    return LocaleInfo(
        currency=currencies[0] if currencies else "GBP",
        day_first=not (0 <= m < d),
        decimal_comma=decimal == ",",
    )


# ---- dates ----------------------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"
MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        )
    )
    for m in names
}
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(p, re.IGNORECASE))
    for kind, p in (
        ("iso", r"\b(?P<y>\d{4})-(?P<a>\d{1,2})-(?P<b>\d{1,2})\b"),
        (
            "num",
            r"(?<![\d.,£$€])(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})(?:[/.-](?P<y>\d{4}|\d{2}))?"
            r"(?![\d£$€]|[.,]\d)",
        ),
        (
            "dmon",
            r"\b(?:on\s+)?(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+"
            + _MONTH
            + r"(?:,?\s+(?P<y>\d{4}))?\b",
        ),
        (
            "mond",
            r"\b(?:on\s+)?" + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?\b",
        ),
        ("yesterday", r"\b(?:the\s+)?day\s+before\s+yesterday\b"),
        ("yesterday1", r"\b(?:yesterday|yday|last\s+night)\b"),
        ("today", r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b"),
        ("ago", r"\b(?P<n>\d{1,2}|a|one|two|three|four|five|six)\s+(?P<u>days?|weeks?)\s+ago\b"),
        ("lastwd", r"\b(?:last|past)\s+(?P<wd>" + _WD + r")\b"),
        ("wd", r"\b(?:on\s+|this\s+)?(?P<wd>" + _WD + r")\b"),
        # "on the 15th", "the 3rd", "on 15th"; a bare "2nd" may be a count ("2nd round").
        ("dom", r"\b(?:on\s+the|on|the)\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b"),
        ("lastweek", r"\blast\s+week\b"),
    )
)
_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def _weekday(word: str) -> int:
    w = word.lower()[:3]
    return [d[:3] for d in WEEKDAYS].index(w)


def _past(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 99 else 2000 + year, month, day)
        d = date(today.year, month, day)
        return d if d <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def find_date(text: str, today: date, day_first: bool) -> ParsedDate:
    """The first date expression in ``text`` resolved against ``today``; else today (0.5)."""
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            span = Span(m.start(), m.end())
            value: date | None = None
            conf = 0.95
            if kind == "iso":
                value = _past(today, int(m["a"]), int(m["b"]), int(m["y"]))
            elif kind == "num":
                if m["y"] is None and "." in m.group(0):
                    continue  # "7.20" is an amount, not the 7th of the 20th
                a, b = int(m["a"]), int(m["b"])
                year = int(m["y"]) if m["y"] else None
                day, month = (a, b) if day_first else (b, a)
                if month > 12 and day <= 12:  # unambiguous the other way round
                    day, month = month, day
                    conf = 0.9
                value = _past(today, month, day, year)
                if m["y"] is None:
                    conf = min(conf, 0.85)
            elif kind in ("dmon", "mond"):
                value = _past(
                    today, MONTHS[m["mon"].lower()], int(m["d"]), int(m["y"]) if m["y"] else None
                )
            elif kind == "yesterday":
                value = today - timedelta(days=2)
            elif kind == "yesterday1":
                value = today - timedelta(days=1)
            elif kind == "today":
                value = today
            elif kind == "ago":
                n = _SMALL.get(m["n"].lower()) or int(m["n"])
                value = today - timedelta(days=n * (7 if m["u"].lower().startswith("w") else 1))
                conf = 0.9
            elif kind == "lastwd":
                back = (today.weekday() - _weekday(m["wd"])) % 7 or 7
                value = today - timedelta(days=back)
                conf = 0.9
            elif kind == "wd":
                back = (today.weekday() - _weekday(m["wd"])) % 7
                value = today - timedelta(days=back)
                conf = 0.8
            elif kind == "dom":
                day = int(m["d"])
                year, month = today.year, today.month
                if day > today.day:
                    year, month = (year, month - 1) if month > 1 else (year - 1, 12)
                value = _past(today, month, day, year)
                conf = 0.85
            elif kind == "lastweek":
                value = today - timedelta(days=7)
                conf = 0.5
            if value is not None:
                return ParsedDate(value, conf, span)
    return ParsedDate(today, 0.5, None)


# ---- amounts --------------------------------------------------------------------------------

_NUM = r"(?P<num>\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
SYMBOLS = {"£": "GBP", "€": "EUR", "$": "USD", "us$": "USD", "c$": "CAD", "a$": "AUD", "¥": "JPY"}
WORDS = {
    "quid": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "gbp": "GBP",
    "quids": "GBP",
    "bucks": "USD",
    "buck": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "usd": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "eu": "EUR",
    "cad": "CAD",
    "aud": "AUD",
    "chf": "CHF",
    "jpy": "JPY",
}
SUBUNITS = {"p": "GBP", "pence": "GBP", "c": "USD", "cents": "USD", "cent": "USD"}
_SYM = r"(?P<sym>us\$|c\$|a\$|[£€$¥])"
_WORD = r"(?P<word>" + "|".join(sorted(WORDS, key=len, reverse=True)) + r")"
_SUB = r"(?P<sub>pence|cents?|p|c)"
_AMOUNT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(p, re.IGNORECASE))
    for kind, p in (
        ("sym_before", _SYM + r"\s?" + _NUM + r"(?![\d])"),
        ("sym_after", r"(?<![\w.,])" + _NUM + r"\s?" + _SYM),
        ("word_before", r"\b" + _WORD + r"\s?" + _NUM + r"\b"),
        ("word_after", r"(?<![\w.,])" + _NUM + r"\s?" + _WORD + r"\b"),
        ("sub", r"(?<![\w.,])(?P<num>\d{1,3})\s?" + _SUB + r"\b"),
        (
            "decimal",
            r"(?<![\w.,/-])(?P<num>\d{1,3}(?:,\d{3})+\.\d{2}|\d{1,3}(?:\.\d{3})+,\d{2}|\d+[.,]\d{2})"
            r"(?![\d/-]|[.,]\d)",
        ),
        # Thousands without pence ("1,250 rent", "Miete 1.250"): a bare integer, grouped.
        ("grouped", r"(?<![\w.,/:-])(?P<num>\d{1,3}(?:[,.]\d{3})+)(?![\w/:-]|[.,]\d)"),
        (
            "integer",
            r"(?<![\w.,/:-])(?P<num>\d{1,5})(?![\w.,/:-]|\s?(?:x|%|people|ppl|pax|pm|am)\b)",
        ),
    )
)
# Integers that are not amounts: routes, counts, quantities, times, years.
_NOT_AMOUNT_BEFORE = re.compile(
    r"(?:\b(?:bus|route|line|table|for|platform|gate|room|no|number|seat|row|flat|apt|unit|"
    r"store|terminal|card|ref|zone|level|floor|aisle|x|of|top|page|door|tram|train|"
    r"the|car|at)\s*|(?:[#\u00d7@]|(?<![a-z])x)\s?)$",
    re.IGNORECASE,
)


def _to_decimal(num: str, decimal_comma: bool) -> Decimal | None:
    num = num.replace(" ", "").replace("'", "")
    if "," in num and "." in num:
        sep = "," if num.rfind(",") > num.rfind(".") else "."
    elif "," in num:
        tail = num.rsplit(",", 1)[1]
        sep = "," if len(tail) in (1, 2) or (decimal_comma and len(tail) != 3) else "."
    elif "." in num:
        tail = num.rsplit(".", 1)[1]
        sep = "," if decimal_comma and len(tail) == 3 and num.count(".") >= 1 else "."
    else:
        sep = "."
    price = Price.fromstring(num, decimal_separator=sep)
    if price.amount is None:
        return None
    try:
        return Decimal(price.amount)
    except InvalidOperation:
        return None


def find_amount(text: str, info: LocaleInfo, masked: list[Span]) -> ParsedAmount | None:
    """The most credible amount in ``text`` outside ``masked`` spans (dates). In a statement
    descriptor (all capitals) a bare integer is a store or card number, never an amount."""
    descriptor = looks_like_descriptor(text)

    def free(s: int, e: int) -> bool:
        return all(e <= m.start or s >= m.end for m in masked)

    candidates: list[tuple[float, int, ParsedAmount]] = []
    for rank, (kind, pattern) in enumerate(_AMOUNT_PATTERNS):
        for m in pattern.finditer(text):
            if not free(m.start(), m.end()):
                continue
            num = m["num"]
            value = _to_decimal(num, info.decimal_comma)
            if value is None or value <= 0:
                continue
            currency, cur_conf, conf = info.currency, 0.6, 0.95
            groups = m.groupdict()
            if groups.get("sym"):
                sym = groups["sym"].lower()
                currency = SYMBOLS[sym]
                if sym == "$" and info.currency in ("CAD", "AUD", "NZD"):
                    currency = info.currency
                cur_conf = 0.97
            elif groups.get("word"):
                currency, cur_conf = WORDS[groups["word"].lower()], 0.95
            elif groups.get("sub"):
                sub = groups["sub"].lower()
                if sub in ("c", "p") and not re.search(r"\d\s?[cp]\b", m.group(0), re.I):
                    continue
                currency, cur_conf = SUBUNITS[sub], 0.9
                value = (value / 100).quantize(Decimal("0.01"))
            elif kind == "decimal":
                conf = 0.85
            else:  # a bare integer
                if descriptor:
                    continue
                before = text[: m.start()]
                if _NOT_AMOUNT_BEFORE.search(before) or (1900 <= value <= 2100 and "." not in num):
                    continue
                if re.match(r"\s?(?:x|\u00d7)\s?\d", text[m.end() :]) or re.match(
                    r"\s*(?:st|nd|rd|th)\b", text[m.end() :]
                ):
                    continue
                conf = 0.7
            candidates.append(
                (
                    conf,
                    -rank,
                    ParsedAmount(value, currency, conf, cur_conf, Span(m.start(), m.end())),
                )
            )
    if not candidates:
        return None
    # Best evidence wins; among equals, the last one (amounts tend to come last).
    candidates.sort(key=lambda c: (c[0], c[1], c[2].span.start))
    return candidates[-1][2]


# ---- merchant -------------------------------------------------------------------------------

_AT_RE = re.compile(
    r"\b(?:at|from|bei|chez|@)\s+(?P<m>(?:[A-Za-z0-9&'\u2019.-]+\s?){1,4})", re.IGNORECASE
)
STOP_WORDS = (
    frozenset(
        [
            "for",
            "on",
            "with",
            "and",
            "yesterday",
            "today",
            "tonight",
            "last",
            "this",
            "the",
            "a",
            "an",
            "of",
            "in",
            "at",
            "to",
            "by",
            "from",
            "paid",
            "morning",
            "evening",
            "afternoon",
            "night",
            "week",
            "ago",
            "card",
            "cash",
            "via",
            "using",
        ]
    )
    | frozenset(WEEKDAYS)
    | frozenset(w[:3] for w in WEEKDAYS)
)
ITEM_WORDS = frozenset(
    [
        "latte",
        "coffee",
        "tea",
        "lunch",
        "dinner",
        "breakfast",
        "brunch",
        "drinks",
        "drink",
        "beer",
        "beers",
        "wine",
        "pint",
        "pints",
        "snack",
        "snacks",
        "sandwich",
        "croissant",
        "cake",
        "pizza",
        "burger",
        "meal",
        "takeaway",
        "groceries",
        "shopping",
        "taxi",
        "cab",
        "uber",
        "ride",
        "bus",
        "train",
        "tube",
        "ticket",
        "tickets",
        "cinema",
        "movie",
        "film",
        "petrol",
        "fuel",
        "gas",
        "parking",
        "haircut",
        "rent",
        "bill",
        "bills",
        "gym",
        "book",
        "books",
        "gift",
        "present",
        "flowers",
        "tip",
        "coffees",
        "cappuccino",
        "espresso",
        "flat",
        "white",
        "mocha",
        "muffin",
        "bagel",
        "salad",
        "sushi",
        "noodles",
        "chips",
        "x",
        "home",
        "work",
        "office",
        "back",
        "town",
        "trip",
        "fare",
        "fares",
        "top",
        "up",
        "topup",
        "refund",
        "salary",
    ]
)
CREDIT_WORDS = re.compile(
    r"\b(?:refund(?:ed)?|salary|wages|paid me|got paid|payday|income|cashback|reimburs\w*|"
    r"received|repaid me|paycheck|bonus|interest earned)\b",
    re.IGNORECASE,
)


def _clean_merchant(words: list[str]) -> str:
    out: list[str] = []
    for w in words:
        lw = w.lower().strip(".,;:!")
        if lw in STOP_WORDS or re.fullmatch(r"[\d.,£$€]+", lw):
            break
        out.append(w.strip(".,;:!"))
    return " ".join(out).strip()


def _display(name: str) -> str:
    if name.isupper() or name.islower():
        return " ".join(w if len(w) <= 3 and w.isupper() else w.capitalize() for w in name.split())
    return name


def looks_like_descriptor(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) > 0.9


def remove_spans(text: str, spans: list[Span]) -> str:
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out.append(text[pos : s.start])
        pos = max(pos, s.end)
    out.append(text[pos:])
    cleaned = re.sub(r"\s+", " ", " ".join(out)).strip(" ,.-;:")
    cleaned = re.sub(r"\b(?:for|on|at|of)\s*$", "", cleaned, flags=re.IGNORECASE).strip(" ,.-")
    return cleaned


def candidate_merchant(rest: str) -> tuple[str, float]:
    """A merchant from typed text (amount and date already removed), without the dictionary."""
    for m in _AT_RE.finditer(rest):
        name = _clean_merchant(m["m"].split())
        if (
            name
            and name.lower() not in ITEM_WORDS
            and not name.lower().startswith(("home", "work"))
        ):
            return _display(name), 0.85
    words = rest.split()
    caps = [
        w.strip(".,;:!")
        for i, w in enumerate(words)
        if w[:1].isupper()
        and w.lower().strip(".,;:!") not in ITEM_WORDS | STOP_WORDS
        and not (i == 0 and len(words) > 1 and words[0].lower() in ITEM_WORDS)
        # "dinner with Sam", "present for Mum", "train to Leeds": people and places
        and not (i > 0 and words[i - 1].lower() in ("with", "for", "to", "in", "via"))
    ]
    if caps and not looks_like_descriptor(rest):
        # consecutive capitalised words form one name
        first = caps[0]
        idx = words.index(first) if first in words else -1
        run = [first]
        for w in words[idx + 1 :] if idx >= 0 else []:
            cw = w.strip(".,;:!")
            if cw[:1].isupper() and cw.lower() not in ITEM_WORDS | STOP_WORDS:
                run.append(cw)
            else:
                break
        return " ".join(run), 0.6
    return "", 0.0


def parse(text: str, locale: str, today: date) -> tuple[Parsed, LocaleInfo]:
    """Amount, date, a merchant candidate, the clean description and the direction."""
    info = locale_info(locale)
    found_date = find_date(text, today, info.day_first)
    masked = [found_date.span] if found_date.span else []
    amount = find_amount(text, info, masked)
    spans = [*masked, *([amount.span] if amount else [])]
    rest = remove_spans(text, spans)
    merchant, conf = candidate_merchant(rest)
    return (
        Parsed(
            amount=amount,
            date=found_date,
            merchant=merchant,
            merchant_confidence=conf,
            description=rest or text.strip(),
            credit=bool(CREDIT_WORDS.search(text)),
        ),
        info,
    )
