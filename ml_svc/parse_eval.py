"""How well ParseExpense reads what people type: a held-out set of typed entries and statement
descriptors with the amount, currency, date and merchant each should give.

Two sources, neither of them the cases ``tests/ml/test_parse.py`` pins down:

* :func:`generate_cases`: typed entries from varied templates ("{item} at {merchant} {amount}",
  "{amount} {item} {merchant} {date}", "paid {amount} for {item} at {merchant}"...), locales
  (en_GB, en_US, en_IE, fr_FR, de_DE, es_ES), amount styles (£3.50, 3.50, 4,50 €, 20 quid,
  15 bucks, USD 12, 1,250.00), relative and absolute dates (yesterday, last friday, 3 days
  ago, on 5 March, 12/03 in the locale's order, the 3rd), quantities that are not amounts (2x,
  table for 4, bus 73), merchants that are brands, small local names or none; and UK/US
  statement descriptors (CARD PAYMENT TO … ON dd-mm-yyyy, PURCHASE AUTHORIZED ON mm/dd …).
  The expected values are computed from what was put in, independently of the parser.
* ``data/eval/parse_typed.csv``: entries written by hand (``text,locale,today,amount,currency,
  date,merchant``; empty amount = none, empty merchant = none).

:func:`evaluate_parse` runs ParseExpense's logic (:func:`ml_svc.quick_add.quick_add`) on each
and reports exact amount+currency, date and merchant accuracy with the failures.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from ml_svc.categorizer import Categorizer
from ml_svc.normalize import merchant_key
from ml_svc.quick_add import quick_add

HAND_WRITTEN = Path(__file__).parent / "data" / "eval" / "parse_typed.csv"


@dataclass(frozen=True, slots=True)
class ParseCase:
    text: str
    locale: str
    today: date
    amount: Decimal | None
    currency: str
    date: date
    merchant: str  # "" = no merchant
    source: str = "generated"


@dataclass
class ParseReport:
    total: int
    amount_ok: int
    date_ok: int
    merchant_ok: int
    failures: list[tuple[ParseCase, str]] = field(default_factory=list)

    @classmethod
    def combined(cls, reports: Iterable[ParseReport]) -> ParseReport:
        out = cls(0, 0, 0, 0)
        for r in reports:
            out.total += r.total
            out.amount_ok += r.amount_ok
            out.date_ok += r.date_ok
            out.merchant_ok += r.merchant_ok
            out.failures.extend(r.failures)
        return out

    @property
    def amount_accuracy(self) -> float:
        return self.amount_ok / max(1, self.total)

    @property
    def date_accuracy(self) -> float:
        return self.date_ok / max(1, self.total)

    @property
    def merchant_accuracy(self) -> float:
        return self.merchant_ok / max(1, self.total)


# ---- generated cases ----------------------------------------------------------------------

#: (merchant as typed, expected merchant, item words that go with it)
_TYPED_MERCHANTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Starbucks", "Starbucks", ("latte", "flat white", "coffee", "frappuccino")),
    ("Costa", "Costa", ("cappuccino", "coffee", "tea")),
    ("Pret", "Pret", ("sandwich", "lunch", "soup", "coffee")),
    ("Greggs", "Greggs", ("sausage roll", "pasty", "breakfast")),
    ("Tesco", "Tesco", ("groceries", "milk and bread", "weekly shop")),
    ("Sainsbury's", "Sainsbury's", ("groceries", "food shop")),
    ("Waitrose", "Waitrose", ("groceries", "wine")),
    ("Aldi", "Aldi", ("big shop", "groceries")),
    ("Nando's", "Nando's", ("dinner", "chicken")),
    ("Wagamama", "Wagamama", ("ramen", "dinner", "lunch")),
    ("Chipotle", "Chipotle", ("burrito", "lunch", "bowl")),
    ("Trader Joe's", "Trader Joe's", ("groceries", "snacks")),
    ("Whole Foods", "Whole Foods Market", ("groceries", "salad bar")),
    ("Target", "Target", ("household stuff", "towels")),
    ("Walgreens", "Walgreens", ("cold medicine", "prescription")),
    ("Boots", "Boots", ("shampoo", "suncream", "paracetamol")),
    ("Odeon", "Odeon", ("cinema tickets", "popcorn", "film")),
    ("Cineworld", "Cineworld", ("movie", "cinema")),
    ("Shell", "Shell", ("petrol", "fuel")),
    ("Ikea", "Ikea", ("lamp", "bookshelf", "meatballs")),
    ("Primark", "Primark", ("socks", "t-shirts")),
    ("Amazon", "Amazon", ("charger", "book", "phone case")),
    ("Deliveroo", "Deliveroo", ("takeaway", "pizza delivery")),
    ("Five Guys", "Five Guys", ("burger", "fries")),
    ("Joe's Cafe", "Joe's Cafe", ("breakfast", "fry up", "tea")),
    ("The Red Lion", "The Red Lion", ("pints", "drinks", "sunday roast")),
    ("Mario's Pizzeria", "Mario's Pizzeria", ("pizza", "dinner")),
    ("Bluebird Bakery", "Bluebird Bakery", ("sourdough", "croissants")),
    ("Kim's Nails", "Kim's Nails", ("manicure", "nails")),
    ("Hoxton Barbers", "Hoxton Barbers", ("haircut", "beard trim")),
    ("Patel Pharmacy", "Patel Pharmacy", ("prescription", "plasters")),
    ("Green Leaf Deli", "Green Leaf Deli", ("sandwich", "lunch")),
    ("Luigi's", "Luigi's", ("dinner", "pasta")),
    ("Corner Books", "Corner Books", ("paperback", "book")),
)
#: lower-case brands people type without "at" ("uber home 14.20"), found through the dictionary
_LOWER_BRANDS: tuple[tuple[str, str], ...] = (
    ("uber home", "Uber"),
    ("uber to work", "Uber"),
    ("deliveroo", "Deliveroo"),
    ("netflix", "Netflix"),
    ("spotify", "Spotify"),
    ("tesco", "Tesco"),
    ("starbucks", "Starbucks"),
    ("mcdonalds", "McDonald's"),
    ("greggs", "Greggs"),
    ("lidl", "Lidl"),
)
_NO_MERCHANT = (
    "lunch",
    "coffee",
    "taxi",
    "groceries",
    "bus fare",
    "haircut",
    "parking",
    "drinks with friends",
    "dinner with Sam",
    "present for Mum",
    "train to Leeds",
    "dry cleaning",
    "petrol",
    "window cleaner",
)
_LOCALES = (
    ("en_GB", "GBP", True, False),
    ("en_US", "USD", False, False),
    ("en_IE", "EUR", True, False),
    ("fr_FR", "EUR", True, True),
    ("de_DE", "EUR", True, True),
    ("es_ES", "EUR", True, True),
)
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _amount(rng: random.Random, default: str, decimal_comma: bool) -> tuple[str, Decimal, str]:
    """(written amount, value, currency) in one of the ways people write money; ``default``
    is the locale's currency (a bare number means it)."""
    cents = rng.random() < 0.75
    whole = rng.choice((rng.randint(1, 20), rng.randint(1, 99), rng.randint(100, 2500)))
    value = Decimal(f"{whole}.{rng.randint(0, 99):02d}") if cents else Decimal(whole)
    currency = default
    if rng.random() < 0.12:  # a foreign currency named in the text
        currency = rng.choice([c for c in ("GBP", "USD", "EUR") if c != default])
    sym = {"GBP": "£", "USD": "$", "EUR": "€"}[currency]
    num = f"{value:,.2f}" if cents else f"{value:,}"
    if rng.random() < 0.5:
        num = num.replace(",", "")
    comma = decimal_comma or (currency == "EUR" and cents and rng.random() < 0.5)
    if comma:  # 1,250.00 -> 1.250,00
        num = num.replace(",", " ").replace(".", ",").replace(" ", ".")
    style = rng.random()
    if style < 0.35:
        text = f"{num} {sym}" if decimal_comma else f"{sym}{num}"
    elif style < 0.45:
        text = f"{num}{sym}" if currency == "EUR" else f"{sym}{num}"
    elif style < 0.55:
        text = rng.choice((f"{currency} {num}", f"{num} {currency}"))
    elif style < 0.65 and not cents and whole < 200:
        word = {"GBP": ("quid", "pounds"), "USD": ("bucks", "dollars"), "EUR": ("euros",)}
        text = f"{num} {rng.choice(word[currency])}"
    else:
        text = num if currency == default else f"{sym}{num}"
    return text, value, currency


