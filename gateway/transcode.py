"""HTTP request → protobuf request message, the way Envoy's ``grpc_json_transcoder`` does it.

* The JSON body goes into the whole request (``body: "*"``) or into one field; unknown JSON
  fields are ignored (Envoy 1.40 has no strict mode), a wrongly typed value is rejected with the
  message Envoy gives (``budget.limit.units: invalid value 1.5 for type TYPE_INT64``).
* Path variables and query parameters are *bindings* applied after the body: dotted field paths,
  camelCase or snake_case, repeated fields by repetition, enums by name or number, bools as
  ``true/false/1/0/yes/no``; an unknown parameter is rejected like Envoy's
  ``reject_unknown_query_parameters`` (``Could not find field "x" in the type "..."``).

No gRPC here; every failure is a :class:`TranscodeError` (HTTP 400, ``INVALID_ARGUMENT``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from google.protobuf import descriptor, json_format, message, message_factory

FD = descriptor.FieldDescriptor
#: Descriptors as the upb runtime hands them out (its stubs disagree with the pure-Python ones).
Field = Any
MessageDesc = Any

_INT = re.compile(r"[+-]?[0-9]+")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")

_TYPE_NAMES: dict[int, str] = {
    FD.TYPE_DOUBLE: "TYPE_DOUBLE",
    FD.TYPE_FLOAT: "TYPE_FLOAT",
    FD.TYPE_INT64: "TYPE_INT64",
    FD.TYPE_UINT64: "TYPE_UINT64",
    FD.TYPE_INT32: "TYPE_INT32",
    FD.TYPE_FIXED64: "TYPE_FIXED64",
    FD.TYPE_FIXED32: "TYPE_FIXED32",
    FD.TYPE_BOOL: "TYPE_BOOL",
    FD.TYPE_STRING: "TYPE_STRING",
    FD.TYPE_BYTES: "TYPE_BYTES",
    FD.TYPE_UINT32: "TYPE_UINT32",
    FD.TYPE_SFIXED32: "TYPE_SFIXED32",
    FD.TYPE_SFIXED64: "TYPE_SFIXED64",
    FD.TYPE_SINT32: "TYPE_SINT32",
    FD.TYPE_SINT64: "TYPE_SINT64",
}

_INT_RANGES: dict[int, tuple[int, int]] = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}

_FLOAT_MAX = 3.4028234663852886e38

#: Well-known types whose JSON form is not an object of their fields.
_WKT_JSON = frozenset(
    {
        "google.protobuf.Any",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.ListValue",
        "google.protobuf.Struct",
        "google.protobuf.Timestamp",
        "google.protobuf.Value",
        "google.protobuf.BoolValue",
        "google.protobuf.BytesValue",
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int32Value",
        "google.protobuf.Int64Value",
        "google.protobuf.StringValue",
        "google.protobuf.UInt32Value",
        "google.protobuf.UInt64Value",
    }
)


class TranscodeError(ValueError):
    """The HTTP request cannot become the RPC's request message (HTTP 400)."""


# ----------------------------------------------------------------------------- field lookup
@cache
def _fields(desc: MessageDesc) -> dict[str, Field]:
    """Fields by proto name and by JSON (camelCase) name."""
    out: dict[str, Field] = {}
    for fd in desc.fields:
        out[fd.json_name] = fd
    for fd in desc.fields:
        out[fd.name] = fd
    return out


def lookup_field(desc: MessageDesc, name: str) -> Field | None:
    return _fields(desc).get(name)


def _type_name(fd: Field) -> str:
    if fd.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
        return f"type.googleapis.com/{fd.message_type.full_name}"
    if fd.type == FD.TYPE_ENUM:
        return f"type.googleapis.com/{fd.enum_type.full_name}"
    return _TYPE_NAMES[fd.type]


def _invalid(path: str, fd: Field, shown: str) -> TranscodeError:
    return TranscodeError(f"{path}: invalid value {shown} for type {_type_name(fd)}")


def _is_map(fd: Field) -> bool:
    mt = fd.message_type
    return bool(fd.is_repeated and mt is not None and mt.GetOptions().map_entry)


