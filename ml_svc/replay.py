"""``python -m ml_svc.replay``: re-label stored expenses the user has not categorised.

ml_svc does not own expenses; it keeps a compact record of every expense snapshot it enriched
(``ml.seen_expenses``: description, direction, amount, latest source event, whether the user has
set the category, deleted or not). A replay classifies the records whose category the user has
not set with the current model and the user's current memory, and publishes a fresh
ExpenseEnriched for each on ``expenses.parsed`` with the same ``source_event_id`` as the latest
snapshot, so expense_svc applies it exactly as a first enrichment (and still never overwrites a
user's category). The event id is derived from the source event and the model version: running
the same replay twice publishes the same ids, which expense_svc deduplicates.

Options: ``--user`` (one user), ``--limit``, ``--dry-run`` (print the changes only).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from finance.expense.v1 import expense_pb2
from finmesh import db
from finmesh.config import DatabaseConfig, stack_from_env
from finmesh.kafka import EventProducer
from ml_svc import repository
from ml_svc.artifacts import artifacts_dir_from_env
from ml_svc.categorizer import Item
from ml_svc.consumer import PARSED_TOPIC, Job, enriched
from ml_svc.engine import Engine, enriched_event_id


async def replay(
    engine: Engine,
    producer: EventProducer | None,
    *,
    user_id: str | None = None,
    limit: int = 100_000,
    topic: str = PARSED_TOPIC,
) -> list[tuple[repository.SeenExpense, str]]:
    """Re-label; returns (record, new category) for each record whose category changed.
    With ``producer`` None nothing is published (dry run)."""
    async with engine.pool.connection() as conn:
        rows = await repository.replay_candidates(conn, user_id, limit)
    if not rows:
        return []
    results = await engine.classify(
        [r.user_id for r in rows],
        [Item(r.description, r.direction) for r in rows],
    )
    now = Timestamp()
    now.GetCurrentTime()
    changed: list[tuple[repository.SeenExpense, str]] = []
    futures = []
    for row, result in zip(rows, results, strict=True):
        if result.category == row.category:  # a new model that agrees changes nothing
            continue
        changed.append((row, result.category))
        if producer is None:
            continue
        job = Job(
            row.source_event_id,
            row.user_id,
            row.occur_time,
            expense_pb2.Expense(id=row.expense_id, description=row.description),
            row.locale,
        )
        msg = enriched(job, result, now)
        msg.event_id = enriched_event_id(row.source_event_id, salt=f"replay:{engine.version}:")
        futures.append(producer.produce_async(topic, row.user_id, msg, event_id=msg.event_id))
    await asyncio.gather(*futures)
    return changed


async def _main(args: argparse.Namespace) -> int:
    from finmesh.stack.runner import Stack

    stack = stack_from_env()
    runner = Stack(stack, quiet=True)
    url = args.database_url or runner.database_url
    bootstrap = args.bootstrap or runner.kafka_bootstrap
    from ml_svc.server import MIGRATIONS, SCHEMA

    await db.migrate(url, SCHEMA, MIGRATIONS)
    pool = await db.open_pool(DatabaseConfig(url=url), schema=SCHEMA)
    try:
        engine = await Engine.start(
            pool, args.artifacts_dir or artifacts_dir_from_env(stack.service("ml_svc").data_dir)
        )
        producer = None if args.dry_run else EventProducer(bootstrap, client_id="ml_svc-replay")
        try:
            changed = await replay(engine, producer, user_id=args.user, limit=args.limit)
        finally:
            if producer is not None:
                await producer.close_async()
    finally:
        await pool.close()
    for row, category in changed:
        sys.stdout.write(
            f"{row.user_id}\t{row.expense_id}\t{row.category or '-'} -> {category}\t"
            f"{row.description}\n"
        )
    verb = "would re-label" if args.dry_run else "re-labelled"
    sys.stdout.write(f"{verb} {len(changed)} expenses with model {engine.version}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_svc.replay", description=__doc__)
    parser.add_argument("--user", default=None)
    parser.add_argument("--limit", type=int, default=100_000)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    parser.add_argument("--artifacts-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    raise SystemExit(main())
