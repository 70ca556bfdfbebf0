"""Thin gRPC servicers for insight_svc.

Methods not overridden here answer UNIMPLEMENTED (the generated base class) until their
issue lands.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from finance.insight.v1 import insight_service_pb2_grpc


class InsightService(insight_service_pb2_grpc.InsightServiceServicer):
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
