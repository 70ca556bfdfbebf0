"""The global model: TF-IDF (char_wb 2-5 + word 1-2 grams) -> class-balanced multinomial logistic
regression blended with complement naive Bayes, with temperature scaling fitted on a held-out
split (calibration).

Direction is a feature: the model reads ``dircredit`` / ``dirdebit`` tokens next to the
normalised descriptor, so a credit from an employer reads as income and a credit from a shop
as a refund in that shop's category.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB

from finmesh.taxonomy import CATEGORIES
from ml_svc.normalize import Normalized, normalize

LABELS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)

FloatArray = npt.NDArray[np.float64]

#: Complement naive Bayes is linear in the same TF-IDF features, so its per-class log weights
#: (centred over the classes) are added to the logistic regression's: one weight matrix, the
#: same fast path. It leans less on memorised names and more on the words a category's many
#: merchants share (chosen on a split inside the training merchants: +0.008 accuracy).
NB_BLEND = 0.5
NB_ALPHA = 0.3


def model_input(
    description: str, direction: str, merchant: str = "", norm: Normalized | None = None
) -> str:
    """The text the model reads for one expense (``norm``: ``normalize(description)``)."""
    norm = norm or normalize(description)
    extra = f" {merchant.lower()}" if merchant and merchant.lower() not in norm.text else ""
    return f"dir{direction} {norm.text}{extra}"


@dataclass
class TextModel:
    """Vectorisers + classifier + temperature. Picklable (joblib)."""

    word: TfidfVectorizer
    char: TfidfVectorizer
    clf: LogisticRegression
    temperature: float = 1.0
    labels: tuple[str, ...] = LABELS
    _feature_names: Any = field(default=None, repr=False)

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF rows of ``texts``, equal to the vectorisers' ``transform`` but without
        scikit-learn's per-call input validation (about 1 ms a call, most of a single-item
        prediction)."""
        return sparse.hstack(
            [_fast_tfidf(self.word, texts), _fast_tfidf(self.char, texts)], format="csr"
        )

    def logits(self, texts: Sequence[str]) -> FloatArray:
        return self.logits_of(self.features(texts))

    def logits_of(self, x: sparse.csr_matrix) -> FloatArray:
        out: FloatArray = np.asarray(x @ self.weights_t()) + self.clf.intercept_
        return out

    def doc_vector(self, text: str) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """One text's TF-IDF vector as (feature indices, values), computed without scipy:
        the per-item fast path (the same numbers as :meth:`features`)."""
        cache = self.__dict__.setdefault("_fast", {})
        if not cache:
            cache["parts"] = [
                (v.build_analyzer(), v.vocabulary_, v.idf_, v.sublinear_tf, offset)
                for v, offset in ((self.word, 0), (self.char, len(self.word.vocabulary_)))
            ]
        all_idx: list[npt.NDArray[np.int64]] = []
        all_val: list[FloatArray] = []
        for analyze, vocab, idf, sublinear, offset in cache["parts"]:
            counts: dict[int, int] = {}
            for term in analyze(text):
                j = vocab.get(term)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if sublinear:
                tf = np.log(tf) + 1.0
            val = tf * idf[idx]
            val /= np.sqrt(val @ val)
            all_idx.append(idx + offset)
            all_val.append(val)
        if not all_idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(all_idx), np.concatenate(all_val)

    def weights_t(self) -> FloatArray:
        weights: FloatArray | None = self.__dict__.get("_weights_t")
        if weights is None:  # (features, classes), C-contiguous: no copy per call
            weights = np.ascontiguousarray(self.clf.coef_.T)
            self.__dict__["_weights_t"] = weights
        return weights

    def explain(
        self, idx: npt.NDArray[np.int64], val: FloatArray, label_index: int, k: int = 3
    ) -> list[str]:
        """The features of one doc that pushed it most towards ``label_index``."""
        if self._feature_names is None:
            self._feature_names = np.concatenate(
                [self.word.get_feature_names_out(), self.char.get_feature_names_out()]
            )
        contrib = val * self.clf.coef_[label_index, idx]
        seen: list[str] = []
        for i in np.argsort(-contrib):
            if contrib[i] <= 0:
                break
            name = str(self._feature_names[idx[i]]).strip()
            if name.startswith("dir") or len(name) < 3:
                continue
            if any(name in s or s in name for s in seen):
                continue
            seen.append(name)
            if len(seen) == k:
                break
        return seen

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        z = self.logits(texts) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p: FloatArray = e / e.sum(axis=1, keepdims=True)
        return p

    def top_features(self, text: str, label_index: int, k: int = 3) -> list[str]:
        """The words/n-grams that pushed ``text`` most towards the class (for explanations)."""
        if self._feature_names is None:
            self._feature_names = np.concatenate(
                [self.word.get_feature_names_out(), self.char.get_feature_names_out()]
            )
        return self.top_features_of(self.features([text]), 0, label_index, k)

    def top_features_of(
        self, x: sparse.csr_matrix, row_index: int, label_index: int, k: int = 3
    ) -> list[str]:
        """:meth:`top_features` for row ``row_index`` of an already computed matrix."""
        if self._feature_names is None:
            self._feature_names = np.concatenate(
                [self.word.get_feature_names_out(), self.char.get_feature_names_out()]
            )
        start, end = x.indptr[row_index], x.indptr[row_index + 1]
        indices, data = x.indices[start:end], x.data[start:end]
        contrib = data * self.clf.coef_[label_index, indices]
        order = np.argsort(-contrib)
        seen: list[str] = []
        for i in order:
            if contrib[i] <= 0:
                break
            name = str(self._feature_names[indices[i]]).strip()
            if name.startswith("dir") or len(name) < 3:
                continue
            if any(name in s or s in name for s in seen):
                continue
            seen.append(name)
            if len(seen) == k:
                break
        return seen