def _is_repeated(fd: Field) -> bool:
    return bool(fd.is_repeated)


# ----------------------------------------------------------------------------- query string
def parse_query(raw: bytes) -> list[tuple[str, str]]:
    """``a=1&b.c=x`` → pairs. Keys and values are percent-decoded; ``+`` stays ``+`` (Envoy's
    default); a parameter without ``=`` is ignored; a bad escape is kept as sent."""
    out: list[tuple[str, str]] = []
    if not raw:
        return out
    for piece in raw.split(b"&"):
        key, eq, value = piece.partition(b"=")
        if not eq or not key:
            continue
        out.append((_unescape(key), _unescape(value)))
    return out


def _unescape(raw: bytes) -> str:
    if b"%" in raw:
        raw = _ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise TranscodeError(f"invalid UTF-8 in query parameter {raw!r}") from exc


# ----------------------------------------------------------------------------- bindings
def apply_binding(msg: message.Message, field_path: str, value: str) -> None:
    """Set the field at ``field_path`` (dotted; camelCase or snake_case) from a string, as a
    path variable or query parameter does."""
    names = field_path.split(".")
    desc = msg.DESCRIPTOR
    target = msg
    proto_path: list[str] = []
    for i, name in enumerate(names):
        fd = lookup_field(desc, name)
        if fd is None:
            raise TranscodeError(f'Could not find field "{name}" in the type "{desc.full_name}".')
        proto_path.append(fd.name)
        last = i == len(names) - 1
        if not last:
            if fd.type != FD.TYPE_MESSAGE or _is_repeated(fd):
                raise TranscodeError(
                    f'Encountered a non-leaf field "{name}" that is not a message while '
                    "parsing a field path"
                )
            target = getattr(target, fd.name)
            desc = fd.message_type
            continue
        _set_from_string(target, fd, value, ".".join(proto_path))


def _set_from_string(target: message.Message, fd: Field, value: str, path: str) -> None:
    if _is_map(fd):
        raise _invalid(path, fd, json.dumps(value, ensure_ascii=False))
    if fd.type == FD.TYPE_MESSAGE:
        parsed = _wkt_from_string(fd, value, path)
        if _is_repeated(fd):
            getattr(target, fd.name).add().CopyFrom(parsed)
        else:
            getattr(target, fd.name).CopyFrom(parsed)
        return
    converted = scalar_from_string(fd, value, path)
    if _is_repeated(fd):
        getattr(target, fd.name).append(converted)
    else:
        setattr(target, fd.name, converted)


def _wkt_from_string(fd: Field, value: str, path: str) -> message.Message:
    if fd.message_type.full_name in _WKT_JSON:
        instance = message_class(fd.message_type)()
        try:
            json_format.Parse(json.dumps(value), instance)
            return instance
        except (json_format.ParseError, ValueError, TypeError):
            pass
    raise _invalid(path, fd, json.dumps(value, ensure_ascii=False))


@cache
def message_class(desc: MessageDesc) -> type[message.Message]:
    """The dynamic class of a message descriptor (one per descriptor, cached)."""
    return message_factory.GetMessageClass(desc)


def scalar_from_string(fd: Field, value: str, path: str) -> Any:
    """A query/path string as the field's Python value, or :class:`TranscodeError`."""
    t = fd.type
    shown = json.dumps(value, ensure_ascii=False).encode("utf-8", "replace").decode()
    if t == FD.TYPE_STRING:
        try:
            value.encode()
        except UnicodeEncodeError:
            # Envoy passes such bytes on and the service fails to parse them (a 500 there).
            raise TranscodeError(
                f"{path}: invalid value (not UTF-8) for type TYPE_STRING"
            ) from None
        return value
    if t in _INT_RANGES:
        if not _INT.fullmatch(value):
            raise _invalid(path, fd, shown)
        n = int(value)
        lo, hi = _INT_RANGES[t]
        if not lo <= n <= hi:
            raise _invalid(path, fd, shown)
        return n
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        try:
            if "_" in value or value != value.strip():
                raise ValueError(value)
            f = float(value)
        except ValueError:
            raise _invalid(path, fd, shown) from None
        if t == FD.TYPE_FLOAT and math.isfinite(f) and abs(f) > _FLOAT_MAX:
            raise _invalid(path, fd, shown)
        return f
    if t == FD.TYPE_BOOL:
        low = value.lower()
        if low in ("true", "t", "yes", "y", "1"):
            return True
        if low in ("false", "f", "no", "n", "0"):
            return False
        raise _invalid(path, fd, shown)
    if t == FD.TYPE_ENUM:
        ev = fd.enum_type.values_by_name.get(value)
        if ev is not None:
            return ev.number
        if _INT.fullmatch(value) and int(value) in fd.enum_type.values_by_number:
            return int(value)
        raise _invalid(path, fd, shown)
    if t == FD.TYPE_BYTES:
        return _b64(value, path, fd, shown)
    raise _invalid(path, fd, shown)  # pragma: no cover - every scalar type is handled above


