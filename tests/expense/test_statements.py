"""Bank statement parsing (expense_svc.statements): pure unit tests, no servers.

Fixture files in tests/expense/data/statements/ mimic real exports of each bank layout. Every
test states what a user of that bank would expect to see imported.
"""

from __future__ import annotations

import datetime
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest

from expense_svc.statements import (
    LineError,
    ParseResult,
    StatementFormatError,
    normalise_hint,
    parse_statement,
)
from expense_svc.statements.amounts import parse_amount
from expense_svc.statements.dates import DateOrder, parse_date
from expense_svc.statements.model import LineProblem

DATA = Path(__file__).parent / "data" / "statements"
FIXTURES = sorted(p.name for p in DATA.iterdir())


def parse(
    source: str | bytes,
    *,
    filename: str | None = None,
    hint: str | None = None,
    locale: str | None = None,
    currency: str = "GBP",
) -> ParseResult:
    """Parse a fixture file (by name) or literal content."""
    if isinstance(source, str):
        filename = filename or source
        data = (DATA / source).read_bytes()
    else:
        data = source
    return parse_statement(
        data, filename=filename, format_hint=hint, locale=locale, default_currency=currency
    )


def rows(result: ParseResult) -> list[tuple[int, str, str, str, str]]:
    """(line, ISO date, amount, direction, description) per parsed line."""
    return [
        (
            line.line_number,
            line.date.isoformat(),
            str(line.amount),
            line.direction,
            line.description,
        )
        for line in result.lines
    ]


def errors(result: ParseResult) -> list[tuple[int, str]]:
    return [(error.line_number, error.reason) for error in result.errors]


# --- UK CSV layouts ---------------------------------------------------------------------------


def test_barclays_signed_amount_with_memo_and_thousands_separator() -> None:
    result = parse("barclays.csv")
    assert result.format == "csv"
    assert rows(result) == [
        (2, "2024-03-02", "23.45", "DEBIT", "TESCO STORES 3217 ON 01 MAR BCC"),
        (3, "2024-03-04", "4.20", "DEBIT", "PRET A MANGER ON 03 MAR BCC"),
        (4, "2024-03-15", "2450.00", "CREDIT", "ACME LTD SALARY BGC"),
        (5, "2024-03-18", "65.00", "DEBIT", "THAMES WATER DDR"),
        (6, "2024-03-20", "1200.00", "DEBIT", "J SMITH RENT MARCH STO"),
    ]
    assert errors(result) == []
    assert {line.currency for line in result.lines} == {"GBP"}


def test_hsbc_headerless_file_is_read_from_its_values() -> None:
    result = parse("hsbc.csv")
    assert rows(result) == [
        (1, "2024-03-01", "45.67", "DEBIT", "SAINSBURYS S/MKT LONDON"),
        (2, "2024-03-05", "7.40", "DEBIT", "TFL TRAVEL CH TFL.GOV.UK/CP"),
        (3, "2024-03-08", "19.99", "DEBIT", "AMAZON.CO.UK*AB12CD34E AMAZON.CO.UK"),
        (4, "2024-03-25", "2450.00", "CREDIT", "ACME LTD SALARY"),
        (5, "2024-03-28", "10.99", "DEBIT", "NETFLIX.COM 866-579-7172"),
    ]


def test_headerless_file_prefers_the_money_column_over_a_reference_number() -> None:
    data = (
        b"01/03/2024,100234,TESCO STORES,-12.50\n"
        b"02/03/2024,100235,SALARY ACME,2000.00\n"
        b"13/03/2024,100236,BOOTS,-3.99\n"
    )
    assert rows(parse(data)) == [
        (1, "2024-03-01", "12.50", "DEBIT", "TESCO STORES"),
        (2, "2024-03-02", "2000.00", "CREDIT", "SALARY ACME"),
        (3, "2024-03-13", "3.99", "DEBIT", "BOOTS"),
    ]


def test_lloyds_debit_and_credit_columns_with_quoted_comma() -> None:
    result = parse("lloyds.csv")
    assert rows(result) == [
        (2, "2024-03-04", "3.10", "DEBIT", "COSTA COFFEE 43011"),
        (3, "2024-03-04", "3.10", "DEBIT", "COSTA COFFEE 43011"),
        (4, "2024-03-05", "45.00", "DEBIT", "VIRGIN MEDIA PYMTS"),
        (5, "2024-03-07", "25.50", "CREDIT", "J BLOGGS DINNER SPLIT"),
        (6, "2024-03-12", "62.14", "DEBIT", "SHELL, LONDON BRIDGE"),
    ]
    assert errors(result) == []


def test_monzo_export_uses_transaction_id_and_currency_column() -> None:
    result = parse("monzo.csv", currency="EUR")
    assert rows(result) == [
        (2, "2024-03-01", "4.20", "DEBIT", "PRET A MANGER LONDON GBR"),
        (3, "2024-03-02", "12.83", "DEBIT", "UBER *TRIP AMSTERDAM NLD"),
        (4, "2024-03-03", "150.00", "CREDIT", "JANE DOE RENT SHARE"),
        (5, "2024-03-14", "38.12", "DEBIT", "TESCO STORES 3297 LONDON GBR"),
    ]
    # the Currency column wins over the caller's default
    assert [line.currency for line in result.lines] == ["GBP"] * 4
    assert [line.fitid for line in result.lines] == [
        "tx_0000AfGhIjKlMnOpQrStUv",
        "tx_0000AfGhIjKlMnOpQrStUw",
        "tx_0000AfGhIjKlMnOpQrStUx",
        "tx_0000AfGhIjKlMnOpQrStUy",
    ]
    assert all(line.dedupe_key.startswith("id:") for line in result.lines)


