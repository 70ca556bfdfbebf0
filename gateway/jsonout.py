"""Messages → proto3 JSON, printed like Envoy's transcoder (protobuf's C++ printer).

``json_format.MessageToDict`` with Envoy's print options (camelCase names, fields without
presence always printed, enums as names) gives the same structure. Numbers need one fix:
the C++ printer writes ``float`` fields with 6 significant digits when that round-trips and 9
otherwise (``0.628148437``), and ``double`` fields with 15 or 17, where Python prints the
shortest round-trip form (``0.62814844``), which parses to a different number. The fields
concerned are found once per message type.
"""

from __future__ import annotations

import json
import math
import struct
from functools import cache
from typing import Any

from google.protobuf import descriptor, descriptor_pool, json_format, message

FD = descriptor.FieldDescriptor
_FLOATS = (FD.TYPE_FLOAT, FD.TYPE_DOUBLE)


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def c_float(value: float) -> int | float:
    """A float32 value as protobuf's C++ ``SimpleFtoa`` writes it."""
    text = f"{value:.6g}"
    if struct.unpack("f", struct.pack("f", float(text)))[0] != value:
        text = f"{value:.9g}"
    return _number(text)


def c_double(value: float) -> int | float:
    """A double as protobuf's C++ ``SimpleDtoa`` writes it."""
    text = f"{value:.15g}"
    if float(text) != value:
        text = f"{value:.17g}"
    return _number(text)


@cache
def _plan(desc: Any) -> tuple[Any, ...]:
    """Fields of ``desc`` that are floats or lead to messages with floats."""
    return tuple(fd for fd in desc.fields if _leads_to_float(fd, frozenset({desc.full_name})))


def _leads_to_float(fd: Any, seen: frozenset[str]) -> bool:
    if fd.type in _FLOATS:
        return True
    mt = fd.message_type
    if mt is None or mt.full_name.startswith("google.protobuf.") or mt.full_name in seen:
        return False
    if mt.GetOptions().map_entry:
        return False  # map values keep Python's formatting (no such maps in our API)
    return any(_leads_to_float(f, seen | {mt.full_name}) for f in mt.fields)


def _fix(msg: Any, out: dict[str, Any]) -> None:
    for fd in _plan(msg.DESCRIPTOR):
        key = fd.json_name
        if key not in out:
            continue
        value = getattr(msg, fd.name)
        if fd.type in _FLOATS:
            fmt = c_float if fd.type == FD.TYPE_FLOAT else c_double
            if fd.is_repeated:
                out[key] = [
                    fmt(v) if math.isfinite(v) else o for v, o in zip(value, out[key], strict=True)
                ]
            elif math.isfinite(value):
                out[key] = fmt(value)
        elif fd.is_repeated:
            for sub, sub_out in zip(value, out[key], strict=True):
                _fix(sub, sub_out)
        else:
            _fix(value, out[key])


def to_dict(msg: message.Message, pool: descriptor_pool.DescriptorPool) -> dict[str, Any]:
    out = json_format.MessageToDict(
        msg,
        always_print_fields_with_no_presence=True,
        preserving_proto_field_name=False,
        use_integers_for_enums=False,
        descriptor_pool=pool,
    )
    _fix(msg, out)
    return out


def dumps(msg: message.Message, pool: descriptor_pool.DescriptorPool) -> bytes:
    """Compact JSON bytes; ``<`` and ``>`` escaped like the C++ printer (only strings hold them)."""
    text = json.dumps(to_dict(msg, pool), ensure_ascii=False, separators=(",", ":"))
    if "<" in text or ">" in text:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e")
    return text.encode()