def _date(rng: random.Random, today: date, day_first: bool) -> tuple[str, date]:
    r = rng.random()
    if r < 0.3:
        return "", today
    if r < 0.4:
        return rng.choice(("yesterday", "last night")), today - timedelta(days=1)
    if r < 0.45:
        return rng.choice(("today", "this morning", "tonight")), today
    if r < 0.55:
        wd = rng.randrange(7)
        back = (today.weekday() - wd) % 7 or 7
        return f"last {_WEEKDAYS[wd]}", today - timedelta(days=back)
    if r < 0.62:
        n = rng.randint(2, 6)
        return f"{n} days ago", today - timedelta(days=n)
    if r < 0.67:
        return "a week ago", today - timedelta(days=7)
    d = today - timedelta(days=rng.randint(1, 60))
    if r < 0.78:
        month = _MONTH_NAMES[d.month - 1]
        month = month if rng.random() < 0.6 else month[:3]
        text = f"on {d.day} {month}" if day_first else f"on {month} {d.day}"
        return text, d
    if r < 0.9:
        a, b = (d.day, d.month) if day_first else (d.month, d.day)
        if rng.random() < 0.4:
            sep = rng.choice("/.-") if day_first else "/"
            return f"{a:02d}{sep}{b:02d}{sep}{d.year}", d
        return f"{a}/{b}", d  # "17.9" alone is an amount
    if d.month == today.month or d.day <= today.day:
        d = today.replace(day=rng.randint(1, today.day))
    else:
        d = (today.replace(day=1) - timedelta(days=1)).replace(day=min(d.day, 28))
    suffix = "th" if 11 <= d.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
    return f"on the {d.day}{suffix}", d


