"""expense_svc benchmarks (issue 3 item 8, CONTRACT "Benchmarks"), each with its baseline in
the same run, on a stack of our own.

The stack is :class:`finmesh.stack.runner.Stack`, exactly what ``make up`` runs (embedded
PostgreSQL with fsync on, a local Kafka, the services behind Envoy), with a temporary home and
free ports, but without ml_svc and insight_svc: ml_svc trains its model at start and would
enrich the expenses created by one run in the background during the next, biasing whichever
run comes second. expense_svc keeps its outbox relay (a process beside it) and its enrichment
consumer; the outbox is drained between runs.

Figures (``expense.*``). The four create figures (gRPC, Envoy, gateway, SQL baseline) come
from :data:`ROUNDS` rounds in which the paths take turns, each for its share of
``BENCH_SECONDS``, summed per path: on a shared machine whose speed drifts by tens of percent
within minutes, a ratio of two back-to-back runs measures the drift as much as the paths.

* ``create_grpc_*``: CreateExpense over direct gRPC with ``ghz`` (4 users x 8 in flight, one
  process per user since a token is per user; each user's groceries budget for the month
  exists, so every create also takes the month lock and updates the budget).
* ``create_envoy_json_*``: the same requests as JSON through Envoy (``jwt_authn``,
  ``grpc_json_transcoder``) with ``wrk`` in the same shape: one thread per user, 8 connections
  each, and ``envoy_json_vs_grpc_ratio``. (With one thread handing the 4 tokens out in turn,
  the answers of one user's batch came back as the next requests of all four users, and
  group-commit batches halved, 3.9 -> 1.8 requests: the ratio measured the load's shape, not
  the path.)
* ``create_gateway_json_*``: the same through the FastAPI gateway; ``gateway_json_vs_grpc_ratio``
  and ``gateway_vs_envoy_ratio`` (informational: no target).
* ``sql_baseline_tps``: ``pgbench`` running the SQL of one CreateExpense (insert
  the expense, shared advisory lock of the user's month, read and update the budget, insert the
  outbox row with its notification) for the same 4 users on a database of its own, over the
  same connection as expense_svc (the unix socket), with as many clients as expense_svc's pool
  has connections, one create per transaction (as a client writing SQL directly would);
  ``create_vs_sql_ratio``. CreateExpense itself group-commits one user's concurrent creates
  (:mod:`expense_svc.batching`): fewer, larger transactions than the baseline's.
* ``hot_budget_writes_per_s``: CreateExpense, 32 in flight, all into one user's one budget;
  ``hot_budget_lost_updates``: the expenses that exist minus those counted in that budget's
  ``spent`` (must be 0); baseline ``hot_budget_sql_tps``: the pgbench transaction with every
  client on one budget.
* ``health_p95_ms``: p95 of 100 parallel ``grpc.health.v1.Health/Check`` calls (median of 3
  rounds).
* ``enrich_p50_ms`` / ``enrich_p99_ms``: end-to-end enrichment latency at a fixed offered rate
  (``enrich_offered_per_s``, CreateExpense with no category, paced by ``ghz --rps``), from the
  expense's ``create_time`` (its transaction) to the ``update_time`` of the enrichment that
  set ``ENRICHMENT_STATE_ENRICHED``: outbox relay -> ``expenses.raw`` -> ml_svc -> ``expenses.
  parsed`` -> the enrichment consumer. ml_svc is started for this last part only (after it is
  healthy and has enriched a warm-up batch); ``enrich_not_enriched``: expenses of the measured
  run still not enriched after a minute (should be 0).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import psycopg
from google.protobuf import descriptor_pb2
from google.type import money_pb2
from grpc_health.v1 import health_pb2
from psycopg import sql

from bench import tools
from bench.report import Target, percentile
from finance.expense.v1 import budget_service_pb2, budget_service_pb2_grpc
from finmesh import auth, db
from finmesh.config import REPO_ROOT, AuthConfig, Ports, StackConfig
from finmesh.stack import procs
from finmesh.stack.runner import Stack

DESCRIPTOR_SET = REPO_ROOT / "gen" / "descriptor" / "finmesh.binpb"
MIGRATIONS = REPO_ROOT / "expense_svc" / "migrations"
CREATE = "finance.expense.v1.ExpenseService/CreateExpense"
HEALTH = "grpc.health.v1.Health/Check"
MONTH = "2026-05"
AMOUNT = Decimal("3.50")
EXPENSE: dict[str, Any] = {
    "amount": {"currencyCode": "GBP", "units": "3", "nanos": 500_000_000},
    "description": "Latte at Starbucks",
    "category": "groceries",
    "date": {"year": 2026, "month": 5, "day": 14},
}
USERS = 4
IN_FLIGHT = 32
#: The create runs (gRPC, Envoy, gateway, SQL baseline) take turns this many times.
ROUNDS = 3
SQL_CLIENTS = 10  # expense_svc's pool size (DatabaseConfig.pool_max_size)

TARGETS: dict[str, Target] = {
    "expense.envoy_json_vs_grpc_ratio": Target(">=", 0.7),
    "expense.create_vs_sql_ratio": Target(">=", 0.2),
    "expense.hot_budget_writes_per_s": Target(">=", 1000),
    "expense.hot_budget_lost_updates": Target("==", 0),
}


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    ok: int
    errors: int
    seconds: float
    latencies_ms: Sequence[float]
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def _combined(runs: Sequence[Load]) -> Load:
    """Several runs of one path as one: requests and seconds summed; percentiles over every
    latency when the tool reports them (ghz), else the median of the runs' (wrk)."""
    latencies = [ms for run in runs for ms in run.latencies_ms]
    ok = sum(run.ok for run in runs)
    errors = sum(run.errors for run in runs)
    seconds = sum(run.seconds for run in runs)
    if latencies:
        return Load(
            ok, errors, seconds, latencies, percentile(latencies, 50), percentile(latencies, 99)
        )
    p50 = statistics.median(run.p50_ms for run in runs)
    return Load(ok, errors, seconds, (), p50, statistics.median(run.p99_ms for run in runs))


