"""Merchant normalisation: processor prefixes, narratives, numbers and places stripped."""

from __future__ import annotations

import pytest

from ml_svc.normalize import merchant_key, normalize


@pytest.mark.parametrize(
    ("descriptor", "merchant", "processor"),
    [
        ("SQ *JOES COFFEE 0423 LDN GB", "joes coffee", "SQ"),
        ("SQ*JOES COFFEE", "joes coffee", "SQ"),
        ("TST* JOE'S PIZZA - BROOKLYN NY", "joes pizza", "TST"),
        ("TST*JOES PIZZA #1234", "joes pizza", "TST"),
        ("PAYPAL *NETFLIX.COM 4029357733", "netflix", "PAYPAL"),
        ("PP*MAYAS NAILS", "mayas nails", "PP"),
        ("SUMUP *KEVS CABS", "kevs cabs", "SUMUP"),
        ("SUMUP  *KEVS CABS LONDON", "kevs cabs", "SUMUP"),
        ("ZETTLE_*THE BAKERY", "bakery", "ZETTLE"),
        ("IZ *MAYAS NAILS", "mayas nails", "ZETTLE"),
        ("SP * FLETCHER BOOKS", "fletcher books", "SP"),
    ],
)
def test_processor_prefixes_are_stripped(descriptor: str, merchant: str, processor: str) -> None:
    n = normalize(descriptor)
    assert n.key == merchant
    assert n.processor == processor
    assert f"proc{processor.lower()}" in n.text


@pytest.mark.parametrize(
    ("descriptor", "merchant", "narrative"),
    [
        ("CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024", "tesco", "card"),
        ("CARD PAYMENT TO JOES CAFE ON 01 MAR", "joes cafe", "card"),
        ("CARD PAYMENT TO JOES CAFE ON 1MAR24", "joes cafe", "card"),
        ("CARD PAYMENT TO MARCH HARE ON 01 MARCH 2025", "march hare", "card"),
        (
            "DIRECT DEBIT PAYMENT TO BRITISH GAS REF 123456789, MANDATE NO 0012",
            "british gas",
            "direct_debit",
        ),
        ("POS DEBIT SHELL OIL 5744 HOUSTON TX", "shell oil", "card"),
        (
            "PURCHASE AUTHORIZED ON 03/12 STARBUCKS STORE 1234 SEATTLE WA S461234567890 CARD 1234",
            "starbucks",
            "card",
        ),
        ("DEBIT CARD PURCHASE - TARGET T-1234 MINNEAPOLIS MN", "target", "card"),
        ("CONTACTLESS PAYMENT PRET A MANGER", "pret a manger", "card"),
        ("STANDING ORDER TO J SMITH REF RENT", "j smith", "standing_order"),
        ("BRITISH GAS DDR", "british gas", "direct_debit"),
        ("FASTER PAYMENT RECEIVED FROM ACME LTD REF SALARY", "acme", "transfer_in"),
    ],
)
def test_bank_narratives_are_unwrapped(descriptor: str, merchant: str, narrative: str) -> None:
    n = normalize(descriptor)
    assert n.key == merchant
    assert n.narrative == narrative


@pytest.mark.parametrize(
    ("descriptor", "merchant"),
    [
        ("STARBUCKS #12345 NEW YORK NY 212-555-1234", "starbucks"),
        ("ASDA STORES 4777 FILTON GBR", "asda filton"),
        ("COSTA COFFEE 43011 LONDON GB", "costa coffee"),
        ("AMZN MKTP US*2K4L31", "amzn mktp"),
        ("WHOLEFDS MKT 10234 AUSTIN TX", "wholefds mkt"),
        ("PRET A MANGER LTD", "pret a manger"),
        ("MCDONALDS 0800 123 4567", "mcdonalds"),
        ("UBER *TRIP HELP.UBER.COM", "uber trip help uber"),
        # a US store number, then a city no list holds, then the state
        ("SQ *MAPLE STREET BOOKS 0423 ASHEVILLE NC", "maple street books"),
        ("BLUE MOON TAVERN 12 OAK RIDGE TN", "blue moon tavern"),
        ("CHICK-FIL-A #01234 RANCHO CUCAMONGA CA", "chick fil a"),
        ("JOES AUTO BODY TX", "joes auto body"),  # no store number: no city to tell
    ],
)
def test_numbers_phones_places_and_legal_suffixes_are_dropped(
    descriptor: str, merchant: str
) -> None:
    assert normalize(descriptor).key == merchant


def test_same_merchant_in_different_forms_shares_a_key() -> None:
    forms = [
        "SQ *JOES COFFEE 0423 LDN GB",
        "CARD PAYMENT TO JOES COFFEE ON 07-11-2024",
        "JOES COFFEE LONDON GB",
        "POS DEBIT JOES COFFEE 99 BOSTON MA",
        "IZ *JOE'S COFFEE",
    ]
    assert {normalize(f).key for f in forms} == {"joes coffee"}


def test_merchant_key_drops_punctuation_case_and_legal_suffix() -> None:
    assert merchant_key("Joe's Coffee Ltd.") == "joes coffee"
    assert merchant_key("THE RED LION") == "red lion"
    assert merchant_key("M&S") == "m and s"
    # a legal suffix ("CO") never starts a name
    assert merchant_key("CO-OP GROUP") == "co op group"
    assert merchant_key("THE CO-OPERATIVE FOOD") == "co operative food"
    assert merchant_key("ACME CO") == "acme"
    assert merchant_key("LTD") == ""


@pytest.mark.parametrize(
    ("descriptor", "merchant"),
    [
        ("M&S SIMPLY FOOD 1234", "M&S Simply Food"),
        ("AT&T MOBILITY", "AT&T Mobility"),
        ("B&Q 1234", "B&Q"),
        ("JOHNSON&JOHNSON", "Johnson&Johnson"),
        ("AMAZON.CO.UK*2K4L31 AMAZON.CO.UK", "Amazon"),  # said twice, once
        # a small leading number is the name's; a long one is a terminal or store number
        ("7-ELEVEN 35012 CHAPEL HILL NC", "7 Eleven"),
        ("24 HOUR FITNESS 0123", "24 Hour Fitness"),
        ("CARD PAYMENT TO 12 BAR CAFE ON 01-02-2025", "12 Bar Cafe"),
        ("POS DEBIT 1234 CORNER DELI", "Corner Deli"),
    ],
)
def test_merchant_names_read_as_people_write_them(descriptor: str, merchant: str) -> None:
    assert normalize(descriptor).merchant == merchant


def test_model_text_has_no_digits_and_keeps_the_words() -> None:
    n = normalize("DIRECT DEBIT PAYMENT TO LBH COUNCIL TAX REF 99887766")
    assert "council tax" in n.text
    assert not any(ch.isdigit() for ch in n.text)