def test_starling_currency_from_header_and_opening_balance_row_skipped() -> None:
    result = parse("starling.csv", currency="USD")
    assert rows(result) == [
        (3, "2024-03-02", "6.80", "DEBIT", "Gail's Bakery"),
        (4, "2024-03-06", "11.99", "DEBIT", "Spotify"),
        (5, "2024-03-13", "2450.00", "CREDIT", "Acme Ltd"),
    ]
    assert errors(result) == []
    assert {line.currency for line in result.lines} == {"GBP"}  # from "Amount (GBP)"


def test_nationwide_preamble_pound_signs_month_names_crlf_and_windows_1252() -> None:
    raw = (DATA / "nationwide.csv").read_bytes()
    assert b"\xa3" in raw and b"\r\n" in raw  # the fixture really is cp1252 with CRLF
    result = parse("nationwide.csv")
    assert rows(result) == [
        (6, "2024-03-01", "34.20", "DEBIT", "WAITROSE 123 LONDON"),
        (7, "2024-03-01", "2450.00", "CREDIT", "ACME LTD"),
        (8, "2024-03-02", "145.00", "DEBIT", "COUNCIL TAX"),
        (9, "2024-03-09", "500.00", "DEBIT", "SAVINGS ACCOUNT"),
    ]
    assert errors(result) == []


# --- US CSV layouts ---------------------------------------------------------------------------


def test_chase_checking_reads_month_first_even_with_a_uk_default() -> None:
    # every date is ambiguous (day <= 12); the Chase layout is US-only, so MM/DD/YYYY
    result = parse("chase_checking.csv", currency="USD")
    assert rows(result) == [
        (2, "2024-03-04", "5.75", "DEBIT", "STARBUCKS STORE 12345 SEATTLE WA 03/02"),
        (3, "2024-03-01", "2500.00", "CREDIT", "ACME CORP PAYROLL PPD ID: 1234567890"),
        (4, "2024-03-05", "150.00", "DEBIT", "CHECK 1042"),
        (5, "2024-03-07", "89.99", "DEBIT", "COMCAST CABLE COMM 800-266-2278 PA"),
    ]
    assert {line.currency for line in result.lines} == {"USD"}


def test_chase_credit_card_negative_is_a_charge() -> None:
    result = parse("chase_credit.csv", currency="USD")
    assert rows(result) == [
        (2, "2024-03-02", "84.17", "DEBIT", "WHOLEFDS MKT 10234"),
        (3, "2024-03-03", "41.20", "DEBIT", "SHELL OIL 57444, INC"),
        (4, "2024-03-05", "500.00", "CREDIT", "AUTOMATIC PAYMENT - THANK"),
        (5, "2024-03-09", "19.99", "CREDIT", "AMAZON MKTPL*RT4YH8K21"),
        (6, "2024-03-11", "13.45", "DEBIT", "CHIPOTLE 1187"),
    ]


def test_bank_of_america_summary_preamble_and_beginning_balance_row_skipped() -> None:
    result = parse("bofa.csv", currency="USD")
    assert rows(result) == [
        (9, "2024-03-02", "56.83", "DEBIT", "TARGET 00012345 BROOKLYN NY"),
        (
            10,
            "2024-03-04",
            "2500.00",
            "CREDIT",
            "ACME CORP DES:PAYROLL ID:XXXXX12345 INDN:SMITH,JOHN CO ID:XXXXX12345 PPD",
        ),
        (
            11,
            "2024-03-06",
            "120.00",
            "DEBIT",
            "CON ED OF NY DES:INTELL CK ID:XXXXX67890 INDN:JOHN SMITH CO ID:XXXXX67890 WEB",
        ),
        (
            12,
            "2024-03-08",
            "140.00",
            "DEBIT",
            "VERIZON WIRELESS DES:PAYMENTS ID:XXXXX24680 INDN:JOHN SMITH CO ID:XXXXX24680 WEB",
        ),
    ]
    assert errors(result) == []


def test_wells_fargo_headerless_five_columns() -> None:
    result = parse("wells_fargo.csv", currency="USD")
    assert [row[:4] for row in rows(result)] == [
        (1, "2024-03-01", "45.67", "DEBIT"),
        (2, "2024-03-04", "2100.00", "CREDIT"),
        (3, "2024-03-05", "1800.00", "DEBIT"),
        (4, "2024-03-11", "9.99", "DEBIT"),
    ]
    assert result.lines[2].description == "CHECK # 1043"
    assert result.lines[0].description.startswith("PURCHASE AUTHORIZED ON 02/28 SAFEWAY")


def test_amex_positive_amount_is_a_charge() -> None:
    result = parse("amex.csv", currency="USD")
    assert rows(result) == [
        (2, "2024-03-02", "23.18", "DEBIT", "UBER EATS help.uber.comCA"),
        (3, "2024-03-05", "412.60", "DEBIT", "DELTA AIR LINES ATLANTA"),
        (4, "2024-03-06", "3.21", "DEBIT", "AMAZON WEB SERVICES AWS.AMAZON.CO"),
        (5, "2024-03-10", "438.99", "CREDIT", "AUTOPAY PAYMENT - THANK YOU"),
        (6, "2024-03-12", "6.50", "DEBIT", "BLUE BOTTLE COFFEE OAKLAND"),
        (7, "2024-03-28", "15.00", "DEBIT", "SQ *FARMERS MARKET"),
    ]


