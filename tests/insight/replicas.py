"""insight_svc replicas run in-process for tests that need more than the mesh's one: several
replicas, or an unreachable expense_svc. Real PostgreSQL (a database of their own) and the
session's Kafka; their projection consumer uses a consumer group of its own that starts at the
end of the topics, so it never competes with the mesh's insight_svc nor replays the session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from finance.insight.v1 import insight_service_pb2_grpc
from finmesh.config import DatabaseConfig, KafkaConfig, ServiceConfig
from finmesh.server import GrpcServer
from insight_svc.server import InsightSettings, running
from tests.plugins.mesh import Mesh


def replica_config(mesh: Mesh, database_url: str, *, expense_target: str) -> ServiceConfig:
    return ServiceConfig(
        name="insight_svc",
        port=0,
        database=DatabaseConfig(url=database_url),
        kafka=KafkaConfig(
            bootstrap_servers=mesh.cfg.kafka_bootstrap_servers,
            client_id=f"insight-test-{uuid.uuid4().hex[:6]}",
        ),
        auth=mesh.cfg.auth,
        expense_target=expense_target,
        grace_seconds=1,
    )


def replica_settings(group_id: str) -> InsightSettings:
    return InsightSettings(
        group_id=group_id,
        budgets_timeout_seconds=1.0,
        consumer_config={"auto.offset.reset": "latest"},
    )


@asynccontextmanager
async def replica(
    cfg: ServiceConfig, settings: InsightSettings
) -> AsyncIterator[insight_service_pb2_grpc.InsightServiceStub]:
    """A started replica and a stub talking to it directly."""
    async with running(cfg, settings) as services:
        server = GrpcServer(cfg, services)
        port = await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield insight_service_pb2_grpc.InsightServiceStub(channel)
        finally:
            await server.stop(1)
