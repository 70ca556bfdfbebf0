"""QIF (Quicken Interchange Format) statements: `!Type:Bank`, `!Type:CCard`, `!Type:Cash`, ...

A record is a run of lines, one field each (first character = field code), ended by `^`:
`D` date, `T` (or `U`) signed amount, `P` payee, `M` memo, `N` cheque number, `L` category,
`S`/`E`/`$` split lines (ignored: `T` is the total). Negative amounts are money out, also in
`!Type:CCard` (a charge is negative there). Dates come as 03/12/2024, 3/12'24 (the apostrophe
marks a year from 2000) or 2024-03-12; the day/month order is decided per file as for CSV.
Lists that are not transactions (`!Type:Cat`, `!Type:Class`, `!Account`, ...) are skipped.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from expense_svc.statements import locales
from expense_svc.statements.amounts import guess_decimal_comma, parse_amount
from expense_svc.statements.dates import infer_order, parse_date
from expense_svc.statements.lines import LineCollector, join_name_and_memo
from expense_svc.statements.model import LineProblem, ParseResult, StatementFormatError

_TRANSACTION_TYPES = frozenset({"bank", "ccard", "cash", "oth a", "oth l"})
_INVESTMENT_TYPES = frozenset({"invst", "port"})


def looks_like_qif(text: str) -> bool:
    for line in text[:4096].splitlines():
        line = line.strip().lstrip("\ufeff")
        if line:
            lowered = line.lower()
            return lowered.startswith(("!type:", "!account", "!option:", "!clear:"))
    return False


@dataclass
class _Record:
    line_number: int
    section: str
    fields: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def parse_qif(text: str, *, locale: str | None, default_currency: str) -> ParseResult:
    """Parse a QIF file; raises `StatementFormatError` when it has no QIF records at all."""
    records: list[_Record] = []
    section = "bank"  # a file without a !Type line is read as a bank register
    seen_header = False
    current: _Record | None = None
    for number, raw in enumerate(io.StringIO(text, newline="").readlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("!"):
            if current is not None:
                records.append(current)
                current = None
            header = line[1:].lower()
            if header.startswith("type:"):
                section = " ".join(header[5:].split())
                seen_header = True
            elif header.startswith("account"):
                section = "account"
                seen_header = True
            continue
        if line.startswith("^"):
            if current is not None:
                records.append(current)
                current = None
            continue
        if current is None:
            current = _Record(line_number=number, section=section)
        current.lines.append(line)
        code, value = line[0].upper(), line[1:].strip()
        if code in "SE$":  # split lines: the record's T is the total
            continue
        current.fields.setdefault(code, value)
    if current is not None:
        records.append(current)
    if not seen_header and not any("D" in r.fields and "T" in r.fields for r in records):
        raise StatementFormatError("not a QIF statement: no !Type header and no D/T records")
    return _build(records, locale=locale, default_currency=default_currency)


def _build(records: list[_Record], *, locale: str | None, default_currency: str) -> ParseResult:
    collector = LineCollector(default_currency=default_currency)
    transactions = [r for r in records if r.section in _TRANSACTION_TYPES]
    order = infer_order(
        (r.fields.get("D", "") for r in transactions), default=locales.date_order(locale)
    )
    decimal_comma = guess_decimal_comma(
        (r.fields.get("T") or r.fields.get("U") or "" for r in transactions),
        default=locales.decimal_comma(locale),
    )
    for record in records:
        content = " | ".join(record.lines)
        if record.section in _INVESTMENT_TYPES:
            collector.error(
                record.line_number, "investment transactions are not supported", content
            )
            continue
        if record.section not in _TRANSACTION_TYPES:
            continue
        fields = record.fields
        try:
            if "D" not in fields:
                raise LineProblem("record has no D (date) line")
            date = parse_date(fields["D"], order=order)
            amount_text = fields.get("T") or fields.get("U")
            if amount_text is None:
                raise LineProblem("record has no T (amount) line")
            amount = parse_amount(amount_text, decimal_comma=decimal_comma).value
            description = join_name_and_memo(fields.get("P"), fields.get("M"))
            if not description and fields.get("N"):
                description = f"Cheque {fields['N']}"
            collector.add(
                line_number=record.line_number,
                date=date,
                amount=amount,
                direction="DEBIT" if amount < 0 else "CREDIT",
                description=description,
                currency=None,
                fitid=None,
            )
        except LineProblem as problem:
            collector.error(record.line_number, problem.reason, content)
    return collector.result("qif")