def test_amex_columns_mark_positive_as_charge_even_when_most_lines_are_credits() -> None:
    data = (
        b"Date,Description,Card Member,Account #,Amount\n"
        b"03/02/2024,UBER EATS,J SMITH,-71005,23.18\n"
        b"03/10/2024,PAYMENT RECEIVED - THANK YOU,J SMITH,-71005,-400.00\n"
        b"03/11/2024,REFUND DELTA AIR LINES,J SMITH,-71005,-120.00\n"
    )
    result = parse(data, locale="en_US", currency="USD")
    assert [(line.direction, str(line.amount)) for line in result.lines] == [
        ("DEBIT", "23.18"),
        ("CREDIT", "400.00"),
        ("CREDIT", "120.00"),
    ]


# --- CSV details: delimiters, encodings, amounts, columns ------------------------------------


def test_semicolon_delimiter_decimal_comma_bom_and_currency_column() -> None:
    raw = (DATA / "european.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    result = parse("european.csv")
    assert rows(result) == [
        (2, "2024-03-01", "54.23", "DEBIT", "REWE Markt GmbH, Berlin"),
        (3, "2024-03-04", "129.90", "DEBIT", "Deutsche Bahn"),
        (4, "2024-03-15", "3250.00", "CREDIT", "Gehalt Acme GmbH"),
        (5, "2024-03-18", "1234.56", "DEBIT", "Hotel Paris"),
    ]
    assert {line.currency for line in result.lines} == {"EUR"}


def test_utf16_tab_separated_export() -> None:
    text = "Date\tDescription\tAmount\n02/03/2024\tCAFÉ NERO\t-3.45\n03/03/2024\tREFUND\t10.00\n"
    result = parse(text.encode("utf-16"))
    assert rows(result) == [
        (2, "2024-03-02", "3.45", "DEBIT", "CAFÉ NERO"),
        (3, "2024-03-03", "10.00", "CREDIT", "REFUND"),
    ]


def test_parentheses_currency_symbols_and_thousands_in_a_signed_column() -> None:
    data = (
        b"Date,Description,Amount,Balance\n"
        b'01/03/2024,TESCO,(12.50),"1,000.00"\n'
        b'02/03/2024,SALARY,"$2,000.00","3,000.00"\n'
        b"03/03/2024,RENT,-\xc2\xa31200.00,1800.00\n"
        b"04/03/2024,FEE,0.75-,1799.25\n"
    )
    result = parse(data)
    assert [(line.direction, line.amount) for line in result.lines] == [
        ("DEBIT", Decimal("12.50")),
        ("CREDIT", Decimal("2000.00")),
        ("DEBIT", Decimal("1200.00")),
        ("DEBIT", Decimal("0.75")),
    ]


def test_cr_suffix_marks_credits_and_unmarked_amounts_are_debits() -> None:
    data = (
        b"Date,Description,Amount\n"
        b"01/03/2024,CARD PAYMENT TESCO,12.50\n"
        b"02/03/2024,REFUND ASOS,20.00 CR\n"
        b"03/03/2024,DD SKY DIGITAL,45.00\n"
    )
    result = parse(data)
    assert [(line.direction, str(line.amount)) for line in result.lines] == [
        ("DEBIT", "12.50"),
        ("CREDIT", "20.00"),
        ("DEBIT", "45.00"),
    ]


def test_dr_suffix_marks_debits_in_a_bank_statement() -> None:
    data = (
        b"Date,Description,Amount,Balance\n"
        b"01/03/2024,SALARY,2000.00,2100.00\n"
        b"02/03/2024,RENT,1200.00DR,900.00\n"
    )
    result = parse(data)
    assert [line.direction for line in result.lines] == ["CREDIT", "DEBIT"]


def test_unsigned_amount_with_debit_credit_indicator_column() -> None:
    data = (
        b"Date,Description,Amount,Debit/Credit\n"
        b"01/03/2024,TESCO,12.50,Debit\n"
        b"02/03/2024,SALARY,2000.00,Credit\n"
        b"03/03/2024,BOOTS,8.99,DR\n"
    )
    result = parse(data)
    assert [(line.direction, str(line.amount)) for line in result.lines] == [
        ("DEBIT", "12.50"),
        ("CREDIT", "2000.00"),
        ("DEBIT", "8.99"),
    ]


def test_money_out_money_in_columns() -> None:
    data = (
        b"Date,Description,Money Out,Money In,Balance\n"
        b"01/03/2024,TESCO,12.50,,87.50\n"
        b"02/03/2024,SALARY,,2000.00,2087.50\n"
        b"03/03/2024,BOTH SIDES,1.00,2.00,2088.50\n"
    )
    result = parse(data)
    assert rows(result) == [
        (2, "2024-03-01", "12.50", "DEBIT", "TESCO"),
        (3, "2024-03-02", "2000.00", "CREDIT", "SALARY"),
    ]
    assert errors(result) == [(4, "both 'Money Out' and 'Money In' have an amount")]


def test_invalid_currency_cell_is_a_line_error() -> None:
    data = (
        b"Date,Description,Amount,Currency\n"
        b"01/03/2024,TESCO,-12.50,GBP\n"
        b"02/03/2024,CAFE,-3.00,XX\n"
        b"03/03/2024,HOTEL,-99.00,eur\n"
    )
    result = parse(data, currency="USD")
    assert [(line.line_number, line.currency) for line in result.lines] == [(2, "GBP"), (4, "EUR")]
    assert errors(result) == [(3, "currency 'XX' is not an ISO 4217 code")]


def test_iso_dates_and_timestamps() -> None:
    data = (
        b"Completed Date,Description,Amount,Currency\n"
        b"2024-03-02 10:12:13,Tesco,-12.50,GBP\n"
        b"2024-03-13T08:00:00Z,Salary,2000,GBP\n"
    )
    result = parse(data, locale="en_US")
    assert [line.date for line in result.lines] == [
        datetime.date(2024, 3, 2),
        datetime.date(2024, 3, 13),
    ]


def test_repeated_header_row_in_a_concatenated_export_is_skipped() -> None:
    data = (
        b"Date,Description,Amount\n01/03/2024,TESCO,-1.00\n"
        b"Date,Description,Amount\n02/03/2024,BOOTS,-2.00\n"
    )
    result = parse(data)
    assert [line.line_number for line in result.lines] == [2, 4]
    assert errors(result) == []


# --- day/month order --------------------------------------------------------------------------

AMBIGUOUS = (
    b"Date,Description,Amount,Balance\n03/04/2024,TESCO,-1.00,9.00\n05/06/2024,BOOTS,-2.00,7.00\n"
)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (None, [datetime.date(2024, 4, 3), datetime.date(2024, 6, 5)]),
        ("en_GB", [datetime.date(2024, 4, 3), datetime.date(2024, 6, 5)]),
        ("en_US", [datetime.date(2024, 3, 4), datetime.date(2024, 5, 6)]),
        ("en-US", [datetime.date(2024, 3, 4), datetime.date(2024, 5, 6)]),
        ("fr_FR", [datetime.date(2024, 4, 3), datetime.date(2024, 6, 5)]),
    ],
)
def test_ambiguous_dates_follow_the_locale(
    locale: str | None, expected: list[datetime.date]
) -> None:
    assert [line.date for line in parse(AMBIGUOUS, locale=locale).lines] == expected


