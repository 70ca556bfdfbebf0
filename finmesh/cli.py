"""The ``finmesh`` command (also ``python -m finmesh``).

Subcommands: ``up``, ``down``, ``status``, ``token``, ``tail``, ``import``. Each reads the stack's
configuration from the environment (see :mod:`finmesh.config`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from finmesh import auth
from finmesh.config import TOPICS, all_topics, stack_from_env


def _cmd_up(args: argparse.Namespace) -> int:
    from finmesh.stack.runner import Stack, StackError

    stack = Stack(stack_from_env(), dev_tokens=args.dev_tokens)
    try:
        stack.up()
    except StackError as exc:
        print(f"finmesh: {exc}", file=sys.stderr)
        return 1
    print("\nfinmesh is up:")
    for label, url in stack.urls():
        print(f"  {label:<36} {url}")
    print("\nGet a token:  .venv/bin/finmesh token --user u1")
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    from finmesh.stack.runner import Stack

    stopped = Stack(stack_from_env()).down()
    print("finmesh: stopped " + (", ".join(stopped) if stopped else "nothing (was not running)"))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from finmesh.stack.runner import Stack

    rows = Stack(stack_from_env()).status()
    width = max(len(row.name) for row in rows)
    for row in rows:
        state = "healthy" if row.healthy else ("running" if row.pid else "stopped")
        pid = str(row.pid) if row.pid else "-"
        print(f"{row.name:<{width}} {state:<8} pid {pid:<8} {row.detail}")
    return 0 if all(r.healthy for r in rows) else 1


def _cmd_token(args: argparse.Namespace) -> int:
    cfg = stack_from_env()
    auth.generate_keys(cfg.keys_dir)
    print(
        auth.sign_token(cfg.keys_dir, cfg.auth, args.user, ttl_seconds=args.ttl, scope=args.scope)
    )
    return 0


def _cmd_tail(args: argparse.Namespace) -> int:
    from finmesh.kafka import tail

    cfg = stack_from_env()
    bootstrap = cfg.kafka_bootstrap_servers or f"127.0.0.1:{cfg.ports.kafka}"
    try:
        tail(bootstrap, args.topic, from_beginning=args.from_beginning, limit=args.limit)
    except KeyboardInterrupt:
        return 0
    return 0


IMPORT_CHUNK_BYTES = 256 * 1024
_IMPORT_FORMATS = {"csv": 1, "ofx": 2, "qfx": 2, "qif": 3}


def _cmd_import(args: argparse.Namespace) -> int:
    import grpc
    from tqdm import tqdm

    from finance.expense.v1 import expense_service_pb2, expense_service_pb2_grpc

    cfg = stack_from_env()
    path: Path = args.file
    try:
        size = path.stat().st_size
    except OSError as exc:
        print(f"finmesh: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    target = args.target or cfg.service("expense_svc").expense_target
    if args.token:
        token = args.token
    else:
        auth.generate_keys(cfg.keys_dir)
        token = auth.sign_token(cfg.keys_dir, cfg.auth, args.user)
    progress = tqdm(
        total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name, file=sys.stderr
    )

    def requests() -> Iterator[expense_service_pb2.ImportStatementRequest]:
        with path.open("rb") as fh:
            first = True
            while True:
                chunk = fh.read(IMPORT_CHUNK_BYTES)
                if not chunk and not first:
                    return
                message = expense_service_pb2.ImportStatementRequest()
                message.file.data = chunk
                if first:
                    message.filename = path.name
                    message.format = _IMPORT_FORMATS.get(args.format or "", 0)  # type: ignore[assignment]
                    message.request_id = args.request_id or ""
                    message.currency_code = args.currency or ""
                    message.locale = args.locale or ""
                    first = False
                yield message
                progress.update(len(chunk))
                if not chunk:
                    return

    with grpc.insecure_channel(target) as channel:
        stub = expense_service_pb2_grpc.ExpenseServiceStub(channel)
        try:
            response = stub.ImportStatement(
                requests(),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=args.timeout,
            )
        except grpc.RpcError as exc:
            progress.close()
            code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
            details = exc.details() if hasattr(exc, "details") else str(exc)
            print(f"finmesh: import failed: {code}: {details}", file=sys.stderr)
            return 1
    progress.close()
    fmt = expense_service_pb2.StatementFormat.Name(response.format)
    print(f"format:     {fmt.removeprefix('STATEMENT_FORMAT_').lower()}")
    print(f"imported:   {response.imported_count}")
    print(f"duplicates: {response.duplicate_count}")
    print(f"rejected:   {response.rejected_count}")
    for line in response.rejected_lines:
        print(f"  line {line.line_number}: {line.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finmesh", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the local stack in the background")
    up.add_argument(
        "--dev-tokens",
        action="store_true",
        help="let the dashboard's sign-in mint tokens for any user (local development only)",
    )
    up.set_defaults(func=_cmd_up)
    sub.add_parser("down", help="stop the local stack (data stays)").set_defaults(func=_cmd_down)
    sub.add_parser("status", help="show each component and its health").set_defaults(
        func=_cmd_status
    )

    token = sub.add_parser("token", help="print a JWT the local stack accepts")
    token.add_argument("--user", required=True, help="user id (the token's sub claim)")
    token.add_argument(
        "--ttl",
        type=int,
        default=3600,
        help="lifetime in seconds; negative gives an already-expired token",
    )
    token.add_argument("--scope", default=auth.DEFAULT_SCOPE, help="space-separated scopes")
    token.set_defaults(func=_cmd_token)

    tail = sub.add_parser("tail", help="print a topic's events as JSON lines")
    tail.add_argument(
        "topic",
        choices=all_topics(),
        metavar="topic",
        help="one of: " + ", ".join(TOPICS) + " (or <topic>.dlq)",
    )
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest event")
    tail.add_argument("--limit", type=int, default=0, help="stop after N events (0: never)")
    tail.set_defaults(func=_cmd_tail)

    imp = sub.add_parser(
        "import", help="import a bank statement (CSV, OFX/QFX, QIF) into expense_svc"
    )
    imp.add_argument("file", type=Path, help="the statement file")
    imp.add_argument("--user", required=True, help="the user to import for (token's sub)")
    imp.add_argument("--format", choices=sorted(_IMPORT_FORMATS), help="default: detect")
    imp.add_argument("--currency", help="ISO 4217 code for files that name none")
    imp.add_argument("--locale", default="en_GB", help="en_GB (DMY dates) or en_US (MDY)")
    imp.add_argument("--request-id", help="idempotency key: a replay returns the first result")
    imp.add_argument("--target", help="expense_svc host:port (default: the local stack's)")
    imp.add_argument("--token", help="a bearer token (default: signed with the dev key)")
    imp.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    imp.set_defaults(func=_cmd_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
