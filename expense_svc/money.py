"""Exact money: ``google.type.Money`` ↔ :class:`decimal.Decimal`, and ISO 4217 validation.

Amounts are never floats. The database stores ``numeric(20, 9)``: up to 10^11 - 1 whole units
and nine fractional digits, exactly what Money's ``units`` + ``nanos`` can say.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from babel.numbers import list_currencies
from google.type import money_pb2

from finmesh.errors import InvalidArgument

NANOS_PER_UNIT = 1_000_000_000
#: The largest amount numeric(20, 9) holds.
MAX_UNITS = 10**11 - 1
_NANO = Decimal(1).scaleb(-9)


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    """True for a three-letter ISO 4217 code babel knows (``GBP``, ``USD``, ...)."""
    return len(code) == 3 and code.isascii() and code.isupper() and code in _currencies()


def check_currency(code: str, field: str) -> str:
    """``code`` if it is an ISO 4217 code, else INVALID_ARGUMENT naming ``field``."""
    if not code:
        raise InvalidArgument.field(field, "is required (a three-letter ISO 4217 code)")
    if not is_currency(code):
        raise InvalidArgument.field(field, f"{code[:16]!r} is not an ISO 4217 currency code")
    return code


def positive_amount(money: money_pb2.Money, field: str) -> tuple[Decimal, str]:
    """A strictly positive Money as ``(Decimal, currency)``.

    ``field`` is the Money's path in the request (``expense.amount``); violations name
    ``<field>.units``, ``<field>.nanos`` or ``<field>.currency_code``.
    """
    currency = check_currency(money.currency_code, f"{field}.currency_code")
    units, nanos = money.units, money.nanos
    if units < 0 or nanos < 0:
        raise InvalidArgument.field(
            f"{field}.units" if units < 0 else f"{field}.nanos",
            "must not be negative: amounts are positive, use direction for money in",
        )
    if nanos >= NANOS_PER_UNIT:
        raise InvalidArgument.field(f"{field}.nanos", "must be between 0 and 999,999,999")
    if units == 0 and nanos == 0:
        raise InvalidArgument.field(f"{field}.units", "must be greater than zero")
    if units > MAX_UNITS:
        raise InvalidArgument.field(f"{field}.units", f"must be at most {MAX_UNITS}")
    return Decimal(units) + Decimal(nanos) * _NANO, currency


def to_decimal(money: money_pb2.Money) -> Decimal:
    """The exact value of a (well-formed) Money, sign included."""
    return Decimal(money.units) + Decimal(money.nanos) * _NANO


def to_money(amount: Decimal, currency: str) -> money_pb2.Money:
    """``amount`` as Money: ``units`` and ``nanos`` share the sign (google.type.Money rules).

    More than nine fractional digits cannot happen for values read from numeric(20, 9).
    """
    quantized = amount.quantize(_NANO)
    units = int(quantized)  # truncates towards zero
    nanos = int((quantized - units).scaleb(9))
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)
