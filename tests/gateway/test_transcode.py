"""Building request messages from query parameters, path values and JSON bodies, with the
same acceptance rules and error messages as Envoy's transcoder."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import message

from gateway import descriptors
from gateway.config import DESCRIPTOR_SET
from gateway.transcode import (
    TranscodeError,
    apply_binding,
    apply_query,
    merge_json_body,
    parse_json,
    parse_query,
)

CATALOG = descriptors.load(DESCRIPTOR_SET)


def new(name: str) -> Any:
    return CATALOG.message_class_by_name(name)()


def query(msg: message.Message, raw: bytes) -> None:
    apply_query(msg, parse_query(raw))


def test_query_params_accept_camel_and_snake_case() -> None:
    req = new("finance.expense.v1.ListExpensesRequest")
    query(req, b"pageSize=5&page_token=abc&month=2026-03")
    assert (req.page_size, req.page_token, req.month) == (5, "abc", "2026-03")


def test_query_values_are_percent_decoded_and_plus_is_literal() -> None:
    req = new("finance.expense.v1.ListExpensesRequest")
    query(req, b"query=caf%C3%A9+bar%20x&page%5Fsize=2")
    assert req.query == "café+bar x"
    assert req.page_size == 2


def test_nested_fields_by_dotted_path() -> None:
    req = new("finance.expense.v1.QuickAddExpenseRequest")
    query(req, b"today.year=2026&today.month=3&today.day=4")
    assert (req.today.year, req.today.month, req.today.day) == (2026, 3, 4)


def test_enums_by_name_or_defined_number() -> None:
    req = new("finance.insight.v1.ListInsightsRequest")
    query(req, b"type=INSIGHT_TYPE_PRICE_RISE")
    assert req.type == 5
    query(req, b"type=2")
    assert req.type == 2


@pytest.mark.parametrize("value", ["BOGUS", "99", "price_rise"])
def test_unknown_enum_values_are_rejected_with_envoys_message(value: str) -> None:
    req = new("finance.insight.v1.ListInsightsRequest")
    with pytest.raises(TranscodeError) as info:
        query(req, f"type={value}".encode())
    assert str(info.value) == (
        f'type: invalid value "{value}" for type type.googleapis.com/finance.insight.v1.InsightType'
    )


def test_repeated_fields_collect_every_occurrence_and_field_masks_parse_from_strings() -> None:
    req = new("finance.expense.v1.UpdateBudgetRequest")
    query(req, b"updateMask.paths=limit&updateMask.paths=rollover")
    assert list(req.update_mask.paths) == ["limit", "rollover"]
    other = new("finance.expense.v1.UpdateBudgetRequest")
    query(other, b"updateMask=limit,rollover")
    assert list(other.update_mask.paths) == ["limit", "rollover"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("yes", True), ("1", True), ("False", False), ("n", False)],
)
def test_bools_accept_the_forms_envoy_accepts(value: str, expected: bool) -> None:
    req = new("finance.expense.v1.UpdateBudgetRequest")
    query(req, f"allowMissing={value}".encode())
    assert req.HasField("allow_missing")
    assert req.allow_missing is expected


@pytest.mark.parametrize("value", ["abc", "1.0", "1e2", "0x1", "", "99999999999"])
def test_bad_integers_are_rejected(value: str) -> None:
    req = new("finance.expense.v1.ListExpensesRequest")
    with pytest.raises(TranscodeError) as info:
        query(req, f"pageSize={value}".encode())
    assert str(info.value) == f'page_size: invalid value "{value}" for type TYPE_INT32'


def test_integers_with_sign_or_leading_zero_are_accepted() -> None:
    req = new("finance.expense.v1.ListExpensesRequest")
    query(req, b"pageSize=+07")
    assert req.page_size == 7


def test_unknown_parameters_are_rejected_naming_the_type() -> None:
    req = new("finance.expense.v1.ListCategoriesRequest")
    with pytest.raises(TranscodeError) as info:
        query(req, b"bogus=1")
    assert str(info.value) == (
        'Could not find field "bogus" in the type "finance.expense.v1.ListCategoriesRequest".'
    )
    nested = new("finance.expense.v1.QuickAddExpenseRequest")
    with pytest.raises(TranscodeError, match=r'"bogus" in the type "google\.type\.Date"'):
        query(nested, b"today.bogus=1")
    with pytest.raises(TranscodeError, match='non-leaf field "text"'):
        query(nested, b"text.x=1")


def test_parameters_without_a_value_are_ignored() -> None:
    assert parse_query(b"pageSize&&a=1") == [("a", "1")]


def test_path_bindings_set_nested_fields() -> None:
    req = new("finance.expense.v1.UpdateBudgetRequest")
    apply_binding(req, "budget.month", "2026-03")
    apply_binding(req, "budget.category", "dining")
    assert (req.budget.month, req.budget.category) == ("2026-03", "dining")


def test_json_body_into_a_field_and_bindings_after_it() -> None:
    req = new("finance.expense.v1.UpdateBudgetRequest")
    merge_json_body(
        req,
        "budget",
        parse_json(
            b'{"limit":{"currencyCode":"GBP","units":"12","nanos":500000000},'
            b'"rollover":true,"unknownField":1}'
        ),
    )
    apply_binding(req, "budget.month", "2026-03")
    assert req.budget.limit.units == 12
    assert req.budget.limit.nanos == 500000000
    assert req.budget.rollover is True
    assert req.budget.month == "2026-03"


def test_json_body_star_fills_the_whole_request() -> None:
    req = new("finance.ml.v1.ClassifyExpensesRequest")
    merge_json_body(
        req, "*", parse_json(b'{"items":[{"description":"a","direction":"DIRECTION_CREDIT"}]}')
    )
    assert req.items[0].description == "a"
    assert req.items[0].direction == 2


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        (
            b'{"limit":{"units":1.5}}',
            "budget",
            "budget.limit.units: invalid value 1.5 for type TYPE_INT64",
        ),
        (
            b'{"limit":{"units":true}}',
            "budget",
            "budget.limit.units: invalid value true for type TYPE_INT64",
        ),
        (
            b'{"limit":5}',
            "budget",
            "budget.limit: invalid value 5 for type type.googleapis.com/google.type.Money",
        ),
        (b'{"rollover":"x"}', "budget", 'budget.rollover: invalid value "x" for type TYPE_BOOL'),
        (
            b'{"percentUsed":"x"}',
            "budget",
            'budget.percent_used: invalid value "x" for type TYPE_DOUBLE',
        ),
        (
            b'"str"',
            "budget",
            'budget: invalid value "str" for type type.googleapis.com/finance.expense.v1.Budget',
        ),
    ],
)
def test_wrongly_typed_json_values_get_envoys_messages(
    body: bytes, field: str, expected: str
) -> None:
    req = new("finance.expense.v1.UpdateBudgetRequest")
    with pytest.raises(TranscodeError) as info:
        merge_json_body(req, field, parse_json(body))
    assert str(info.value) == expected


def test_wrongly_typed_values_inside_lists_name_the_index() -> None:
    req = new("finance.ml.v1.ClassifyExpensesRequest")
    with pytest.raises(TranscodeError) as info:
        merge_json_body(req, "*", parse_json(b'{"items":[{"direction":"NOPE"}]}'))
    assert str(info.value) == (
        'items[0].direction: invalid value "NOPE" for type '
        "type.googleapis.com/finance.expense.v1.Direction"
    )


def test_malformed_json_is_a_transcode_error_and_empty_body_is_an_empty_message() -> None:
    with pytest.raises(TranscodeError):
        parse_json(b"{bad")
    with pytest.raises(TranscodeError):
        parse_json(b"\xff\xfe")
    req = new("finance.expense.v1.CreateExpenseRequest")
    merge_json_body(req, "expense", parse_json(b"  "))
    merge_json_body(req, "expense", parse_json(b"null"))
    assert not req.HasField("expense")
    # A whole-request body must be an object; null is not an empty body there.
    whole = new("finance.ml.v1.ParseExpenseRequest")
    for bad in (b"null", b"5", b"[1]", b'"s"'):
        with pytest.raises(TranscodeError, match="Root element must be a message"):
            merge_json_body(whole, "*", parse_json(bad))


def test_lists_and_objects_where_a_scalar_belongs_get_envoys_messages() -> None:
    req = new("finance.expense.v1.QuickAddExpenseRequest")
    with pytest.raises(TranscodeError) as info:
        merge_json_body(req, "*", parse_json(b'{"text":["x"]}'))
    assert str(info.value) == ": Proto field is not repeating, cannot start list."
    with pytest.raises(TranscodeError) as info:
        merge_json_body(req, "*", parse_json(b'{"text":{"a":1}}'))
    assert str(info.value) == (": invalid value Starting an object on a scalar field for type text")


def test_a_path_value_that_is_not_utf8_is_refused_not_passed_on() -> None:
    from gateway.templates import unescape_path

    req = new("finance.expense.v1.GetExpenseRequest")
    with pytest.raises(TranscodeError, match="not UTF-8"):
        apply_binding(req, "id", unescape_path("%FF"))


def test_repeated_json_keys_are_applied_in_turn_like_envoy() -> None:
    req = new("finance.ml.v1.ClassifyExpensesRequest")
    merge_json_body(
        req, "*", parse_json(b'{"items":[{"description":"a"}],"items":[{"description":"b"}]}')
    )
    assert [i.description for i in req.items] == ["a", "b"]


def test_float_fields_print_like_protobufs_cpp_printer() -> None:
    from gateway.jsonout import c_double, c_float, to_dict

    score = new("finance.ml.v1.CategoryScore")
    score.confidence = 0.628148437
    assert to_dict(score, CATALOG.pool)["confidence"] == 0.628148437  # 9 digits, not 8
    score.confidence = 0.95
    assert to_dict(score, CATALOG.pool)["confidence"] == 0.95
    assert c_float(1.0) == 1 and isinstance(c_float(1.0), int)
    assert c_double(0.1 + 0.2) == 0.30000000000000004
