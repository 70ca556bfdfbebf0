"""The API as the descriptor set describes it: services, methods, HTTP rules and comments.

Loaded once at start-up from ``gen/descriptor/finmesh.binpb`` (the file Envoy transcodes from)
into a private :class:`~google.protobuf.descriptor_pool.DescriptorPool`; request and response
classes are dynamic (``message_factory.GetMessageClass``), so the gateway needs no generated
code and serves exactly what the descriptor set says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from google.api import annotations_pb2, field_behavior_pb2, http_pb2
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, message, message_factory

from finmesh.stack.envoy import SERVICES

#: gRPC services by the upstream (service process) that serves them: Envoy's clusters.
UPSTREAMS: Mapping[str, tuple[str, ...]] = SERVICES

# FileDescriptorProto paths (descriptor.proto field numbers) used to find comments.
_MESSAGE_TYPE = 4
_ENUM_TYPE = 5
_SERVICE = 6
_MSG_FIELD = 2
_MSG_NESTED = 3
_MSG_ENUM = 4
_ENUM_VALUE = 2
_SVC_METHOD = 2


@dataclass(frozen=True)
class HttpRule:
    """One ``google.api.http`` binding (the primary one or an ``additional_bindings`` entry)."""

    verb: str  # "GET", "POST", ...
    template: str  # "/v1/expenses/{id}"
    body: str  # "" (none), "*" (whole request) or a top-level field name
    response_body: str = ""


@dataclass(frozen=True)
class Method:
    """One RPC of one service, with what the gateway needs to call it."""

    service: str  # full name: finance.expense.v1.ExpenseService
    name: str  # CreateExpense
    upstream: str  # expense_svc
    input: descriptor.Descriptor
    output: descriptor.Descriptor
    client_streaming: bool
    server_streaming: bool
    rules: tuple[HttpRule, ...]
    comment: str = ""

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def service_short_name(self) -> str:
        return self.service.rsplit(".", 1)[-1]


@dataclass
class Catalog:
    """Everything loaded from one descriptor set."""

    pool: descriptor_pool.DescriptorPool
    methods: list[Method]
    #: Leading comments by element full name (messages, fields, enums, values, services, methods).
    comments: dict[str, str] = field(default_factory=dict)
    #: ``google.api.field_behavior`` by field full name.
    field_behavior: dict[str, frozenset[int]] = field(default_factory=dict)

    def message_class(self, desc: descriptor.Descriptor) -> type[message.Message]:
        return message_factory.GetMessageClass(desc)

    def message_class_by_name(self, full_name: str) -> type[message.Message]:
        return self.message_class(self.pool.FindMessageTypeByName(full_name))

    def behaviors(self, fd: descriptor.FieldDescriptor) -> frozenset[int]:
        return self.field_behavior.get(fd.full_name, frozenset())


def _rules(opts: descriptor_pb2.MethodOptions) -> tuple[HttpRule, ...]:
    if not opts.HasExtension(annotations_pb2.http):
        return ()
    top: http_pb2.HttpRule = opts.Extensions[annotations_pb2.http]
    out: list[HttpRule] = []
    for rule in (top, *top.additional_bindings):
        kind = rule.WhichOneof("pattern")
        if kind is None:
            continue
        if kind == "custom":
            verb, template = rule.custom.kind.upper(), rule.custom.path
        else:
            verb, template = kind.upper(), getattr(rule, kind)
        out.append(HttpRule(verb, template, rule.body, rule.response_body))
    return tuple(out)


def _clean_comment(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
    return "\n".join(lines).strip()


def _index_comments(fdp: descriptor_pb2.FileDescriptorProto, comments: dict[str, str]) -> None:
    prefix = f"{fdp.package}." if fdp.package else ""
    by_path: dict[tuple[int, ...], str] = {}
    for loc in fdp.source_code_info.location:
        if loc.leading_comments:
            by_path[tuple(loc.path)] = _clean_comment(loc.leading_comments)

    def put(name: str, path: tuple[int, ...]) -> None:
        if path in by_path:
            comments[name] = by_path[path]

    def walk_enum(e: descriptor_pb2.EnumDescriptorProto, scope: str, path: tuple[int, ...]) -> None:
        name = f"{scope}{e.name}"
        put(name, path)
        for i, v in enumerate(e.value):
            # Enum values are scoped beside their enum, but keep them unique per enum here.
            put(f"{name}.{v.name}", (*path, _ENUM_VALUE, i))

    def walk_msg(m: descriptor_pb2.DescriptorProto, scope: str, path: tuple[int, ...]) -> None:
        name = f"{scope}{m.name}"
        put(name, path)
        for i, f in enumerate(m.field):
            put(f"{name}.{f.name}", (*path, _MSG_FIELD, i))
        for i, nested in enumerate(m.nested_type):
            walk_msg(nested, f"{name}.", (*path, _MSG_NESTED, i))
        for i, e in enumerate(m.enum_type):
            walk_enum(e, f"{name}.", (*path, _MSG_ENUM, i))

    for i, m in enumerate(fdp.message_type):
        walk_msg(m, prefix, (_MESSAGE_TYPE, i))
    for i, e in enumerate(fdp.enum_type):
        walk_enum(e, prefix, (_ENUM_TYPE, i))
    for i, s in enumerate(fdp.service):
        name = f"{prefix}{s.name}"
        put(name, (_SERVICE, i))
        for j, meth in enumerate(s.method):
            put(f"{name}.{meth.name}", (_SERVICE, i, _SVC_METHOD, j))


def _index_behaviors(
    fdp: descriptor_pb2.FileDescriptorProto, out: dict[str, frozenset[int]]
) -> None:
    prefix = f"{fdp.package}." if fdp.package else ""

    def walk(m: descriptor_pb2.DescriptorProto, scope: str) -> None:
        name = f"{scope}{m.name}"
        for f in m.field:
            behaviors = f.options.Extensions[field_behavior_pb2.field_behavior]
            if behaviors:
                out[f"{name}.{f.name}"] = frozenset(behaviors)
        for nested in m.nested_type:
            walk(nested, f"{name}.")

    for m in fdp.message_type:
        walk(m, prefix)


def load(path: Path, upstreams: Mapping[str, tuple[str, ...]] = UPSTREAMS) -> Catalog:
    """Load the descriptor set at ``path``: every method of every service in ``upstreams``."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(Path(path).read_bytes())
    pool = descriptor_pool.DescriptorPool()
    comments: dict[str, str] = {}
    behaviors: dict[str, frozenset[int]] = {}
    for fdp in fds.file:
        pool.Add(fdp)
        _index_comments(fdp, comments)
        _index_behaviors(fdp, behaviors)
    upstream_of = {svc: up for up, svcs in upstreams.items() for svc in svcs}
    methods: list[Method] = []
    for fdp in fds.file:
        prefix = f"{fdp.package}." if fdp.package else ""
        for s in fdp.service:
            full = f"{prefix}{s.name}"
            if full not in upstream_of:
                continue
            sd = pool.FindServiceByName(full)
            for mp in s.method:
                md = sd.methods_by_name[mp.name]
                methods.append(
                    Method(
                        service=full,
                        name=mp.name,
                        upstream=upstream_of[full],
                        input=md.input_type,
                        output=md.output_type,
                        client_streaming=mp.client_streaming,
                        server_streaming=mp.server_streaming,
                        rules=_rules(mp.options),
                        comment=comments.get(f"{full}.{mp.name}", ""),
                    )
                )
    return Catalog(pool=pool, methods=methods, comments=comments, field_behavior=behaviors)