def _fast_tfidf(vec: TfidfVectorizer, texts: Sequence[str]) -> sparse.csr_matrix:
    _vocab, x = vec._count_vocab(texts, fixed_vocab=True)
    x = x.astype(np.float64)
    if vec.sublinear_tf:
        np.log(x.data, out=x.data)
        x.data += 1.0
    x.data *= vec.idf_[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    lengths = np.diff(x.indptr)
    x.data /= np.repeat(norms, lengths)
    return x


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> TextModel:
    """Fit vectorisers and classifier on ``texts`` (already :func:`model_input`)."""
    step = progress or (lambda _s: None)
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        min_df=1,
        sublinear_tf=True,
        token_pattern=r"(?u)\b[a-z][a-z&']+\b|\b\w\b",
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        min_df=2,
        sublinear_tf=True,
        max_features=150_000,
        dtype=np.float32,
    )
    step("vectorising")
    xw = word.fit_transform(texts)
    xc = char.fit_transform(texts)
    x = sparse.hstack([xw, xc], format="csr")
    y = np.array([LABELS.index(label) for label in labels])
    step("fitting logistic regression")
    clf = LogisticRegression(C=2.0, max_iter=300, tol=1e-3, solver="lbfgs", class_weight="balanced")
    sample_weight = None if weights is None else np.asarray(weights)
    clf.fit(x, y, sample_weight=sample_weight)
    step("blending complement naive Bayes")
    nb = ComplementNB(alpha=NB_ALPHA)
    nb.fit(x, y, sample_weight=sample_weight)
    nb_weights = nb.feature_log_prob_ - nb.feature_log_prob_.mean(axis=0, keepdims=True)
    clf.coef_ = clf.coef_ + NB_BLEND * nb_weights
    return TextModel(word=word, char=char, clf=clf)


def fit_temperature(model: TextModel, texts: Sequence[str], labels: Sequence[str]) -> float:
    """The temperature minimising the held-out negative log-likelihood (golden-section)."""
    z = model.logits(texts)
    y = np.array([LABELS.index(label) for label in labels])

    def nll(t: float) -> float:
        s = z / t
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    lo, hi = 0.2, 10.0
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(40):
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    return (lo + hi) / 2