def _seconds() -> float:
    return float(os.environ.get("BENCH_SECONDS", "8"))


def _say(msg: str) -> None:
    print(f"bench.expense: {msg}", flush=True)


# -- the stack --------------------------------------------------------------------------------


@contextlib.contextmanager
def local_stack() -> Iterator[Stack]:
    """The whole stack as ``make up`` runs it, in a temporary home on free ports."""
    home = Path(tempfile.mkdtemp(prefix="finmesh-bench-"))
    names = [f.name for f in fields(Ports)]
    ports = Ports(**dict(zip(names, procs.free_ports(len(names)), strict=True)))
    cfg = StackConfig(
        home=home, ports=ports, auth=AuthConfig(jwks_path=home / "keys" / auth.JWKS_FILE)
    )
    # Only expense_svc (behind Envoy and the gateway): ml_svc would train its model at start
    # and then enrich every expense a run creates in the background, loading the machine
    # during the next run.
    stack = Stack(cfg, quiet=True, services=("expense_svc",), frontend=False)
    try:
        _say(f"starting PostgreSQL, Kafka, expense_svc, Envoy and the gateway in {home}")
        started = time.monotonic()
        stack.up(timeout_seconds=180)
        _say(f"stack up in {time.monotonic() - started:.0f}s")
        yield stack
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)


def _token(stack: Stack, user: str) -> str:
    return auth.sign_token(stack.cfg.keys_dir, stack.cfg.auth, user, ttl_seconds=3600)


def _create_budget(stack: Stack, user: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.cfg.ports.expense}") as channel:
        stub = budget_service_pb2_grpc.BudgetServiceStub(channel)
        stub.UpdateBudget(
            budget_service_pb2.UpdateBudgetRequest(
                budget=budget_service_pb2.Budget(
                    month=MONTH,
                    category="groceries",
                    limit=money_pb2.Money(currency_code="GBP", units=100_000_000),
                )
            ),
            metadata=(("authorization", f"Bearer {_token(stack, user)}"),),
            timeout=10,
        )


