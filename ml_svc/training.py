"""Training, evaluation and versioned artifacts.

An artifact is a directory ``<artifacts_dir>/<version>/`` holding ``model.joblib`` (the
vectorisers, classifier and temperature), ``dictionary.json``, ``metrics.json`` (held-out
validation metrics) and ``meta.json`` (version, train time, library versions, a fingerprint of
the code and data it was built from, the SHA-256 of ``model.joblib``). Artifacts are loaded only
from the configured directory, only when the fingerprint matches the running code and the
checksum matches the file: never from anywhere else, never from the network.

Training: split the corpus by merchant (no merchant on both sides), fit on the training side
(its temperature fitted on merchants of the training side that a calibration model did not see:
the held-out merchants are only ever scored) and measure the whole cascade (rules + a dictionary
built from the training merchants only + model) on the held-out merchants; then refit on
everything for the served model, which keeps that temperature. User corrections join the
training set with a higher sample weight.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from ml_svc import embeddings
from ml_svc.artifacts import current, fingerprint
from ml_svc.categorizer import Categorizer, Item
from ml_svc.dataset import Corpus, group_split, load_corpus
from ml_svc.dictionary import MerchantDictionary
from ml_svc.generator import Example
from ml_svc.model import LABELS, TextModel, fit, fit_temperature, model_input

log = logging.getLogger(__name__)

BACKEND = "tfidf-logreg"  # + "+minilm-static" when trained with embeddings
CONFIDENCE_THRESHOLD = 0.6
CORRECTION_WEIGHT = 5.0


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "scipy", "joblib", "rapidfuzz", embeddings.DISTRIBUTION):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[dist] = "unknown"
    return out


@dataclass(frozen=True)
class Metrics:
    example_count: int
    accuracy: float
    macro_f1: float
    per_category: list[dict[str, Any]]
    unseen_local_accuracy: float
    confusion: list[list[int]]
    labels: list[str]


def evaluate(categorizer: Categorizer, examples: Sequence[Example]) -> Metrics:
    """The whole cascade on ``examples`` (no personal memory)."""
    items = [Item(e.text, e.direction) for e in examples]
    preds = [r.category for r in categorizer.classify(items)]
    gold = [e.label for e in examples]
    labels = list(LABELS)
    p, r, f, s = precision_recall_fscore_support(gold, preds, labels=labels, zero_division=0)
    present = [i for i, n in enumerate(s) if n > 0]
    local = [i for i, e in enumerate(examples) if e.kind == "local"]
    return Metrics(
        example_count=len(examples),
        accuracy=float(accuracy_score(gold, preds)),
        macro_f1=float(np.mean([f[i] for i in present])) if present else 0.0,
        per_category=[
            {
                "category": labels[i],
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i in range(len(labels))
        ],
        unseen_local_accuracy=(
            float(np.mean([preds[i] == gold[i] for i in local])) if local else float("nan")
        ),
        confusion=confusion_matrix(gold, preds, labels=labels).tolist(),
        labels=labels,
    )


@dataclass
class Artifact:
    version: str
    path: Path
    categorizer: Categorizer
    metrics: Metrics
    meta: dict[str, Any]


def _fit_examples(examples: Sequence[Example], progress: Callable[[str], None]) -> TextModel:
    texts = [model_input(e.text, e.direction) for e in examples]
    return fit(texts, [e.label for e in examples], [e.weight for e in examples], progress=progress)


#: The share of the training merchants a calibration model leaves out to fit the temperature on.
CALIBRATION_FRACTION = 0.15
CALIBRATION_SEED = 3


def fit_calibrated(
    examples: Sequence[Example], progress: Callable[[str], None] | None = None
) -> TextModel:
    """A model fitted on ``examples`` whose temperature was fitted on merchants of ``examples``
    that a calibration model (fitted on the others) never saw; nothing outside ``examples`` is
    read, so rows evaluated afterwards never tune the model's confidence."""
    step = progress or (lambda s: log.info("training: %s", s))
    fit_part, calibration = group_split(
        examples, test_fraction=CALIBRATION_FRACTION, seed=CALIBRATION_SEED
    )
    step(f"fitting the calibration model on {len(fit_part)} examples")
    calibration_model = _fit_examples(fit_part, step)
    step(f"calibrating on {len(calibration)} examples of other merchants")
    temperature = fit_temperature(
        calibration_model,
        [model_input(e.text, e.direction) for e in calibration],
        [e.label for e in calibration],
    )
    step(f"fitting on {len(examples)} examples")
    model = _fit_examples(examples, step)
    model.temperature = temperature
    return model


def train_steps() -> int:
    """How many progress steps :func:`train` reports (a progress bar's total): three model
    fits of three or, with the embeddings, four steps each, and nine of its own."""
    per_fit = 4 if embeddings.backend_id() != "none" else 3
    return 9 + 3 * per_fit