def test_one_unambiguous_day_decides_dmy_for_the_whole_file_despite_us_locale() -> None:
    data = AMBIGUOUS + b"25/06/2024,ASDA,-3.00,4.00\n"
    result = parse(data, locale="en_US")
    assert [line.date for line in result.lines] == [
        datetime.date(2024, 4, 3),
        datetime.date(2024, 6, 5),
        datetime.date(2024, 6, 25),
    ]


def test_one_unambiguous_month_first_date_decides_mdy_despite_uk_locale() -> None:
    data = AMBIGUOUS + b"06/25/2024,ASDA,-3.00,4.00\n"
    result = parse(data, locale="en_GB")
    assert [line.date for line in result.lines] == [
        datetime.date(2024, 3, 4),
        datetime.date(2024, 5, 6),
        datetime.date(2024, 6, 25),
    ]


def test_contradictory_dates_are_rejected_per_line_not_guessed() -> None:
    data = (
        b"Date,Description,Amount,Balance\n"
        b"25/06/2024,A,-1.00,9.00\n26/06/2024,B,-1.00,8.00\n06/27/2024,C,-1.00,7.00\n"
    )
    result = parse(data)
    assert [line.line_number for line in result.lines] == [2, 3]
    assert errors(result) == [
        (4, "date '06/27/2024' is not a valid date (read as DD/MM like the rest of the file)")
    ]


# --- malformed lines --------------------------------------------------------------------------


def test_malformed_lines_are_reported_with_line_numbers_and_the_rest_is_imported() -> None:
    result = parse("malformed.csv")
    assert rows(result) == [
        (2, "2024-03-01", "12.50", "DEBIT", "TESCO STORES"),
        (7, "2024-03-05", "3.00", "DEBIT", "MULTI LINE NOTE"),  # a quoted field spans lines 7-8
        (10, "2024-03-07", "2.50", "DEBIT", "COSTA COFFEE"),
    ]
    assert errors(result) == [
        (3, "date '32/03/2024' is not a valid date (read as DD/MM like the rest of the file)"),
        (4, "amount 'abc' is not a number"),
        (5, "amount is zero"),
        (6, "expected at least 3 columns, found 2"),
        (9, "description is empty"),
    ]
    bad_amount = result.errors[1]
    assert str(bad_amount) == "line 4: amount 'abc' is not a number"
    assert bad_amount.content == "02/03/2024,BAD AMOUNT,abc,99.00"


def test_error_content_is_truncated_to_200_characters() -> None:
    data = b"Date,Description,Amount\n01/03/2024," + b"X" * 500 + b",oops\n"
    result = parse(data)
    assert len(result.errors) == 1
    assert len(result.errors[0].content) == 200


# --- OFX / QFX --------------------------------------------------------------------------------


def _stmttrn_lines(name: str) -> list[int]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [n for n, line in enumerate(text.splitlines(), 1) if "<STMTTRN>" in line]


def test_sgml_ofx_1x_bank_statement() -> None:
    result = parse("bank_v1.ofx")
    assert result.format == "ofx"
    starts = _stmttrn_lines("bank_v1.ofx")
    assert len(starts) == 6
    assert rows(result) == [
        (starts[0], "2024-03-02", "23.45", "DEBIT", "TESCO STORES 3217 - LONDON GB"),
        (starts[1], "2024-03-04", "4.20", "DEBIT", "PRET A MANGER"),
        (starts[2], "2024-03-04", "4.20", "DEBIT", "PRET A MANGER"),
        (starts[3], "2024-03-15", "2450.00", "CREDIT", "ACME LTD - SALARY MARCH"),
        (starts[5], "2024-03-20", "1200.00", "DEBIT", "J SMITH & CO - RENT MARCH"),
    ]
    assert errors(result) == [(starts[4], "amount 'N/A' is not a number")]
    assert "<FITID>202403180001" in result.errors[0].content
    assert [line.fitid for line in result.lines] == [
        "202403020001",
        "202403040001",
        "202403040002",
        "202403150001",
        "202403200001",
    ]
    assert {line.currency for line in result.lines} == {"GBP"}


