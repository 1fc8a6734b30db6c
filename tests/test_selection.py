"""One rule-selection step: the evaluator selects the rules of a good once
(origin_rules.engine.select), reports what it applied in its Outcome (by identity, with the
traces), and coverage, explanations and ``Rulebook.rules_for`` read that instead of
selecting again or matching trace texts."""

from __future__ import annotations

from datetime import date

import origin_rules
from origin_rules.engine.output import to_determination
from origin_rules.model.bom import BOM
from origin_rules.rulebook.explain import one_line_reason
from origin_rules.ruletests.coverage import Coverage

ON = date(2026, 1, 1)
OTHER = [{"name": "mixing and blending", "country": "MX"}]  # a process, but not the fallback's

TEXT = """\
agreement "Sel" {
  parties = [US, MX, CA]

  rule 8708.99.06 "Tariff item" { change from any other heading }
  rule 8708.99 "Other parts" { rvc(transaction_value) >= 60% }

  rule 8708.21 "Belts, for vehicles" when end_use in [passenger_vehicle] {
    rvc(transaction_value) >= 70%
  }
  rule 8708.21 "Belts, other" { change from any other heading }

  rule 3824.99 "Chemical products" { change from any other heading }

  require for 8708.21 "Made in the region" {
    rvc(transaction_value) >= 10%
  }

  fallback "Reaction" for 38 {
    performed "chemical reaction" in parties
  }
}
"""


def _bom(hs: str, end_use: str | None = None, material_hs: str = "8708.99", value: str = "500",
         processes: list | None = None) -> BOM:
    product = {"id": "P", "hs": hs, "produced_in": "MX", "transaction_value": "1000"}
    if end_use:
        product["end_use"] = end_use
    if processes is not None:
        product["processes"] = processes
    return BOM.model_validate({
        "product": product,
        "materials": [{"id": "M", "hs": material_hs, "origin": "CN", "originating": False, "value": value}],
    })


def _titles(rules) -> list[str]:
    return [r.node.title for r in rules]


def test_a_coarse_code_applies_every_candidate_and_rules_for_agrees():
    book = origin_rules.loads({"sel.roo": TEXT})
    out = book.outcome(_bom("8708.99"), "Sel", ON)
    assert _titles(r for r, _ in out.applied) == ["Tariff item", "Other parts"]
    # each applied rule comes with its own trace, marked as a rule's
    assert all(t.kind == "rule" and t.source == r.node.span.where for r, t in out.applied)
    assert _titles(book.rules_for("Sel", "8708.99", ON)) == ["Tariff item", "Other parts"]
    # the finer code picks one
    out = book.outcome(_bom("8708.99.06", material_hs="8708.99"), "Sel", ON)
    assert _titles(r for r, _ in out.applied) == ["Tariff item"]
    assert _titles(book.rules_for("Sel", "8708.99.06", ON)) == ["Tariff item"]


def test_a_missing_end_use_applies_both_candidates_and_a_given_one_picks():
    book = origin_rules.loads({"sel.roo": TEXT})
    open_ = book.outcome(_bom("8708.21"), "Sel", ON)
    assert _titles(r for r, _ in open_.applied) == ["Belts, for vehicles", "Belts, other"]
    chosen = book.outcome(_bom("8708.21", end_use="passenger_vehicle"), "Sel", ON)
    assert _titles(r for r, _ in chosen.applied) == ["Belts, for vehicles"]
    assert _titles(book.rules_for("Sel", "8708.21", ON, end_use="passenger_vehicle")) == ["Belts, for vehicles"]
    other = book.outcome(_bom("8708.21", end_use="aftermarket"), "Sel", ON)
    assert _titles(r for r, _ in other.applied) == ["Belts, other"]
    # the requirement for 87.08.21 applied, and is reported with its trace
    assert [(req.node.title, t.kind) for req, t in other.requirements] == [("Made in the region", "require")]


def test_coverage_marks_what_the_outcome_reports_and_nothing_else():
    book = origin_rules.loads({"sel.roo": TEXT})
    cov = Coverage()
    cov.add_modules(book.parsed.modules, {"sel.roo": TEXT})
    cov.record(book.outcome(_bom("8708.99"), "Sel", ON))
    marked = sorted(i.label for i in cov.items.values() if i.exercised)
    assert marked == ['rule 8708.99 "Other parts"', 'rule 8708.99.06 "Tariff item"']
    # a fallback counts only when it held: tried and failed (no process) is not exercised
    cov.record(book.outcome(_bom("3824.99", material_hs="3824.10", processes=OTHER), "Sel", ON))
    kinds = {i.kind: i.exercised for i in cov.items.values() if i.kind in ("fallback",)}
    assert kinds == {"fallback": False}
    out = book.outcome(_bom("3824.99", material_hs="3824.10",
                            processes=[{"name": "chemical reaction", "country": "MX"}]), "Sel", ON)
    assert [(fb.node.title, t.result) for fb, t in out.fallbacks] == [("Reaction", True)]
    cov.record(out)
    assert {i.kind: i.exercised for i in cov.items.values() if i.kind == "fallback"} == {"fallback": True}