def _typed(rng: random.Random, today: date) -> ParseCase:
    locale, currency, day_first, decimal_comma = rng.choice(_LOCALES)
    amount_text, value, currency = _amount(rng, currency, decimal_comma)
    date_text, when = _date(rng, today, day_first)
    kind = rng.random()
    if kind < 0.6:
        typed, expected, items = rng.choice(_TYPED_MERCHANTS)
        item = rng.choice(items)
        templates = [
            "{item} at {m} {a} {d}",
            "{a} {item} at {m} {d}",
            "{item} {m} {a} {d}",
            "{d} {item} at {m} {a}",
            "{m} {a} {d}",
            "{item} from {m} {a} {d}",
            "paid {a} for {item} at {m} {d}",
            "{q}x {item} {m} {a} {d}",
            "{m} {item} {a} {d}",
            "{a} at {m} {d}",
        ]
    elif kind < 0.8:
        item, expected = rng.choice(_LOWER_BRANDS)
        typed = ""
        templates = ["{item} {a} {d}", "{a} {item} {d}", "{d} {item} {a}"]
    else:
        item, expected, typed = rng.choice(_NO_MERCHANT), "", ""
        templates = [
            "{item} {a} {d}",
            "{a} {item} {d}",
            "{item} for {n} {a} {d}",
            "{q}x {item} {a} {d}",
            "bus {route} {a} {d}" if item == "bus fare" else "{item} {d} {a}",
        ]
    template = rng.choice(templates)
    text = template.format(
        item=item,
        m=typed,
        a=amount_text,
        d=date_text,
        q=rng.randint(2, 4),
        n=rng.randint(2, 6),
        route=rng.randint(2, 390),
    )
    text = " ".join(text.split())
    if rng.random() < 0.3 and text[0].isalpha():
        text = text[0].upper() + text[1:]
    return ParseCase(text, locale, today, value, currency, when, expected)


