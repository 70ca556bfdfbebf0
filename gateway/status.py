"""gRPC status → HTTP status and JSON body, exactly as Envoy's transcoder and local replies.

* An upstream error becomes ``google.rpc.Status`` printed as proto3 JSON
  (``{"code","message","details":[{"@type": ...}]}``), from ``grpc-status-details-bin`` when the
  service sent one, else from ``grpc-status`` / ``grpc-message``; the HTTP status is the
  canonical mapping (``google/rpc/code.proto``, Envoy's ``Grpc::Utility::grpcToHttpStatus``).
* The gateway's own refusals (bad token, unknown path, bad query parameter, body too large)
  use Envoy's local-reply body: ``{"code":<google.rpc.Code>,"details":[],"message":...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from finmesh.stack.envoy import LOCAL_REPLY_CODES

#: google.rpc.Code → HTTP status.
HTTP_STATUS: Mapping[int, int] = {
    0: 200,  # OK
    1: 499,  # CANCELLED
    2: 500,  # UNKNOWN
    3: 400,  # INVALID_ARGUMENT
    4: 504,  # DEADLINE_EXCEEDED
    5: 404,  # NOT_FOUND
    6: 409,  # ALREADY_EXISTS
    7: 403,  # PERMISSION_DENIED
    8: 429,  # RESOURCE_EXHAUSTED
    9: 400,  # FAILED_PRECONDITION
    10: 409,  # ABORTED
    11: 400,  # OUT_OF_RANGE
    12: 501,  # UNIMPLEMENTED
    13: 500,  # INTERNAL
    14: 503,  # UNAVAILABLE
    15: 500,  # DATA_LOSS
    16: 401,  # UNAUTHENTICATED
}

UNAUTHENTICATED = 16
INVALID_ARGUMENT = 3
NOT_FOUND = 5


_TOO_LARGE = re.compile(rb'"reason":"[A-Z_]*_TOO_LARGE"')


def http_status(code: int, body: bytes = b"") -> int:
    """The HTTP status for a ``google.rpc.Code`` (unknown codes are 500). Like the edge's
    Envoy, a RESOURCE_EXHAUSTED whose JSON ``body`` has an ErrorInfo reason ``*_TOO_LARGE`` is
    413 (too large: do not retry), not 429 (rate limited: retry later)."""
    if code == 8 and _TOO_LARGE.search(body):
        return 413
    return HTTP_STATUS.get(code, 500)


def local_reply(http: int, message: str) -> bytes:
    """Envoy's local-reply JSON body for an HTTP status it generates itself."""
    code = LOCAL_REPLY_CODES.get(http, 2)
    return (
        json.dumps(
            {"code": code, "details": [], "message": message},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )
