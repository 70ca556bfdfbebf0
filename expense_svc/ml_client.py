"""expense_svc's client of ml_svc (``CategorizerService``): gRPC in, domain errors out.

Every call has a deadline and forwards the caller's ``authorization`` (ml_svc verifies the
token itself and applies that user's personal memory). When ml_svc cannot answer - down,
too slow, or not serving the method yet - the caller gets
:class:`finmesh.errors.Unavailable` (503) with a message that says so.
"""

from __future__ import annotations

from typing import Any

import grpc

from finance.ml.v1 import categorizer_service_pb2, categorizer_service_pb2_grpc
from finmesh.errors import InvalidArgument, Unavailable

PARSE_DEADLINE_SECONDS = 2.0

_UNAVAILABLE_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}


class MlClient:
    """One long-lived channel to ml_svc."""

    def __init__(self, target: str, *, deadline_seconds: float = PARSE_DEADLINE_SECONDS) -> None:
        self._target = target
        self._deadline = deadline_seconds
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> categorizer_service_pb2_grpc.CategorizerServiceStub:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._target)
        return categorizer_service_pb2_grpc.CategorizerServiceStub(self._channel)

    async def parse_expense(
        self, request: categorizer_service_pb2.ParseExpenseRequest, *, authorization: str
    ) -> categorizer_service_pb2.ParseExpenseResponse:
        metadata = (("authorization", authorization),) if authorization else ()
        try:
            call: Any = self._stub().ParseExpense(
                request, timeout=self._deadline, metadata=metadata
            )
            response: categorizer_service_pb2.ParseExpenseResponse = await call
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument.field("text", exc.details() or "cannot be parsed") from exc
            if code in _UNAVAILABLE_CODES:
                raise Unavailable(
                    "the expense parser (ml_svc) is unavailable"
                    f" ({code.name}); nothing was stored, retry later",
                    reason="PARSER_UNAVAILABLE",
                ) from exc
            raise Unavailable(
                f"the expense parser (ml_svc) refused the request ({code.name}); nothing was"
                " stored",
                reason="PARSER_UNAVAILABLE",
            ) from exc
        return response

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
