"""The OpenAPI 3.1 document of the JSON API, generated from the descriptor set.

Every RPC with a ``google.api.http`` rule is an operation (``operationId`` = RPC name, tag =
service); path variables, query parameters (the request fields not bound by the path or the
body, flattened with dots like the transcoder accepts them) and JSON schemas come from the
message descriptors, descriptions from the proto comments, ``readOnly`` from
``OUTPUT_ONLY``, ``required`` from ``REQUIRED``. Errors are ``google.rpc.Status``.
"""

from __future__ import annotations

import re
from typing import Any

from google.api import field_behavior_pb2

from gateway.descriptors import Catalog, HttpRule, Method
from gateway.templates import parse

Schema = dict[str, Any]

_REF = "#/components/schemas/"
_VAR = re.compile(r"\{([^}=]+)(=[^}]*)?\}")
_MAX_QUERY_DEPTH = 4

_INT32 = {"int32", "sint32", "sfixed32"}
_UINT32 = {"uint32", "fixed32"}
_64 = {"int64", "sint64", "sfixed64", "uint64", "fixed64"}

# FieldDescriptor.TYPE_* numbers → names used above.
_TYPE = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    10: "group",
    11: "message",
    12: "bytes",
    13: "uint32",
    14: "enum",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}

_WRAPPERS: dict[str, Schema] = {
    "google.protobuf.DoubleValue": {"type": "number", "format": "double"},
    "google.protobuf.FloatValue": {"type": "number", "format": "float"},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64"},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int64", "minimum": 0},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}

_WKT: dict[str, Schema] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 timestamp, e.g. 2026-03-01T12:00:00Z.",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
        "description": "Seconds with up to 9 fractional digits and an 's' suffix, e.g. 1.5s.",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated field paths (camelCase), e.g. category,amount.",
    },
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
        "description": "A message of the type named by @type, with its fields beside it.",
    },
    **_WRAPPERS,
}

#: WKTs that a single query parameter can carry (their JSON form is a scalar).
_SCALAR_WKT = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        *_WRAPPERS,
    }
)


