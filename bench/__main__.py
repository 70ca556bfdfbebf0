"""``python -m bench`` (``make bench``): run every benchmark part present, print the figures.

Parts: :mod:`bench.expense` and, when importable, :mod:`bench.ml`. Output: one line per figure
(``PASS``/``FAIL`` beside those with a target), then one JSON object with every figure, every
target and its verdict. Exit status 1 when a target is missed or a part fails, else 0.

``BENCH_SECONDS`` (default 8) sets the length of each measured run.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import time
import traceback
from types import ModuleType
from typing import Any

from bench.report import Target

PARTS = ("bench.expense", "bench.ml")


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def main() -> int:
    figures: dict[str, float] = {}
    targets: dict[str, Target] = {}
    failed_parts: dict[str, str] = {}
    started = time.monotonic()
    for name in PARTS:
        module = _load(name)
        if module is None:
            print(f"bench: {name} not present; skipped", flush=True)
            continue
        print(f"bench: running {name}", flush=True)
        try:
            part: dict[str, float] = module.run()
        except Exception as exc:
            traceback.print_exc()
            failed_parts[name] = f"{type(exc).__name__}: {exc}"
            continue
        figures.update(part)
        targets.update(getattr(module, "TARGETS", {}))

    verdicts: dict[str, dict[str, Any]] = {}
    width = max((len(k) for k in figures), default=0)
    for key, value in figures.items():
        line = f"{key:<{width}}  {value:>12.2f}"
        target = targets.get(key)
        if target is not None:
            ok = not math.isnan(value) and target.met(value)
            verdicts[key] = {"target": str(target), "pass": ok}
            line += f"   target {target!s:<8} {'PASS' if ok else 'FAIL'}"
        print(line, flush=True)
    print(f"bench: {time.monotonic() - started:.0f}s in all", flush=True)
    for name, error in failed_parts.items():
        print(f"{name}: FAILED ({error})", flush=True)

    passed = not failed_parts and all(v["pass"] for v in verdicts.values())
    result = {
        "figures": {k: (None if math.isnan(v) else v) for k, v in figures.items()},
        "targets": verdicts,
        "failed_parts": failed_parts,
        "pass": passed,
    }
    print(json.dumps(result, indent=2, sort_keys=True), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
