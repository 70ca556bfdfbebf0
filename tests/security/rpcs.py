"""Every business RPC behind the edges, from the generated descriptors (not a hand list)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf import descriptor, message_factory

from finance.expense.v1 import budget_service_pb2, expense_service_pb2
from finance.insight.v1 import insight_service_pb2
from finance.ml.v1 import categorizer_service_pb2

#: service full name → the mesh service (process) that serves it.
SERVICE_OWNERS = {
    "finance.expense.v1.ExpenseService": "expense_svc",
    "finance.expense.v1.BudgetService": "expense_svc",
    "finance.ml.v1.CategorizerService": "ml_svc",
    "finance.insight.v1.InsightService": "insight_svc",
}

_FILES = (expense_service_pb2, budget_service_pb2, categorizer_service_pb2, insight_service_pb2)


@dataclass(frozen=True)
class Rpc:
    method: descriptor.MethodDescriptor
    owner: str

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def id(self) -> str:
        return f"{self.method.containing_service.name}.{self.method.name}"

    def empty_request(self) -> bytes:
        cls = message_factory.GetMessageClass(self.method.input_type)
        return bytes(cls().SerializeToString())

    def http(self) -> tuple[str, str]:
        """(HTTP method, a concrete path) from the ``google.api.http`` annotation; path
        variables get a placeholder value."""
        rule = self.method.GetOptions().Extensions[annotations_pb2.http]
        verb = rule.WhichOneof("pattern")
        assert verb is not None and verb != "custom", self.id
        template = getattr(rule, verb)
        return verb.upper(), re.sub(r"\{[^}]*\}", "x", template)


def all_rpcs() -> list[Rpc]:
    out = []
    for module in _FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                out.append(Rpc(method, SERVICE_OWNERS[service.full_name]))
    return out
