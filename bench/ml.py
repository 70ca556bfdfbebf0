"""The ml_svc part of ``make bench``.

Figures (each with its baseline measured in the same run):

* ``ml.classify_b{1,32,256}_per_s``: expenses classified per second by the whole cascade
  (normalise, rules, dictionary, model, explanation, the model's alternatives for every
  result: what ClassifyExpenses returns and the pipeline publishes) in batches of 1, 32 and
  256; baseline ``ml.model_only_b256_per_s``: the bare TF-IDF + logistic regression on the
  same texts.
* ``ml.classify_single_p50_ms`` / ``_p99_ms``: latency of one-item classification of
  descriptors that reach the model (the slowest path), after warm-up.
* ``ml.pipeline_msgs_per_s``: end-to-end ExpenseRecorded -> ExpenseEnriched through a real
  Kafka broker and PostgreSQL, ``python -m ml_svc.consumer`` pinned to one core; baseline
  ``ml.kafka_passthrough_msgs_per_s``: the same consume -> produce loop with no work, on the
  same core.

Targets: pipeline >= 2,000 msg/s, single-item p99 <= 5 ms. Starts its own PostgreSQL and Kafka
in a temporary directory; the model comes from the artifact cache (trained if missing).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from google.type.money_pb2 import Money

from bench.report import Target, percentile
from finance.events.v1 import events_pb2
from finance.expense.v1 import expense_pb2
from finmesh.config import REPO_ROOT
from finmesh.kafka import EventConsumer, EventProducer, dlq_topic
from finmesh.stack.kafka import KafkaBroker, create_topics, ensure_kafka_jars
from finmesh.stack.postgres import PostgresServer
from finmesh.stack.procs import free_port
from ml_svc.categorizer import Categorizer, Item, Source
from ml_svc.generator import generate
from ml_svc.model import model_input
from ml_svc.training import SHARED_CACHE_DIR, load_or_train

TARGETS: dict[str, Target] = {
    "ml.pipeline_msgs_per_s": Target(">=", 2000),
    "ml.classify_single_p99_ms": Target("<=", 5),
}
PIPELINE_MESSAGES = int(os.environ.get("BENCH_ML_MESSAGES", "20000"))


def _say(msg: str) -> None:
    print(f"bench.ml: {msg}", flush=True)


def _seconds() -> float:
    return float(os.environ.get("BENCH_SECONDS", "8"))


def _items() -> list[Item]:
    examples = generate(seed=4242, rounds=3, local_per_word=2)
    random.Random(1).shuffle(examples)
    return [Item(e.text, e.direction) for e in examples]


def _throughput(categorizer: Categorizer, items: list[Item], batch: int, secs: float) -> float:
    n, start = 0, time.perf_counter()
    i = 0
    while time.perf_counter() - start < secs:
        chunk = items[i : i + batch] or items[:batch]
        categorizer.classify(chunk)
        n += len(chunk)
        i = (i + batch) % max(1, len(items) - batch)
    return n / (time.perf_counter() - start)


def _model_only(categorizer: Categorizer, items: list[Item], secs: float) -> float:
    texts = [model_input(it.description, it.direction) for it in items]
    n, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < secs:
        chunk = texts[i : i + 256]
        categorizer.model.predict_proba(chunk)
        n += len(chunk)
        i = (i + 256) % max(1, len(texts) - 256)
    return n / (time.perf_counter() - start)


def classify_figures(categorizer: Categorizer, secs: float) -> dict[str, float]:
    items = _items()
    categorizer.classify(items[:512])  # warm-up (feature names, caches)
    figures: dict[str, float] = {}
    for batch in (1, 32, 256):
        _say(f"classify throughput, batch {batch} ({secs / 2:g}s)")
        figures[f"ml.classify_b{batch}_per_s"] = _throughput(categorizer, items, batch, secs / 2)
    figures["ml.model_only_b256_per_s"] = _model_only(categorizer, items, secs / 2)
    model_path = [
        it
        for it, r in zip(items, categorizer.classify(items), strict=True)
        if r.source is Source.MODEL
    ]
    _say(f"single-item latency on {len(model_path)} model-path descriptors")
    latencies = []
    for it in model_path[:3000]:
        t = time.perf_counter()
        categorizer.classify([it])
        latencies.append((time.perf_counter() - t) * 1000)
    figures["ml.classify_single_p50_ms"] = percentile(latencies, 50)
    figures["ml.classify_single_p99_ms"] = percentile(latencies, 99)
    return figures


# ---- end to end through Kafka ----------------------------------------------------------------


@contextmanager
def infrastructure() -> Iterator[tuple[str, str]]:
    """A PostgreSQL and a Kafka broker of this run's own: (database url, bootstrap)."""
    base = Path(tempfile.mkdtemp(prefix="finmesh-bench-ml-"))
    pg = PostgresServer(base / "pg", port=free_port(), fsync=False)
    broker = KafkaBroker(
        ensure_kafka_jars(REPO_ROOT / ".finmesh" / "cache"),
        base / "kafka",
        port=free_port(),
        controller_port=free_port(),
    )
    try:
        _say("starting PostgreSQL and Kafka")
        pg.start()
        broker.start()
        broker.wait_ready(timeout=90)
        yield pg.url, broker.bootstrap_servers
    finally:
        broker.stop()
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def _recorded(i: int) -> events_pb2.ExpenseRecorded:
    ts = Timestamp()
    ts.GetCurrentTime()
    return events_pb2.ExpenseRecorded(
        event_id=str(uuid.uuid4()),
        occur_time=ts,
        user_id=f"bench-{i % 50}",
        locale="en_GB",
        expense=expense_pb2.Expense(
            id=str(uuid.uuid4()),
            amount=Money(currency_code="GBP", units=3 + i % 40),
            description=random.Random(i).choice(_DESCRIPTIONS),
        ),
    )


