"""Which format a statement file is in, and a clear refusal for files that are none of them.

Order: binary signatures (PNG, PDF, XLSX, ...) are refused; the bytes are decoded (BOM, UTF-8,
then Windows-1252); the content decides (`OFXHEADER`/`<OFX>` → OFX, `!Type:` → QIF, JSON, HTML
and other XML are refused); a caller's hint must agree with what the content says; the file
name's extension decides only when the content does not; everything else is tried as CSV.
"""

from __future__ import annotations

import codecs
import json
import os
import re

from expense_svc.statements.model import StatementFormat, StatementFormatError
from expense_svc.statements.ofx import looks_like_ofx
from expense_svc.statements.qif import looks_like_qif

NOT_A_STATEMENT = "not a CSV, OFX or QIF statement"

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "the file is a PNG image"),
    (b"\xff\xd8\xff", "the file is a JPEG image"),
    (b"GIF87a", "the file is a GIF image"),
    (b"GIF89a", "the file is a GIF image"),
    (b"%PDF", "the file is a PDF document; download the statement as CSV, OFX or QIF"),
    (b"PK\x03\x04", "the file is a ZIP archive or an Excel/OpenDocument workbook; save it as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "the file is an old Excel/Word document; save it as CSV"),
    (b"\x1f\x8b", "the file is gzip-compressed"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HINTS: dict[str, StatementFormat | None] = {
    "csv": "csv",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/comma-separated-values": "csv",
    "text/x-csv": "csv",
    "statement_format_csv": "csv",
    "ofx": "ofx",
    "qfx": "ofx",
    "application/x-ofx": "ofx",
    "application/ofx": "ofx",
    "application/vnd.intu.qfx": "ofx",
    "application/x-qfx": "ofx",
    "statement_format_ofx": "ofx",
    "qif": "qif",
    "application/qif": "qif",
    "application/x-qif": "qif",
    "text/qif": "qif",
    "text/x-qif": "qif",
    "statement_format_qif": "qif",
    "": None,
    "auto": None,
    "unspecified": None,
    "statement_format_unspecified": None,
}
_EXTENSIONS: dict[str, StatementFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".ofx": "ofx",
    ".qfx": "ofx",
    ".qbo": "ofx",
    ".qif": "qif",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def normalise_hint(hint: str | None) -> StatementFormat | None:
    """The format a hint names: "qfx", "application/x-ofx", "STATEMENT_FORMAT_OFX" → "ofx".

    None for no hint and for generic content types (the content decides); raises
    `StatementFormatError` for a format name we do not read ("pdf", "xlsx").
    """
    if hint is None:
        return None
    key = hint.split(";")[0].strip().lower()
    if key in _HINTS:
        return _HINTS[key]
    if "/" in key:  # application/octet-stream, text/plain, curl's form type, ...
        return None
    raise StatementFormatError(f"unsupported statement format {hint!r}: use CSV, OFX/QFX or QIF")


def decode(data: bytes) -> str:
    """The file as text; raises `StatementFormatError` for binary files and empty ones."""
    for signature, problem in _SIGNATURES:
        if data.startswith(signature):
            raise StatementFormatError(f"{NOT_A_STATEMENT}: {problem}")
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise StatementFormatError(
                    f"{NOT_A_STATEMENT}: the file starts with a {encoding} byte order mark "
                    f"but is not valid {encoding}"
                ) from None
            break
    if text is None:
        if b"\x00" in data[:4096]:
            raise StatementFormatError(f"{NOT_A_STATEMENT}: the file is binary, not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    if not text.strip():
        raise StatementFormatError(f"{NOT_A_STATEMENT}: the file is empty")
    head = text[:4096]
    if len(_CONTROL.findall(head)) > max(2, len(head) // 100):
        raise StatementFormatError(f"{NOT_A_STATEMENT}: the file is binary, not text")
    return text


def sniff(text: str) -> StatementFormat | None:
    """The format the content itself announces, if any; raises for JSON, HTML and plain XML."""
    if looks_like_ofx(text):
        return "ofx"
    if looks_like_qif(text):
        return "qif"
    head = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if head.startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            raise StatementFormatError(f"{NOT_A_STATEMENT}: the file is JSON")
    if head.startswith(("<!doctype html", "<html")):
        raise StatementFormatError(f"{NOT_A_STATEMENT}: the file is an HTML page")
    if head.startswith("<?xml") or head.startswith("<"):
        raise StatementFormatError(f"{NOT_A_STATEMENT}: the file is XML but not OFX")
    return None


def detect_format(
    text: str, *, hint: StatementFormat | None, filename: str | None
) -> StatementFormat:
    sniffed = sniff(text)
    if hint is not None:
        if sniffed is not None and sniffed != hint:
            raise StatementFormatError(
                f"the file was sent as {hint.upper()} but its content is {sniffed.upper()}"
            )
        return hint
    if sniffed is not None:
        return sniffed
    extension = os.path.splitext(filename or "")[1].lower()
    return _EXTENSIONS.get(extension, "csv")