class _Builder:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.schemas: dict[str, Schema] = {}

    def comment(self, full_name: str) -> str:
        return self.catalog.comments.get(full_name, "")

    # -------------------------------------------------------------- schemas
    def ref(self, full_name: str) -> Schema:
        return {"$ref": f"{_REF}{full_name}"}

    def message_schema(self, desc: Any) -> Schema:
        """A ``$ref`` to the message's schema, building it (and its dependencies) once."""
        name = desc.full_name
        if name in _WKT:
            return dict(_WKT[name])
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursion ends here
            props: dict[str, Schema] = {}
            required: list[str] = []
            for fd in desc.fields:
                props[fd.json_name] = self.field_schema(fd)
                if field_behavior_pb2.REQUIRED in self.catalog.behaviors(fd):
                    required.append(fd.json_name)
            schema: Schema = {"type": "object", "properties": props}
            if required:
                schema["required"] = required
            text = self.comment(name)
            if text:
                schema["description"] = text
            self.schemas[name] = schema
        return self.ref(name)

    def enum_schema(self, ed: Any) -> Schema:
        name = ed.full_name
        if name not in self.schemas:
            lines = [self.comment(name)] if self.comment(name) else []
            for v in ed.values:
                doc = self.comment(f"{name}.{v.name}")
                lines.append(f"- `{v.name}`" + (f": {doc}" if doc else ""))
            self.schemas[name] = {
                "type": "string",
                "enum": [v.name for v in ed.values],
                "description": "\n".join(lines),
            }
        return self.ref(name)

    def value_schema(self, fd: Any) -> Schema:
        t = _TYPE[fd.type]
        if t == "message":
            return self.message_schema(fd.message_type)
        if t == "enum":
            return self.enum_schema(fd.enum_type)
        if t in _INT32:
            return {"type": "integer", "format": "int32"}
        if t in _UINT32:
            return {"type": "integer", "format": "int64", "minimum": 0}
        if t in _64:
            return {"type": "string", "format": t if t.startswith("u") else "int64"}
        if t == "double":
            return {"type": "number", "format": "double"}
        if t == "float":
            return {"type": "number", "format": "float"}
        if t == "bool":
            return {"type": "boolean"}
        if t == "bytes":
            return {"type": "string", "format": "byte"}
        return {"type": "string"}

    def field_schema(self, fd: Any) -> Schema:
        mt = fd.message_type
        if fd.is_repeated and mt is not None and mt.GetOptions().map_entry:
            schema: Schema = {
                "type": "object",
                "additionalProperties": self.value_schema(mt.fields_by_name["value"]),
            }
        elif fd.is_repeated:
            schema = {"type": "array", "items": self.value_schema(fd)}
        else:
            schema = self.value_schema(fd)
        text = self.comment(fd.full_name)
        if text:
            schema["description"] = text
        if field_behavior_pb2.OUTPUT_ONLY in self.catalog.behaviors(fd):
            schema["readOnly"] = True
        return schema

    # -------------------------------------------------------------- operations
    def path_params(self, method: Method, rule: HttpRule) -> tuple[list[Schema], set[str]]:
        params: list[Schema] = []
        bound: set[str] = set()
        for var in parse(rule.template).variables:
            fd = self.leaf(method.input, var.field_path)
            bound.add(".".join(var.field_path))
            schema = self.value_schema(fd) if fd is not None else {"type": "string"}
            params.append(
                {
                    "name": var.name,
                    "in": "path",
                    "required": True,
                    "schema": schema,
                    "description": self.comment(fd.full_name) if fd is not None else "",
                }
            )
        return params, bound

    @staticmethod
    def leaf(desc: Any, path: tuple[str, ...]) -> Any:
        fd = None
        for name in path:
            fd = desc.fields_by_name.get(name) if desc is not None else None
            if fd is None:
                return None
            desc = fd.message_type
        return fd

    def query_params(
        self, desc: Any, bound: set[str], prefix: str = "", proto_prefix: str = "", depth: int = 0
    ) -> list[Schema]:
        out: list[Schema] = []
        for fd in desc.fields:
            proto_path = f"{proto_prefix}{fd.name}"
            if proto_path in bound:
                continue
            mt = fd.message_type
            if fd.is_repeated and mt is not None and mt.GetOptions().map_entry:
                continue
            name = f"{prefix}{fd.json_name}"
            if mt is not None and mt.full_name not in _SCALAR_WKT:
                if fd.is_repeated or depth >= _MAX_QUERY_DEPTH:
                    continue
                out.extend(self.query_params(mt, bound, f"{name}.", f"{proto_path}.", depth + 1))
                continue
            schema = self.field_schema(fd)
            description = schema.pop("description", "")
            schema.pop("readOnly", None)
            param: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
            if description:
                param["description"] = description
            if fd.is_repeated:
                param["style"] = "form"
                param["explode"] = True
            out.append(param)
        return out

    def operation(self, method: Method, rule: HttpRule, operation_id: str) -> Schema:
        params, bound = self.path_params(method, rule)
        op: Schema = {
            "operationId": operation_id,
            "tags": [method.service_short_name],
            "summary": method.comment.split("\n\n")[0].replace("\n", " ")[:200],
            "description": method.comment,
            "x-grpc-method": method.grpc_path,
        }
        if rule.body == "*":
            schema = self.message_schema(method.input)
            top_bound = {b for b in bound if "." not in b}
            if top_bound:
                full = self.schemas[method.input.full_name]
                schema = {
                    **full,
                    "properties": {
                        k: v
                        for k, v in full["properties"].items()
                        if not any(method.input.fields_by_name[b].json_name == k for b in top_bound)
                    },
                }
            op["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": schema}},
            }
        elif rule.body:
            fd = method.input.fields_by_name[rule.body]
            if fd.message_type is not None and fd.message_type.full_name == "google.api.HttpBody":
                content: Schema = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
            else:
                content = {"application/json": {"schema": self.field_schema(fd)}}
            op["requestBody"] = {
                "required": False,
                "description": self.comment(fd.full_name),
                "content": content,
            }
            params += self.query_params(method.input, bound | {rule.body})
        else:
            params += self.query_params(method.input, bound)
        if params:
            op["parameters"] = params
        out_schema = self.message_schema(method.output)
        if method.output.full_name == "google.api.HttpBody":
            ok_content: Schema = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        elif method.server_streaming:
            ok_content = {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": out_schema,
                        "description": "Streamed: one element per message, flushed as sent.",
                    }
                }
            }
        else:
            ok_content = {"application/json": {"schema": out_schema}}
        op["responses"] = {
            "200": {
                "description": self.comment(method.output.full_name) or "OK",
                "content": ok_content,
            },
            "default": {
                "description": "An error: the canonical HTTP status and a google.rpc.Status.",
                "content": {
                    "application/json": {
                        "schema": self.message_schema(
                            self.catalog.pool.FindMessageTypeByName("google.rpc.Status")
                        )
                    }
                },
            },
        }
        return op


def openapi_path(template: str) -> str:
    """``/v1/{name=shelves/*}:get`` → ``/v1/{name}:get``."""
    return _VAR.sub(lambda m: "{" + m.group(1) + "}", template)


def build(catalog: Catalog) -> dict[str, Any]:
    """The whole OpenAPI document."""
    b = _Builder(catalog)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, Schema] = {}
    seen_ids: set[str] = set()
    for method in catalog.methods:
        tags.setdefault(
            method.service_short_name,
            {"name": method.service_short_name, "description": b.comment(method.service)},
        )
        for rule in method.rules:
            op_id = method.name
            n = 2
            while op_id in seen_ids:
                op_id = f"{method.name}{n}"
                n += 1
            seen_ids.add(op_id)
            item = paths.setdefault(openapi_path(rule.template), {})
            item[rule.verb.lower()] = b.operation(method, rule, op_id)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "finmesh",
            "version": "v1",
            "description": (
                "Personal-budgeting API. The same JSON surface as the Envoy edge, generated "
                "from the google.api.http annotations of the protos. Every /v1/ route needs "
                "`Authorization: Bearer <JWT>` (`finmesh token --user <id>`). Errors are "
                "google.rpc.Status with the canonical HTTP status."
            ),
        },
        "tags": sorted(tags.values(), key=lambda t: t["name"]),
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(b.schemas.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearerAuth": []}],
    }
