"""Bank statement files → transactions: CSV (UK and US bank layouts), OFX/QFX, QIF.

    from expense_svc.statements import parse_statement
    result = parse_statement(data, filename="may.csv", format_hint=None, locale=None,
                             default_currency="GBP")
    result.lines   # ParsedLine per transaction, in file order, each with a dedupe_key
    result.errors  # LineError per line that could not be read (line number + reason)

`StatementFormatError` means the whole file is unusable (not a statement, a PNG, empty, ...);
a bad line never raises. Pure functions: no I/O, no gRPC, no database.

Modules: `detect` (which format; raises for non-statements), `csvfile`, `ofx`, `qif` (one per
format), `amounts` and `dates` (values as banks print them), `dedupe` (keys stable across
re-imports), `lines` (the checks every format shares), `model` (the dataclasses).
"""

from __future__ import annotations

from expense_svc.statements.csvfile import parse_csv
from expense_svc.statements.detect import decode, detect_format, normalise_hint
from expense_svc.statements.lines import is_currency_code
from expense_svc.statements.model import (
    Direction,
    LineError,
    ParsedLine,
    ParseResult,
    StatementFormat,
    StatementFormatError,
)
from expense_svc.statements.ofx import parse_ofx
from expense_svc.statements.qif import parse_qif

__all__ = [
    "Direction",
    "LineError",
    "ParseResult",
    "ParsedLine",
    "StatementFormat",
    "StatementFormatError",
    "normalise_hint",
    "parse_statement",
]


def parse_statement(
    data: bytes,
    *,
    filename: str | None,
    format_hint: str | None,
    locale: str | None,
    default_currency: str,
) -> ParseResult:
    """Read a whole statement file.

    - `filename`: the original name; its extension is used only when the content does not
      say what the file is.
    - `format_hint`: "csv", "ofx", "qfx", "qif", a proto enum name ("STATEMENT_FORMAT_OFX"),
      a Content-Type ("text/csv", "application/x-ofx", ...), or None / "" / a generic type
      ("application/octet-stream", "text/plain") to detect. A file whose content is clearly
      another supported format than the hint is rejected (`StatementFormatError`).
    - `locale`: e.g. "en_GB" (DMY dates) or "en_US" (MDY) — the default day/month order and
      decimal separator when the file itself does not settle them. None = decide from the
      file and the bank layout, falling back to en_GB.
    - `default_currency`: ISO 4217 code for lines whose file names no currency.

    Raises `StatementFormatError` (message names the problem) when the file is not a CSV, OFX
    or QIF statement, and `ValueError` for a `default_currency` that is not an ISO 4217 code
    (a caller bug: validate the request first).
    """
    currency = default_currency.strip().upper()
    if not is_currency_code(currency):
        raise ValueError(f"default_currency {default_currency!r} is not an ISO 4217 code")
    hint = normalise_hint(format_hint)
    text = decode(data)
    fmt = detect_format(text, hint=hint, filename=filename)
    if fmt == "ofx":
        return parse_ofx(text, default_currency=currency)
    if fmt == "qif":
        return parse_qif(text, locale=locale, default_currency=currency)
    return parse_csv(text, locale=locale, default_currency=currency, amex=_is_amex(filename))


def _is_amex(filename: str | None) -> bool:
    name = (filename or "").lower()
    return "amex" in name or "american express" in name or "american_express" in name
