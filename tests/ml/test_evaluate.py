"""``make eval DATA=file.csv``: a labelled CSV scored by the served model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ml_svc import evaluate
from ml_svc.training import SHARED_CACHE_DIR, Artifact

ROWS = """description,category,direction
CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024,groceries,debit
NETFLIX.COM,subscriptions,debit
ACME WIDGETS LTD SALARY,income,credit
SQ *QUILLFEATHER BAKEHOUSE 0423 LEEDS GB,dining,debit
"""


def test_eval_on_a_csv_prints_accuracy_per_class_confusion_and_unseen_merchants(
    artifact: Artifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "labelled.csv"
    data.write_text(ROWS, encoding="utf-8")
    assert evaluate.main(["--data", str(data), "--artifacts-dir", str(SHARED_CACHE_DIR)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^examples\s+4$", out, re.MULTILINE), out
    accuracy = re.search(r"^accuracy\s+([01]\.\d{3})$", out, re.MULTILINE)
    assert accuracy is not None and float(accuracy.group(1)) >= 0.75, out
    assert re.search(r"^macro-F1\s+[01]\.\d{3}$", out, re.MULTILINE)
    assert re.search(r"^groceries\s+[01]\.\d{3}\s+[01]\.\d{3}\s+[01]\.\d{3}\s+1$", out, re.M)
    assert "confusion matrix" in out
    # The made-up bakery is no training merchant; Tesco and Netflix are.
    unseen = re.search(r"^acc unseen merchants \((\d+)\)\s+[01]\.\d{3}$", out, re.MULTILINE)
    assert unseen is not None and 1 <= int(unseen.group(1)) <= 2, out


def test_eval_rejects_a_row_without_a_known_category_naming_its_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("description,category\nNETFLIX.COM,subscriptions\nTESCO,food\n")
    with pytest.raises(SystemExit, match=r"bad\.csv:3: need a description and one of the 18"):
        evaluate.main(["--data", str(data), "--artifacts-dir", str(SHARED_CACHE_DIR)])


def test_eval_lists_each_miss_with_its_line_what_was_predicted_and_why(
    artifact: Artifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "labelled.csv"
    # Netflix labelled groceries on purpose: the one row the served model must get "wrong".
    data.write_text(ROWS.replace("NETFLIX.COM,subscriptions", "NETFLIX.COM,groceries"))
    assert evaluate.main(["--data", str(data), "--artifacts-dir", str(SHARED_CACHE_DIR)]) == 0
    out = capsys.readouterr().out
    misses = out[out.index("misses (") :].splitlines()
    assert misses[0] == "misses (1):", out
    assert re.match(
        r"  csv:3: 'NETFLIX\.COM' is groceries, got subscriptions \(\w+, 0\.\d\d: ", misses[1]
    )
