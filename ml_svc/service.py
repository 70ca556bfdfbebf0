"""Thin gRPC servicers for ml_svc.

Methods not overridden here answer UNIMPLEMENTED (the generated base class) until their
issue lands.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from finance.ml.v1 import categorizer_service_pb2_grpc


class CategorizerService(categorizer_service_pb2_grpc.CategorizerServiceServicer):
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
