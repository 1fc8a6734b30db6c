"""Determination models: exact decimal strings, deterministic JSON, schema, recursion."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from origin_rules.model.determination import (
    Determination,
    ExplanationNode,
    FailedMaterial,
    Headroom,
    RuleRef,
    determination_json_schema,
)


def sample() -> Determination:
    sub = Determination(product_id="CAL-1", hs="8708.30", agreement="USMCA", as_of=date(2026, 1, 1),
                        verdict="qualifies", origin_criterion="product_specific_rule", rules_digest="sha256:abc")
    return Determination(
        product_id="BRK-100",
        hs="8708.30",
        agreement="USMCA",
        as_of=date(2026, 1, 1),
        verdict="qualifies",
        origin_criterion="product_specific_rule",
        rule=RuleRef(selector="8708.30", title="Brakes and servo-brakes; parts thereof",
                     source="rules/usmca/section-17-transport.roo:21", cite="USMCA Annex 4-B, 8708.30"),
        figures={"transaction_value": Decimal("1000.00"), "vnm": "390.00", "vom": Decimal("610.00"),
                 "rvc_transaction_value": "61.00"},
        headroom=[Headroom(criterion="rvc(transaction_value) >= 60%", source="rules/usmca/section-17-transport.roo:23",
                           figure="rvc_transaction_value", value=Decimal("61.00"), threshold=Decimal("60"),
                           comparison=">=", margin=Decimal("1.00"), flip_value=Decimal("10.00"), holds=True)],
        explanation=ExplanationNode(
            text="rvc(transaction_value) >= 60%", source="rules/usmca/section-17-transport.roo:23", result="true",
            figures={"rvc_transaction_value": "61.00"}, materials=["PAD-1"], origin="agreement",
            children=[ExplanationNode(text="CAL-1 is originating", result="true", sub_determination=sub)],
        ),
        missing=[],
        failed_materials=[FailedMaterial(id="PAD-1", hs="6813.81", reason="chapter 68 is not a change from 87")],
        rules_digest="sha256:abc",
    )


def test_field_order_is_as_declared():
    data = json.loads(sample().to_json())
    assert list(data) == ["product_id", "hs", "agreement", "as_of", "verdict", "warnings", "origin_criterion", "rule",
                          "figures", "headroom", "explanation", "missing", "failed_materials", "rules_digest"]
    assert list(data["headroom"][0]) == ["criterion", "source", "figure", "value", "threshold", "comparison",
                                         "margin", "flip_value", "holds"]
    assert list(data["explanation"]) == ["text", "source", "result", "figures", "materials", "children",
                                         "sub_determination", "origin"]


def test_to_json_is_deterministic_and_decimals_are_strings():
    a, b = sample().to_json(), sample().to_json()
    assert a == b
    data = json.loads(a, parse_float=lambda s: pytest.fail(f"float in output: {s}"))
    assert data["figures"] == {"transaction_value": "1000.00", "vnm": "390.00", "vom": "610.00",
                               "rvc_transaction_value": "61.00"}
    assert data["headroom"][0]["margin"] == "1.00" and data["headroom"][0]["flip_value"] == "10.00"
    assert data["as_of"] == "2026-01-01"
    assert data["explanation"]["children"][0]["sub_determination"]["product_id"] == "CAL-1"
    assert "\n" not in sample().to_json(indent=None)


def test_round_trip_through_json():
    det = sample()
    assert Determination.model_validate_json(det.to_json()) == det
    assert det.qualifies


def test_decimals_never_in_exponent_form_and_floats_refused():
    det = Determination(product_id="P", agreement="A", as_of=date(2020, 1, 1), verdict="no_rule",
                        rules_digest="d", figures={"x": Decimal("1E+2"), "y": Decimal("1.5E-7"), "z": 3})
    assert det.figures == {"x": "100", "y": "0.00000015", "z": "3"}
    with pytest.raises(ValidationError):
        Determination(product_id="P", agreement="A", as_of=date(2020, 1, 1), verdict="no_rule",
                      rules_digest="d", figures={"x": 0.1})
    with pytest.raises(ValidationError):
        Headroom(criterion="c", figure="f", value="abc", threshold="1", comparison=">=", margin="1", holds=True)


@pytest.mark.parametrize("field, bad", [("verdict", "maybe"), ("as_of", "yesterday"), ("unknown_field", 1)])
def test_strict(field, bad):
    data = json.loads(sample().to_json())
    data[field] = bad
    with pytest.raises(ValidationError):
        Determination.model_validate(data)


def test_frozen():
    with pytest.raises(ValidationError):
        sample().verdict = "does_not_qualify"  # type: ignore[misc]


def test_schema():
    schema = determination_json_schema()
    assert schema == Determination.model_json_schema()
    assert set(schema["$defs"]) >= {"ExplanationNode", "Headroom", "RuleRef", "FailedMaterial"}
    top = schema["$defs"]["Determination"] if "$ref" in schema else schema  # recursive: a $ref at the top
    assert top["properties"]["verdict"]["enum"] == ["qualifies", "does_not_qualify", "insufficient_data", "no_rule"]
    explanation = schema["$defs"]["ExplanationNode"]["properties"]
    assert explanation["result"]["enum"] == ["true", "false", "unknown"]
    json.dumps(schema)


_number = st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**9, max_value=10**9, places=2)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=8), _number, max_size=5), _number)
def test_figures_survive_exactly(figures, margin):
    det = Determination(product_id="P", agreement="A", as_of=date(2024, 2, 29), verdict="does_not_qualify",
                        rules_digest="d", figures=figures,
                        headroom=[Headroom(criterion="c", figure="f", value=margin, threshold="0", comparison="<=",
                                           margin=margin, holds=margin >= 0)])
    back = Determination.model_validate_json(det.to_json())
    assert back == det
    assert {k: Decimal(v) for k, v in back.figures.items()} == figures
    assert [Decimal(v).as_tuple() for v in back.figures.values()] == [d.as_tuple() for d in figures.values()]
    assert Decimal(back.headroom[0].margin) == margin
