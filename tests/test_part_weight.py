"""The weight of a part of the materials: ``weight(polymer of FILTER)`` over each material's
declared polymer content (``materials[i].polymer_weight_kg``), for GN11(o) chapter 39,
rule 1 ("the originating polymer content of headings 3901 through 3915 is not less than 50
percent by weight of the total polymer content"). The language (grammar, ROO021, ROO125,
the formatter), the BOM field (validation, schema, CSV), the engine against the reference
evaluator on hand-worked cases (a missing part weight lies between 0 and the material's
weight and is never guessed), the explanation's figures and the structural diff. Every
figure below is worked by hand in the comment beside it."""

from __future__ import annotations

import csv
import json
import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings

import origin_rules
from origin_rules.diff.normal import normalize
from origin_rules.diff.structural import structural_diff
from origin_rules.formatting.printer import format_module
from origin_rules.model import ast
from origin_rules.model.bom import BOM, BomError, bom_from_data, bom_json_schema
from origin_rules.rulebook.book import loads
from origin_rules.rulebook.explain import render
from origin_rules.rulebook.sources import parse_texts
from origin_rules.syntax.parser import parse
from origin_rules.testing.ast_strategies import comparisons

import reference_evaluator as reference

ON = date(2026, 1, 1)

# the worked example of docs/language.md, and a few more shapes
RULES = """agreement "A" {
  parties = [US, MX, CA]
  rule 39.01..39.15 {
    change from any other heading
    and weight(polymer of originating and hs in 39.01..39.15)
        >= 50% of weight(polymer of hs in 39.01..39.15)
  }
  rule 39.16 { weight(polymer of non_originating) <= 40% of weight }
  rule 39.17 { weight(polymer of hs in 39) <= 100% of weight(hs in 39) }
  rule 39.18 { weight(polymer, traced) >= 50% of weight(traced) }
}
"""


@pytest.fixture(scope="module")
def book():
    return origin_rules.loads({"rules.roo": RULES})


def _both(book, product: dict, materials: list[dict]) -> tuple[str, list[str]]:
    """The engine's verdict and missing fields, asserted equal to the reference's and to the
    deciding path's."""
    bom = BOM.model_validate({"product": {"id": "P", "produced_in": "MX", **product}, "materials": materials})
    det = book.evaluate(bom, under="A", as_of=ON)
    ref = reference.evaluate(book.parsed.programs, bom, "A", ON)
    assert det.verdict == ref.verdict == book.verdict(bom, under="A", as_of=ON)
    assert set(det.missing) <= set(ref.missing)
    return det.verdict, sorted(det.missing)


# a propylene copolymer compound of 3902.30 (100 kg): M1 polyethylene 3901.10 from CN
# (non-originating, 40 kg), M2 a polypropylene compound 3902.10 from MX (originating, 50 kg),
# M3 talc 2526.20 from CN (10 kg, outside 39.01-39.15: never weighed by rule 1)
COMPOUND = {"hs": "3902.30", "weight_kg": "100"}


def _compound(m1_polymer: str | None, m2_polymer: str | None) -> list[dict]:
    m1 = {"id": "M1", "hs": "3901.10", "origin": "CN", "originating": False, "weight_kg": "40"}
    m2 = {"id": "M2", "hs": "3902.10", "origin": "MX", "originating": True, "weight_kg": "50"}
    if m1_polymer is not None:
        m1["polymer_weight_kg"] = m1_polymer
    if m2_polymer is not None:
        m2["polymer_weight_kg"] = m2_polymer
    talc = {"id": "M3", "hs": "2526.20", "origin": "CN", "originating": False, "weight_kg": "10"}
    return [m1, m2, talc]


