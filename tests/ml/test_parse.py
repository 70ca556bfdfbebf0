"""ParseExpense's parsing: amounts, currencies, dates, merchants, descriptions (pure logic)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ml_svc.categorizer import Categorizer
from ml_svc.normalize import merchant_key
from ml_svc.parse import find_date, locale_info, parse
from ml_svc.quick_add import quick_add

TODAY = date(2025, 3, 14)  # a Friday


@pytest.mark.parametrize(
    ("text", "locale", "amount", "currency"),
    [
        ("Latte at Starbucks £3.50", "en_GB", "3.50", "GBP"),
        ("uber home 14.20 yesterday", "en_GB", "14.20", "GBP"),
        ("$12 lunch at Chipotle last friday", "en_US", "12", "USD"),
        ("€4,50 croissant Paul", "fr_FR", "4.50", "EUR"),
        ("€4,50 croissant Paul", "en_GB", "4.50", "EUR"),
        ("2x cinema tickets Odeon 23.98", "en_GB", "23.98", "GBP"),
        ("bus 73 1.75", "en_GB", "1.75", "GBP"),
        ("table for 4 at Dishoom 86.40", "en_GB", "86.40", "GBP"),
        ("20 quid taxi", "en_GB", "20", "GBP"),
        ("15 bucks pizza", "en_US", "15", "USD"),
        ("30 euros dinner", "en_GB", "30", "EUR"),
        ("dinner 45 EUR", "en_GB", "45", "EUR"),
        ("USD 99.99 headphones", "en_GB", "99.99", "USD"),
        ("50p chewing gum", "en_GB", "0.50", "GBP"),
        ("groceries 1,250.00", "en_US", "1250.00", "USD"),
        ("Miete 1.250,00 €", "de_DE", "1250.00", "EUR"),
        ("1,250 rent", "en_GB", "1250", "GBP"),
        ("rent 12,500 deposit", "en_US", "12500", "USD"),
        ("Miete 1.250", "de_DE", "1250", "EUR"),
        ("coffee 3", "en_GB", "3", "GBP"),
        ("coffee 3", "en_US", "3", "USD"),
        ("3 coffees 7.20 at Pret", "en_GB", "7.20", "GBP"),
        ("£12.5 pints", "en_GB", "12.5", "GBP"),
        ("4,99€ Brot", "de_DE", "4.99", "EUR"),
        # a word ending in x is not the "x" of a quantity ("2 x 5")
        ("Council tax 142", "en_GB", "142", "GBP"),
        ("netflix 11", "en_GB", "11", "GBP"),
        ("fedex 15", "en_US", "15", "USD"),
    ],
)
def test_amount_and_currency(text: str, locale: str, amount: str, currency: str) -> None:
    parsed, _ = parse(text, locale, TODAY)
    assert parsed.amount is not None, text
    assert parsed.amount.amount == Decimal(amount)
    assert parsed.amount.currency == currency


@pytest.mark.parametrize(
    "text",
    [
        "TFL TRAVEL CH 12/03",
        "CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024",
        "bus 73",
        "table for 4",
        "2x coffee",
        "room 101 booking",
        "cinema tickets x 2",
        "pints x2",
    ],
)
def test_numbers_that_are_not_amounts_are_not_taken_as_amounts(text: str) -> None:
    parsed, _ = parse(text, "en_GB", TODAY)
    assert parsed.amount is None, parsed.amount


def test_text_currency_beats_the_locale_default_with_higher_confidence() -> None:
    named, _ = parse("lunch £9", "en_US", TODAY)
    default, _ = parse("lunch 9.00", "en_US", TODAY)
    assert named.amount is not None and default.amount is not None
    assert named.amount.currency == "GBP" and default.amount.currency == "USD"
    assert named.amount.currency_confidence > default.amount.currency_confidence


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("uber home 14.20 yesterday", "en_GB", date(2025, 3, 13)),
        ("$12 lunch at Chipotle last friday", "en_US", date(2025, 3, 7)),
        ("lunch on monday 12.00", "en_GB", date(2025, 3, 10)),
        ("pizza 9.99 friday", "en_GB", date(2025, 3, 14)),
        ("pizza 9.99 today", "en_GB", date(2025, 3, 14)),
        ("cab 3 days ago 12.00", "en_GB", date(2025, 3, 11)),
        ("day before yesterday drinks 20", "en_GB", date(2025, 3, 12)),
        ("TFL TRAVEL CH 12/03", "en_GB", date(2025, 3, 12)),
        ("TFL TRAVEL CH 12/03", "en_US", date(2024, 12, 3)),
        ("CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024", "en_GB", date(2024, 11, 7)),
        ("dinner 3/1 45.00", "en_US", date(2025, 3, 1)),
        ("dinner 3/1 45.00", "en_GB", date(2025, 1, 3)),
        ("hotel 2024-12-30 250", "en_GB", date(2024, 12, 30)),
        ("Nando's 24.50 on 5 March", "en_GB", date(2025, 3, 5)),
        ("flowers March 2nd 30", "en_US", date(2025, 3, 2)),
        ("gift 20 on 20 December", "en_GB", date(2024, 12, 20)),
        ("haircut 25 on the 3rd", "en_GB", date(2025, 3, 3)),
        ("rent 900 on the 28th", "en_GB", date(2025, 2, 28)),
        ("dentist 45 on 15th", "en_GB", date(2025, 2, 15)),
        ("tickets 13/25/2024 40", "en_GB", date(2024, 1, 1)),  # invalid date: ignored below
    ][:-1],
)
def test_dates_resolve_against_today_in_the_locale_order(
    text: str, locale: str, expected: date
) -> None:
    parsed, _ = parse(text, locale, TODAY)
    assert parsed.date.value == expected
    assert parsed.date.confidence >= 0.8


def test_no_date_means_today_with_lower_confidence() -> None:
    d = find_date("coffee 3.00", TODAY, day_first=True)
    assert d.value == TODAY and d.span is None and d.confidence < 0.8


def test_a_dmy_date_in_the_future_is_last_year() -> None:
    parsed, _ = parse("TFL TRAVEL CH 20/12", "en_GB", TODAY)
    assert parsed.date.value == date(2024, 12, 20)


def test_locale_decides_default_currency_and_day_month_order() -> None:
    assert locale_info("en_GB").currency == "GBP" and locale_info("en_GB").day_first
    assert locale_info("en_US").currency == "USD" and not locale_info("en_US").day_first
    assert locale_info("de_DE").currency == "EUR" and locale_info("de_DE").decimal_comma
    assert locale_info("nonsense").currency == "GBP"


@pytest.mark.parametrize(
    ("text", "locale", "merchant", "description"),
    [
        ("Latte at Starbucks £3.50", "en_GB", "Starbucks", "Latte at Starbucks"),
        ("uber home 14.20 yesterday", "en_GB", "Uber", "uber home"),
        ("$12 lunch at Chipotle last friday", "en_US", "Chipotle", "lunch at Chipotle"),
        ("€4,50 croissant Paul", "fr_FR", "Paul", "croissant Paul"),
        ("2x cinema tickets Odeon 23.98", "en_GB", "Odeon", "2x cinema tickets Odeon"),
        ("TFL TRAVEL CH 12/03", "en_GB", "TfL", "TFL TRAVEL CH"),
        ("CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024", "en_GB", "Tesco", None),
        ("table for 4 at Dishoom 86.40", "en_GB", "Dishoom", "table for 4 at Dishoom"),
        ("drinks at The Red Lion 24.50", "en_GB", "The Red Lion", "drinks at The Red Lion"),
        ("SQ *JOES COFFEE 0423 LDN GB", "en_GB", "Joes Coffee", None),
    ],
)
def test_merchant_and_clean_description(
    categorizer: Categorizer, text: str, locale: str, merchant: str, description: str | None
) -> None:
    q = quick_add(text, locale, TODAY, categorizer)
    assert merchant_key(q.merchant) == merchant_key(merchant)
    assert q.merchant_confidence > 0
    if description is not None:
        assert q.parsed.description == description


@pytest.mark.parametrize(
    "text", ["dinner with Sam 40", "train to Leeds 23.50", "present for Mum 15", "coffee 3"]
)
def test_people_and_places_are_not_merchants(categorizer: Categorizer, text: str) -> None:
    assert quick_add(text, "en_GB", TODAY, categorizer).merchant == ""


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Latte at Starbucks £3.50", "dining"),
        ("uber home 14.20 yesterday", "transport"),
        ("2x cinema tickets Odeon 23.98", "entertainment"),
        ("CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024", "groceries"),
        ("croissant 2.40", "dining"),
        ("haircut 25", "personal_care"),
        ("salary 2500", "income"),
    ],
)
def test_category_suggestion(categorizer: Categorizer, text: str, category: str) -> None:
    assert quick_add(text, "en_GB", TODAY, categorizer).classification.category == category


@pytest.mark.parametrize(
    ("text", "credit"),
    [("refund from ASOS 30.00", True), ("salary 2500", True), ("lunch 12", False)],
)
def test_direction_from_words(text: str, credit: bool) -> None:
    parsed, _ = parse(text, "en_GB", TODAY)
    assert parsed.credit is credit
