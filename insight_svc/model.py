"""Plain domain values of insight_svc: money, months, projected expenses, budgets.

No gRPC and no SQL here. Money is :class:`decimal.Decimal` (never float) with a currency code
beside it; conversions to and from ``google.type.Money`` live here because every module needs
them and they are pure.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from google.type import date_pb2, money_pb2

from finmesh.errors import InvalidArgument

DEBIT = 1
CREDIT = 2

NANOS_PER_UNIT = 1_000_000_000
_NANO = Decimal(1).scaleb(-9)
CENT = Decimal("0.01")
ZERO = Decimal(0)

#: The category shown for an expense whose enrichment has not given it one yet.
UNCATEGORIZED = "uncategorized"

_MONTH_RE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>0[1-9]|1[0-2])")


# -- money ------------------------------------------------------------------------------------


def to_decimal(money: money_pb2.Money) -> Decimal:
    """The exact value of a Money (``units`` + ``nanos``)."""
    return Decimal(money.units) + Decimal(money.nanos) * _NANO


def to_money(amount: Decimal, currency: str) -> money_pb2.Money:
    """``amount`` as Money; ``units`` and ``nanos`` share the sign."""
    quantized = amount.quantize(_NANO, rounding=ROUND_HALF_EVEN)
    units = int(quantized)
    nanos = int((quantized - units).scaleb(9))
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to hundredths (banker's rounding), for estimates."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def percent(part: Decimal, whole: Decimal) -> float:
    """``part / whole * 100`` rounded to 0.1 (0 when ``whole`` is 0), as the protos' doubles."""
    if whole == 0:
        return 0.0
    return float((part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN))


_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def fmt_money(amount: Decimal, currency: str) -> str:
    """``£12.50`` / ``CHF 12.50`` for messages shown to people."""
    text = f"{cents(amount):,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


def category_label(category: str) -> str:
    """``personal_care`` → ``Personal care``."""
    return category.replace("_", " ").capitalize() if category else "Uncategorized"


# -- dates and months -------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, *, field: str = "month", today: dt.date | None = None) -> Month:
        """``YYYY-MM``; empty means the month of ``today`` (UTC). Else INVALID_ARGUMENT."""
        if not text:
            return cls.of(today or utc_today())
        match = _MONTH_RE.fullmatch(text)
        if match is None or int(match["y"]) < 1:
            raise InvalidArgument.field(field, f"{text[:32]!r} is not a month of the form YYYY-MM")
        return cls(int(match["y"]), int(match["m"]))

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.month, self.days)

    def add(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def contains(self, day: dt.date) -> bool:
        return (day.year, day.month) == (self.year, self.month)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def add_months(day: dt.date, months: int, *, anchor_day: int | None = None) -> dt.date:
    """``day`` moved by whole months, on ``anchor_day`` (default: ``day``'s) clamped to the
    month's length: 31 Jan + 1 month = 28/29 Feb."""
    target = Month.of(day).add(months)
    return dt.date(target.year, target.month, min(anchor_day or day.day, target.days))


def to_date_proto(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def from_date_proto(value: date_pb2.Date) -> dt.date | None:
    """The date, or None when unset or not a real date."""
    try:
        return dt.date(value.year, value.month, value.day)
    except ValueError:
        return None


# -- projected expenses and budgets ------------------------------------------------------------


_NON_WORD = re.compile(r"[^a-z]+")


def merchant_key(merchant: str, description: str) -> str:
    """What groups an expense with others from the same payee: the normalised merchant, or,
    while there is none, the description without digits and punctuation (card numbers,
    references and store numbers vary from charge to charge)."""
    if merchant.strip():
        return " ".join(merchant.lower().split())
    words = _NON_WORD.sub(" ", description.lower()).split()
    return " ".join(words[:4])


@dataclass(frozen=True)
class Txn:
    """One live (not deleted) expense as the projection knows it."""

    id: str
    date: dt.date
    amount: Decimal
    currency: str
    direction: int
    merchant: str
    category: str
    description: str = ""

    @property
    def key(self) -> str:
        return merchant_key(self.merchant, self.description)

    @property
    def is_debit(self) -> bool:
        return self.direction != CREDIT

    @property
    def category_or_uncategorized(self) -> str:
        return self.category or UNCATEGORIZED


@dataclass(frozen=True)
class BudgetLimit:
    """A budget from expense_svc: what may be spent in a category and month."""

    category: str
    currency: str
    #: ``limit`` + ``carried_over``.
    limit: Decimal
