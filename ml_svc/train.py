"""``python -m ml_svc.train``: train a new versioned artifact, with a progress bar.

Includes every user's corrections from the ``ml`` schema (``--database-url``, default
``DATABASE_URL``) with a higher sample weight, so a retrain learns from what people fixed.
Writes to ``--artifacts-dir`` (default: ``FINMESH_ML_ARTIFACTS_DIR`` or
``$FINMESH_HOME/data/ml_svc/artifacts``); ml_svc serves the newest matching artifact from its
next start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from finmesh.config import stack_from_env
from ml_svc.artifacts import artifacts_dir_from_env, current

if TYPE_CHECKING:
    from ml_svc.generator import Example

# ml_svc.training (scikit-learn: seconds to import) is imported only once there is training
# to do: `finmesh up` runs this with --if-missing on every start.


async def _corrections(url: str) -> list[Example]:
    from psycopg import AsyncConnection, errors

    from ml_svc import repository
    from ml_svc.training import CORRECTION_WEIGHT

    async with await AsyncConnection.connect(url, options="-c search_path=ml,public") as conn:
        try:
            return await repository.training_corrections(conn, CORRECTION_WEIGHT)
        except errors.UndefinedTable:  # ml_svc has never started here: nothing corrected yet
            return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_svc.train", description=__doc__)
    parser.add_argument("--artifacts-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="only when no artifact for the current code and data exists (finmesh up uses it)",
    )
    args = parser.parse_args(argv)
    out = args.artifacts_dir or artifacts_dir_from_env(stack_from_env().service("ml_svc").data_dir)
    if args.if_missing and current(out):
        return 0
    if args.if_missing:
        sys.stdout.write(f"no model for this code in {out}: training one (a few minutes)\n")
    from tqdm import tqdm

    from ml_svc import training

    corrections = asyncio.run(_corrections(args.database_url)) if args.database_url else []
    steps = training.train_steps()
    with tqdm(total=steps, desc="training", unit="step") as bar:

        def progress(step: str) -> None:
            bar.set_postfix_str(step[:60])
            bar.update()

        artifact = training.train(out, corrections=corrections, progress=progress)
        bar.n = steps
        bar.refresh()
    m = artifact.metrics
    sys.stdout.write(
        f"{artifact.version}: held-out accuracy {m.accuracy:.3f}, macro-F1 {m.macro_f1:.3f}, "
        f"unseen local merchants {m.unseen_local_accuracy:.3f}, "
        f"{len(corrections)} corrections -> {artifact.path}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