def test_xml_ofx_2x_bank_statement() -> None:
    result = parse("bank_v2.ofx", currency="GBP")
    starts = _stmttrn_lines("bank_v2.ofx")
    assert rows(result) == [
        (starts[0], "2024-03-01", "45.67", "DEBIT", "SAFEWAY #1234 - PURCHASE AUTHORIZED ON 02/28"),
        (starts[1], "2024-03-04", "2100.00", "CREDIT", "ACME INC PAYROLL"),
        (starts[2], "2024-03-05", "1800.00", "DEBIT", "CHECK 1043"),
        (starts[3], "2024-03-11", "9.99", "DEBIT", "AT&T WIRELESS"),
    ]
    assert errors(result) == [(starts[4], "date '20240231' is not a valid date")]
    assert {line.currency for line in result.lines} == {"USD"}  # CURDEF, not the default


def test_qfx_credit_card_statement_on_single_lines() -> None:
    result = parse("creditcard.qfx")
    assert result.format == "ofx"
    assert rows(result) == [
        (14, "2024-03-02", "23.18", "DEBIT", "UBER EATS"),
        (15, "2024-03-05", "412.60", "DEBIT", "DELTA AIR LINES - ATLANTA GA"),
        (16, "2024-03-10", "438.99", "CREDIT", "AUTOPAY PAYMENT - THANK YOU"),
        (17, "2024-03-12", "6.50", "DEBIT", "BLUE BOTTLE COFFEE"),
    ]
    assert {line.currency for line in result.lines} == {"USD"}


@pytest.mark.parametrize("hint", ["ofx", "qfx", "OFX", "application/x-ofx", "STATEMENT_FORMAT_OFX"])
def test_ofx_hints_are_accepted(hint: str) -> None:
    assert parse("creditcard.qfx", hint=hint).format == "ofx"


def test_ofx_dedupe_key_comes_from_fitid_and_account_not_from_the_text() -> None:
    template = (
        "OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>GBP"
        "<BANKACCTFROM><ACCTID>{account}</BANKACCTFROM><BANKTRANLIST>"
        "<STMTTRN><TRNTYPE>POS<DTPOSTED>20240302<TRNAMT>-1.00<FITID>F1<NAME>{name}</STMTTRN>"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )

    def key(account: str, name: str) -> str:
        return parse(template.format(account=account, name=name).encode()).lines[0].dedupe_key

    assert key("111", "TESCO") == key("111", "TESCO STORES (renamed by the bank)")
    assert key("111", "TESCO") != key("222", "TESCO")


def test_repeated_fitid_in_one_file_keeps_both_transactions() -> None:
    data = (
        b"<OFX><CCSTMTRS><CURDEF>USD<CCACCTFROM><ACCTID>9</CCACCTFROM><BANKTRANLIST>"
        b"<STMTTRN><DTPOSTED>20240302<TRNAMT>-1.00<FITID>SAME<NAME>A</STMTTRN>"
        b"<STMTTRN><DTPOSTED>20240303<TRNAMT>-2.00<FITID>SAME<NAME>B</STMTTRN>"
        b"</BANKTRANLIST></CCSTMTRS></OFX>"
    )
    first, second = parse(data).lines
    assert first.dedupe_key != second.dedupe_key
    assert [line.dedupe_key for line in parse(data).lines] == [
        first.dedupe_key,
        second.dedupe_key,
    ]


def test_ofx_without_any_statement_is_a_format_error() -> None:
    data = (
        b"OFXHEADER:100\n\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</STATUS></SONRS>"
        b"</SIGNONMSGSRSV1></OFX>"
    )
    with pytest.raises(StatementFormatError, match="no STMTRS or CCSTMTRS"):
        parse(data)


# --- QIF --------------------------------------------------------------------------------------


def test_qif_bank_with_splits_memo_and_a_bad_amount() -> None:
    result = parse("bank.qif")
    assert result.format == "qif"
    assert rows(result) == [
        (2, "2024-03-01", "23.45", "DEBIT", "TESCO STORES 3217 - Groceries"),
        (8, "2024-03-04", "4.20", "DEBIT", "PRET A MANGER"),
        (12, "2024-03-04", "4.20", "DEBIT", "PRET A MANGER"),
        (16, "2024-03-15", "2450.00", "CREDIT", "ACME LTD - Salary March"),
        (25, "2024-03-20", "1200.00", "DEBIT", "J SMITH - Rent March"),  # T, not the splits
    ]
    assert errors(result) == [(21, "amount 'abc' is not a number")]
    assert result.errors[0].content == "D18/03/2024 | Tabc | PTHAMES WATER"


def test_qif_credit_card_with_apostrophe_years_and_account_block() -> None:
    # 3/28'24 can only be month-first, so the whole file is MDY even for a UK user
    result = parse("ccard.qif", locale="en_GB", currency="USD")
    assert rows(result) == [
        (6, "2024-03-02", "23.18", "DEBIT", "UBER EATS"),
        (11, "2024-03-05", "412.60", "DEBIT", "DELTA AIR LINES - ATLANTA GA"),
        (16, "2024-03-10", "438.99", "CREDIT", "AUTOPAY PAYMENT - THANK YOU"),
        (20, "2024-03-12", "6.50", "DEBIT", "BLUE BOTTLE COFFEE"),
        (24, "2024-03-28", "15.00", "DEBIT", "SQ *FARMERS MARKET"),
    ]
    assert errors(result) == []


def test_qif_records_without_date_or_amount_are_line_errors() -> None:
    data = (
        b"!Type:Bank\nT-1.00\nPNO DATE\n^\nD01/03/2024\nPNO AMOUNT\n^\nD02/03/2024\nT-3.00\nPOK\n"
    )
    result = parse(data)
    assert rows(result) == [(8, "2024-03-02", "3.00", "DEBIT", "OK")]  # last record lacks ^
    assert errors(result) == [
        (2, "record has no D (date) line"),
        (5, "record has no T (amount) line"),
    ]