@pytest.mark.parametrize("m1, m2, expected", [
    ("40", "50", ("qualifies", [])),            # 50 >= 50% x 90 = 45
    ("40", "35", ("does_not_qualify", [])),     # 35 < 50% x 75 = 37.5 (whole materials: 50 >= 45)
    ("40", "40", ("qualifies", [])),            # 40 >= 50% x 80 = 40, exactly
    ("40", "39.99", ("does_not_qualify", [])),  # 39.99 < 50% x 79.99 = 39.995
    # M2's polymer P2 in [0, 50]: holds iff P2 >= 50% x (40 + P2), i.e. P2 >= 40: it decides
    ("40", None, ("insufficient_data", ["materials[1].polymer_weight_kg"])),
    # M1's polymer P1 in [0, 40]: 45 >= 50% x (P1 + 45) iff P1 <= 45: always
    (None, "45", ("qualifies", [])),
    # P1 in [0, 40]: 30 >= 50% x (P1 + 30) iff P1 <= 30: it decides
    (None, "30", ("insufficient_data", ["materials[0].polymer_weight_kg"])),
    # neither declared: P2 >= P1 holds for P2 = 50, P1 = 0 and fails for P2 = 0, P1 = 40
    (None, None, ("insufficient_data", ["materials[0].polymer_weight_kg", "materials[1].polymer_weight_kg"])),
])
def test_worked_example(book, m1, m2, expected):
    assert _both(book, COMPOUND, _compound(m1, m2)) == expected


def test_a_material_weighing_nothing_asks_nothing(book):
    # M2 weighs 0 kg: its polymer content can only be 0, so nothing is asked of it;
    # originating 0 >= 50% x (0 + 0): M1 declares none either -> holds
    materials = _compound("0", None)
    materials[1]["weight_kg"] = "0"
    assert _both(book, COMPOUND, materials) == ("qualifies", [])


def test_polymer_content_against_the_good_weight(book):
    # rule 39.16: non-originating polymer <= 40% x 100 = 40 kg
    good = {"hs": "3916.10", "weight_kg": "100"}
    resin = {"id": "R", "hs": "3901.10", "origin": "CN", "originating": False, "weight_kg": "50"}
    assert _both(book, good, [{**resin, "polymer_weight_kg": "40"}]) == ("qualifies", [])          # 40 <= 40
    assert _both(book, good, [{**resin, "polymer_weight_kg": "40.001"}]) == ("does_not_qualify", [])
    assert _both(book, good, [resin]) == ("insufficient_data", ["materials[0].polymer_weight_kg"])  # 0..50
    assert _both(book, good, [{**resin, "weight_kg": "40"}]) == ("qualifies", [])                   # 0..40 <= 40


def test_polymer_and_weight_of_the_same_material_are_bounded_together(book):
    # rule 39.17: polymer of the materials of ch. 39 <= their weight. Weighed apart, an
    # undeclared polymer content (0..40) against a missing weight (0..oo) could not be
    # compared; a material's polymer never exceeds its own weight, so it holds whatever they are
    good = {"hs": "3917.10"}
    hose = {"id": "H", "hs": "3917.21", "origin": "CN", "originating": False}
    assert _both(book, good, [hose]) == ("qualifies", [])
    assert _both(book, good, [{**hose, "polymer_weight_kg": "5"}]) == ("qualifies", [])  # W >= 5


def test_traced_through_sub_assemblies(book):
    # rule 39.18: the purchased materials' polymer >= 50% of their weight. Leaves: R 10 kg
    # (polymer 10) and F 12 kg (filler, polymer 0): 10 >= 50% x 22 = 11? no -> fails; with
    # F's polymer not declared (0..12): 10 + P >= 50% x 22 = 11 iff P >= 1: it decides
    good = {"hs": "3918.10"}
    sub = {"id": "S", "hs": "3918.90", "origin": "MX", "value": "10", "transaction_value": "10",
           "materials": [{"id": "R", "hs": "3901.10", "origin": "MX", "originating": True, "weight_kg": "10",
                          "polymer_weight_kg": "10"},
                         {"id": "F", "hs": "2526.20", "origin": "CN", "originating": False, "weight_kg": "12",
                          "polymer_weight_kg": "0"}]}
    assert _both(book, good, [sub]) == ("does_not_qualify", [])
    del sub["materials"][1]["polymer_weight_kg"]
    assert _both(book, good, [sub]) == ("insufficient_data", ["materials[0].materials[1].polymer_weight_kg"])


