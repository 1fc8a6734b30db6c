"""origin_rules.diff.search and .compare: seeded edits classified, counterexamples real and small."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import pytest

import origin_rules
from origin_rules.diff.compare import Side, compare
from origin_rules.diff.search import classify, direction, grade

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "diff"
ON = date(2026, 7, 1)


def sides(old: str, new: str) -> tuple[Side, Side]:
    a, b = origin_rules.load(DATA / old), origin_rules.load(DATA / new)
    return Side(a, "Demo", old, (str(DATA / old),)), Side(b, "Demo", new, (str(DATA / new),))


_CACHE: dict = {}


def run(edited: str, seed: int = 0, examples: int = 200):
    key = (edited, seed, examples)
    if key not in _CACHE:
        _CACHE[key] = compare(*sides("base.roo", edited), on=ON, examples=examples, seed=seed)
    return _CACHE[key]


# ---- the ordering of verdicts -------------------------------------------------------------------------


def test_direction_and_grade_of_verdict_pairs():
    assert direction("qualifies", "does_not_qualify") == "stricter"
    assert direction("qualifies", "insufficient_data") == "stricter"
    assert direction("insufficient_data", "does_not_qualify") == "stricter"
    assert direction("no_rule", "qualifies") == "looser"
    assert direction("does_not_qualify", "insufficient_data") == "looser"
    assert direction("no_rule", "does_not_qualify") is None
    assert direction("qualifies", "qualifies") is None
    assert grade("qualifies", "no_rule") == 0
    assert grade("insufficient_data", "qualifies") == 1
    assert grade("insufficient_data", "does_not_qualify") == 2
    assert classify(set()) == "equivalent"
    assert classify({"stricter", "looser"}) == "mixed"


# ---- seeded edits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("edited, expected", [
    ("raised.roo", "stricter"),
    ("lowered.roo", "looser"),
    ("alternative-removed.roo", "stricter"),
    ("exception-added.roo", "stricter"),
    ("mixed.roo", "mixed"),
])
def test_seeded_edits_are_classified_with_a_shrunk_counterexample(edited, expected):
    result = run(edited)
    assert result.verdict == expected
    findings = result.search.findings
    assert {f.direction for f in findings} == ({"stricter", "looser"} if expected == "mixed" else {expected})
    old, new = result.old, result.new
    for f in findings:
        assert f.shrunk and f.origin == "search"
        assert f.strong, "a difference involving `qualifies` was found"
        # the verdicts reported are the verdicts, by the fast path and the full evaluation
        assert old.verdict(f.bom, f.as_of) == f.old_verdict == old.book.evaluate(f.bom, "Demo", f.as_of).verdict
        assert new.verdict(f.bom, f.as_of) == f.new_verdict == new.book.evaluate(f.bom, "Demo", f.as_of).verdict
        assert direction(f.old_verdict, f.new_verdict) == f.direction
        # minimal: one material does it for each of these edits
        assert len(f.bom.materials) == 1, f.bom.to_json()


def test_raised_threshold_counterexample_sits_between_the_thresholds():
    f = run("raised.roo").search.findings[0]
    bom = f.bom
    vnm = sum(m.value for m in bom.materials if not m.originating)
    rvc = (bom.product.transaction_value - vnm) * 100 / bom.product.transaction_value
    assert 60 <= rvc < 65
    assert "against 65%" in f.new_reason


def test_exception_counterexample_uses_the_new_exception():
    f = run("exception-added.roo").search.findings[0]
    assert f.bom.product.hs.startswith("61")
    assert any(m.hs and "5204" <= m.hs.replace(".", "")[:4] <= "5212" for m in f.bom.materials)


def test_relayout_needs_no_search():
    result = run("relayout.roo")
    assert result.structural.same_meaning
    assert result.search is None
    assert result.verdict == "equivalent"
    assert result.verdict_text.startswith("equivalent (no change in meaning")


def test_the_same_seed_gives_the_same_run():
    a = compare(*sides("base.roo", "mixed.roo"), on=ON, examples=60, seed=11)
    b = compare(*sides("base.roo", "mixed.roo"), on=ON, examples=60, seed=11)
    assert a.search.to_dict() == b.search.to_dict()


def test_equivalence_is_never_claimed_as_proven():
    # a change the evaluator cannot see: a title only; and a threshold no generated BOM can
    # tell apart (RVC 60% -> 60.001% on round amounts is still found or not: either way the
    # text says how many examples were tried)
    result = compare(*sides("base.roo", "lowered.roo"), on=ON, examples=5, seed=3)
    doc = result.search.to_dict()
    assert doc["proven"] is False
    if result.search.verdict == "equivalent":
        assert result.search.text == f"equivalent (no difference found in {result.search.examples} examples)"


# ---- the shipped rulebook and its review scenarios --------------------------------------------------------


def _records():
    from origin_rules.files.boms import read_boms

    return [r for f in sorted((ROOT / "examples" / "boms").glob("*.yaml")) for r in read_boms(f)]


@pytest.fixture(scope="module")
def usmca(shipped_rulebook):
    return shipped_rulebook


def test_china_cap_scenario_flips_products_of_the_portfolio(usmca):
    result = compare(Side(usmca, "USMCA", "USMCA"), Side(usmca, "USMCA review 2026: China content cap", "cap"),
                     boms=_records(), on=ON, examples=100)
    flips = {f.product_id: f for f in result.impact.flips}
    assert {"BRK-100", "BMP-330", "BAT-760"} <= set(flips)
    assert flips["BRK-100"].direction == "lost"
    assert "origin in non_market" in flips["BRK-100"].new_reason
    assert result.impact.count("gained") == 0
    assert result.verdict == "stricter"
    assert any(f.direction == "stricter" for f in result.search.findings)


def test_tracing_scenario_finds_the_traced_vehicle(usmca):
    name = "USMCA review 2026: China content tracing"
    result = compare(Side(usmca, "USMCA", "USMCA"), Side(usmca, name, name), boms=_records(), on=ON, examples=50)
    assert "PV-EV-01" in [f.product_id for f in result.impact.flips]
    assert result.verdict == "stricter"
    # whatever the search found, the vehicle of the portfolio is a counterexample, simplified
    stricter = [f for f in result.search.findings if f.direction == "stricter"]
    assert stricter
    for f in stricter:
        assert result.old.verdict(f.bom, f.as_of) == "qualifies"
        assert result.new.verdict(f.bom, f.as_of) != "qualifies"


# ---- scale ----------------------------------------------------------------------------------------------------


def test_two_1000_rule_rulebooks_differing_in_one_rule_are_searched_in_under_a_minute():
    sys.path.insert(0, str(ROOT))
    try:
        from bench.diff import books
    finally:
        sys.path.remove(str(ROOT))
    old, new = books(1000)
    start = time.perf_counter()
    result = compare(Side(old, "Bench", "old"), Side(new, "Bench", "new"), on=date(2026, 1, 1), examples=200)
    elapsed = time.perf_counter() - start
    assert [c.summary for c in result.structural.changes] == [
        '8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 65%']
    assert result.verdict == "stricter"
    assert elapsed < 60, f"diff took {elapsed:.1f} s"
