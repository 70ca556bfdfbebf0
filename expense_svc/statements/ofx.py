"""OFX and QFX statements: SGML OFX 1.x and XML OFX 2.x, bank and credit-card statements.

One tolerant tag scanner reads both versions: OFX 1.x leaves leaf elements unclosed
(`<TRNAMT>-12.50` then the next tag), OFX 2.x closes them (`<TRNAMT>-12.50</TRNAMT>`), and
either may put everything on one line. What matters is the statement (`STMTRS` or `CCSTMTRS`,
with `CURDEF` and the account id) and its `STMTTRN` records. A strict XML parser is not used on
purpose: banks' OFX 2 files are often not well-formed (`<NAME>AT&T</NAME>`), and a strict parser
would reject the whole file over one name. Entities (`&amp;`) are decoded.

TRNAMT is signed: negative is money out (DEBIT). A few banks print unsigned amounts and rely on
TRNTYPE; when no amount in the file is negative, a debit-like TRNTYPE makes the line a DEBIT.
"""

from __future__ import annotations

import bisect
import datetime
import html
import re
from dataclasses import dataclass, field

from expense_svc.statements.amounts import guess_decimal_comma, parse_amount
from expense_svc.statements.dates import MAX_YEAR, MIN_YEAR
from expense_svc.statements.lines import LineCollector, join_name_and_memo
from expense_svc.statements.model import (
    Direction,
    LineProblem,
    ParseResult,
    StatementFormatError,
)

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._]*)\s*>([^<]*)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_OFX_START = re.compile(r"<OFX\s*>", re.IGNORECASE)
_OFX_DATE = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d+)?)?)?)?\s*(?:\[.*\])?$"
)
_DEBIT_TYPES = frozenset({"DEBIT", "ATM", "POS", "FEE", "SRVCHG", "CHECK", "DIRECTDEBIT", "CASH"})
_STATEMENTS = frozenset({"STMTRS", "CCSTMTRS"})


def looks_like_ofx(text: str) -> bool:
    head = text[:4096].lstrip("\ufeff \t\r\n")
    return (
        head.upper().startswith("OFXHEADER")
        or "<?OFX" in head.upper()
        or _OFX_START.search(text[:65536]) is not None
    )


@dataclass
class _Transaction:
    line_number: int
    start: int
    end: int = -1
    fields: dict[str, str] = field(default_factory=dict)
    currency: str | None = None


@dataclass
class _Statement:
    currency: str | None = None
    account_id: str | None = None
    transactions: list[_Transaction] = field(default_factory=list)


def parse_ofx(text: str, *, default_currency: str) -> ParseResult:
    """Parse an OFX/QFX file; raises `StatementFormatError` when it holds no statement."""
    start = _OFX_START.search(text)
    if start is None:
        raise StatementFormatError("not an OFX statement: there is no <OFX> element")
    body = _COMMENT.sub(lambda m: "\n" * m[0].count("\n"), text)
    newlines = [m.start() for m in re.finditer("\n", body)]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(newlines, offset) + 1

    statements: list[_Statement] = []
    statement: _Statement | None = None
    transaction: _Transaction | None = None
    aggregate = ""  # the innermost aggregate opened inside the current transaction

    def finish(end: int) -> None:
        nonlocal transaction
        if transaction is not None:
            transaction.end = end
            assert statement is not None
            statement.transactions.append(transaction)
            transaction = None

    for match in _TAG.finditer(body, start.start()):
        closing, name = match[1] == "/", match[2].upper()
        value = html.unescape(match[3].strip())
        if closing:
            if name == "STMTTRN" or (name in ("BANKTRANLIST", *_STATEMENTS)):
                finish(match.start())
            if name in _STATEMENTS:
                statement = None
            continue
        if name in _STATEMENTS:
            finish(match.start())
            statement = _Statement()
            statements.append(statement)
        elif name == "STMTTRN":
            finish(match.start())
            if statement is None:  # a transaction outside any statement: be lenient
                statement = _Statement()
                statements.append(statement)
            transaction = _Transaction(line_number=line_of(match.start()), start=match.start())
            aggregate = ""
        elif transaction is not None:
            if not value:
                aggregate = name
            elif name == "CURSYM" and aggregate == "CURRENCY":
                transaction.currency = value
            else:
                transaction.fields.setdefault(name, value)
        elif statement is not None and value:
            if name == "CURDEF":
                statement.currency = value
            elif name == "ACCTID" and statement.account_id is None:
                statement.account_id = value
    finish(len(body))
    if not statements:
        raise StatementFormatError(
            "not an OFX bank or credit card statement: the OFX file has no STMTRS or CCSTMTRS"
        )
    return _build(body, statements, default_currency=default_currency)


def _build(body: str, statements: list[_Statement], *, default_currency: str) -> ParseResult:
    collector = LineCollector(default_currency=default_currency)
    transactions = [t for s in statements for t in s.transactions]
    decimal_comma = guess_decimal_comma(
        (t.fields.get("TRNAMT", "") for t in transactions), default=False
    )
    signed_file = any(t.fields.get("TRNAMT", "").lstrip().startswith("-") for t in transactions)
    for statement in statements:
        for transaction in statement.transactions:
            content = " ".join(body[transaction.start : transaction.end].split())
            fields = transaction.fields
            try:
                posted = fields.get("DTPOSTED") or fields.get("DTUSER")
                if not posted:
                    raise LineProblem("transaction has no DTPOSTED date")
                date = _parse_ofx_date(posted)
                if "TRNAMT" not in fields:
                    raise LineProblem("transaction has no TRNAMT amount")
                amount = parse_amount(fields["TRNAMT"], decimal_comma=decimal_comma).value
                trntype = fields.get("TRNTYPE", "").upper()
                direction: Direction = "DEBIT" if amount < 0 else "CREDIT"
                if not signed_file and trntype in _DEBIT_TYPES:
                    direction = "DEBIT"
                description = join_name_and_memo(fields.get("NAME"), fields.get("MEMO"))
                if not description:
                    check = fields.get("CHECKNUM")
                    description = f"{trntype} {check}" if check else trntype
                collector.add(
                    line_number=transaction.line_number,
                    date=date,
                    amount=amount,
                    direction=direction,
                    description=description,
                    currency=transaction.currency or statement.currency,
                    fitid=fields.get("FITID"),
                    account_id=statement.account_id,
                )
            except LineProblem as problem:
                collector.error(transaction.line_number, problem.reason, content)
    return collector.result("ofx")


def _parse_ofx_date(text: str) -> datetime.date:
    match = _OFX_DATE.match(text.strip())
    if match is None:
        raise LineProblem(f"date {text!r} is not an OFX date (YYYYMMDD...)")
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise LineProblem(f"date {text!r} is out of range")
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise LineProblem(f"date {text!r} is not a valid date") from None
