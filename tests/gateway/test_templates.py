"""Path templates: parsing and matching the way Envoy's transcoder matches them."""

from __future__ import annotations

import pytest

from gateway import descriptors
from gateway.config import DESCRIPTOR_SET
from gateway.templates import Router, TemplateError, parse, split_request_path, unescape_path


def _router() -> Router[str]:
    return Router(
        [
            ("GET", "/v1/expenses/{id}", "GetExpense"),
            ("GET", "/v1/expenses", "ListExpenses"),
            ("GET", "/v1/expenses/special", "Special"),
            ("POST", "/v1/expenses:quickAdd", "QuickAddExpense"),
            ("PATCH", "/v1/budgets/{budget.month}/{budget.category}", "UpdateBudget"),
            ("GET", "/v1/{name=shelves/*/books/**}", "GetBook"),
            ("GET", "/v2/{parent=files/**}/meta", "Meta"),
        ]
    )


def test_single_segment_variable_binds_its_field() -> None:
    m = _router().resolve("GET", "/v1/expenses/abc")
    assert m is not None
    assert (m.target, m.bindings) == ("GetExpense", {"id": "abc"})


def test_nested_field_paths_bind_in_order() -> None:
    m = _router().resolve("PATCH", "/v1/budgets/2026-03/groceries")
    assert m is not None
    assert m.bindings == {"budget.month": "2026-03", "budget.category": "groceries"}


def test_method_must_match() -> None:
    assert _router().resolve("POST", "/v1/expenses/abc") is None
    assert _router().resolve("DELETE", "/v1/expenses") is None


def test_literal_beats_variable() -> None:
    m = _router().resolve("GET", "/v1/expenses/special")
    assert m is not None and m.target == "Special"


def test_custom_verb_is_split_off_only_when_a_template_uses_it() -> None:
    r = _router()
    quick = r.resolve("POST", "/v1/expenses:quickAdd")
    assert quick is not None and quick.target == "QuickAddExpense"
    # Not a known verb: the colon is part of the id, as in Envoy.
    other = r.resolve("GET", "/v1/expenses/x:foo")
    assert other is not None and other.bindings == {"id": "x:foo"}
    # A known verb on a path without that verb's template matches nothing.
    assert r.resolve("GET", "/v1/expenses/x:quickAdd") is None


def test_trailing_slashes_are_ignored_but_empty_inner_segments_are_not() -> None:
    r = _router()
    listed = r.resolve("GET", "/v1/expenses/")
    assert listed is not None and listed.target == "ListExpenses"
    assert r.resolve("GET", "/v1//expenses") is None
    assert r.resolve("GET", "/v1/expenses/a/b") is None


def test_multi_segment_variables() -> None:
    r = _router()
    book = r.resolve("GET", "/v1/shelves/1/books/a/b")
    assert book is not None and book.bindings == {"name": "shelves/1/books/a/b"}
    meta = r.resolve("GET", "/v2/files/x/y/meta")
    assert meta is not None and meta.bindings == {"parent": "files/x/y"}
    assert r.resolve("GET", "/v1/shelves/1/boxes/a") is None


def test_path_values_are_percent_decoded_completely_like_envoy() -> None:
    m = _router().resolve("GET", "/v1/expenses/caf%C3%A9%20bar%2Fbaz%3A%2B")
    assert m is not None
    assert m.bindings == {"id": "café bar/baz:+"}
    assert unescape_path("a%ZZ") == "a%ZZ"
    assert unescape_path("%FF").encode("utf-8", "surrogateescape") == b"\xff"


def test_request_path_split_keeps_the_verb_apart() -> None:
    assert split_request_path("/v1/expenses:import", frozenset({"import"})) == (
        ["v1", "expenses"],
        "import",
    )
    assert split_request_path("/v1/a:b/c", frozenset({"b"})) == (["v1", "a:b", "c"], "")


@pytest.mark.parametrize(
    "template", ["v1/x", "/v1/{id", "/v1/{a-b}", "/v1/**/x/**", "/v1/x:", "/v1//x"]
)
def test_malformed_templates_are_rejected(template: str) -> None:
    with pytest.raises(TemplateError):
        parse(template)


def test_every_annotated_rpc_gets_a_route_that_matches_its_own_template() -> None:
    catalog = descriptors.load(DESCRIPTOR_SET)
    routes = [(r.verb, r.template, m.name) for m in catalog.methods for r in m.rules]
    assert len(routes) == sum(1 for m in catalog.methods if m.rules) >= 20
    router = Router(routes)
    for verb, template, name in routes:
        concrete = template.replace("{budget.month}", "2026-01").replace("{month}", "2026-01")
        concrete = concrete.replace("{budget.category}", "dining").replace("{category}", "dining")
        concrete = concrete.replace("{expense.id}", "e1").replace("{id}", "e1")
        m = router.resolve(verb, concrete)
        assert m is not None and m.target == name, (verb, concrete)
