"""``google.api.http`` path templates: parsing, matching and the router built from them.

Grammar (``google/api/http.proto``)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

Matching follows Envoy's transcoder (grpc-httpjson-transcoding ``PathMatcher``): the query is
cut off; a trailing ``:verb`` is split off only when it is one of the verbs some template uses;
trailing empty segments are dropped (``/v1/categories/`` matches ``/v1/categories``); literals
are compared as sent (no decoding); a variable's value is percent-decoded completely. Where
several templates match, literals beat ``*`` which beats ``**``, segment by segment from the
left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote_to_bytes

T = TypeVar("T")

LITERAL = 0
SINGLE = 1  # "*" or a plain variable
MULTI = 2  # "**"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(ValueError):
    """A path template that does not follow the grammar."""


@dataclass(frozen=True)
class Variable:
    """A ``{field.path}`` binding over segments ``[start, end)``; ``end`` counts from the end of
    the request's segments when the variable contains ``**`` (then it is ``-k``: all but the
    last ``k``)."""

    field_path: tuple[str, ...]
    start: int
    end: int
    multi: bool

    @property
    def name(self) -> str:
        return ".".join(self.field_path)


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template: segment kinds, literal values, variables and the verb."""

    source: str
    kinds: tuple[int, ...]
    literals: tuple[str, ...]  # "" where the segment is not a literal
    variables: tuple[Variable, ...]
    verb: str

    @property
    def multi_index(self) -> int | None:
        return self.kinds.index(MULTI) if MULTI in self.kinds else None

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sort key: lower is more specific (literal < ``*`` < ``**`` from the left)."""
        return self.kinds

    def match(self, parts: Sequence[str]) -> dict[str, str] | None:
        """Bindings (field path → decoded value) if ``parts`` (segments, verb removed) match."""
        kinds, literals = self.kinds, self.literals
        n = len(kinds)
        multi = self.multi_index
        if multi is None:
            if len(parts) != n:
                return None
            for kind, lit, part in zip(kinds, literals, parts, strict=True):
                if kind == LITERAL and lit != part:
                    return None
            total = n
        else:
            if len(parts) < n - 1:
                return None
            tail = n - multi - 1
            for i in range(multi):
                if kinds[i] == LITERAL and literals[i] != parts[i]:
                    return None
            for k in range(1, tail + 1):
                if kinds[n - k] == LITERAL and literals[n - k] != parts[len(parts) - k]:
                    return None
            total = len(parts)
        out: dict[str, str] = {}
        for var in self.variables:
            end = var.end if var.end > 0 else total + var.end
            out[var.name] = unescape_path("/".join(parts[var.start : end]))
        return out


def unescape_path(value: str) -> str:
    """Percent-decode a path value completely (what Envoy does: ``%2F`` becomes ``/``). Bytes
    that are not UTF-8 become surrogates (``surrogateescape``); a string field refuses them."""
    if "%" not in value:
        return value
    return unquote_to_bytes(value).decode("utf-8", "surrogateescape")


def parse(template: str) -> PathTemplate:
    """Parse a ``google.api.http`` path template."""
    if not template.startswith("/"):
        raise TemplateError(f"template must start with '/': {template!r}")
    body = template[1:]
    verb = ""
    # The verb is after the last ':' that is outside braces and after the last '/'.
    depth = 0
    colon = -1
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ":" and depth == 0:
            colon = i
        elif ch == "/" and depth == 0:
            colon = -1
    if colon >= 0:
        body, verb = body[:colon], body[colon + 1 :]
        if not verb:
            raise TemplateError(f"empty verb in {template!r}")
    kinds: list[int] = []
    literals: list[str] = []
    variables: list[Variable] = []
    tokens = _split_segments(body, template)
    for tok in tokens:
        if tok.startswith("{"):
            if not tok.endswith("}"):
                raise TemplateError(f"unbalanced braces in {template!r}")
            inner = tok[1:-1]
            name, eq, sub = inner.partition("=")
            path = tuple(name.split("."))
            if not all(_IDENT.fullmatch(p) for p in path):
                raise TemplateError(f"bad field path {name!r} in {template!r}")
            sub_segments = sub.split("/") if eq else ["*"]
            start = len(kinds)
            has_multi = False
            for s in sub_segments:
                k, lit = _segment(s, template)
                if k == MULTI:
                    has_multi = True
                kinds.append(k)
                literals.append(lit)
            variables.append(Variable(path, start, len(kinds), has_multi))
        else:
            k, lit = _segment(tok, template)
            kinds.append(k)
            literals.append(lit)
    if kinds.count(MULTI) > 1:
        raise TemplateError(f"at most one '**' allowed: {template!r}")
    multi = kinds.index(MULTI) if MULTI in kinds else None
    if multi is not None:
        # Variables after (or containing) "**" are bound relative to the end of the request.
        n = len(kinds)
        variables = [
            Variable(v.field_path, v.start if v.start <= multi else v.start - n, v.end - n, v.multi)
            if v.end > multi
            else v
            for v in variables
        ]
    return PathTemplate(template, tuple(kinds), tuple(literals), tuple(variables), verb)


def _split_segments(body: str, template: str) -> list[str]:
    out: list[str] = []
    depth = 0
    cur = ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise TemplateError(f"unbalanced braces in {template!r}")
        if ch == "/" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise TemplateError(f"unbalanced braces in {template!r}")
    out.append(cur)
    return out


def _segment(text: str, template: str) -> tuple[int, str]:
    if text == "*":
        return SINGLE, ""
    if text == "**":
        return MULTI, ""
    if not text or any(c in text for c in "{}*"):
        raise TemplateError(f"bad segment {text!r} in {template!r}")
    return LITERAL, text


def split_request_path(path: str, verbs: frozenset[str]) -> tuple[list[str], str]:
    """Segments and verb of a request path (no query), the way Envoy's matcher splits it."""
    verb = ""
    colon = path.rfind(":")
    if colon > path.rfind("/") and path[colon + 1 :] in verbs:
        verb = path[colon + 1 :]
        path = path[:colon]
    parts = path[1:].split("/") if path else []
    while parts and parts[-1] == "":
        parts.pop()
    return parts, verb


@dataclass(frozen=True)
class Match(Generic[T]):
    target: T
    bindings: dict[str, str]


class Router(Generic[T]):
    """Resolves (HTTP method, path) to a target. Built once; lookups do no parsing of
    templates, only a dictionary lookup and a few string comparisons."""

    def __init__(self, routes: Iterable[tuple[str, str, T]]) -> None:
        table: dict[tuple[str, str], list[tuple[PathTemplate, T]]] = {}
        verbs: set[str] = set()
        for http_method, template, target in routes:
            tpl = parse(template)
            if tpl.verb:
                verbs.add(tpl.verb)
            table.setdefault((http_method.upper(), tpl.verb), []).append((tpl, target))
        for entries in table.values():
            entries.sort(key=lambda e: e[0].specificity)
        self._table = table
        self.verbs = frozenset(verbs)

    def resolve(self, http_method: str, path: str) -> Match[T] | None:
        parts, verb = split_request_path(path, self.verbs)
        for tpl, target in self._table.get((http_method, verb), ()):
            bindings = tpl.match(parts)
            if bindings is not None:
                return Match(target, bindings)
        return None
