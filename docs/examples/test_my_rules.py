"""Property tests of a rule file, with the strategies of `origin_rules.testing`.

Copy this file next to your own rules, point RULES at them, and run `pytest`. Each test
states something that must hold for *every* bill of materials, and hypothesis looks for a
BOM that breaks it: BOMs aimed at a rule (its HS codes, the values around its thresholds,
origins in and out of the country sets it names). When one is found, hypothesis shrinks it
to a minimal BOM and prints it. See docs/property-testing.md.

Here the rules are the shipped USMCA rulebook and its hypothetical 2026 review scenarios.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from hypothesis import given, settings

import origin_rules
from origin_rules.testing import aim_at, boms_aimed_at, boms_for_aim

RULES = Path(__file__).resolve().parents[2] / "rules"  # your rule files or folder
BOOK = origin_rules.load(RULES)  # parse and check once, evaluate many
ON = date(2026, 7, 1)
AGREEMENT = "USMCA"
SCENARIO = "USMCA review 2026: China content cap"

# Reproducible in CI: the same examples on every run (derandomize) and no example database.
reproducible = settings(max_examples=200, deadline=None, derandomize=True, database=None)


@reproducible
@given(boms_aimed_at(BOOK, AGREEMENT, hs="8708.30"))
def test_brakes_made_outside_the_parties_never_qualify(bom):
    """Art. 4.2: production must take place in the territory of the parties."""
    if bom.product.produced_in not in BOOK.parties(AGREEMENT):
        assert BOOK.verdict(bom, AGREEMENT, ON) == "does_not_qualify"


@reproducible
@given(boms_aimed_at(BOOK, AGREEMENT, hs="8708.30"))
def test_an_originating_material_never_costs_qualification(bom):
    """Monotonicity: declaring one more material originating never turns `qualifies` into
    anything else (true of rules without `not` and without floors on non-originating sums)."""
    before = BOOK.verdict(bom, AGREEMENT, ON)
    for i, material in enumerate(bom.materials):
        if material.originating is False and not material.materials:
            better = bom.model_copy(update={"materials": tuple(
                m.model_copy(update={"originating": True}) if k == i else m for k, m in enumerate(bom.materials))})
            if before == "qualifies":
                assert BOOK.verdict(better, AGREEMENT, ON) == "qualifies", better.to_json()


@reproducible
@given(boms_aimed_at(BOOK, SCENARIO, hs="84, 85, 87"))
def test_the_review_scenario_is_never_looser_than_the_agreement(bom):
    """What `origin-rules diff rules/ --under USMCA --vs SCENARIO --expect stricter` checks,
    written as a test: a BOM that qualifies under the scenario qualifies under the agreement."""
    if BOOK.verdict(bom, SCENARIO, ON) == "qualifies":
        assert BOOK.verdict(bom, AGREEMENT, ON) == "qualifies", bom.to_json()


# The aim is data: read it, or change it. Here: the seat-belt rules (8708.21) with their
# end uses, at most two materials, and codes just outside the selector too (`around`).
SEAT_BELTS = replace(aim_at(BOOK, AGREEMENT, hs="8708.21", around=True), max_materials=2)


@reproducible
@given(boms_for_aim(SEAT_BELTS))
def test_a_determination_explains_every_verdict(bom):
    """The explained evaluation and the fast verdict always agree, and a verdict other than
    `qualifies` always comes with a reason or the missing data."""
    det = BOOK.evaluate(bom, AGREEMENT, ON)
    assert det.verdict == BOOK.verdict(bom, AGREEMENT, ON)
    if det.verdict == "insufficient_data":
        assert det.missing
