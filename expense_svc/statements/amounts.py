"""Amounts as banks print them: signs, parentheses, CR/DR markers, symbols, separators.

Everything is `Decimal` from the text; no float is ever involved. Whether `,` or `.` is the
decimal separator is decided once per file (`guess_decimal_comma`) and then applied to every
value, so "1,234" means the same thing on every line of one file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from expense_svc.statements.model import Direction, LineProblem

MAX_AMOUNT = Decimal(10) ** 11
"""Exclusive upper bound: the database stores numeric(20, 9), i.e. 11 integer digits."""
MAX_DECIMAL_PLACES = 9
"""google.type.Money nanos."""
MAX_TEXT_CHARS = 40
"""Longer cells are not amounts; the cap also bounds the regular expressions' work."""

_AMOUNT_RE = re.compile(
    r"""
    ^(?P<sign1>[-+])?\s*
    (?P<cur1>[A-Z]{3}|[A-Z]{0,2}[$£€¥₹])?\s*
    (?P<sign2>[-+])?\s*
    (?P<num>\d[\d,.' ]*|[.,]\d+)
    \s*(?P<cur2>[A-Z]{3}|[$£€¥₹])?
    \s*(?P<sign3>-)?
    \s*(?P<mark>(?i:CR|DR|CREDIT|DEBIT))?\.?$
    """,
    re.VERBOSE,
)
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-"})
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_SPACE = re.compile(r"^\d{1,3}([ ']\d{3})+([.,]\d+)?$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$")

_COMMA_DECIMAL_EVIDENCE = re.compile(r"(?:^|[^\d,.])\d*(?:\.\d{3})*,\d{1,2}(?!\d)|\.\d{3},\d")
_DOT_DECIMAL_EVIDENCE = re.compile(r"(?:^|[^\d,.])\d*(?:,\d{3})*\.\d{1,2}(?!\d)|,\d{3}\.\d")


@dataclass(frozen=True, slots=True)
class Amount:
    """A parsed amount: the signed value and an explicit CR/DR marker if the bank printed one."""

    value: Decimal
    """Negative when printed with a minus sign or in parentheses."""
    marker: Direction | None


def guess_decimal_comma(values: Iterable[str], *, default: bool) -> bool:
    """Whether the amounts in one file use a decimal comma ("12,50", "1.234,56").

    Counts the values that can only be read one way; `default` (from the locale) decides
    when nothing does, e.g. a file of whole numbers.
    """
    comma = dot = 0
    for text in values:
        if _COMMA_DECIMAL_EVIDENCE.search(text):
            comma += 1
        elif _DOT_DECIMAL_EVIDENCE.search(text):
            dot += 1
    if comma != dot:
        return comma > dot
    return default


def parse_amount(text: str, *, decimal_comma: bool = False) -> Amount:
    """Parse one amount cell; raises `LineProblem` naming the value when it is not a number."""
    cleaned = " ".join(text.translate(_SPACES).split())
    if not cleaned:
        raise LineProblem("amount is empty")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise LineProblem(f"amount {cleaned[:MAX_TEXT_CHARS]!r}... is not a number")
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative = True
        cleaned = cleaned[1:-1].strip()
    match = _AMOUNT_RE.match(cleaned)
    if match is None:
        raise LineProblem(f"amount {text.strip()!r} is not a number")
    signs = [match["sign1"], match["sign2"], match["sign3"]]
    if sum(s is not None for s in signs) > 1:
        raise LineProblem(f"amount {text.strip()!r} is not a number")
    if "-" in signs:
        negative = True
    number = _normalise_number(match["num"].strip(), decimal_comma=decimal_comma)
    if number is None:
        raise LineProblem(f"amount {text.strip()!r} is not a number")
    try:
        value = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - _PLAIN already guarantees the shape
        raise LineProblem(f"amount {text.strip()!r} is not a number") from exc
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        raise LineProblem(f"amount {text.strip()!r} has more than {MAX_DECIMAL_PLACES} decimals")
    if value >= MAX_AMOUNT:
        raise LineProblem(f"amount {text.strip()!r} is too large")
    marker: Direction | None = None
    if match["mark"]:
        marker = "CREDIT" if match["mark"].upper().startswith("C") else "DEBIT"
    return Amount(-value if negative else value, marker)


def _normalise_number(num: str, *, decimal_comma: bool) -> str | None:
    """Make "1,234.56", "1.234,56" or "1 234,56" into "1234.56"; None if it is not a number."""
    if " " in num or "'" in num:
        if not _THOUSANDS_SPACE.match(num):
            return None
        num = num.replace(" ", "").replace("'", "")
    if num[0] in ",.":
        num = "0" + num
    has_comma, has_dot = "," in num, "." in num
    if has_comma and has_dot:
        decimal_sep = "," if num.rfind(",") > num.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        whole, _, frac = num.rpartition(decimal_sep)
        if group_sep == "," and not _THOUSANDS_COMMA.match(whole):
            return None
        if group_sep == "." and not _THOUSANDS_DOT.match(whole):
            return None
        num = whole.replace(group_sep, "") + "." + frac
    elif has_comma:
        if decimal_comma and num.count(",") == 1:
            num = num.replace(",", ".")
        elif _THOUSANDS_COMMA.match(num):
            num = num.replace(",", "")
        elif num.count(",") == 1 and re.search(r",\d{1,2}$", num):
            num = num.replace(",", ".")
        else:
            return None
    elif has_dot and num.count(".") > 1:
        if not _THOUSANDS_DOT.match(num):
            return None
        num = num.replace(".", "")
    elif has_dot and decimal_comma and _THOUSANDS_DOT.match(num):
        num = num.replace(".", "")
    return num if _PLAIN.match(num) else None