def _wait_outbox_drained(stack: Stack, timeout: float = 60.0) -> None:
    """Let the relay publish what the last run created (it must not load the next run)."""
    deadline = time.monotonic() + timeout
    last: int | None = None
    stuck_since = time.monotonic()
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM expense.outbox WHERE published_time IS NULL"
            ).fetchone()
            left = int(row[0]) if row else 0
            if left == 0:
                return
            if last is None or left < last:
                stuck_since = time.monotonic()
            elif time.monotonic() - stuck_since > 10:
                _say(f"outbox not draining ({left} rows): is the outbox relay running?")
                return
            last = left
            time.sleep(0.5)
    _say("outbox still not drained; going on")


# -- load tools -------------------------------------------------------------------------------


def _ghz_argv(
    ghz: Path,
    target: str,
    call: str,
    *,
    concurrency: int,
    seconds: float | None = None,
    total: int | None = None,
    data: dict[str, Any] | None = None,
    token: str | None = None,
    protoset: Path = DESCRIPTOR_SET,
    rps: int | None = None,
) -> list[str]:
    argv = [str(ghz), "--insecure", "--call", call, "-c", str(concurrency), "--cpus", "1"]
    argv += ["--connections", "1", "-O", "json", "--protoset", str(protoset)]
    if seconds is not None:
        argv += ["-z", f"{seconds:g}s", "--duration-stop", "ignore"]
    else:
        argv += ["-n", str(total)]
    if rps is not None:
        argv += ["--rps", str(rps)]
    if data is not None:
        argv += ["-d", json.dumps(data)]
    if token is not None:
        argv += ["-m", json.dumps({"authorization": f"Bearer {token}"})]
    return [*argv, target]


def _health_protoset(workdir: Path) -> Path:
    """A descriptor set of ``grpc.health.v1`` (ours has only finmesh's protos; ghz cannot
    resolve a method through the Python server's reflection)."""
    proto = descriptor_pb2.FileDescriptorProto()
    health_pb2.DESCRIPTOR.CopyToProto(proto)
    path = workdir / "health.binpb"
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=[proto]).SerializeToString())
    return path


def _ghz_parallel(runs: Sequence[list[str]]) -> Load:
    """Run several ghz processes at once; one :class:`Load` over all of them."""
    children = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for argv in runs
    ]
    reports = []
    for child in children:
        out, err = child.communicate()
        if child.returncode != 0 and not out.strip():
            raise RuntimeError(f"ghz failed ({child.returncode}): {err.strip()[-500:]}")
        reports.append(json.loads(out))
    latencies: list[float] = []
    ok = errors = 0
    seconds = 0.0
    for report in reports:
        codes: dict[str, int] = report.get("statusCodeDistribution") or {}
        ok += codes.get("OK", 0)
        errors += sum(n for code, n in codes.items() if code != "OK")
        seconds = max(seconds, report["total"] / 1e9)
        latencies += [
            d["latency"] / 1e6 for d in report.get("details") or () if d.get("status") == "OK"
        ]
    return Load(
        ok, errors, seconds, latencies, percentile(latencies, 50), percentile(latencies, 99)
    )


_WRK_SCRIPT = """
local tokens = {%(tokens)s}
local body = '%(body)s'
local threads = 0
setup = function(thread)  -- one thread per user: its connections carry that user's token
  threads = threads + 1
  thread:set("token", tokens[threads])
end
request = function()
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. token
  return wrk.format("POST", "/v1/expenses", headers, body)
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, bad,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(wrk: Path, url: str, tokens: Sequence[str], seconds: float, workdir: Path) -> Load:
    script = workdir / "create.lua"
    script.write_text(
        _WRK_SCRIPT
        % {
            "tokens": ", ".join(f'"{t}"' for t in tokens),
            "body": json.dumps(EXPENSE, separators=(",", ":")),
        }
    )
    argv = [str(wrk), f"-t{len(tokens)}", f"-c{IN_FLIGHT}", f"-d{seconds:g}s", "--timeout", "10s"]
    argv += ["-s", str(script), f"{url}/v1/expenses"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    r = json.loads(line.removeprefix("WRKJSON "))
    ok = r["requests"] - r["errors"]
    return Load(ok, r["errors"], r["duration_us"] / 1e6, (), r["p50_us"] / 1e3, r["p99_us"] / 1e3)


_PGBENCH_SCRIPT = """
\\set u :client_id %% %(users)d
\\set cents random(100, 9999)
BEGIN;
INSERT INTO expenses (id, user_id, amount, currency, direction, description, merchant,
  category, category_source, category_confidence, date, origin, locale)
  VALUES (gen_random_uuid(), 'bench-sql-' || :u::text, :cents::numeric / 100, 'GBP', 'DEBIT',
  'Latte at Starbucks', '', 'groceries', 'USER', 1, '2026-05-14', 'MANUAL', 'en_GB')
  RETURNING id, create_time;
