"""``python -m ml_svc.train``: what ``finmesh up`` runs before it starts ml_svc."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from ml_svc import train as train_cli
from ml_svc import training
from ml_svc.artifacts import current
from ml_svc.generator import Example
from ml_svc.training import SHARED_CACHE_DIR, Artifact, train_steps


def _spy_train(monkeypatch: pytest.MonkeyPatch, artifact: Artifact) -> list[Path]:
    calls: list[Path] = []

    def fake(
        out: Path,
        *,
        corrections: Iterable[Example] = (),
        progress: Callable[[str], None] | None = None,
        **_: Any,
    ) -> Artifact:
        calls.append(out)
        if progress:
            for step in range(train_steps()):
                progress(f"step {step}")
        return artifact

    monkeypatch.setattr(training, "train", fake)
    return calls


def test_if_missing_does_nothing_when_a_current_artifact_exists(
    artifact: Artifact, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert current(SHARED_CACHE_DIR)
    calls = _spy_train(monkeypatch, artifact)
    assert train_cli.main(["--if-missing", "--artifacts-dir", str(SHARED_CACHE_DIR)]) == 0
    assert calls == []


def test_if_missing_trains_with_a_progress_bar_when_there_is_none(
    artifact: Artifact,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert current(tmp_path) == []
    calls = _spy_train(monkeypatch, artifact)
    assert train_cli.main(["--if-missing", "--artifacts-dir", str(tmp_path)]) == 0
    assert calls == [tmp_path]
    out, err = capsys.readouterr()
    assert f"no model for this code in {tmp_path}: training one" in out
    assert f"{artifact.version}: held-out accuracy" in out
    assert "training: 100%" in err and f"{train_steps()}/{train_steps()}" in err
