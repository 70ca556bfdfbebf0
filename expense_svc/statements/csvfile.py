"""CSV statements from UK and US banks.

The layout is found, not configured:

1. The delimiter (`,` `;` tab `|`) and the header row are found together: the header is the
   first row (within the first 40) that names a date column and an amount column (`Amount`, or
   `Paid out`/`Paid in`, `Money out`/`Money in`, `Debit`/`Credit`, ...). Rows above it are the
   preamble some banks print (account name, sort code, balances) and are skipped.
2. Files without a header (Wells Fargo, HSBC) are read by looking at the values: the column
   where (nearly) every value is a date, the first column where every value is an amount, and
   the most wordy column as the description.
3. Per file, not per line: the day/month order of dates (see `dates.py`), whether amounts use a
   decimal comma (see `amounts.py`), and which sign means money out:

   - `Paid out`/`Paid in` style columns say it directly;
   - a signed `Amount` is negative for money out (Chase, Bank of America, Monzo, Barclays,
     Starling, Wells Fargo) ...
   - ... except in card exports that print charges as positive amounts (American Express,
     Discover): an Amex-only column (`Card Member`, `Extended Details`, ...) or, for a bare
     `Date,Description,Amount` file without a balance column, mostly positive amounts;
   - `CR`/`DR` after an amount always wins; an unsigned amount next to a `Debit/Credit` column
     takes its direction from that column.

Bad rows become `LineError`s; the rest of the file is still read.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from expense_svc.statements import locales
from expense_svc.statements.amounts import Amount, guess_decimal_comma, parse_amount
from expense_svc.statements.dates import DateOrder, infer_order, looks_like_date, parse_date
from expense_svc.statements.lines import LineCollector, is_currency_code
from expense_svc.statements.model import (
    Direction,
    LineProblem,
    ParseResult,
    StatementFormatError,
)

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_LINES = 80
HEADER_SEARCH_ROWS = 40

_DATE_NAMES = (
    "date", "transaction date", "trans date", "txn date", "posting date", "posted date",
    "post date", "completed date", "started date", "booking date", "value date", "date posted",
    "datum", "buchungstag", "fecha", "data",
)  # fmt: skip
_AMOUNT_NAMES = (
    "amount", "transaction amount", "amt", "value", "betrag", "bedrag", "importe", "montant",
    "importo",
)  # fmt: skip
_DEBIT_NAMES = (
    "paid out", "money out", "debit", "debits", "debit amount", "withdrawal", "withdrawals",
    "withdrawal amount", "amount out", "out", "spent",
)  # fmt: skip
_CREDIT_NAMES = (
    "paid in", "money in", "credit", "credits", "credit amount", "deposit", "deposits",
    "deposit amount", "amount in", "in", "received",
)  # fmt: skip
_BALANCE_NAMES = ("balance", "running bal", "running balance", "available balance")
_CURRENCY_NAMES = ("currency", "currency code", "ccy")
_ID_NAMES = ("transaction id", "fitid", "id")
_DESCRIPTION_NAMES = (
    "description", "transaction description", "name", "payee", "payee name", "merchant",
    "merchant name", "counter party", "counterparty", "narrative", "transaction details",
    "details", "memo", "particulars", "reference", "beschreibung", "omschrijving",
)  # fmt: skip
_INDICATOR_NAMES = (
    "debit credit", "credit debit", "dr cr", "cr dr", "debit credit indicator",
    "credit debit indicator", "indicator", "details", "transaction type", "type",
)  # fmt: skip
_INDICATOR_VALUES: dict[str, Direction] = {
    "debit": "DEBIT", "dr": "DEBIT", "d": "DEBIT", "db": "DEBIT", "withdrawal": "DEBIT",
    "check": "DEBIT", "cheque": "DEBIT", "credit": "CREDIT", "cr": "CREDIT", "c": "CREDIT",
    "deposit": "CREDIT", "dslip": "CREDIT",
}  # fmt: skip
_AMEX_COLUMNS = frozenset({"card member", "extended details", "appears on your statement as"})
_US_COLUMNS = frozenset({"running bal", "check or slip", "post date"}) | _AMEX_COLUMNS
_HEADER_SYMBOL_CURRENCY = {"£": "GBP", "€": "EUR"}
_CENTS = re.compile(r"\d[.,]\d{2}(?!\d)")
_BALANCE_LINE = re.compile(
    r"^(beginning|opening|ending|closing|starting)\s+balance|^balance\s+(brought|carried)"
    r"|^(brought|carried)\s+forward",
    re.IGNORECASE,
)


@dataclass
class _Layout:
    """Where everything is in one file."""

    delimiter: str
    first_data_line: int
    date: int
    descriptions: list[int]
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None
    balance: int | None = None
    currency: int | None = None
    fitid: int | None = None
    indicator: int | None = None
    header_currency: str | None = None
    header: list[str] | None = None
    names: dict[int, str] = field(default_factory=dict)
    amex: bool = False
    us_bank: bool = False

    @property
    def amount_columns(self) -> list[int]:
        return [c for c in (self.amount, self.debit, self.credit) if c is not None]


def parse_csv(
    text: str, *, locale: str | None, default_currency: str, amex: bool = False
) -> ParseResult:
    """Parse a CSV statement; raises `StatementFormatError` when no layout can be found."""
    raw_lines = io.StringIO(text, newline="").readlines()
    layout = find_layout(raw_lines)
    if layout is None:
        raise StatementFormatError(
            "not a CSV, OFX or QIF statement: no header row naming a date and an amount column "
            f"in the first {HEADER_SEARCH_ROWS} rows, and the rows do not look like "
            "date/description/amount records"
        )
    layout.amex = layout.amex or amex
    return _parse_rows(raw_lines, layout, locale=locale, default_currency=default_currency)


def find_layout(raw_lines: Sequence[str]) -> _Layout | None:
    """The delimiter, header and columns of a CSV statement, or None if it is not one."""
    sample = raw_lines[:SAMPLE_LINES]
    best: tuple[int, _Layout] | None = None
    for delimiter in DELIMITERS:
        rows = _read_rows(sample, delimiter)
        layout = _from_header(rows, delimiter)
        if layout is not None:
            score = len(layout.names)
            if best is None or score > best[0]:
                best = (score, layout)
    if best is not None:
        return best[1]
    headerless: tuple[int, _Layout] | None = None
    for delimiter in DELIMITERS:
        rows = _read_rows(sample, delimiter)
        found = _from_values(rows, delimiter)
        if found is not None and (headerless is None or found[0] > headerless[0]):
            headerless = found
    return headerless[1] if headerless is not None else None


def _read_rows(
    lines: Sequence[str], delimiter: str, problems: list[tuple[int, str]] | None = None
) -> list[tuple[int, list[str]]]:
    """(first physical line number, cells) for each non-blank record.

    Records the csv module cannot read (a field over its size limit) go to `problems` as
    (line number, reason).
    """
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    rows: list[tuple[int, list[str]]] = []
    previous = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if problems is not None:
                problems.append((previous + 1, f"not a valid CSV line: {exc}"))
            previous = reader.line_num
            continue
        start, previous = previous + 1, reader.line_num
        if any(cell.strip() for cell in row):
            rows.append((start, row))
    return rows


def _normalise_name(cell: str) -> tuple[str, str | None]:
    """A header cell as a lookup key, plus a currency it names ("Amount (GBP)" → GBP)."""
    text = cell.strip().lstrip("\ufeff").lower()
    currency: str | None = None
    for inner in re.findall(r"\(([^)]*)\)", text):
        inner = inner.strip()
        if inner in _HEADER_SYMBOL_CURRENCY:
            currency = _HEADER_SYMBOL_CURRENCY[inner]
        elif is_currency_code(inner.upper()):
            currency = inner.upper()
    text = re.sub(r"\([^)]*\)", " ", text)
    text = " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    head, _, tail = text.rpartition(" ")
    if head and is_currency_code(tail.upper()) and tail not in ("out", "in"):
        currency = currency or tail.upper()
        text = head
    return text, currency


class _HeaderNames:
    """A candidate header row: its normalised names, and the columns already given a role."""

    def __init__(self, row: list[str]) -> None:
        self.names: dict[str, int] = {}
        self.currencies: list[str] = []
        self.taken: set[int] = set()
        for index, cell in enumerate(row):
            name, currency = _normalise_name(cell)
            if name and name not in self.names:
                self.names[name] = index
            if currency:
                self.currencies.append(currency)

    def pick(self, candidates: tuple[str, ...]) -> int | None:
        """The first column named like one of `candidates` (in priority order) not yet taken."""
        for candidate in candidates:
            index = self.names.get(candidate)
            if index is not None and index not in self.taken:
                self.taken.add(index)
                return index
        return None


def _from_header(rows: list[tuple[int, list[str]]], delimiter: str) -> _Layout | None:
    for line_number, row in rows[:HEADER_SEARCH_ROWS]:
        if len(row) < 2:
            continue
        header = _HeaderNames(row)
        names, pick = header.names, header.pick
        date = pick(_DATE_NAMES)
        amount = pick(_AMOUNT_NAMES)
        debit = pick(_DEBIT_NAMES)
        credit = pick(_CREDIT_NAMES)
        if date is None or (amount is None and debit is None and credit is None):
            continue
        layout = _Layout(
            delimiter=delimiter,
            first_data_line=line_number + 1,
            date=date,
            descriptions=[],
            amount=amount,
            debit=debit,
            credit=credit,
            header=[cell.strip() for cell in row],
        )
        layout.balance = pick(_BALANCE_NAMES)
        layout.currency = pick(_CURRENCY_NAMES)
        layout.fitid = pick(_ID_NAMES)
        while (description := pick(_DESCRIPTION_NAMES)) is not None:
            layout.descriptions.append(description)
        layout.indicator = pick(_INDICATOR_NAMES)
        currencies = set(header.currencies)
        layout.header_currency = currencies.pop() if len(currencies) == 1 else None
        layout.names = {index: row[index].strip() for index in header.taken}
        layout.amex = bool(_AMEX_COLUMNS & names.keys())
        layout.us_bank = bool(_US_COLUMNS & names.keys()) or (
            "posting date" in names and "details" in names
        )
        return layout
    return None


def _is_amount(text: str) -> bool:
    for decimal_comma in (False, True):
        try:
            parse_amount(text, decimal_comma=decimal_comma)
        except LineProblem:
            continue
        return True
    return False


def _from_values(rows: list[tuple[int, list[str]]], delimiter: str) -> tuple[int, _Layout] | None:
    """Columns of a headerless file, from what the values look like; (score, layout)."""
    if not rows:
        return None
    width = Counter(len(row) for _, row in rows).most_common(1)[0][0]
    if width < 2:
        return None

    def column(rows: list[tuple[int, list[str]]], index: int) -> list[str]:
        return [_cell(row, index) for _, row in rows]

    date_share = [
        sum(map(looks_like_date, column(rows, index))) / len(rows) for index in range(width)
    ]
    date = max(range(width), key=lambda index: date_share[index])
    if date_share[date] < 0.5:
        return None
    first = next(i for i, (_, row) in enumerate(rows) if looks_like_date(_cell(row, date)))
    data = rows[first:]
    if sum(map(looks_like_date, column(data, date))) < 0.8 * len(data):
        return None
    numeric = [
        index
        for index in range(width)
        if index != date and sum(map(_is_amount, column(data, index))) >= 0.8 * len(data)
    ]
    if not numeric:
        return None
    # money has cents: prefer "12.50" columns over reference numbers that also parse
    amount = next(
        (
            index
            for index in numeric
            if sum(bool(_CENTS.search(value)) for value in column(data, index)) >= 0.5 * len(data)
        ),
        numeric[0],
    )
    wordiness = {
        index: sum(sum(ch.isalpha() for ch in value) for value in column(data, index)) / len(data)
        for index in range(width)
        if index not in (date, amount)
    }
    descriptions = sorted((i for i in wordiness if wordiness[i] >= 1), key=lambda i: -wordiness[i])
    if not descriptions:
        return None
    layout = _Layout(
        delimiter=delimiter,
        first_data_line=data[0][0],
        date=date,
        descriptions=descriptions[:1],
        amount=amount,
        names={date: "date", amount: "amount", descriptions[0]: "description"},
    )
    # Wells Fargo: "date","amount","*","check number","description"
    layout.us_bank = width == 5 and all(value == "*" for value in column(data, 2))
    return len(data), layout


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


@dataclass(slots=True)
class _Pending:
    """A row read up to the point where the file-wide sign convention is known."""

    line_number: int
    content: str
    date: datetime.date
    amount: Amount
    description: str
    currency: str | None
    fitid: str | None
    indicator: str


def _parse_rows(
    raw_lines: Sequence[str], layout: _Layout, *, locale: str | None, default_currency: str
) -> ParseResult:
    problems: list[tuple[int, str]] = []
    rows = [
        (line, row)
        for line, row in _read_rows(raw_lines, layout.delimiter, problems)
        if line >= layout.first_data_line
        and not (layout.header is not None and [c.strip() for c in row] == layout.header)
    ]
    collector = LineCollector(default_currency=default_currency)
    for line, reason in problems:
        if line >= layout.first_data_line:
            collector.error(line, reason, raw_lines[line - 1] if line <= len(raw_lines) else "")
    cell = _cell

    default_order: DateOrder = "MDY" if layout.us_bank else locales.date_order(locale)
    order = infer_order((cell(row, layout.date) for _, row in rows), default=default_order)
    decimal_comma = guess_decimal_comma(
        (cell(row, index) for _, row in rows for index in layout.amount_columns),
        # a `;` delimiter is the European convention that goes with a decimal comma
        default=layout.delimiter == ";" or locales.decimal_comma(locale),
    )
    needed = max(
        index
        for index in (layout.date, *layout.amount_columns, *layout.descriptions[:1])
        if index is not None
    )
    pending: list[_Pending] = []
    for line_number, row in rows:
        content = raw_lines[line_number - 1]
        try:
            if len(row) <= needed:
                raise LineProblem(f"expected at least {needed + 1} columns, found {len(row)}")
            date = parse_date(cell(row, layout.date), order=order)
            description = next((value for i in layout.descriptions if (value := cell(row, i))), "")
            amount: Amount | None
            if layout.amount is not None:
                text = cell(row, layout.amount)
                if not text and _BALANCE_LINE.match(description):
                    continue
                amount = parse_amount(text, decimal_comma=decimal_comma)
                if amount.value == 0 and _BALANCE_LINE.match(description):
                    continue  # Starling's "Opening Balance" row
            else:
                amount = _split_amount(row, layout, decimal_comma, description)
            if amount is None:
                continue
            pending.append(
                _Pending(
                    line_number,
                    content,
                    date,
                    amount,
                    description,
                    cell(row, layout.currency) or layout.header_currency,
                    cell(row, layout.fitid) or None,
                    cell(row, layout.indicator).lower(),
                )
            )
        except LineProblem as problem:
            collector.error(line_number, problem.reason, content)

    direction_of = _sign_convention(pending, layout)
    for item in pending:
        try:
            collector.add(
                line_number=item.line_number,
                date=item.date,
                amount=item.amount.value,
                direction=direction_of(item),
                description=item.description,
                currency=item.currency,
                fitid=item.fitid,
            )
        except LineProblem as problem:
            collector.error(item.line_number, problem.reason, item.content)
    return collector.result("csv")


def _split_amount(
    row: list[str], layout: _Layout, decimal_comma: bool, description: str
) -> Amount | None:
    """`Paid out`/`Paid in` columns → a signed amount (negative = out); None for a balance row."""

    def side(index: int | None) -> Amount | None:
        text = row[index].strip() if index is not None and index < len(row) else ""
        if not text:
            return None
        return parse_amount(text, decimal_comma=decimal_comma)

    out, into = side(layout.debit), side(layout.credit)
    out_name = layout.names.get(layout.debit, "debit") if layout.debit is not None else None
    in_name = layout.names.get(layout.credit, "credit") if layout.credit is not None else None
    if out is not None and into is not None and out.value != 0 and into.value != 0:
        raise LineProblem(f"both {out_name!r} and {in_name!r} have an amount")
    if out is not None and out.value != 0:
        return Amount(-abs(out.value), "DEBIT")
    if into is not None and into.value != 0:
        return Amount(abs(into.value), "CREDIT")
    if _BALANCE_LINE.match(description):
        return None  # "Beginning balance as of ...", "Balance brought forward"
    if out is not None or into is not None:
        raise LineProblem("amount is zero")
    names = " or ".join(repr(name) for name in (out_name, in_name) if name)
    raise LineProblem(f"no amount in {names}")


def _sign_convention(pending: list[_Pending], layout: _Layout) -> Callable[[_Pending], Direction]:
    if layout.amount is None:  # Paid out / Paid in: the column already decided
        return _by_marker
    negatives = sum(1 for p in pending if p.amount.value < 0)
    positives = sum(1 for p in pending if p.amount.value > 0 and p.amount.marker is None)
    credits = sum(1 for p in pending if p.amount.marker == "CREDIT")
    debits = sum(1 for p in pending if p.amount.marker == "DEBIT")
    indicators = {p.indicator for p in pending}
    if (
        layout.indicator is not None
        and negatives == 0
        and credits == debits == 0
        and "" not in indicators
        and indicators <= _INDICATOR_VALUES.keys()
    ):
        return _by_indicator
    card_style = (
        layout.amex
        or (credits > 0 and debits == 0)
        or (
            layout.header is not None
            and layout.balance is None
            and layout.debit is None
            and layout.credit is None
            and credits == debits == 0
            and positives > negatives
        )
    )
    return _positive_is_debit if card_style else _by_marker


def _by_marker(item: _Pending) -> Direction:
    if item.amount.marker is not None:
        return item.amount.marker
    return "DEBIT" if item.amount.value < 0 else "CREDIT"


def _positive_is_debit(item: _Pending) -> Direction:
    if item.amount.marker is not None:
        return item.amount.marker
    return "DEBIT" if item.amount.value > 0 else "CREDIT"


def _by_indicator(item: _Pending) -> Direction:
    return _INDICATOR_VALUES[item.indicator]
