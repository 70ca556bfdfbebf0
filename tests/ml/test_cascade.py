"""The categorisation cascade: memory, then similar corrected expense, then rules and the
dictionary, then the confidence-gated model (pure logic on the trained artifact)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from ml_svc.categorizer import (
    CREDIT,
    Categorizer,
    Correction,
    Item,
    Result,
    Source,
    UserMemory,
    resolve_key,
)
from ml_svc.model import LABELS
from ml_svc.normalize import normalize
from ml_svc.training import Artifact


def classify_one(categorizer: Categorizer, item: Item, memory: UserMemory | None = None) -> Result:
    return categorizer.classify([item], [memory] if memory else None)[0]


def test_memory_beats_rule_dictionary_and_model(categorizer: Categorizer) -> None:
    memory = UserMemory(exact={"tesco": "shopping", "atm": "other"}, merchants={"tesco": "Tesco"})
    r = classify_one(categorizer, Item("TESCO STORES 3297 LONDON"), memory)
    assert (r.category, r.source, r.confidence, r.auto_apply) == (
        "shopping",
        Source.MEMORY,
        1.0,
        True,
    )
    assert "Tesco" in r.explanation
    assert r.model_version == categorizer.version  # every result names the artifact
    # Without memory the dictionary decides.
    r = classify_one(categorizer, Item("TESCO STORES 3297 LONDON"))
    assert (r.category, r.source) == ("groceries", Source.DICTIONARY)
    assert r.auto_apply and r.model_version == categorizer.version
    # its runners-up are the model's, without the chosen category
    assert len(r.alternatives) == 3 and "groceries" not in dict(r.alternatives)
    assert all(0 <= p <= 1 for _, p in r.alternatives)
    # A rule ("ATM" is a cash withdrawal: transfers) gives way to the user's memory too.
    atm = "BARCLAYS ATM 1234 LONDON"
    assert classify_one(categorizer, Item(atm)).source is Source.RULE
    key = resolve_key(normalize(atm), categorizer.dictionary)
    r = classify_one(categorizer, Item(atm), UserMemory(exact={key: "other"}))
    assert (r.category, r.source) == ("other", Source.MEMORY)


def test_similar_corrected_expense_is_second(categorizer: Categorizer) -> None:
    memory = UserMemory(
        corrections=[
            Correction(
                "mayas nails and beauty",
                "mayas nails and beauty",
                "health",
                "Mayas Nails And Beauty",
            )
        ]
    )
    # Truncated by the bank: not the exact key, but the nearest corrected expense.
    r = classify_one(categorizer, Item("IZ *MAYAS NAILS AND BEA"), memory)
    assert (r.category, r.source) == ("health", Source.SIMILAR_EXPENSE)
    r = classify_one(categorizer, Item("IZ *MAYAS NAILS AND BEA"))
    assert r.category == "personal_care" and r.source is Source.MODEL


def test_rules_come_before_the_dictionary_and_read_the_direction(categorizer: Categorizer) -> None:
    r = classify_one(categorizer, Item("BARCLAYS ATM 1234 LONDON"))
    assert (r.category, r.source) == ("transfers", Source.RULE)
    r = classify_one(categorizer, Item("NON-STERLING TRANSACTION FEE"))
    assert (r.category, r.source) == ("fees", Source.RULE)
    r = classify_one(categorizer, Item("ACME LTD SALARY", direction=CREDIT))
    assert (r.category, r.source) == ("income", Source.RULE)
    r = classify_one(categorizer, Item("DIRECT DEBIT PAYMENT TO LBH COUNCIL TAX REF 1234"))
    assert (r.category, r.source) == ("housing", Source.RULE)
    for line in ("DVLA-AB12CDE", "road tax 180", "DIRECT DEBIT PAYMENT TO DVLA VEHICLE TAX REF 9"):
        r = classify_one(categorizer, Item(line))
        assert (r.category, r.source) == ("transport", Source.RULE), line
    # Apple's billing descriptor is its subscriptions; an Apple Store is still shopping
    for line in ("APPLE.COM/BILL", "APPLE.COM/BILL 866-712-7753 CA", "ITUNES.COM/BILL"):
        r = classify_one(categorizer, Item(line))
        assert (r.category, r.source) == ("subscriptions", Source.RULE), line
    r = classify_one(categorizer, Item("APPLE STORE R227 REGENT ST"))
    assert (r.category, r.source) == ("shopping", Source.DICTIONARY)


def test_refund_from_a_shop_is_the_shops_category(categorizer: Categorizer) -> None:
    r = classify_one(categorizer, Item("ASOS.COM REFUND", direction=CREDIT))
    assert r.category == "shopping"


def test_model_never_calls_money_out_or_a_refund_income(categorizer: Categorizer) -> None:
    # A model that leans hard towards income: only a plain credit may still come out as income.
    model = dataclasses.replace(categorizer.model, clf=copy.deepcopy(categorizer.model.clf))
    model.clf.intercept_[LABELS.index("income")] += 50.0
    leaning = Categorizer(model, categorizer.dictionary, version="test")
    debit, refund, credit = leaning.classify(
        [
            Item("QZXV WUMBLE 4411"),
            Item("QZXV WUMBLE 4411 REFUND", direction=CREDIT),
            Item("QZXV WUMBLE 4411", direction=CREDIT),
        ]
    )
    assert debit.source == refund.source == Source.MODEL
    assert debit.category != "income" and "income" not in dict(debit.alternatives)
    assert refund.category != "income"
    assert credit.category == "income"


@pytest.mark.parametrize(
    ("descriptor", "category"),
    [
        ("SQ *ROSIES CAFE 0423 LEEDS GB", "dining"),
        ("CARD PAYMENT TO KEVS CABS ON 07-11-2024", "transport"),
        ("IZ *PRIYAS NAIL BAR", "personal_care"),
        ("SUMUP *HIGHGATE BARBERS", "personal_care"),
        (
            "PURCHASE AUTHORIZED ON 03/12 SMITH FAMILY DENTAL AUSTIN TX S461234567890 CARD 1234",
            "health",
        ),
        ("POS DEBIT OAKWOOD PHARMACY 0042 DENVER CO", "health"),
        ("CARD PAYMENT TO ABBEY PLUMBING & HEATING ON 01-02-2025", "housing"),
        ("ZETTLE_*GOLDEN CRUST BAKERY", "dining"),
        ("DIRECT DEBIT PAYMENT TO WESTSIDE TUITION REF 88812", "education"),
    ],
)
def test_unknown_local_merchants_by_their_generic_words(
    categorizer: Categorizer, descriptor: str, category: str
) -> None:
    r = classify_one(categorizer, Item(descriptor))
    assert r.category == category
    assert r.source is Source.MODEL
    assert r.model_version == categorizer.version
    assert len(r.alternatives) == 3 and r.category not in {c for c, _ in r.alternatives}
    assert r.explanation.startswith("top features")


def test_low_confidence_model_result_is_only_a_suggestion(categorizer: Categorizer) -> None:
    results = categorizer.classify([Item("XQZ 77 LTD"), Item("SQ *ROSIES CAFE 0423 LEEDS GB")])
    vague, clear = results
    assert vague.source is Source.MODEL and vague.confidence < categorizer.threshold
    assert not vague.auto_apply
    assert clear.auto_apply and clear.confidence >= categorizer.threshold


def test_batch_results_come_back_in_request_order(categorizer: Categorizer) -> None:
    items = [Item("NETFLIX.COM"), Item("SHELL 1234 LEEDS"), Item("ODEON CINEMAS"), Item("BOOTS")]
    assert [r.category for r in categorizer.classify(items)] == [
        "subscriptions",
        "transport",
        "entertainment",
        "health",
    ]


def test_artifact_carries_metrics_and_library_versions(artifact: Artifact) -> None:
    assert artifact.meta["library_versions"]["scikit-learn"]
    assert artifact.metrics.example_count > 1000
    assert 0.0 < artifact.metrics.accuracy <= 1.0
    assert (artifact.path / "metrics.json").is_file()
    assert artifact.version.endswith(artifact.meta["fingerprint"][:7])


def test_fast_features_equal_the_vectorisers_transform(artifact: Artifact) -> None:
    import numpy as np
    from scipy import sparse  # type: ignore[import-untyped]

    model = artifact.categorizer.model
    texts = ["dirdebit narcard tesco stores", "", "dircredit acme salary", "zzzz qqq"]
    expected = sparse.hstack(
        [model.word.transform(texts), model.char.transform(texts)], format="csr"
    )
    got = model.features(texts)
    assert got.shape == expected.shape
    assert np.allclose(got.toarray(), expected.toarray(), atol=1e-6)


def test_per_item_fast_path_equals_the_batch_features(artifact: Artifact) -> None:
    import numpy as np

    model = artifact.categorizer.model
    texts = ["dirdebit narcard tesco stores", "dircredit acme salary", "zzzz qqq", "", "a  b"]
    batch = model.features(texts)
    for row, text in enumerate(texts):
        idx, val = model.doc_vector(text)
        dense = np.zeros(batch.shape[1])
        dense[idx] = val
        assert np.allclose(dense, batch.getrow(row).toarray().ravel(), atol=1e-6)


def test_char_ngram_ids_equal_the_vectorisers_analyser(artifact: Artifact) -> None:
    from collections import Counter

    from ml_svc.model import _CharWbIds

    char = artifact.categorizer.model.char
    analyse, vocab = char.build_analyzer(), char.vocabulary_
    ids = _CharWbIds(char)
    texts = [
        "dirdebit narcard tesco stores 3297",
        "dircredit acme salary",
        "",
        "  ",
        "a",
        "ab",
        "abcd",
        "x" * 30,
        "Café  ÜBER\tnaïve",
        "İstanbul ǅemal",
        "a  b\n c",
    ]
    for text in texts * 2:  # the second time from its memory of the words
        expected = Counter(j for g in analyse(text) if (j := vocab.get(g)) is not None)
        assert Counter(ids.ids(text)) == expected, text


def test_artifacts_are_versioned_checked_and_pruned(artifact: Artifact, tmp_path: Path) -> None:
    import json
    import shutil

    from ml_svc.training import load_latest, prune

    for n in range(3):
        copy = tmp_path / f"v{n}"
        shutil.copytree(artifact.path, copy)
        meta = json.loads((copy / "meta.json").read_text())
        meta["train_time"] = f"2020-01-0{n + 1}T00:00:00+00:00"
        meta["version"] = f"v{n}"
        (copy / "meta.json").write_text(json.dumps(meta))
    assert load_latest(tmp_path).version == "v2"  # type: ignore[union-attr]
    # A tampered model file is never loaded.
    (tmp_path / "v2" / "model.joblib").write_bytes(b"not the model")
    assert load_latest(tmp_path).version == "v1"  # type: ignore[union-attr]
    # An artifact of other code (another fingerprint) is never loaded.
    meta = json.loads((tmp_path / "v1" / "meta.json").read_text())
    meta["fingerprint"] = "0" * 64
    (tmp_path / "v1" / "meta.json").write_text(json.dumps(meta))
    assert load_latest(tmp_path).version == "v0"  # type: ignore[union-attr]
    assert prune(tmp_path, keep=1) == ["v1", "v0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v2"]


@pytest.mark.parametrize(
    ("typed", "merchant", "category"),
    [
        ("Latte at Starbucks", "Starbucks", "dining"),
        ("uber home", "Uber", "transport"),
        ("lunch at Marios Cafe", "Marios Cafe", "dining"),
    ],
)
def test_typed_description_gets_the_parsed_merchant(
    categorizer: Categorizer, typed: str, merchant: str, category: str
) -> None:
    """A description a person typed (not a bank descriptor) is read like ParseExpense reads
    it: the merchant is the words after "at" or a known brand, not the whole sentence."""
    r = classify_one(categorizer, Item(typed))
    assert (r.merchant, r.category) == (merchant, category)


def test_typed_merchant_shares_the_memory_of_its_descriptor(categorizer: Categorizer) -> None:
    """One correction of STARBUCKS also decides "Latte at Starbucks" (same merchant key)."""
    assert classify_one(categorizer, Item("STARBUCKS STORE 1234")).source is Source.DICTIONARY
    k = resolve_key(normalize("STARBUCKS STORE 1234 LONDON"), categorizer.dictionary)
    memory = UserMemory(exact={k: "entertainment"}, merchants={k: "Starbucks"})
    r = classify_one(categorizer, Item("Latte at Starbucks"), memory)
    assert (r.category, r.source, r.merchant) == ("entertainment", Source.MEMORY, "Starbucks")


def test_bank_descriptors_keep_the_normalised_merchant(categorizer: Categorizer) -> None:
    r = classify_one(categorizer, Item("CARD PAYMENT TO MAYAS NAILS ON 07-11-2024"))
    assert r.merchant == "Mayas Nails"
