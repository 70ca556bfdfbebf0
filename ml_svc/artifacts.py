"""Where model artifacts live and which of them the running code may load: the fingerprint of
the training code, its data and the embeddings backend, and the artifact directories whose
``meta.json`` carries it. Nothing heavy is imported here, so ``python -m ml_svc.train
--if-missing`` (run by every ``finmesh up``) answers in a blink when there is nothing to do;
:mod:`ml_svc.training` loads and writes the artifacts themselves."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ml_svc import embeddings

#: The modules whose code decides what a trained model is (a change retrains).
_CODE_FILES = (
    "normalize.py",
    "generator.py",
    "dataset.py",
    "model.py",
    "dictionary.py",
    "embeddings.py",
    "training.py",
)


def fingerprint(extra: str = "") -> str:
    """SHA-256 over the training code and data: an artifact is valid only for the same."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _CODE_FILES:
        h.update((here / name).read_bytes())
    for path in sorted((here / "data").rglob("*")):
        if path.is_file() and "eval" not in path.relative_to(here / "data").parts:
            h.update(path.relative_to(here).as_posix().encode())
            h.update(path.read_bytes())
    h.update(embeddings.backend_id().encode())  # installing or removing the wheel retrains
    h.update(extra.encode())
    return h.hexdigest()


def current(artifacts_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The artifact directories of ``artifacts_dir`` (resolved) made for the running code and
    data, with their meta, newest first (by their meta only: nothing is loaded or checked)."""
    if not artifacts_dir.is_dir():
        return []
    fp = fingerprint()
    found = []
    for meta_path in artifacts_dir.resolve().glob("*/meta.json"):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("fingerprint") == fp:
            found.append((str(meta.get("train_time", "")), meta_path.parent, meta))
    found.sort(key=lambda c: (c[0], c[1].name), reverse=True)
    return [(path, meta) for _t, path, meta in found]


def artifacts_dir_from_env(data_dir: Path) -> Path:
    """``FINMESH_ML_ARTIFACTS_DIR`` or ``<data_dir>/artifacts``."""
    env = os.environ.get("FINMESH_ML_ARTIFACTS_DIR")
    return Path(env) if env else data_dir / "artifacts"
