"""Dates as banks print them, with the day/month order decided once per file.

"03/04/2024" is 3 April in a UK file and March 4 in a US one. A file is read one way
throughout: if any date in it is unambiguous (a first number above 12 means DMY, a second
number above 12 means MDY) that decides; otherwise the caller's default (from the bank layout
or the locale). ISO dates ("2024-04-03", "20240403") and month names ("03 Apr 2024",
"Apr 3, 2024") are never ambiguous.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Literal

from expense_svc.statements.model import LineProblem

DateOrder = Literal["DMY", "MDY"]

MIN_YEAR = 1900
MAX_YEAR = 2100
MAX_TEXT_CHARS = 48
"""Longer cells are not dates; the cap also bounds the regular expressions' work."""

# an optional time after the date: "T10:12:13Z", " 10:12", ", 10:12 PM", " at 10:12"
_TIME = (
    r"(?:(?:[T ,]+|\s+at\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp][Mm])?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{3,4})?)?"
)
_ISO = re.compile(r"^(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})" + _TIME + "$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# a/b/yy, a-b-yyyy, a.b.yy, and QIF's a/b'yy (the apostrophe marks a year from 2000)
_NUMERIC = re.compile(
    r"^(\d{1,2})\s*([-/.])\s*(\d{1,2})\s*(?:\2|('))\s*(\d{4}|\d{1,2})" + _TIME + "$"
)
_DAY_MONTH_NAME = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*([A-Za-z]{3,9})\.?[\s\-/.,']*(\d{4}|\d{2})" + _TIME + "$"
)
_MONTH_NAME_DAY = re.compile(
    r"^(?:[A-Za-z]{3,9},?\s+)?([A-Za-z]{3,9})\.?[\s\-/.]*(\d{1,2})(?:st|nd|rd|th)?,?[\s\-/.']*(\d{4}|\d{2})"
    + _TIME
    + "$"
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
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
        ],
        start=1,
    )
    for name in names
}


def infer_order(values: Iterable[str], *, default: DateOrder) -> DateOrder:
    """The day/month order for a whole file, from the dates that can only be read one way."""
    dmy = mdy = 0
    for text in values:
        match = _NUMERIC.match(text.strip()) if len(text) <= MAX_TEXT_CHARS else None
        if match is None:
            continue
        first, second = int(match[1]), int(match[3])
        if first > 12 >= second:
            dmy += 1
        elif second > 12 >= first:
            mdy += 1
    if dmy != mdy:
        return "DMY" if dmy > mdy else "MDY"
    return default


def looks_like_date(text: str) -> bool:
    """Cheap shape check, used to find the date column of a headerless CSV."""
    text = " ".join(text.split())
    return len(text) <= MAX_TEXT_CHARS and bool(
        _NUMERIC.match(text)
        or _ISO.match(text)
        or _COMPACT.match(text)
        or _DAY_MONTH_NAME.match(text)
        or _MONTH_NAME_DAY.match(text)
    )


def parse_date(text: str, *, order: DateOrder) -> datetime.date:
    """Parse one date; raises `LineProblem` naming the value when it is not a date."""
    value = " ".join(text.split())
    if not value:
        raise LineProblem("date is empty")
    if len(value) > MAX_TEXT_CHARS:
        raise LineProblem(f"date {value[:MAX_TEXT_CHARS]!r}... is not a date")
    year: int
    month: int
    day: int
    if match := _NUMERIC.match(value):
        first, second = int(match[1]), int(match[3])
        day, month = (first, second) if order == "DMY" else (second, first)
        year = _full_year(match[5], apostrophe=match[4] is not None)
    elif match := _ISO.match(value):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    elif match := _COMPACT.match(value):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif (match := _DAY_MONTH_NAME.match(value)) and match[2].lower() in _MONTHS:
        day, month, year = int(match[1]), _MONTHS[match[2].lower()], _full_year(match[3])
    elif (match := _MONTH_NAME_DAY.match(value)) and match[1].lower() in _MONTHS:
        month, day, year = _MONTHS[match[1].lower()], int(match[2]), _full_year(match[3])
    else:
        raise LineProblem(f"date {value!r} is not a date")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise LineProblem(f"date {value!r} is out of range")
    try:
        return datetime.date(year, month, day)
    except ValueError:
        expected = "DD/MM" if order == "DMY" else "MM/DD"
        raise LineProblem(
            f"date {value!r} is not a valid date (read as {expected} like the rest of the file)"
            if _NUMERIC.match(value)
            else f"date {value!r} is not a valid date"
        ) from None


def _full_year(text: str, *, apostrophe: bool = False) -> int:
    year = int(text)
    if len(text) == 4:
        return year
    if apostrophe:
        return 2000 + year
    return 2000 + year if year < 70 else 1900 + year
