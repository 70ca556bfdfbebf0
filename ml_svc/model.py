"""The global model: TF-IDF (char_wb 2-5 + word 1-2 grams) -> multinomial logistic regression,
with temperature scaling fitted on a held-out split (calibration).

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

from finmesh.taxonomy import CATEGORIES
from ml_svc.normalize import normalize

LABELS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)

FloatArray = npt.NDArray[np.float64]


def model_input(description: str, direction: str, merchant: str = "") -> str:
    """The text the model reads for one expense."""
    norm = normalize(description)
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
        return sparse.hstack([self.word.transform(texts), self.char.transform(texts)], format="csr")

    def logits(self, texts: Sequence[str]) -> FloatArray:
        out: FloatArray = self.clf.decision_function(self.features(texts))
        return out

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
        x = self.features([text])
        row = x.getrow(0)
        contrib = row.data * self.clf.coef_[label_index, row.indices]
        order = np.argsort(-contrib)
        seen: list[str] = []
        for i in order:
            if contrib[i] <= 0:
                break
            name = str(self._feature_names[row.indices[i]]).strip()
            if name.startswith("dir") or len(name) < 3:
                continue
            if any(name in s or s in name for s in seen):
                continue
            seen.append(name)
            if len(seen) == k:
                break
        return seen


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
    clf = LogisticRegression(C=20.0, max_iter=300, tol=1e-3, solver="lbfgs")
    clf.fit(x, y, sample_weight=None if weights is None else np.asarray(weights))
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
