"""A plan compiles the lines of a rule only when a good first needs them, and the lazily
compiled rule decides as the eager one did."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import origin_rules
from origin_rules.model.bom import BOM

ROOT = Path(__file__).resolve().parent.parent


def test_one_evaluation_compiles_only_the_rules_it_meets():
    book = origin_rules.load([ROOT / "rules" / "usmca"])
    bom = BOM.model_validate({
        "product": {"id": "B", "hs": "8714.10", "produced_in": "MX", "transaction_value": "1000"},
        "materials": [{"id": "M", "hs": "7318.15", "origin": "CN", "originating": False, "value": "100"}]})
    det = book.evaluate(bom, under="USMCA", as_of=date(2026, 1, 1))
    assert det.verdict == "qualifies"  # 73.18 -> 87.14: change from any other heading
    plan = book.plan("USMCA")
    rules = list({id(r): r for group in plan.index.values() for r in group}.values())
    rules += [r for pairs in plan.wide.values() for _, r in pairs]
    built = {id(r) for r in rules if r._built is not None}
    assert 0 < len(built) < 20 < len(rules)
    # every rule can still be compiled, and compiling it twice gives the same functions
    some = rules[0]
    assert some.criteria is some.criteria and len(some.criteria) == len(some.node.criteria)


def test_requirements_and_fallbacks_compile_their_lines_only_when_they_apply():
    book = origin_rules.load([ROOT / "rules" / "usmca"])
    plan = book.plan("USMCA")
    assert all(x._built is None for x in [*plan.requires, *plan.fallbacks])
    bom = BOM.model_validate({
        "product": {"id": "B", "hs": "8714.10", "produced_in": "MX", "transaction_value": "1000"},
        "materials": [{"id": "M", "hs": "7318.15", "origin": "CN", "originating": False, "value": "100"}]})
    assert book.evaluate(bom, under="USMCA", as_of=date(2026, 1, 1)).verdict == "qualifies"
    built = [x for x in [*plan.requires, *plan.fallbacks] if x._built is not None]
    assert len(built) < len(plan.requires) // 4
    # a requirement compiled on demand has one deciding and one explaining function per line
    req = plan.requires[0]
    assert len(req.criteria) == len(req.fast) == len(req.node.criteria)