_DESCRIPTIONS = [it.description for it in _items()[:2000]]


async def _fill(bootstrap: str, topic: str, n: int) -> None:
    producer = EventProducer(bootstrap, config={"linger.ms": 20})
    for i in range(n):
        e = _recorded(i)
        producer.produce(topic, e.user_id, e, event_id=e.event_id)
        if i % 5000 == 0:
            await producer.flush_async()
    await producer.flush_async()
    await producer.close_async()


async def _count(bootstrap: str, topic: str, n: int, within: float) -> tuple[float, float]:
    """Wait until ``n`` messages are on ``topic``: (time of the first, time of the last)."""
    reader = EventConsumer(bootstrap, group_id=f"bench-{uuid.uuid4().hex[:8]}", topics=[topic])
    seen, first, deadline = 0, 0.0, time.monotonic() + within
    try:
        while seen < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {seen} of {n} messages on {topic}")
            batch = await reader.consume(max_messages=2000, max_wait=0.2)
            if batch and not first:
                first = time.monotonic()
            seen += len(batch)
        return first, time.monotonic()
    finally:
        await reader.close()


def _passthrough(bootstrap: str, src: str, dst: str, n: int) -> None:
    """Baseline: consume -> produce with no work, on core 0, in this process."""

    async def loop() -> None:
        consumer = EventConsumer(bootstrap, group_id=f"pass-{uuid.uuid4().hex[:8]}", topics=[src])
        producer = EventProducer(bootstrap)
        done = 0
        try:
            while done < n:
                batch = await consumer.consume(max_messages=500, max_wait=0.2)
                futs = [
                    producer.send_raw_async(
                        dst, e.key.encode() if e.key else None, e.value, list(e.headers)
                    )
                    for e in batch
                ]
                await asyncio.gather(*futs)
                await consumer.store(batch)
                done += len(batch)
        finally:
            await consumer.close()
            await producer.close_async()

    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(old)})
    try:
        asyncio.run(loop())
    finally:
        os.sched_setaffinity(0, old)


def pipeline_figures(artifacts_dir: Path) -> dict[str, float]:
    n = PIPELINE_MESSAGES
    with infrastructure() as (db_url, bootstrap):
        raw, parsed, base_in, base_out = (f"bench.{x}" for x in ("raw", "parsed", "in", "out"))
        create_topics(bootstrap, [raw, dlq_topic(raw), parsed, base_in, base_out], 3)
        _say(f"producing {n} ExpenseRecorded events (twice: pipeline and baseline)")
        asyncio.run(_fill(bootstrap, raw, n))
        asyncio.run(_fill(bootstrap, base_in, n))

        _say("baseline: consume -> produce with no work, one core")
        start = time.monotonic()
        _passthrough(bootstrap, base_in, base_out, n)
        baseline = n / (time.monotonic() - start)

        _say("pipeline: python -m ml_svc.consumer pinned to one core")
        core = min(os.sched_getaffinity(0))
        proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(core),
                sys.executable,
                "-m",
                "ml_svc.consumer",
                "--bootstrap",
                bootstrap,
                "--database-url",
                db_url,
                "--artifacts-dir",
                str(artifacts_dir),
                "--raw-topic",
                raw,
                "--parsed-topic",
                parsed,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("ml_svc.consumer did not start")
            ready = time.monotonic()
            _first, last = asyncio.run(_count(bootstrap, parsed, n, within=600))
            rate = n / (last - ready)
        finally:
            proc.terminate()
            proc.wait(30)
            if proc.stdout:
                proc.stdout.close()
    return {
        "ml.pipeline_msgs_per_s": rate,
        "ml.kafka_passthrough_msgs_per_s": baseline,
        "ml.pipeline_vs_passthrough_ratio": rate / baseline if baseline else float("nan"),
    }


def run() -> dict[str, float]:
    artifact = load_or_train(SHARED_CACHE_DIR)
    figures = classify_figures(artifact.categorizer, _seconds())
    figures |= pipeline_figures(SHARED_CACHE_DIR)
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        target = TARGETS.get(key)
        verdict = "" if target is None else ("PASS" if target.met(value) else "FAIL")
        print(f"{key:<36} {value:>12.2f} {verdict}")