def test_qif_without_type_header_is_read_when_the_file_name_says_qif() -> None:
    data = b"D01/03/2024\nT-3.00\nPBOOTS\n^\n"
    assert rows(parse(data, filename="export.qif")) == [(1, "2024-03-01", "3.00", "DEBIT", "BOOTS")]


def test_qif_category_lists_are_not_transactions() -> None:
    data = (
        b"!Type:Cat\nNGroceries\nDFood shopping\nE\n^\n!Type:Bank\nD01/03/2024\nT-3.00\nPBOOTS\n^\n"
    )
    result = parse(data)
    assert rows(result) == [(7, "2024-03-01", "3.00", "DEBIT", "BOOTS")]
    assert errors(result) == []


# --- files that are not statements ------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "filename", "problem"),
    [
        (PNG, "statement.csv", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "statement.pdf", "PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "statement.xlsx", "Excel"),
        (b"", "statement.csv", "the file is empty"),
        (b"  \r\n\n ", None, "the file is empty"),
        (b'{"transactions": [{"amount": -1.5}]}', "statement.json", "the file is JSON"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", None, "HTML page"),
        (b"<?xml version='1.0'?><rss></rss>", None, "XML but not OFX"),
        (bytes(range(256)) * 8, None, "binary"),
        (
            b"Dear customer,\nyour statement is ready.\nKind regards,\nThe Bank\n",
            "letter.txt",
            "no header row naming a date and an amount column",
        ),
        (b"name,age\nalice,30\nbob,41\n", "people.csv", "no header row"),
    ],
)
def test_files_that_are_not_statements_are_refused_with_the_reason(
    data: bytes, filename: str | None, problem: str
) -> None:
    with pytest.raises(StatementFormatError) as raised:
        parse(data, filename=filename)
    assert problem in str(raised.value)
    assert str(raised.value).startswith("not a CSV, OFX or QIF statement")


def test_content_that_contradicts_the_hint_is_refused() -> None:
    with pytest.raises(StatementFormatError, match="sent as CSV but its content is OFX"):
        parse("bank_v1.ofx", hint="text/csv")
    with pytest.raises(StatementFormatError, match="sent as QIF but its content is OFX"):
        parse("creditcard.qfx", hint="STATEMENT_FORMAT_QIF")


def test_csv_sent_as_ofx_is_refused() -> None:
    with pytest.raises(StatementFormatError, match="no <OFX> element"):
        parse("barclays.csv", hint="ofx")


def test_unsupported_format_hint_is_refused() -> None:
    with pytest.raises(StatementFormatError, match="unsupported statement format 'pdf'"):
        parse("barclays.csv", hint="pdf")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (None, None),
        ("", None),
        ("STATEMENT_FORMAT_UNSPECIFIED", None),
        ("application/octet-stream", None),
        ("text/plain; charset=utf-8", None),
        ("text/csv; charset=utf-8", "csv"),
        ("QIF", "qif"),
        ("application/vnd.intu.qfx", "ofx"),
    ],
)
def test_hint_normalisation(hint: str | None, expected: str | None) -> None:
    assert normalise_hint(hint) == expected


def test_generic_content_type_lets_the_content_decide() -> None:
    assert parse("bank.qif", hint="application/octet-stream").format == "qif"
    assert parse("bank_v2.ofx", hint="text/plain").format == "ofx"


def test_invalid_default_currency_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        parse("barclays.csv", currency="XX")


# --- dedupe keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in FIXTURES])
def test_same_file_twice_gives_the_same_keys_and_keys_are_unique_in_a_file(name: str) -> None:
    locale = "en_US" if name in ("amex.csv", "ccard.qif") else None
    first = parse(name, locale=locale)
    second = parse(name, locale=locale)
    assert first.lines, name
    assert [line.dedupe_key for line in first.lines] == [line.dedupe_key for line in second.lines]
    keys = [line.dedupe_key for line in first.lines]
    assert len(set(keys)) == len(keys)
    assert all(len(key) <= 70 for key in keys)


def test_identical_rows_in_one_file_are_separate_transactions() -> None:
    coffees = [
        line for line in parse("lloyds.csv").lines if line.description == "COSTA COFFEE 43011"
    ]
    assert len(coffees) == 2
    assert (coffees[0].date, coffees[0].amount) == (coffees[1].date, coffees[1].amount)
    assert coffees[0].dedupe_key != coffees[1].dedupe_key


def test_overlapping_files_share_keys_exactly_for_the_overlap() -> None:
    header = "Date,Description,Amount,Balance\n"
    all_rows = [
        "01/03/2024,TESCO,-10.00,90.00",
        "02/03/2024,BOOTS,-5.00,85.00",
        "03/03/2024,COFFEE,-2.50,82.50",
        "03/03/2024,COFFEE,-2.50,80.00",  # the same coffee twice on one day
        "04/03/2024,SALARY,1000.00,1080.00",
        "05/03/2024,RENT,-800.00,280.00",
    ]
    march_1_to_4 = parse((header + "\n".join(all_rows[:5]) + "\n").encode())
    march_3_to_5 = parse((header + "\n".join(all_rows[2:]) + "\n").encode())
    keys_a = [line.dedupe_key for line in march_1_to_4.lines]
    keys_b = [line.dedupe_key for line in march_3_to_5.lines]
    assert keys_a[2:] == keys_b[:3]  # both coffees and the salary
    assert set(keys_a) & set(keys_b) == set(keys_a[2:])
    assert keys_b[3] not in keys_a


