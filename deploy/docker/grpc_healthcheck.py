#!/usr/bin/env python3
"""Container health check: ``grpc-health PORT [SERVICE]`` exits 0 when the gRPC server on
127.0.0.1:PORT answers ``grpc.health.v1.Health/Check`` with SERVING, 1 otherwise.

Used by docker-compose.yml (Kubernetes uses its native ``grpc:`` probe instead)."""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main() -> int:
    port = int(sys.argv[1])
    service = sys.argv[2] if len(sys.argv) > 2 else ""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=3
            )
        except grpc.RpcError as exc:
            sys.stderr.write(f"health check failed: {exc.code()}\n")
            return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