_DESCRIPTOR_BRANDS: tuple[tuple[str, str], ...] = (
    ("TESCO STORES 3297", "Tesco"),
    ("SAINSBURYS S/MKTS", "Sainsbury's"),
    ("STARBUCKS", "Starbucks"),
    ("PRET A MANGER", "Pret A Manger"),
    ("AMAZON.CO.UK", "Amazon"),
    ("TFL TRAVEL CH", "TfL"),
    ("NETFLIX.COM", "Netflix"),
    ("BOOTS 1123", "Boots"),
    ("GREGGS PLC", "Greggs"),
    ("WAITROSE 0742", "Waitrose"),
    ("SQ *JOES COFFEE", "Joes Coffee"),
    ("SUMUP *KAYS NAILS", "Kays Nails"),
    ("THE RED LION", "The Red Lion"),
    ("WHOLEFDS MKT 10234", "Whole Foods Market"),
    ("TRADER JOE S #552", "Trader Joe's"),
    ("CHIPOTLE 1187", "Chipotle"),
    ("TST* MARIOS PIZZERIA", "Marios Pizzeria"),
    ("SHELL OIL 57442", "Shell"),
)


def _descriptor(rng: random.Random, today: date) -> ParseCase:
    raw, expected = rng.choice(_DESCRIPTOR_BRANDS)
    d = today - timedelta(days=rng.randint(1, 40))
    r = rng.random()
    if r < 0.35:
        sep = rng.choice("-/.")
        text = f"CARD PAYMENT TO {raw} ON {d.day:02d}{sep}{d.month:02d}{sep}{d.year}"
        locale = "en_GB"
    elif r < 0.55:
        text = f"{raw} {d.day:02d}/{d.month:02d}"
        locale = "en_GB"
    elif r < 0.75:
        text = (
            f"PURCHASE AUTHORIZED ON {d.month:02d}/{d.day:02d} {raw} NEW YORK NY "
            f"S{rng.randint(10**14, 10**15 - 1)} CARD {rng.randint(1000, 9999)}"
        )
        locale = "en_US"
    else:
        text = f"{raw} LONDON GB"
        locale, d = "en_GB", today
    return ParseCase(text, locale, today, None, "", d, expected)


def generate_cases(seed: int = 4242, n: int = 400) -> list[ParseCase]:
    """``n`` cases, four in five typed, one in five statement descriptors, each with its own
    ``today`` (so relative dates cross month and year ends)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        today = date(2024, 1, 1) + timedelta(days=rng.randint(0, 730))
        out.append(_descriptor(rng, today) if rng.random() < 0.2 else _typed(rng, today))
    return out


def read_cases(path: Path = HAND_WRITTEN) -> list[ParseCase]:
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out.append(
                ParseCase(
                    text=row["text"],
                    locale=row["locale"],
                    today=date.fromisoformat(row["today"]),
                    amount=Decimal(row["amount"]) if row["amount"] else None,
                    currency=row["currency"],
                    date=date.fromisoformat(row["date"]),
                    merchant=row["merchant"],
                    source="hand-written",
                )
            )
    return out


# ---- evaluation ---------------------------------------------------------------------------


def same_merchant(got: str, expected: str, categorizer: Categorizer) -> bool:
    """Equal merchant keys, or the dictionary resolves both to one merchant."""
    a, b = merchant_key(got), merchant_key(expected)
    if a == b:
        return True
    if not a or not b:
        return False
    ha, hb = categorizer.dictionary.lookup(a), categorizer.dictionary.lookup(b)
    return bool(ha and hb and ha.key == hb.key)


def evaluate_parse(cases: Sequence[ParseCase], categorizer: Categorizer) -> ParseReport:
    report = ParseReport(len(cases), 0, 0, 0)
    for case in cases:
        q = quick_add(case.text, case.locale, case.today, categorizer)
        got = q.parsed.amount
        problems = []
        if case.amount is None:
            amount_ok = got is None
        else:
            amount_ok = (
                got is not None and got.amount == case.amount and got.currency == case.currency
            )
        if not amount_ok:
            shown = f"{got.amount} {got.currency}" if got else "none"
            want = f"{case.amount} {case.currency}" if case.amount is not None else "none"
            problems.append(f"amount {shown} (want {want})")
        date_ok = q.parsed.date.value == case.date
        if not date_ok:
            problems.append(f"date {q.parsed.date.value} (want {case.date})")
        merchant_ok = same_merchant(q.merchant, case.merchant, categorizer)
        if not merchant_ok:
            problems.append(f"merchant {q.merchant!r} (want {case.merchant!r})")
        report.amount_ok += amount_ok
        report.date_ok += date_ok
        report.merchant_ok += merchant_ok
        if problems:
            report.failures.append((case, "; ".join(problems)))
    return report
