"""Domain errors shared by every service, and their one mapping to ``google.rpc.Status``.

Services raise these from plain domain code (no gRPC there); the server interceptor turns them
into a gRPC status with ``google.rpc.ErrorInfo`` (domain ``finmesh``) and, for bad input, one
``google.rpc.BadRequest`` with a field violation per bad field. Envoy and the gateway turn that
into the canonical HTTP status and a JSON body.

::

    FinmeshError                      (never raised itself)
    ├── InvalidArgument               400 INVALID_ARGUMENT  (field violations)
    ├── Unauthenticated               401 UNAUTHENTICATED
    ├── PermissionDenied              403 PERMISSION_DENIED
    ├── NotFound                      404 NOT_FOUND         (also: another user's resource)
    ├── AlreadyExists                 409 ALREADY_EXISTS
    ├── Aborted                       409 ABORTED           (stale etag, in-flight duplicate)
    ├── FailedPrecondition            400 FAILED_PRECONDITION
    ├── ResourceExhausted             413/429 RESOURCE_EXHAUSTED
    └── Unavailable                   503 UNAVAILABLE       (a dependency is down)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

DOMAIN = "finmesh"


class FinmeshError(Exception):
    """Base of all domain errors. ``reason`` is UPPER_SNAKE and stable (clients match on it)."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN
    default_reason: ClassVar[str] = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})

    def details(self) -> list[any_pb2.Any]:
        info = any_pb2.Any()
        info.Pack(
            error_details_pb2.ErrorInfo(reason=self.reason, domain=DOMAIN, metadata=self.metadata)
        )
        return [info]

    def to_status(self) -> status_pb2.Status:
        return status_pb2.Status(
            code=self.code.value[0], message=self.message, details=self.details()
        )


class InvalidArgument(FinmeshError):
    """Bad input. Carries one violation per bad field: ``{"amount.units": "must be > 0"}``."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        *,
        violations: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        items = violations.items() if isinstance(violations, Mapping) else violations
        self.violations: list[tuple[str, str]] = list(items)

    @classmethod
    def field(cls, field: str, description: str, *, reason: str | None = None) -> InvalidArgument:
        """One bad field; the message names it."""
        return cls(f"{field}: {description}", violations=[(field, description)], reason=reason)

    def details(self) -> list[any_pb2.Any]:
        out = super().details()
        if self.violations:
            bad = any_pb2.Any()
            bad.Pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                        for f, d in self.violations
                    ]
                )
            )
            out.append(bad)
        return out


class Unauthenticated(FinmeshError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(FinmeshError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class NotFound(FinmeshError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(FinmeshError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class Aborted(FinmeshError):
    """A concurrency conflict the client may resolve by re-reading and retrying."""

    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class FailedPrecondition(FinmeshError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class ResourceExhausted(FinmeshError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(FinmeshError):
    """A dependency (another service, the database) cannot be reached; retry later."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


def internal_status(message: str = "internal error") -> status_pb2.Status:
    """The status of a bug: no details leak beyond a generic message."""
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN))
    return status_pb2.Status(code=code_pb2.INTERNAL, message=message, details=[info])
