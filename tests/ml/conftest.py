"""Fixtures for the ml_svc tests: the served model, trained once per code version and cached in
the repository's own ``.finmesh/cache/ml_svc`` (the same directory the mesh's ml_svc uses)."""

from __future__ import annotations

import pytest

from ml_svc.categorizer import Categorizer
from ml_svc.training import SHARED_CACHE_DIR, Artifact, load_or_train


@pytest.fixture(scope="session")
def artifact() -> Artifact:
    return load_or_train(SHARED_CACHE_DIR)


@pytest.fixture(scope="session")
def categorizer(artifact: Artifact) -> Categorizer:
    return artifact.categorizer