def test_case_and_spacing_of_the_description_do_not_change_the_key() -> None:
    first = parse(b"Date,Description,Amount\n01/03/2024,TESCO  STORES,-10.00\n")
    second = parse(b"Date,Description,Amount\n01/03/2024,Tesco Stores,-10.0\n")
    assert first.lines[0].dedupe_key == second.lines[0].dedupe_key


@pytest.mark.parametrize(
    "changed",
    [
        b"02/03/2024,TESCO,-10.00",  # date
        b"01/03/2024,TESCO,-10.01",  # amount
        b"01/03/2024,TESCO,10.00",  # direction
        b"01/03/2024,ASDA,-10.00",  # description
    ],
)
def test_any_real_difference_changes_the_key(changed: bytes) -> None:
    header = b"Date,Description,Amount,Balance\n"
    base = parse(header + b"01/03/2024,TESCO,-10.00,0\n").lines[0].dedupe_key
    assert parse(header + changed + b",0\n").lines[0].dedupe_key != base


def test_currency_is_part_of_the_key() -> None:
    data = b"Date,Description,Amount\n01/03/2024,TESCO,-10.00\n"
    assert parse(data, currency="GBP").lines[0].dedupe_key != (
        parse(data, currency="EUR").lines[0].dedupe_key
    )


# --- a big file -------------------------------------------------------------------------------


def test_ten_thousand_line_file_parses_completely() -> None:
    rng = random.Random(20240301)
    merchants = ["TESCO STORES 3217", "PRET A MANGER", "TFL TRAVEL", "AMAZON.CO.UK", "SHELL"]
    lines = ["Date,Description,Paid out,Paid in,Balance"]
    total_out = total_in = Decimal(0)
    for i in range(10_000):
        day = datetime.date(2020, 1, 1) + datetime.timedelta(days=i // 7)
        pence = rng.randint(1, 500_000)
        amount = Decimal(pence) / 100
        description = f'"{rng.choice(merchants)}, REF {i % 50}"'
        if rng.random() < 0.1:
            lines.append(f'{day:%d/%m/%Y},{description},,"{amount:,.2f}",0.00')
            total_in += amount
        else:
            lines.append(f'{day:%d/%m/%Y},{description},"{amount:,.2f}",,0.00')
            total_out += amount
    result = parse(("\n".join(lines) + "\n").encode())
    assert errors(result) == []
    assert len(result.lines) == 10_000
    assert sum(line.amount for line in result.lines if line.direction == "DEBIT") == total_out
    assert sum(line.amount for line in result.lines if line.direction == "CREDIT") == total_in
    assert len({line.dedupe_key for line in result.lines}) == 10_000
    assert result.lines[-1].line_number == 10_001


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal_comma", "value", "marker"),
    [
        ("12.50", False, "12.50", None),
        ("-12.50", False, "-12.50", None),
        ("+12.50", False, "12.50", None),
        ("(12.50)", False, "-12.50", None),
        ("£1,234.56", False, "1234.56", None),
        ("-£1,234.56", False, "-1234.56", None),
        ("$-5.00", False, "-5.00", None),
        ("US$5.00", False, "5.00", None),
        ("GBP 12.00", False, "12.00", None),
        ("12.00 EUR", False, "12.00", None),
        ("12.34-", False, "-12.34", None),
        ("12.34 CR", False, "12.34", "CREDIT"),
        ("12.34DR", False, "12.34", "DEBIT"),
        ("1,234", False, "1234", None),
        ("1,234,567.89", False, "1234567.89", None),
        ("12,5", False, "12.5", None),
        ("1.234,56", True, "1234.56", None),
        ("-54,23", True, "-54.23", None),
        ("1.234", True, "1234", None),
        ("1 234,56 €", True, "1234.56", None),
        ("1'234.50", False, "1234.50", None),
        ("\u221212.00", False, "-12.00", None),
        (".5", False, "0.5", None),
    ],
)
def test_amount_formats(text: str, decimal_comma: bool, value: str, marker: str | None) -> None:
    amount = parse_amount(text, decimal_comma=decimal_comma)
    assert amount.value == Decimal(value)
    assert amount.marker == marker


@pytest.mark.parametrize(
    "text",
    ["abc", "NaN", "Infinity", "1e5", "12.3.4", "--5", "1,23,4", "12 34", "", "0.0000000001"],
)
def test_amounts_that_are_not_numbers(text: str) -> None:
    with pytest.raises(LineProblem):
        parse_amount(text)


def test_amount_too_large_for_the_database() -> None:
    with pytest.raises(LineProblem, match="too large"):
        parse_amount("100000000000.00")
    assert parse_amount("99999999999.99").value == Decimal("99999999999.99")


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("03/04/2024", "DMY", datetime.date(2024, 4, 3)),
        ("03/04/2024", "MDY", datetime.date(2024, 3, 4)),
        ("3.4.24", "DMY", datetime.date(2024, 4, 3)),
        ("03-04-1999", "DMY", datetime.date(1999, 4, 3)),
        ("3/12'24", "MDY", datetime.date(2024, 3, 12)),
        ("12/ 3' 4", "MDY", datetime.date(2004, 12, 3)),
        ("2024-03-04", "MDY", datetime.date(2024, 3, 4)),
        ("20240304", "DMY", datetime.date(2024, 3, 4)),
        ("04 Mar 2024", "MDY", datetime.date(2024, 3, 4)),
        ("4-Mar-24", "MDY", datetime.date(2024, 3, 4)),
        ("March 4, 2024", "DMY", datetime.date(2024, 3, 4)),
        ("Sept 30 2024", "DMY", datetime.date(2024, 9, 30)),
        ("2024-03-04T23:59:59+01:00", "DMY", datetime.date(2024, 3, 4)),
        ("04/03/2024 17:45", "DMY", datetime.date(2024, 3, 4)),
    ],
)
def test_date_formats(text: str, order: DateOrder, expected: datetime.date) -> None:
    assert parse_date(text, order=order) == expected