SELECT pg_advisory_xact_lock_shared(hashtextextended('finmesh.budget/bench-sql-' || :u::text, 0));
SELECT spent, version, limit_amount, currency, rollover FROM budgets
  WHERE user_id = 'bench-sql-' || :u::text AND month = '%(month)s' AND category = 'groceries';
UPDATE budgets SET spent = spent + :cents::numeric / 100, version = version + 1
  WHERE user_id = 'bench-sql-' || :u::text AND month = '%(month)s' AND category = 'groceries';
WITH wake AS (SELECT pg_notify('outbox', ''))
  INSERT INTO outbox (event_id, topic, key, event_type, payload)
  SELECT gen_random_uuid(), 'expenses.raw', 'bench-sql-' || :u::text,
  'finance.events.v1.ExpenseRecorded', decode(repeat('ab', 180), 'hex') FROM wake;
END;
"""


def _sql_baseline(stack: Stack, seconds: float, workdir: Path, *, users: int = USERS) -> float:
    """pgbench TPS of CreateExpense's transaction for ``users`` users (each client always
    writes for one of them) on a database of its own."""
    admin = stack.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_sql")
        conn.execute("CREATE DATABASE bench_sql")
    url = stack.database_url.rsplit("/", 1)[0] + "/bench_sql"
    db.migrate_sync(url, "expense", MIGRATIONS)
    with psycopg.connect(url, autocommit=True) as conn:
        for u in range(users):
            conn.execute(
                "INSERT INTO expense.budgets (user_id, month, category, limit_amount, currency)"
                " VALUES (%s, %s, 'groceries', 100000000, 'GBP')",
                (f"bench-sql-{u}", MONTH),
            )
    script = workdir / "create.sql"
    script.write_text(_PGBENCH_SCRIPT % {"users": users, "month": MONTH})
    # the services' own connection (the unix socket when there is one): same transport
    argv = [str(tools.pgbench()), "-n", "-M", "prepared"]
    argv += ["-c", str(SQL_CLIENTS), "-j", "2", "-T", f"{seconds:g}", "-f", str(script), url]
    env = {**os.environ, "PGOPTIONS": "-c search_path=expense"}
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr.strip()[-800:]}")
    tps = next(x for x in out.stdout.splitlines() if x.startswith("tps = "))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier("bench_sql")))
    return float(tps.split()[2])


def _lost_updates(stack: Stack, user: str) -> tuple[int, int]:
    """(expenses in the hot budget, expenses its ``spent`` is missing)."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM expense.expenses"
            " WHERE user_id = %s AND category = 'groceries' AND direction = 'DEBIT'"
            " AND date >= '2026-05-01' AND date < '2026-06-01'",
            (user,),
        ).fetchone()
        budget = conn.execute(
            "SELECT spent FROM expense.budgets"
            " WHERE user_id = %s AND month = %s AND category = 'groceries'",
            (user, MONTH),
        ).fetchone()
    assert row is not None and budget is not None
    count, total = int(row[0]), Decimal(row[1])
    missing = (total - Decimal(budget[0])) / AMOUNT
    return count, int(missing.to_integral_value())


# -- the run ----------------------------------------------------------------------------------


