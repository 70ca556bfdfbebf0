"""ParseExpense against the held-out parsing set (:mod:`ml_svc.parse_eval`): the issue's bar
(exact amount+currency ≥ 95%, date ≥ 90%, merchant ≥ 85%) on cases no parse test pins down."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ml_svc.categorizer import Categorizer
from ml_svc.parse_eval import ParseCase, evaluate_parse, generate_cases, read_cases


@pytest.mark.parametrize("source", ["generated", "hand-written"])
def test_parsing_meets_the_bar_on_held_out_entries(source: str, categorizer: Categorizer) -> None:
    cases = generate_cases() if source == "generated" else read_cases()
    assert len(cases) >= 60
    report = evaluate_parse(cases, categorizer)
    shown = "\n".join(f"{c.text!r}: {why}" for c, why in report.failures[:20])
    assert report.amount_accuracy >= 0.95, shown
    assert report.date_accuracy >= 0.90, shown
    assert report.merchant_accuracy >= 0.85, shown


def test_the_evaluation_counts_a_wrong_parse_as_wrong(categorizer: Categorizer) -> None:
    right = ParseCase(
        "latte at Starbucks £3.50",
        "en_GB",
        date(2025, 6, 18),
        Decimal("3.50"),
        "GBP",
        date(2025, 6, 18),
        "Starbucks",
    )
    wrong = replace(
        right, amount=Decimal("3.05"), currency="USD", date=date(2025, 6, 17), merchant="Costa"
    )
    report = evaluate_parse([right, wrong], categorizer)
    assert (report.amount_ok, report.date_ok, report.merchant_ok) == (1, 1, 1)
    assert len(report.failures) == 1
    assert "amount" in report.failures[0][1] and "merchant" in report.failures[0][1]