@pytest.mark.parametrize(
    "text", ["", "tomorrow", "31/02/2024", "13/13/2024", "32 Mar 2024", "01/01/1066"]
)
def test_dates_that_are_not_dates(text: str) -> None:
    with pytest.raises(LineProblem):
        parse_date(text, order="DMY")


def test_line_error_is_a_value_object() -> None:
    assert LineError(3, "amount is zero") == LineError(3, "amount is zero", "")
    assert re.fullmatch(r"line 3: amount is zero", str(LineError(3, "amount is zero")))


# --- robustness -------------------------------------------------------------------------------


def test_a_field_too_large_for_csv_is_a_line_error_not_a_silent_drop() -> None:
    data = b"Date,Description,Amount\n01/03/2024," + b"a" * 200_000 + b",-1.00\n02/03/2024,OK,-2\n"
    result = parse(data)
    assert rows(result) == [(3, "2024-03-02", "2", "DEBIT", "OK")]
    assert [error.line_number for error in result.errors] == [2]
    assert "not a valid CSV line" in result.errors[0].reason


def test_absurdly_long_cells_are_rejected_as_values() -> None:
    data = (
        b"Date,Description,Amount\n"
        + b"01/03/2024,SPACES,1"
        + b" " * 20_000
        + b"x\n"
        + b"01/03/2024"
        + b" " * 20_000
        + b"x,LONG DATE,-1.00\n"
        + b"02/03/2024,OK,-2.00\n"
    )
    result = parse(data)
    assert [line.line_number for line in result.lines] == [4]
    assert [error.line_number for error in result.errors] == [2, 3]
    assert result.errors[0].reason.startswith("amount ")
    assert result.errors[1].reason.startswith("date ")


def test_semicolon_file_reads_ambiguous_amounts_with_a_decimal_comma() -> None:
    data = b"Date;Description;Amount\n01.03.2024;Miete;-1.234\n02.03.2024;Kaffee;-3\n"
    result = parse(data, locale="en_GB")
    assert [line.amount for line in result.lines] == [Decimal("1234"), Decimal("3")]


def test_amex_file_name_marks_positive_as_charge() -> None:
    data = (
        b"Date,Description,Amount\n"
        b"02/03/2024,PAYMENT RECEIVED - THANK YOU,-400.00\n"
        b"03/03/2024,REFUND BRITISH AIRWAYS,-120.00\n"
        b"04/03/2024,PRET A MANGER,4.20\n"
    )
    by_name = parse(data, filename="amex-activity.csv")
    assert [line.direction for line in by_name.lines] == ["CREDIT", "CREDIT", "DEBIT"]
    # without the hint, mostly-negative amounts read as a bank account (negative = out)
    plain = parse(data, filename="activity.csv")
    assert [line.direction for line in plain.lines] == ["DEBIT", "DEBIT", "CREDIT"]


def test_ofx_with_two_statements_keeps_each_currency_and_account() -> None:
    statement = (
        "<STMTRS><CURDEF>{cur}<BANKACCTFROM><ACCTID>{acct}</BANKACCTFROM><BANKTRANLIST>"
        "<STMTTRN><TRNTYPE>POS<DTPOSTED>20240302<TRNAMT>-1.00<FITID>F1<NAME>SHOP</STMTTRN>"
        "</BANKTRANLIST></STMTRS>"
    )
    data = (
        "OFXHEADER:100\n\n<OFX><BANKMSGSRSV1>\n"
        + statement.format(cur="GBP", acct="1")
        + "\n"
        + statement.format(cur="EUR", acct="2")
        + "\n</BANKMSGSRSV1></OFX>\n"
    ).encode()
    first, second = parse(data, currency="USD").lines
    assert (first.line_number, first.currency) == (4, "GBP")
    assert (second.line_number, second.currency) == (5, "EUR")
    assert first.fitid == second.fitid == "F1"
    assert first.dedupe_key != second.dedupe_key


def test_qif_u_amount_is_used_when_t_is_missing() -> None:
    data = b"!Type:Bank\nD01/03/2024\nU-1,234.50\nPRENT\n^\n"
    assert rows(parse(data)) == [(2, "2024-03-01", "1234.50", "DEBIT", "RENT")]


def test_mutated_statements_never_raise_anything_but_a_format_error() -> None:
    """Corrupt every fixture in many small ways: a bad file is a 400, never a 500."""
    rng = random.Random(7)
    originals = [(DATA / name).read_bytes() for name in FIXTURES]
    alphabet = b"0123456789,;.\"'\n\r\t<>/-()$ CRDTabc^!\xa3\xff"
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(600):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data) + 1)
            choice = rng.random()
            if choice < 0.3:
                del data[at : at + rng.randint(1, 20)]
            elif choice < 0.7:
                data[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
            else:
                data = data[:at]
        hint = rng.choice([None, "csv", "ofx", "qif"])
        try:
            result = parse(bytes(data), hint=hint, locale=rng.choice([None, "en_US", "de_DE"]))
        except StatementFormatError:
            outcomes["refused"] += 1
            continue
        outcomes["parsed"] += 1
        for line in result.lines:
            assert line.amount > 0
            assert line.direction in ("DEBIT", "CREDIT")
            assert line.description
            assert len(line.currency) == 3
    assert outcomes["parsed"] > 100 and outcomes["refused"] > 10, outcomes