def run() -> dict[str, float]:
    ghz, wrk = tools.ensure_ghz(), tools.ensure_wrk()
    seconds = _seconds()
    warmup = min(2.0, seconds)
    figures: dict[str, float] = {}
    with local_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        direct = f"127.0.0.1:{stack.cfg.ports.expense}"
        users = [f"bench-user-{n}" for n in range(USERS)]
        for user in (*users, "bench-hot"):
            _create_budget(stack, user)
        tokens = [_token(stack, u) for u in users]
        per_user = IN_FLIGHT // USERS

        def grpc_load(secs: float) -> Load:
            return _ghz_parallel(
                [
                    _ghz_argv(
                        ghz,
                        direct,
                        CREATE,
                        concurrency=per_user,
                        seconds=secs,
                        data={"expense": EXPENSE},
                        token=t,
                    )
                    for t in tokens
                ]
            )

        envoy_url = f"http://127.0.0.1:{stack.cfg.ports.envoy}"
        gateway_url = f"http://127.0.0.1:{stack.cfg.ports.gateway}"
        _say("warming up")
        grpc_load(warmup)
        _wrk(wrk, envoy_url, tokens, warmup, workdir)
        _wait_outbox_drained(stack)

        # The paths take turns, ROUNDS times, each for its share of ``seconds``: a drift in the
        # (shared, noisy) machine's speed then meets every path alike instead of one ratio's
        # numerator and not its denominator.
        share = float(max(2, round(seconds / ROUNDS)))  # whole seconds: wrk takes no fractions
        grpc_runs: list[Load] = []
        envoy_runs: list[Load] = []
        gateway_runs: list[Load] = []
        sql_runs: list[float] = []
        for n in range(1, ROUNDS + 1):
            _say(
                f"round {n}/{ROUNDS}: CreateExpense over gRPC, as JSON through Envoy and through"
                f" the FastAPI gateway, and the same SQL transaction with pgbench ({share:g}s each)"
            )
            grpc_runs.append(grpc_load(share))
            _wait_outbox_drained(stack)
            envoy_runs.append(_wrk(wrk, envoy_url, tokens, share, workdir))
            _wait_outbox_drained(stack)
            gateway_runs.append(_wrk(wrk, gateway_url, tokens, share, workdir))
            _wait_outbox_drained(stack)
            sql_runs.append(_sql_baseline(stack, share, workdir))
        g, e, gw = _combined(grpc_runs), _combined(envoy_runs), _combined(gateway_runs)
        tps = statistics.fmean(sql_runs)
        figures |= {
            "expense.create_grpc_rps": g.rps,
            "expense.create_grpc_p50_ms": g.p50_ms,
            "expense.create_grpc_p99_ms": g.p99_ms,
            "expense.create_grpc_errors": float(g.errors),
            "expense.create_envoy_json_rps": e.rps,
            "expense.create_envoy_json_p50_ms": e.p50_ms,
            "expense.create_envoy_json_p99_ms": e.p99_ms,
            "expense.create_envoy_json_errors": float(e.errors),
            "expense.envoy_json_vs_grpc_ratio": e.rps / g.rps if g.rps else float("nan"),
            "expense.create_gateway_json_rps": gw.rps,
            "expense.create_gateway_json_p50_ms": gw.p50_ms,
            "expense.create_gateway_json_p99_ms": gw.p99_ms,
            "expense.create_gateway_json_errors": float(gw.errors),
            "expense.gateway_json_vs_grpc_ratio": gw.rps / g.rps if g.rps else float("nan"),
            "expense.gateway_vs_envoy_ratio": gw.rps / e.rps if e.rps else float("nan"),
            "expense.sql_baseline_tps": tps,
            "expense.create_vs_sql_ratio": g.rps / tps if tps else float("nan"),
        }

        _say(f"hot budget, SQL only: pgbench into one budget ({seconds:g}s)")
        hot_tps = _sql_baseline(stack, seconds, workdir, users=1)

        _say(f"hot budget: {IN_FLIGHT} in flight into one budget ({seconds:g}s)")
        hot = _ghz_parallel(
            [
                _ghz_argv(
                    ghz,
                    direct,
                    CREATE,
                    concurrency=IN_FLIGHT,
                    seconds=seconds,
                    data={"expense": EXPENSE},
                    token=_token(stack, "bench-hot"),
                )
            ]
        )
        _wait_outbox_drained(stack)
        count, lost = _lost_updates(stack, "bench-hot")
        figures |= {
            "expense.hot_budget_writes_per_s": hot.rps,
            "expense.hot_budget_errors": float(hot.errors),
            "expense.hot_budget_expenses": float(count),
            "expense.hot_budget_lost_updates": float(lost),
            "expense.hot_budget_sql_tps": hot_tps,
            "expense.hot_budget_vs_sql_ratio": hot.rps / hot_tps if hot_tps else float("nan"),
        }

        _say("100 parallel health checks (3 rounds)")
        health_set = _health_protoset(workdir)
        p95s = [
            percentile(
                _ghz_parallel(
                    [
                        _ghz_argv(
                            ghz, direct, HEALTH, concurrency=100, total=100, protoset=health_set
                        )
                    ]
                ).latencies_ms,
                95,
            )
            for _ in range(3)
        ]
        figures["expense.health_p95_ms"] = statistics.median(p95s)

        _say("enrichment: starting ml_svc (it trains its model first if it has none)")
        from ml_svc.training import SHARED_CACHE_DIR

        # the per-machine artifact cache bench.ml and the tests use: trained once per code
        # version, not in every run's temporary home
        os.environ.setdefault("FINMESH_ML_ARTIFACTS_DIR", str(SHARED_CACHE_DIR))
        stack.services = ("expense_svc", "ml_svc")
        stack.up(timeout_seconds=300)
        figures |= _enrichment_latency(stack, ghz, direct, seconds)
    return figures