def test_explanation_shows_the_polymer_weights(book):
    bom = BOM.model_validate({"product": {"id": "P", "produced_in": "MX", **COMPOUND},
                              "materials": _compound("40", "35")})
    det = book.evaluate(bom, under="A", as_of=ON, explain="full")
    text = render(det, full=True)
    # 35 of the originating polymer; 75 in all; limit 50% x 75 = 37.5; short by 2.5 kg
    assert "polymer weight 35, base polymer weight 75" in text.replace(".00", "")
    assert "35 kg against a limit of 37.5 kg: short by 2.5 kg" in text.replace(".00", "").replace("37.50", "37.5")
    undecided = BOM.model_validate({"product": {"id": "P", "produced_in": "MX", **COMPOUND},
                                    "materials": _compound("40", None)})
    text = render(book.evaluate(undecided, under="A", as_of=ON, explain="full"), full=True)
    assert "- materials[1].polymer_weight_kg" in text  # an open range is not shown as a figure


# ---- language: check, format ------------------------------------------------------------------


def _codes(src: str) -> list[str]:
    return [d.code for d in parse_texts({"r.roo": src}).diagnostics]


HEAD = 'agreement "A" {\n  parties = [US]\n  rule 39.01 { '
TAIL = " }\n}\n"


@pytest.mark.parametrize("line", [
    "weight(polymer of originating) >= 50% of weight(polymer)",
    "weight(polymer) <= 40% of weight",
    "weight(polymer, traced) >= 10% of weight(traced)",
    "weight(polymer of hs in 39, traced) <= 30% of component_weight",
    "weight(originating) >= 50% of weight(polymer of hs in 39.01..39.15)",
    "weight(polymer in [yes]) <= 10% of weight",  # a declared fact named `polymer`: a filter, not a part
])
def test_well_formed_lines_are_clean(line):
    assert _codes(HEAD + line + TAIL) == []


def test_unknown_part_is_roo021():
    _, diags = parse(HEAD + "weight(polymers of originating) >= 50% of weight(polymer)" + TAIL, "r.roo")
    assert [d.code for d in diags] == ["ROO021"]
    assert "`polymer`" in (diags[0].help or "")


@pytest.mark.parametrize("line", [
    "value(polymer of non_originating) <= 50% of transaction_value",
    "weight(polymer of non_originating) <= 50% of transaction_value",
    "weight(polymer) <= 50% of value(originating)",
    "value(originating) >= 50% of weight(polymer)",
])
def test_polymer_with_money_is_roo125(line):
    assert _codes(HEAD + line + TAIL) == ["ROO125"]


def test_de_minimis_of_a_polymer_weight_is_roo125():
    src = 'agreement "A" {\n  parties = [US]\n  de_minimis weight <= 10% of weight(polymer)\n  rule 39.01 { CTH }\n}\n'
    assert _codes(src) == ["ROO125"]


def test_format_round_trips_every_form():
    module, diags = parse(RULES, "rules.roo")
    assert diags == []
    out = format_module(module)
    for form in ("weight(polymer of originating and hs in 39.01..39.15)", "weight(polymer, traced)",
                 "weight(polymer of non_originating)"):
        assert form in out
    again, _ = parse(out, "rules.roo")
    assert again == module and format_module(again) == out


@settings(max_examples=80, deadline=None)
@given(comparisons())
def test_generated_comparisons_round_trip(comparison):
    module, _ = parse('agreement "A" {\n  parties = [US]\n  rule 39.01 { CTH }\n}\n', "r.roo")
    agreement = module.items[0]
    rule = agreement.members[-1]
    rule = dataclasses.replace(rule, lines=(comparison,))
    module = dataclasses.replace(module, items=(dataclasses.replace(agreement, members=agreement.members[:-1] + (rule,)),))
    text = format_module(module)
    again, diags = parse(text, "r.roo")
    assert [d for d in diags if d.severity == "error"] == []
    assert format_module(again) == text


def test_parts_reach_the_ast():
    module, _ = parse(HEAD + "weight(polymer of originating, traced) >= 50% of weight(polymer)" + TAIL, "r.roo")
    line = module.items[0].members[-1].lines[0]
    assert isinstance(line, ast.Comparison)
    assert (line.measure.part, line.measure.traced, line.base.part, line.base.filter) == ("polymer", True, "polymer", None)


# ---- the structural diff -------------------------------------------------------------------------