def train(
    artifacts_dir: Path,
    *,
    corrections: Iterable[Example] = (),
    progress: Callable[[str], None] | None = None,
    corpus: Corpus | None = None,
) -> Artifact:
    """Train, evaluate on held-out merchants, refit on everything, save; returns the artifact."""
    step = progress or (lambda s: log.info("training: %s", s))
    started = time.monotonic()
    corrections = list(corrections)
    step("loading data")
    corpus = corpus or load_corpus(extra=corrections)
    train_ex, test_ex = group_split(corpus.examples)
    train_groups = {e.group for e in train_ex}
    step(f"validation model ({len(train_ex)} examples of the training merchants)")
    val_model = fit_calibrated(train_ex, step)
    temperature = val_model.temperature
    val_dict = MerchantDictionary(d for d in corpus.dictionary if d.group in train_groups)
    step(f"evaluating on {len(test_ex)} held-out examples")
    metrics = evaluate(
        Categorizer(val_model, val_dict, version="validation", threshold=CONFIDENCE_THRESHOLD),
        test_ex,
    )
    step(f"fitting the final model on {len(corpus.examples)} examples")
    final = _fit_examples(corpus.examples, step)
    final.temperature = temperature
    dictionary = MerchantDictionary(corpus.dictionary)
    fp = fingerprint()
    now = datetime.now(UTC).replace(microsecond=0)
    version = f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}-{fp[:7]}"
    if corrections:
        version += f"-c{len(corrections)}"
    step("saving")
    path = save(
        artifacts_dir,
        version,
        final,
        dictionary,
        metrics,
        {
            "train_time": now.isoformat(),
            "training_example_count": len(corpus.examples),
            "correction_count": len(corrections),
            "backend": BACKEND + ("+minilm-static" if final.emb_coef is not None else ""),
            "embeddings": final.emb_backend,
            "confidence_threshold": CONFIDENCE_THRESHOLD,
            "train_seconds": round(time.monotonic() - started, 1),
        },
    )
    prune(artifacts_dir, keep=4)
    meta = json.loads((path / "meta.json").read_text())
    step(f"done: {version} (held-out accuracy {metrics.accuracy:.3f})")
    return Artifact(
        version,
        path,
        Categorizer(final, dictionary, version=version, threshold=CONFIDENCE_THRESHOLD),
        metrics,
        meta,
    )


def save(
    artifacts_dir: Path,
    version: str,
    model: TextModel,
    dictionary: MerchantDictionary,
    metrics: Metrics,
    info: dict[str, Any],
) -> Path:
    final = artifacts_dir / version.replace(":", "")
    tmp = artifacts_dir / f".tmp-{os.getpid()}-{final.name}"
    tmp.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, tmp / "model.joblib", compress=3)
    (tmp / "dictionary.json").write_text(json.dumps(dictionary.entries(), sort_keys=True))
    (tmp / "metrics.json").write_text(json.dumps(asdict(metrics), indent=1))
    digest = hashlib.sha256((tmp / "model.joblib").read_bytes()).hexdigest()
    meta = {
        "version": version,
        "fingerprint": fingerprint(),
        "model_sha256": digest,
        "library_versions": library_versions(),
        **info,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    if final.exists():  # same second, same code: keep the existing one
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
        return final
    tmp.rename(final)  # atomic: a reader never sees a half-written artifact
    return final


def prune(artifacts_dir: Path, keep: int = 4) -> list[str]:
    """Delete all but the ``keep`` newest artifacts (by train time); returns the names deleted."""
    found = []
    for meta_path in artifacts_dir.glob("*/meta.json"):
        try:
            found.append(
                (json.loads(meta_path.read_text()).get("train_time", ""), meta_path.parent)
            )
        except (OSError, ValueError):
            continue
    found.sort(key=lambda c: (c[0], c[1].name), reverse=True)
    deleted = []
    for _t, path in found[keep:]:
        shutil.rmtree(path, ignore_errors=True)
        deleted.append(path.name)
    return deleted


def load_latest(artifacts_dir: Path) -> Artifact | None:
    """The newest valid artifact in ``artifacts_dir`` for the running code, or None."""
    root = artifacts_dir.resolve()
    for path, meta in current(artifacts_dir):
        model_path = (path / "model.joblib").resolve()
        if model_path.parent.parent != root:
            continue  # never follow links out of the artifacts directory
        data = model_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("model_sha256"):
            log.warning("artifact %s: checksum mismatch, ignored", path.name)
            continue
        model = joblib.load(model_path)
        if not isinstance(model, TextModel):
            continue
        mapping = json.loads((path / "dictionary.json").read_text())
        dictionary = MerchantDictionary.from_map({k: (v[0], v[1]) for k, v in mapping.items()})
        m = json.loads((path / "metrics.json").read_text())
        metrics = Metrics(**m)
        version = str(meta["version"])
        threshold = float(meta.get("confidence_threshold", CONFIDENCE_THRESHOLD))
        return Artifact(
            version,
            path,
            Categorizer(model, dictionary, version=version, threshold=threshold),
            metrics,
            meta,
        )
    return None


def load_or_train(
    artifacts_dir: Path,
    *,
    corrections: Iterable[Example] = (),
    progress: Callable[[str], None] | None = None,
) -> Artifact:
    found = load_latest(artifacts_dir)
    if found is not None:
        log.info("loaded model %s from %s", found.version, found.path)
        return found
    log.info("no model artifact in %s: training one", artifacts_dir)
    return train(artifacts_dir, corrections=corrections, progress=progress)


#: A cache of artifacts shared by test sessions on one machine (content-addressed by the
#: fingerprint in each artifact's meta.json, so a stale one is never loaded).
SHARED_CACHE_DIR = Path(__file__).resolve().parent.parent / ".finmesh" / "cache" / "ml_svc"
