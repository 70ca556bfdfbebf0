"""``make eval [DATA=file.csv]``: how well the categoriser does, honestly measured.

Without ``--data``: the corpus is split by merchant (no merchant on both sides), a model and a
dictionary are built from the training merchants only, and the whole cascade (rules,
dictionary, model) is measured on the held-out merchants, broken down by kind: open-data
brands, generated brands, small local merchants and special lines (salary, fees, transfers).

With ``--data FILE``: a CSV with a header and columns ``description`` and ``category``
(optional ``direction`` = debit/credit): the served model (the artifact ``make up`` uses,
trained if missing) is measured on it, and the rows whose merchant never appears in the
training data are reported separately ("unseen merchants").

Prints accuracy, macro-F1, per-class precision/recall/F1, the confusion matrix and the unseen
merchant accuracy. Without ``--data`` also the parsing evaluation (:mod:`ml_svc.parse_eval`):
exact amount+currency, date and merchant accuracy of ParseExpense on generated and hand-written
typed entries and descriptors, with the failures.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from finmesh.config import stack_from_env
from finmesh.taxonomy import CATEGORY_IDS
from ml_svc.artifacts import artifacts_dir_from_env
from ml_svc.categorizer import Categorizer, Item
from ml_svc.dataset import Corpus, group_split, load_corpus
from ml_svc.dictionary import MerchantDictionary
from ml_svc.generator import CREDIT, DEBIT, Example
from ml_svc.model import LABELS
from ml_svc.normalize import normalize
from ml_svc.training import (
    CONFIDENCE_THRESHOLD,
    Metrics,
    evaluate,
    fit_calibrated,
)
from ml_svc.training import load_or_train as _load_or_train


def _print(s: str = "") -> None:
    sys.stdout.write(s + "\n")


def report(title: str, m: Metrics, extra: dict[str, float] | None = None) -> None:
    _print(f"== {title}")
    _print(f"examples            {m.example_count}")
    _print(f"accuracy            {m.accuracy:.3f}")
    _print(f"macro-F1            {m.macro_f1:.3f}")
    for k, v in (extra or {}).items():
        _print(f"{k:<19} {v:.3f}")
    _print()
    _print(f"{'category':<16} {'prec':>6} {'recall':>6} {'F1':>6} {'support':>7}")
    for c in m.per_category:
        if c["support"] == 0:
            continue
        _print(
            f"{c['category']:<16} {c['precision']:>6.3f} {c['recall']:>6.3f} {c['f1']:>6.3f} "
            f"{c['support']:>7}"
        )
    _print()
    _print("confusion matrix (rows: true, columns: predicted, numbered as the rows)")
    _print(" " * 20 + " ".join(f"{j:>5}" for j in range(len(m.labels))))
    for j, (label, row) in enumerate(zip(m.labels, m.confusion, strict=True)):
        if sum(row) == 0:
            continue
        _print(f"{j:>2} {label:<17}" + " ".join(f"{n:>5}" for n in row))
    _print()


#: The first group split ``make eval`` reports in full; the others follow it (12, 13, ...).
HELD_OUT_SEED = 11


def held_out(
    seed: int = HELD_OUT_SEED, corpus: Corpus | None = None
) -> tuple[Metrics, dict[str, float]]:
    """The cascade built from the training merchants only (model, temperature, dictionary),
    scored on the held-out merchants."""
    corpus = corpus or load_corpus()
    train_ex, test_ex = group_split(corpus.examples, seed=seed)
    train_groups = {e.group for e in train_ex}
    with tqdm(total=3, desc="held-out evaluation", unit="step") as bar:
        # The temperature comes from an inner split of the training merchants: the held-out
        # rows are only scored.
        model = fit_calibrated(train_ex, lambda _s: None)
        bar.update()
        dictionary = MerchantDictionary(d for d in corpus.dictionary if d.group in train_groups)
        cat = Categorizer(model, dictionary, version="eval", threshold=CONFIDENCE_THRESHOLD)
        bar.update()
        metrics = evaluate(cat, test_ex)
        results = cat.classify([_item(e) for e in test_ex])
        bar.update()
    extra: dict[str, float] = {}
    for kind in ("data", "brand", "local", "special", "typed"):
        idx = [i for i, e in enumerate(test_ex) if e.kind == kind]
        if idx:
            acc = sum(results[i].category == test_ex[i].label for i in idx) / len(idx)
            extra[f"acc {kind} ({len(idx)})"] = acc
    applied = [r for r in results if r.auto_apply]
    extra["auto-applied share"] = len(applied) / len(results)
    extra["auto-applied acc"] = sum(
        r.category == e.label for r, e in zip(results, test_ex, strict=True) if r.auto_apply
    ) / max(1, len(applied))
    return metrics, extra


def realistic_mix(categorizer: Categorizer, seed: int = 2024) -> tuple[Metrics, dict[str, float]]:
    """The served model on freshly generated descriptors (a seed training never used): known
    brands in new statement shapes (two thirds) and new local businesses (one third), plus
    salary/fee/transfer lines. Local business names are new; their generic words are not."""
    from ml_svc.generator import generate

    fresh = generate(seed=seed, rounds=2, local_per_word=1)
    rng = random.Random(seed)
    brands = [e for e in fresh if e.kind == "brand"]
    local = [e for e in fresh if e.kind == "local"]
    special = [e for e in fresh if e.kind == "special"]
    n_local = min(len(local), len(brands) // 2)
    sample = brands + rng.sample(local, n_local) + rng.sample(special, min(len(special), 300))
    metrics = evaluate(categorizer, sample)
    results = categorizer.classify([_item(e) for e in sample])
    extra = {}
    for kind in ("brand", "local", "special"):
        idx = [i for i, e in enumerate(sample) if e.kind == kind]
        extra[f"acc {kind} ({len(idx)})"] = sum(
            results[i].category == sample[i].label for i in idx
        ) / max(1, len(idx))
    return metrics, extra


def parse_report(categorizer: Categorizer, show: int = 20) -> None:
    """ParseExpense on held-out typed entries and descriptors (generated and hand-written)."""
    from ml_svc.parse_eval import ParseReport, evaluate_parse, generate_cases, read_cases

    reports = [
        (name, evaluate_parse(cases, categorizer))
        for name, cases in (("generated", generate_cases()), ("hand-written", read_cases()))
    ]
    reports.append(("all", ParseReport.combined(r for _, r in reports)))
    _print("== parsing: typed entries and descriptors (held out from tests/ml/test_parse.py)")
    _print(f"{'set':<14} {'cases':>5} {'amount+cur':>10} {'date':>6} {'merchant':>8}")
    for name, r in reports:
        _print(
            f"{name:<14} {r.total:>5} {r.amount_accuracy:>10.3f} {r.date_accuracy:>6.3f} "
            f"{r.merchant_accuracy:>8.3f}"
        )
    failures = reports[-1][1].failures
    _print(f"failures ({len(failures)}{', first ' + str(show) if len(failures) > show else ''}):")
    for case, why in failures[:show]:
        _print(f"  [{case.locale} today={case.today}] {case.text!r}: {why}")
    _print()


def _item(e: Example) -> Item:
    return Item(e.text, e.direction)


def read_csv(path: Path) -> list[Example]:
    rows: list[Example] = []
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            desc = (row.get("description") or "").strip()
            label = (row.get("category") or "").strip()
            if not desc or label not in CATEGORY_IDS:
                raise SystemExit(f"{path}:{n}: need a description and one of the 18 categories")
            direction = CREDIT if (row.get("direction") or "").lower().startswith("c") else DEBIT
            rows.append(Example(desc, label, direction, f"csv:{n}", "csv"))
    return rows


def on_file(path: Path, artifacts_dir: Path) -> tuple[Metrics, dict[str, float], list[str]]:
    """Metrics of the served model on ``path``, the unseen-merchant accuracy and the misses."""
    rows = read_csv(path)
    artifact = _load_or_train(artifacts_dir)
    categorizer = artifact.categorizer
    corpus = load_corpus()
    seen_keys = {normalize(e.text).key for e in tqdm(corpus.examples, desc="training merchants")}
    metrics = evaluate(categorizer, rows)
    results = categorizer.classify([_item(e) for e in rows])
    unseen = [i for i, e in enumerate(rows) if normalize(e.text).key not in seen_keys]
    extra = {f"unseen merchants ({len(unseen)})": float("nan")}
    if unseen:
        extra = {
            f"acc unseen merchants ({len(unseen)})": sum(
                results[i].category == rows[i].label for i in unseen
            )
            / len(unseen)
        }
    misses = [
        f"  {e.group}: {e.text!r} is {e.label}, got {r.category} ({r.source.value}, "
        f"{r.confidence:.2f}: {r.explanation})"
        for e, r in zip(rows, results, strict=True)
        if r.category != e.label
    ]
    return metrics, extra, misses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_svc.evaluate", description=__doc__)
    parser.add_argument("--data", type=Path, help="labelled CSV (description,category[,direction])")
    parser.add_argument("--artifacts-dir", type=Path, default=None)
    parser.add_argument(
        "--splits",
        type=int,
        default=3,
        help="group splits to average the held-out figures over (seeds 11, 12, ...; default 3)",
    )
    args = parser.parse_args(argv)
    artifacts = args.artifacts_dir or artifacts_dir_from_env(
        stack_from_env().service("ml_svc").data_dir
    )
    if args.data:
        metrics, extra, misses = on_file(args.data, artifacts)
        report(f"{args.data} (served model)", metrics, extra)
        shown = misses[:50]
        more = f", first {len(shown)}" if len(misses) > len(shown) else ""
        _print(f"misses ({len(misses)}{more}):")
        for line in shown:
            _print(line)
        _print()
    else:
        seeds = [HELD_OUT_SEED + k for k in range(max(1, args.splits))]
        metrics, extra = held_out(seeds[0])
        report(f"held-out merchants (group split by merchant, seed {seeds[0]})", metrics, extra)
        if len(seeds) > 1:
            splits = [metrics] + [held_out(seed)[0] for seed in seeds[1:]]
            _print(
                f"== held-out merchants over {len(seeds)} group splits"
                f" (seeds {', '.join(map(str, seeds))})"
            )
            for name, values in (
                ("accuracy", [m.accuracy for m in splits]),
                ("macro-F1", [m.macro_f1 for m in splits]),
                ("unseen local", [m.unseen_local_accuracy for m in splits]),
            ):
                each = " ".join(f"{v:.3f}" for v in values)
                _print(f"{name:<19} {sum(values) / len(values):.3f}  (each: {each})")
            _print()
        served = _load_or_train(artifacts).categorizer
        metrics, extra = realistic_mix(served)
        report(
            "fresh descriptors: known brands in new shapes + new local businesses", metrics, extra
        )
        parse_report(served)
    _print(f"labels: {', '.join(LABELS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