def _b64(value: str, path: str, fd: Field, shown: str) -> bytes:
    text = value.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(path, fd, shown) from None


def apply_query(msg: message.Message, pairs: Iterable[tuple[str, str]]) -> None:
    for key, value in pairs:
        apply_binding(msg, key, value)


# ----------------------------------------------------------------------------- JSON body
class _Object(dict[str, Any]):
    """A JSON object that remembers every member, repeated keys included: the C++ parser
    applies each occurrence in turn (a repeated field gets the elements of both)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


#: What :func:`parse_json` returns for an empty body (an empty message, unlike ``null``).
EMPTY: Any = object()


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body; an empty body is :data:`EMPTY`."""
    if not body.strip():
        return EMPTY
    try:
        return json.loads(body, object_pairs_hook=_Object)
    except UnicodeDecodeError as exc:
        raise TranscodeError(f"Invalid UTF-8 in request body: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise TranscodeError(f"Invalid JSON in request body: {exc}") from exc
    except RecursionError as exc:
        raise TranscodeError("Invalid JSON in request body: nested too deeply") from exc


def merge_json_body(msg: message.Message, body_field: str, value: Any) -> None:
    """Merge a parsed JSON body into ``msg`` (``body_field`` is ``*`` or a field name)."""
    if value is EMPTY:
        return
    if body_field == "*":
        if not isinstance(value, dict):
            raise TranscodeError(": Root element must be a message.")
        _merge_object(msg, value, "", list_path="")
        return
    if value is None:
        return
    fd = lookup_field(msg.DESCRIPTOR, body_field)
    if fd is None:  # pragma: no cover - buf lint checks http rules against the request
        raise TranscodeError(
            f'Could not find field "{body_field}" in the type "{msg.DESCRIPTOR.full_name}".'
        )
    _merge_field(msg, fd, value, fd.name, list_path="")


def _merge_object(msg: message.Message, value: Any, path: str, *, list_path: str) -> None:
    desc = msg.DESCRIPTOR
    if isinstance(value, list):
        raise TranscodeError(f"{list_path}: Proto field is not repeating, cannot start list.")
    if not isinstance(value, dict):
        raise TranscodeError(
            f"{path}: invalid value {_show(value)} for type type.googleapis.com/{desc.full_name}"
        )
    fields = _fields(desc)
    members = value.pairs if isinstance(value, _Object) else value.items()
    for key, item in members:
        fd = fields.get(key)
        if fd is None or item is None:
            continue  # unknown fields are ignored, null means "not set"
        child = f"{path}.{fd.name}" if path else fd.name
        _merge_field(msg, fd, item, child, list_path=path)


def _merge_field(msg: message.Message, fd: Field, value: Any, path: str, *, list_path: str) -> None:
    if _is_map(fd):
        if not isinstance(value, dict):
            raise _invalid(path, fd, _show(value))
        container = getattr(msg, fd.name)
        key_fd = fd.message_type.fields_by_name["key"]
        val_fd = fd.message_type.fields_by_name["value"]
        for k, v in value.items():
            key = scalar_from_string(key_fd, str(k), f"{path}[{k}]")
            if val_fd.type == FD.TYPE_MESSAGE:
                _merge_message_value(container[key], val_fd, v, f"{path}[{k}]")
            else:
                container[key] = _scalar_from_json(val_fd, v, f"{path}[{k}]")
        return
    if _is_repeated(fd):
        items = value if isinstance(value, list) else [value]
        indexed = isinstance(value, list)
        container = getattr(msg, fd.name)
        for i, item in enumerate(items):
            item_path = f"{path}[{i}]" if indexed else path
            if item is None:
                continue
            if fd.type == FD.TYPE_MESSAGE:
                _merge_message_value(container.add(), fd, item, item_path)
            else:
                container.append(_scalar_from_json(fd, item, item_path))
        return
    if fd.type == FD.TYPE_MESSAGE:
        _merge_message_value(getattr(msg, fd.name), fd, value, path, list_path=list_path)
        return
    if isinstance(value, list):
        raise TranscodeError(f"{list_path}: Proto field is not repeating, cannot start list.")
    if isinstance(value, dict):
        raise TranscodeError(
            f"{list_path}: invalid value Starting an object on a scalar field for type {fd.name}"
        )
    setattr(msg, fd.name, _scalar_from_json(fd, value, path))


def _merge_message_value(
    target: message.Message, fd: Field, value: Any, path: str, *, list_path: str | None = None
) -> None:
    full_name = fd.message_type.full_name
    if full_name in _WKT_JSON:
        try:
            json_format.ParseDict(value, target, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError, AttributeError):
            raise _invalid(path, fd, _show(value)) from None
        return
    if full_name == "google.protobuf.Empty":
        if not isinstance(value, dict):
            raise _invalid(path, fd, _show(value))
        target.SetInParent()
        return
    target.SetInParent()
    _merge_object(target, value, path, list_path=path if list_path is None else list_path)


def _scalar_from_json(fd: Field, value: Any, path: str) -> Any:
    t = fd.type
    if isinstance(value, (dict, list)):
        raise _invalid(path, fd, _show(value))
    if t == FD.TYPE_STRING:
        if isinstance(value, str):
            return value
        raise _invalid(path, fd, _show(value))
    if t in _INT_RANGES:
        if isinstance(value, bool):
            raise _invalid(path, fd, _show(value))
        n: int
        if isinstance(value, int):
            n = value
        elif isinstance(value, float):
            if not value.is_integer():
                raise _invalid(path, fd, _show(value))
            n = int(value)
        elif isinstance(value, str) and _INT.fullmatch(value.strip() or "x"):
            n = int(value)
        else:
            raise _invalid(path, fd, _show(value))
        lo, hi = _INT_RANGES[t]
        if not lo <= n <= hi:
            raise _invalid(path, fd, _show(value))
        return n
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        if isinstance(value, bool):
            raise _invalid(path, fd, _show(value))
        if isinstance(value, (int, float)):
            f = float(value)
        elif isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            f = float(value.replace("Infinity", "inf"))
        elif isinstance(value, str):
            try:
                f = float(value)
            except ValueError:
                raise _invalid(path, fd, _show(value)) from None
        else:
            raise _invalid(path, fd, _show(value))
        if t == FD.TYPE_FLOAT and math.isfinite(f) and abs(f) > _FLOAT_MAX:
            raise _invalid(path, fd, _show(value))
        return f
    if t == FD.TYPE_BOOL:
        if isinstance(value, bool):
            return value
        if value == "true":
            return True
        if value == "false":
            return False
        raise _invalid(path, fd, _show(value))
    if t == FD.TYPE_ENUM:
        if isinstance(value, str):
            ev = fd.enum_type.values_by_name.get(value)
            if ev is None:
                raise _invalid(path, fd, _show(value))
            return ev.number
        if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31:
            return value  # proto3 enums are open: unknown numbers are kept
        raise _invalid(path, fd, _show(value))
    if t == FD.TYPE_BYTES:
        if not isinstance(value, str):
            raise _invalid(path, fd, _show(value))
        return _b64(value, path, fd, _show(value))
    raise _invalid(path, fd, _show(value))  # pragma: no cover


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