def _program(body: str):
    return normalize(loads({"x.roo": f'agreement "Demo" {{\n  parties = [US, MX, CA]\n{body}\n}}\n'}).parsed.programs["Demo"])


def test_diff_reports_a_change_of_the_measure():
    whole = "  rule 39.01 { weight(originating and hs in 39) >= 50% of weight(hs in 39) }"
    part = "  rule 39.01 { weight(polymer of originating and hs in 39) >= 50% of weight(polymer of hs in 39) }"
    d = structural_diff(_program(whole), _program(part))
    assert len(d.changes) == 1
    assert "weight(polymer of" in d.changes[0].summary
    assert not _program(part).same_meaning(_program(whole))
    assert _program(part).same_meaning(_program(part.replace("polymer of originating and hs in 39", "polymer of hs in 39 and originating")))


# ---- BOM field -----------------------------------------------------------------------------------


def _bom(**material) -> dict:
    return {"product": {"id": "P", "hs": "3901.10"}, "materials": [{"id": "M", **material}]}


def test_polymer_weight_at_most_the_weight():
    assert bom_from_data(_bom(weight_kg="10", polymer_weight_kg="10")).materials[0].polymer_weight_kg == 10
    assert bom_from_data(_bom(polymer_weight_kg="3")).materials[0].polymer_weight_kg == 3  # weight not given
    with pytest.raises(BomError) as err:
        bom_from_data(_bom(weight_kg="10", polymer_weight_kg="10.5"), file="b.yaml")
    problem = err.value.problems[0]
    assert problem.path == "materials[0].polymer_weight_kg"
    assert "at most `weight_kg`" in problem.message and "10.5" in problem.message
    with pytest.raises(BomError):
        bom_from_data(_bom(polymer_weight_kg="-1"))


def test_polymer_weight_in_schema():
    prop = bom_json_schema()["$defs"]["Material"]["properties"]["polymer_weight_kg"]
    assert "polymer" in prop["description"] and "weight_kg" in prop["description"]


def test_polymer_weight_read_from_csv(tmp_path):
    path = tmp_path / "compound.csv"
    rows = [["product.id", "product.hs", "product.produced_in", "material.id", "material.hs", "material.origin",
             "material.originating", "material.weight_kg", "material.polymer_weight_kg"],
            ["C", "3902.30", "MX", "M1", "3901.10", "CN", "false", "40", "40"],
            ["C", "", "", "M2", "3902.10", "MX", "true", "50", ""]]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    bom = origin_rules.read_bom(path)
    assert [m.polymer_weight_kg for m in bom.materials] == [40, None]
    rows[1][-1] = "41"  # more than its 40 kg
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(BomError) as err:
        origin_rules.read_bom(path)
    assert err.value.problems[0].path.endswith("polymer_weight_kg")


# ---- what the rules ask ----------------------------------------------------------------------------


def test_rulebook_facts_lists_the_polymer_content(tmp_path):
    from typer.testing import CliRunner

    from origin_rules.cli import app

    (tmp_path / "r.roo").write_text(RULES, encoding="utf-8")
    result = CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = [r for r in json.loads(result.output) if r["kind"] == "part"]
    # rules 39.01..39.15, 39.16, 39.17 and 39.18 weigh it; nothing else asks a part
    assert rows == [{"kind": "part", "fact": "polymer", "codes": ["39.01..39.15", "39.16", "39.17", "39.18"], "words": {}}]
    text = CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path), "--format", "markdown"]).output
    assert "| part | `polymer` | a weight (39.01..39.15, 39.16, 39.17, 39.18) |" in text


def test_polymer_weight_read_from_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from origin_rules.files.boms import read_xlsx_boms

    wb = openpyxl.Workbook()
    for row in [["product.id", "product.hs", "material.id", "material.hs", "material.weight_kg",
                 "material.polymer_weight_kg"],
                ["C", "3902.30", "M1", "3901.10", 40, 37.5],
                ["C", "", "M2", "3902.10", 50, None]]:
        wb.active.append(row)
    wb.save(tmp_path / "compound.xlsx")
    records = list(read_xlsx_boms(tmp_path / "compound.xlsx"))
    assert [m.polymer_weight_kg for m in records[0].bom.materials] == [Decimal("37.5"), None]
