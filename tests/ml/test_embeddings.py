"""Reading the MiniLM input-embedding table out of the wheel's model.zip: a well-formed file is
read exactly; a truncated one is a clear error (the model then falls back to TF-IDF), never a
hang."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ml_svc import embeddings


def _model_zip(path: Path, table: np.ndarray, *, cut: int = 0) -> Path:
    data = table.astype("<f4").tobytes()
    header = {
        "other.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        embeddings._TENSOR: {
            "dtype": "F32",
            "shape": list(table.shape),
            "data_offsets": [8, 8 + len(data)],
        },
    }
    raw = json.dumps(header).encode()
    body = struct.pack("<Q", len(raw)) + raw + b"\0" * 8 + data
    vocab = {f"w{i}": i for i in range(table.shape[0])}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("tokenizer.json", json.dumps({"model": {"vocab": vocab}}))
        z.writestr("model.safetensors", body[: len(body) - cut] if cut else body)
    return path


def test_the_table_and_vocabulary_are_read_exactly(tmp_path: Path) -> None:
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    vocab, read = embeddings.read_table(_model_zip(tmp_path / "model.zip", table))
    assert vocab == {"w0": 0, "w1": 1, "w2": 2, "w3": 3}
    assert np.array_equal(read, table)


@pytest.mark.parametrize("cut", [20, 4 * 3 * 4 + 4], ids=["inside-the-table", "before-it"])
def test_a_truncated_file_is_an_error_not_a_hang(tmp_path: Path, cut: int) -> None:
    table = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="ends"):
        embeddings.read_table(_model_zip(tmp_path / "model.zip", table, cut=cut))
