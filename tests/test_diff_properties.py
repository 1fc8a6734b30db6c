"""Properties of the diff on generated rulebooks (origin_rules.testing.rulebook_strategies)
and BOMs aimed at them (origin_rules.testing.bom_strategies).

* Cosmetic edits (operands of `and`/`or`, body lines, items of HS sets and country lists in
  another order, the file reprinted by the formatter) give the same normal form, and the
  evaluator agrees: the verdicts do not change. This is what "no change in meaning" rests on.
* A rulebook diffed with itself has no change.
* Whenever the structural diff says two rulebooks mean the same, their verdicts agree.
* Every counterexample the search reports is real.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from origin_rules.model import ast as A
from origin_rules.diff.compare import Side, normal_of
from origin_rules.diff.search import search
from origin_rules.diff.structural import structural_diff
from origin_rules.formatting.printer import format_module
from origin_rules.rulebook.book import loads
from origin_rules.syntax.parser import parse
from origin_rules.testing.bom_strategies import boms_for, dates_for
from origin_rules.testing.rulebook_strategies import rulebooks

from conftest import examples

SETTINGS = settings(max_examples=examples(25), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def reversed_everywhere(node):
    """The same AST with every commutative list reversed: operands of `and`/`or`, the
    criteria of a body, HS set items, tariff-shift sources, word lists."""
    if isinstance(node, tuple):
        return tuple(reversed_everywhere(n) for n in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, (A.Span,)):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        if f.name in ("span", "base_span") or not f.init:
            continue
        value = getattr(node, f.name)
        new = reversed_everywhere(value)
        if isinstance(node, (A.And, A.Or)) and f.name == "operands":
            new = tuple(reversed(new))
        elif isinstance(node, A.HsSetExpr) and f.name == "items":
            new = tuple(reversed(new))
        elif isinstance(node, A.WordList) and f.name == "words":
            new = tuple(reversed(new))
        elif isinstance(node, A.Change) and f.name == "sources":
            new = tuple(reversed(new))
        elif isinstance(node, (A.Rule, A.Require)) and f.name == "lines":
            new = tuple(reversed(new))
        changes[f.name] = new
    return dataclasses.replace(node, **changes)


def cosmetic_variant(text: str) -> str:
    module, _ = parse(text, "gen.roo")
    module = dataclasses.replace(module, items=reversed_everywhere(module.items), comments=())
    return format_module(module)


@SETTINGS
@given(st.data())
def test_cosmetic_variants_mean_the_same_and_evaluate_the_same(data):
    text = data.draw(rulebooks(max_scenarios=1))
    variant = cosmetic_variant(text)
    a, b = loads({"gen.roo": text}), loads({"gen.roo": variant})
    assert a.names == b.names
    for name in a.names:
        na, nb = normal_of(Side(a, name, "a")), normal_of(Side(b, name, "b"))
        assert structural_diff(na, nb).changes == [], variant
        assert structural_diff(na, na).changes == []
    for _ in range(3):
        bom = data.draw(boms_for(text))
        on = data.draw(dates_for(text))
        for name in a.names:
            assert a.verdict(bom, name, on) == b.verdict(bom, name, on), (name, bom.to_json(), variant)


@settings(SETTINGS, max_examples=examples(8),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.nested_given])
@given(st.data())
def test_same_meaning_means_same_verdicts_and_findings_are_real(data):
    first = data.draw(rulebooks(max_scenarios=0, max_groups=3))
    second = data.draw(rulebooks(max_scenarios=0, max_groups=3))
    a, b = loads({"a.roo": first}), loads({"b.roo": second})
    old, new = Side(a, "Pact", "a"), Side(b, "Pact", "b")
    diff = structural_diff(normal_of(old), normal_of(new))
    assert all(c.summary.strip() for c in diff.changes)
    if diff.same_meaning:
        for _ in range(3):
            bom = data.draw(boms_for(first))
            assert old.verdict(bom, date(2026, 1, 1)) == new.verdict(bom, date(2026, 1, 1))
        return
    result = search(diff.changes[:2], old, new, diff.old, diff.new, budget=8,
                    seed=data.draw(st.integers(0, 3)), on=date(2026, 1, 1))
    for f in result.findings:
        assert old.verdict(f.bom, f.as_of) == f.old_verdict
        assert new.verdict(f.bom, f.as_of) == f.new_verdict
        assert f.old_verdict != f.new_verdict
