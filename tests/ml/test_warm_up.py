"""Engine.start warms the model up: the first classification after start-up builds nothing."""

from __future__ import annotations

import pickle

from ml_svc.model import _CACHES, TextModel
from ml_svc.training import Artifact


def test_warm_up_builds_every_lazy_cache(artifact: Artifact) -> None:
    model: TextModel = pickle.loads(pickle.dumps(artifact.categorizer.model))  # caches dropped
    assert not any(k in model.__dict__ for k in _CACHES)
    model.warm_up()
    without_embeddings = {"_fast", "_weights_t", "_explain"}
    expected = set(_CACHES) if model.emb_coef is not None else without_embeddings
    assert expected <= set(model.__dict__)
