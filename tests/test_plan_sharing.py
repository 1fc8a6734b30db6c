"""Plans of one rule files share compiled rules where a scenario keeps its base's
(engine/plan.py, ``Plan._compile_rules``): a scenario that only adds requirements takes its
base's compiled rules and indexes; one that replaces a rule or changes the parties compiles
its own. Either way every determination is the one its plan gives compiled alone."""

from __future__ import annotations

from datetime import date

import pytest

import origin_rules
from origin_rules.model.bom import BOM

RULES = """\
agreement "A" {
  parties = [US, MX, CA]
  rule 8708.30 { performed "assembly" in parties }
  rule 8708.99 { change from any other heading }
}

scenario "Cap" extends "A" {
  require { value(non_originating and origin in [CN]) <= 10% of transaction_value }
}

scenario "Stricter" extends "A" {
  rule 8708.99 { rvc(transaction_value) >= 95% }
}

scenario "Two" extends "A" {
  parties = [US, MX]
}
"""

ON = date(2026, 6, 1)
NAMES = ["A", "Cap", "Stricter", "Two"]


def _bom(hs: str, country: str, origin: str, value: str) -> BOM:
    return BOM.model_validate({
        "product": {"id": f"P-{hs}-{country}-{origin}-{value}", "hs": hs, "produced_in": "MX",
                    "transaction_value": "100.00", "processes": [{"name": "assembly", "country": country}]},
        "materials": [{"id": "M1", "hs": "7318.15", "origin": origin, "originating": False, "value": value},
                      {"id": "M2", "hs": "8708.99", "origin": "US", "originating": True, "value": "20.00"}]})


BOMS = [_bom(hs, country, origin, value)
        for hs in ("8708.30", "8708.99") for country in ("CA", "US") for origin in ("CN", "DE")
        for value in ("5.00", "30.00")]


@pytest.mark.parametrize("order", [NAMES, NAMES[::-1]], ids=["base first", "scenarios first"])
def test_every_determination_is_the_one_of_its_plan_compiled_alone(order):
    shared = origin_rules.loads({"a.roo": RULES})
    for name in order:  # (the plans compiled in this order: who shares whose rules depends on it)
        shared.plan(name)
    for name in NAMES:
        alone = origin_rules.loads({"a.roo": RULES})  # a book that compiles this one plan only
        for bom in BOMS:
            assert shared.evaluate(bom, under=name, as_of=ON).to_json() == \
                alone.evaluate(bom, under=name, as_of=ON).to_json(), (name, bom.product.id)
            assert shared.verdict(bom, name, ON) == alone.verdict(bom, name, ON)


def test_the_cases_tell_the_plans_apart():
    """(So that the test above could see a plan given another's rules.)"""
    book = origin_rules.loads({"a.roo": RULES})
    verdicts = {name: [book.verdict(b, name, ON) for b in BOMS] for name in NAMES}
    assert verdicts["Stricter"] != verdicts["A"]  # its own 8708.99 rule
    assert verdicts["Two"] != verdicts["A"]  # assembly in CA is in A's parties, not in Two's
    assert verdicts["Cap"] != verdicts["A"]  # its requirement


def test_a_scenario_that_keeps_its_base_rules_takes_them_compiled():
    book = origin_rules.loads({"a.roo": RULES})
    rules = {name: book.rules_for(name, "8708.30", ON) for name in NAMES}
    assert rules["Cap"][0] is rules["A"][0]
    assert rules["Two"][0] is not rules["A"][0]  # other parties
    stricter = book.rules_for("Stricter", "8708.99", ON)[0]
    assert stricter is not book.rules_for("A", "8708.99", ON)[0]  # its own rule
    assert stricter.is_scenario and stricter.layer == "Stricter"