# -- enrichment latency -----------------------------------------------------------------------

ENRICH_RATE = 50  # expenses per second offered
ENRICH_EXPENSE: dict[str, Any] = {
    "amount": {"currencyCode": "GBP", "units": "12", "nanos": 400_000_000},
    "description": "CARD PAYMENT TO TESCO STORES 3297",
    "date": {"year": 2026, "month": 5, "day": 14},
}


def _enrichment_state(stack: Stack, user: str) -> tuple[int, list[float]]:
    """(expenses of ``user`` not yet enriched, create -> enriched milliseconds of the rest)."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT enrichment_state = 'ENRICHED',"
            " extract(epoch FROM update_time - create_time) * 1000 FROM expense.expenses"
            " WHERE user_id = %s",
            (user,),
        ).fetchall()
    return sum(1 for done, _ in rows if not done), [float(ms) for done, ms in rows if done]


def _wait_enriched(stack: Stack, user: str, timeout: float) -> tuple[int, list[float]]:
    deadline = time.monotonic() + timeout
    pending, latencies = _enrichment_state(stack, user)
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        pending, latencies = _enrichment_state(stack, user)
    return pending, latencies


def _enrichment_latency(stack: Stack, ghz: Path, direct: str, seconds: float) -> dict[str, float]:
    def offer(user: str, secs: float) -> Load:
        return _ghz_parallel(
            [
                _ghz_argv(
                    ghz,
                    direct,
                    CREATE,
                    concurrency=4,
                    seconds=secs,
                    rps=ENRICH_RATE,
                    data={"expense": ENRICH_EXPENSE},
                    token=_token(stack, user),
                )
            ]
        )

    _say("enrichment: warm-up (consumers join their groups)")
    offer("bench-enrich-warmup", 2.0)
    pending, _ = _wait_enriched(stack, "bench-enrich-warmup", 120)
    if pending:
        _say(f"{pending} warm-up expenses not enriched after 2 minutes; measuring anyway")
    _say(f"enrichment latency at {ENRICH_RATE}/s offered ({seconds:g}s)")
    load = offer("bench-enrich", seconds)
    pending, latencies = _wait_enriched(stack, "bench-enrich", 60)
    return {
        "expense.enrich_offered_per_s": load.rps,
        "expense.enrich_p50_ms": percentile(latencies, 50),
        "expense.enrich_p99_ms": percentile(latencies, 99),
        "expense.enrich_not_enriched": float(pending),
    }