def test_the_one_line_reason_finds_the_rule_by_its_source_not_by_its_text():
    book = origin_rules.loads({"sel.roo": TEXT})
    # fails 3824.99's shift (the material is of the same heading); another process, so no fallback
    det = to_determination(book.outcome(_bom("3824.99", material_hs="3824.10", processes=OTHER), "Sel", ON))
    assert det.verdict == "does_not_qualify"
    assert one_line_reason(det).startswith(f"fails rule 3824.99 [{det.rule.source}]")


def test_a_range_is_indexed_by_its_hs_2022_codes_and_still_covers_the_others():
    """The plan expands a range over the HS 2022 codes it holds; a code of the range that
    HS 2022 does not list (8708.11, 8708.15) is still covered, found by the range itself."""
    text = 'agreement "R" {\n  parties = [US, MX, CA]\n  rule 8708.10..8708.99 "Parts" { change from any other heading }\n}\n'
    book = origin_rules.loads({"r.roo": text})
    plan = book.plan("R")
    assert set(plan.index) == {"870810", "870821", "870822", "870829", "870830", "870840", "870850",
                               "870870", "870880", "870891", "870892", "870893", "870894", "870895", "870899"}
    for code in ("8708.10", "8708.11", "8708.15", "8708.99", "8708.99.06"):
        assert _titles(book.rules_for("R", code, ON)) == ["Parts"], code
    assert book.rules_for("R", "8709.11", ON) == []


def test_a_remembered_selection_is_the_same_and_not_the_callers_to_change():
    """A selection that depends on the code and date only is remembered by the plan; one that
    depends on a fact of the good (`when end_use in ...`) is not, and ``rules_for`` hands out
    a copy: changing it changes nothing the evaluator selects."""
    book = origin_rules.loads({"sel.roo": TEXT})
    plan = book.plan("Sel")
    first = book.rules_for("Sel", "3824.99", ON)
    assert [r.node.title for r in first] == ["Chemical products"]
    first.clear()
    assert [r.node.title for r in book.rules_for("Sel", "3824.99", ON)] == ["Chemical products"]
    assert ("382499", ON) in plan.selections
    vehicle = book.rules_for("Sel", "8708.21", ON, end_use="passenger_vehicle")
    other = book.rules_for("Sel", "8708.21", ON, end_use="aftermarket")
    assert [r.node.title for r in vehicle] == ["Belts, for vehicles"]
    assert [r.node.title for r in other] == ["Belts, other"]
    assert ("870821", ON) not in plan.selections


DUPLICATE = """\
agreement "Dup" {
  parties = [US, MX, CA]

  rule 8708.10 "Bumpers" when end_use in [passenger_vehicle] { rvc(transaction_value) >= 60% }
  rule 8708.10..8708.29 "Range" { change from any other heading }
}
"""


def test_a_rule_selected_for_several_finer_codes_is_applied_once():
    """A coarse code (heading 8708) stands for every finer code: the range's rule is a rule
    of 8708.10 (after the bumpers' rule, whose `when` is unknown) and the rule of 8708.21, two
    different groups; it is applied once, in rulebook order (selection tells rules apart as
    objects)."""
    book = origin_rules.loads({"dup.roo": DUPLICATE})
    out = book.outcome(_bom("8708"), "Dup", ON)
    assert _titles(r for r, _ in out.applied) == ["Bumpers", "Range"]
    assert _titles(book.rules_for("Dup", "8708", ON)) == ["Bumpers", "Range"]


def test_a_good_that_originates_without_its_rule_shows_the_one_node_that_says_why():
    """Wholly obtained, or every material originating: the root holds one node saying so
    (holding, naming no material), and no rule is applied."""
    book = origin_rules.loads({"sel.roo": TEXT})
    for product, text in (({"wholly_obtained": True}, "wholly obtained or produced"),
                          ({}, "every material is originating")):
        bom = BOM.model_validate({
            "product": {"id": "P", "hs": "8708.99", "produced_in": "MX", "transaction_value": "1000", **product},
            "materials": [{"id": "M", "hs": "8708.99", "origin": "MX", "originating": True, "value": "500"}],
        })
        out = book.outcome(bom, "Sel", ON)
        assert out.verdict == "qualifies" and out.applied == []
        nodes = [n for n in out.trace.children if n.text in ("wholly obtained or produced", "every material is originating")]
        assert [(n.text, n.result, tuple(n.materials)) for n in nodes] == [(text, True, ())]
