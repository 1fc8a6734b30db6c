"""origin_rules.diff.prove (`diff --prove`): the encoding decides as the engine does, a corpus
of edits classified with confirmed counterexamples and in agreement with the search, edits that
change nothing proven equivalent, and what it cannot encode answered `unknown`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import origin_rules
from origin_rules.diff.compare import Side, compare, normal_of
from origin_rules.diff.prove import FIGURES, Encoder, SideRules, good_codes, material_codes, prove
from origin_rules.diff.search import direction, grade
from origin_rules.diff.structural import Change
from origin_rules.formatting.printer import check_format

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "data" / "prove" / "base.roo"
ON = date(2026, 7, 1)

z3 = pytest.importorskip("z3")


def edited(tmp_path: Path, replacements: list[tuple[str, str]], name: str = "new.roo") -> Path:
    text = BASE.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def sides(new_path: Path) -> tuple[Side, Side]:
    a, b = origin_rules.load(BASE), origin_rules.load(new_path)
    return Side(a, "Demo", "base", (str(BASE),)), Side(b, "Demo", "new", (str(new_path),))


# ---- the pieces of the code space ---------------------------------------------------------------------


def test_material_codes_are_one_real_code_per_piece():
    # good 8708.30: the pieces are cut at its chapter, heading and subheading (then at 8708.99)
    codes = material_codes("870830", [], 6)
    assert "870830" in codes  # the good's own subheading
    assert any(c[:4] == "8708" and c != "870830" for c in codes)  # its heading, another subheading
    assert any(c[:2] == "87" and c[:4] != "8708" for c in codes)  # its chapter, another heading
    assert any(c[:2] != "87" for c in codes)  # another chapter
    from origin_rules.diff.normal import NSet

    cut = material_codes("870830", [NSet((("870899", "870899"),))], 6)
    assert "870899" in cut and len(cut) == len(codes) + 1  # 8708.99 alone (it ends its heading)
    assert len(material_codes("870830", [], 8)) == len(codes) and all(len(c) == 8 for c in material_codes("870830", [], 8))


def test_good_codes_split_subheadings_at_finer_items():
    assert good_codes([("8708", "8708")], []) == [
        "870810", "870821", "870822", "870829", "870830", "870840", "870850", "870870", "870880", "870891",
        "870892", "870893", "870894", "870895", "870899"]
    # a tariff item with a rule of its own under 8708.99: the subheading is cut at it
    assert good_codes([("870899", "870899")], [("87089906", "87089906")]) == ["87089900", "87089906", "87089907"]


# ---- the encoding decides as the engine ------------------------------------------------------------------

_BOOK = origin_rules.load(BASE)
_SIDE = Side(_BOOK, "Demo", "base")
_GOODS = good_codes(sorted(normal_of(_SIDE).rules), [])
AMOUNTS = (0, 1, 3, 10, 25, 40, 50, 60, 100, 250, 1000)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.data())
def test_the_encoding_decides_every_bom_of_its_class_as_the_engine(data):
    """A BOM of the class (every variable given) is qualified by the encoding exactly when the
    engine qualifies it, and the engine never finds a fact missing in one: the premise of an
    `equivalent` answer."""
    good = data.draw(st.sampled_from(_GOODS), label="good")
    day = data.draw(st.sampled_from([date(2019, 1, 1), date(2025, 1, 1), ON]), label="day")
    applies = SideRules(_SIDE).applies(good, day)
    enc = Encoder(z3, good, [applies]).build(3)
    solver = z3.Solver()
    solver.add(*enc.domain)
    count = data.draw(st.integers(0, 3), label="materials")
    for var, kind, size in enc.variables():
        if any(var is p for p in enc.present):
            solver.add(var == (int(str(var)[1:]) < count))
        elif kind == "bool":
            solver.add(var == data.draw(st.booleans()))
        elif kind == "choice":
            solver.add(var == data.draw(st.integers(0, size - 1)))
        elif kind == "amount":
            low = 1 if str(var) in FIGURES else 0
            solver.add(var == data.draw(st.sampled_from([a for a in AMOUNTS if a >= low])))
        else:
            solver.add(var == data.draw(st.sampled_from([0, 499, 500, 525, 1000])))
    assert solver.check() == z3.sat
    model = solver.model()
    bom = enc.bom(model, day)
    verdict = _BOOK.verdict(bom, "Demo", day)
    assert verdict != "insufficient_data", bom.to_json()
    assert (verdict == "qualifies") == z3.is_true(model.eval(enc.verdicts[0], model_completion=True)), bom.to_json()


# ---- a corpus of edits: every kind of change the structural diff knows --------------------------------------

BUMPERS = '''  rule 8708.10 "Bumpers, for passenger vehicles" when end_use in [passenger_vehicle] {
    change from any other heading and rvc(net_cost) >= 70%
  }
'''
TRUCKS = '''  rule 8708.10 "Bumpers, for light trucks" when end_use in [passenger_vehicle, light_truck] {
    change from any other heading and rvc(net_cost) >= 65%
  }
'''
CAP = '''  require for 87 "China content cap" from 2026-01-01 {
    value(non_originating and origin in [CN]) <= 20% of transaction_value
  }
'''

# (edit, replacements, kinds of change, the verdict worked out by hand)
EDITS = [
    ("raised", [("rvc(transaction_value) >= 60%", "rvc(transaction_value) >= 65%")], {"rule_changed"}, "stricter"),
    ("lowered", [("subheading and rvc(net_cost) >= 50%", "subheading and rvc(net_cost) >= 45%")], {"rule_changed"},
     "looser"),
    ("exception added", [("except 54.01..54.02", "except 52.04..52.12, 54.01..54.02")], {"rule_changed"}, "stricter"),
    ("alternative removed", [("    or max_nom(ex_works) <= 30%\n", "")], {"rule_changed"}, "stricter"),
    ("method changed", [("8708.99, any other heading and rvc(net_cost) >= 60%",
                         "8708.99, any other heading and rvc(transaction_value) >= 60%")], {"rule_changed"}, "both"),
    ("rule added", [('  rule 84.71 "ADP', '  rule 39.04 "PVC" { change from any other heading }\n  rule 84.71 "ADP')],
     {"rule_added"}, "looser"),
    ("rule removed", [('  rule 84.71 "ADP machines" { change from any other heading }\n', "")], {"rule_removed"},
     "stricter"),
    ("when variants reordered", [(BUMPERS + TRUCKS, TRUCKS + BUMPERS)], {"rules_reordered"}, "looser"),
    ("requirement added", [('  fallback "Chemical', '  require for 84 { value(non_originating and origin in [CN]) '
                                                   '<= 10% of transaction_value }\n  fallback "Chemical')],
     {"require_added"}, "stricter"),
    ("requirement removed", [(CAP, "")], {"require_removed"}, "looser"),
    ("requirement changed", [("origin in [CN]) <= 20%", "origin in [CN]) <= 10%")], {"require_changed"}, "stricter"),
    ("de minimis added", [("  set steel", "  de_minimis value <= 5% of transaction_value for 61\n  set steel")],
     {"de_minimis_added"}, "looser"),
    ("de minimis removed", [("  de_minimis value <= 10% of transaction_value except 50..63\n", "")],
     {"de_minimis_removed"}, "stricter"),
    ("de minimis raised", [("value <= 10% of transaction_value except 50..63", "value <= 15% of transaction_value except 50..63")],
     {"de_minimis_changed"}, "looser"),
    ("de minimis exclusion widened", [("exclude origin in [CN]", "exclude origin in [CN, RU]")],
     {"de_minimis_changed"}, "stricter"),
    # the rule's and the fallback's `in parties` now mean [MX, US]: both changed too
    ("party removed", [("parties = [US, MX, CA]", "parties = [US, MX]")],
     {"parties_changed", "rule_changed", "fallback_changed"}, "stricter"),
    ("effective earlier", [("effective = 2020-07-01", "effective = 2019-07-01")], {"effective_changed"}, "looser"),
    ("deeming narrowed", [("when imported_from in [CA, MX]", "when imported_from in [CA]")], {"deemed_changed"},
     "stricter"),
    ("declared figure raised", [("fact(brix_share) >= 50%", "fact(brix_share) >= 52.5%")], {"rule_changed"},
     "stricter"),
    ("condition widened", [("when good in [car_seat]", "when good in [car_seat, bus_seat]")], {"rule_changed"}, "both"),
    ("groups merged", [("(8501.32, 8501.52), (8537.10)", "(8501.32, 8501.52, 8537.10)")], {"rule_changed"}, "looser"),
    ("date window moved", [("until 2025-06-30 {", "until 2026-06-30 {"), ("from 2025-07-01 {", "from 2026-07-01 {")],
     {"rule_changed"}, "looser"),
    ("selector narrowed", [("rule 39.01..39.03", "rule 39.01..39.02")], {"rule_changed"}, "stricter"),
    ("named set narrowed", [("73.01..73.26", "73.01..73.25")], {"rule_changed"}, "both"),
    ("focus narrowed", [("rvc(focused_value, fob, 94.01, 94.03)", "rvc(focused_value, fob, 94.01)")],
     {"rule_changed"}, "looser"),
    ("ceiling made inclusive", [("< 50% of transaction_value", "<= 50% of transaction_value")], {"rule_changed"},
     "looser"),
]


@pytest.mark.parametrize("name, replacements, kinds, expected", EDITS, ids=[e[0] for e in EDITS])
def test_corpus_edit_is_proven_with_confirmed_counterexamples_and_agrees_with_search(
        tmp_path, name, replacements, kinds, expected):
    old, new = sides(edited(tmp_path, replacements))
    proved = compare(old, new, on=ON, run_search=False, run_proof=True)
    assert {c.kind for c in proved.structural.changes} == kinds
    assert proved.verdict == expected, proved.verdict_text
    wanted = {"stricter", "looser"} if expected == "both" else {expected}
    assert proved.proof.directions == wanted
    for f in proved.proof.findings:
        # every counterexample is one the engine confirms, on both paths
        assert old.verdict(f.bom, f.as_of) == f.old_verdict == old.book.evaluate(f.bom, "Demo", f.as_of).verdict
        assert new.verdict(f.bom, f.as_of) == f.new_verdict == new.book.evaluate(f.bom, "Demo", f.as_of).verdict
        assert direction(f.old_verdict, f.new_verdict) == f.direction
        assert grade(f.old_verdict, f.new_verdict) == 0  # qualifies against does_not_qualify / no_rule
    # the search is a subset: every decisive difference it finds, the proof finds
    searched = compare(old, new, on=ON, examples=100, seed=0)
    decisive = {f.direction for f in searched.search.findings if grade(f.old_verdict, f.new_verdict) == 0}
    assert decisive <= proved.proof.directions
    if decisive:
        assert proved.verdict != "equivalent"


# ---- edits that change nothing --------------------------------------------------------------------------------

SAME = [
    ("a change of chapter or heading is a change of heading",
     [("change from any other heading except 29.01..29.03",
       "change from any other chapter, any other heading except 29.01..29.03")]),
    ("a ceiling negated", [("value(non_originating and not origin in parties) < 50% of transaction_value",
                            "not value(non_originating and not origin in parties) >= 50% of transaction_value")]),
    ("a heading as its subheadings", [('rule 84.71 "ADP machines"', 'rule 8471.30..8471.90 "ADP machines"')]),
    ("de Morgan", [("or change from any other subheading and rvc(transaction_value) >= 60%",
                    "or not (not change from any other subheading or not rvc(transaction_value) >= 60%)")]),
    ("an alternative implied by another", [("    change from any other heading\n    or change from any other subheading"
                                            " and rvc(transaction_value) >= 60%",
                                            "    change from any other heading\n    or change from any other heading"
                                            " and rvc(net_cost) >= 99%\n    or change from any other subheading"
                                            " and rvc(transaction_value) >= 60%")]),
]


@pytest.mark.parametrize("name, replacements", SAME, ids=[s[0] for s in SAME])
def test_edits_that_mean_the_same_are_proven_equivalent(tmp_path, name, replacements):
    old, new = sides(edited(tmp_path, replacements))
    result = compare(old, new, on=ON, run_search=False, run_proof=True)
    assert result.structural.changes, "the normal forms differ: only the proof can tell they mean the same"
    assert result.verdict == "equivalent", result.verdict_text
    assert result.verdict_text == "equivalent (proven for BOMs of up to 8 materials with every fact given)"


def _every_rule(old_n, new_n) -> list[Change]:
    items = tuple(sorted(set(old_n.rules) | set(new_n.rules)))
    return [Change("rule_changed", "every rule", [], items=items)]


@pytest.mark.parametrize("rewrite", ["formatted", "reordered", "aliases"])
def test_the_formatters_rewrites_and_cosmetic_edits_are_proven_equivalent(tmp_path, rewrite):
    text = BASE.read_text()
    if rewrite == "formatted":
        result = check_format(text.replace("\n  ", "\n      ").replace(" {\n", "\n{\n"), str(BASE))
        assert result.error is None and result.formatted != text
        text = result.formatted
    elif rewrite == "reordered":  # the rules of different codes in another order, the alternatives too
        block = '  rule 94.03 "Other furniture" {\n    rvc(focused_value, fob, 94.01, 94.03) >= 40%\n    or max_nom(ex_works) <= 30%\n  }\n'
        text = text.replace(block, "").replace("  set steel", block + "\n  set steel")
        text = text.replace("rvc(focused_value, fob, 94.01, 94.03) >= 40%\n    or max_nom(ex_works) <= 30%",
                            "max_nom(ex_works) <= 30%\n    or rvc(focused_value, fob, 94.03, 94.01) >= 40%")
    else:
        text = text.replace("change from any other heading", "CTH").replace("change from any other chapter", "CC")
    path = tmp_path / "new.roo"
    path.write_text(text)
    old, new = sides(path)
    assert compare(old, new, on=ON, run_search=False).structural.same_meaning
    # proven, not only normalized: every good of every rule encoded on both sides
    old_n, new_n = normal_of(old), normal_of(new)
    result = prove(_every_rule(old_n, new_n), old, new, old_n, new_n, on=ON, assume_same=False)
    assert result.verdict == "equivalent", result.text
    assert result.goods >= 10


# ---- what it cannot encode, and the budget ----------------------------------------------------------------------


def test_a_construct_it_cannot_encode_is_unknown_never_equivalent(tmp_path):
    old, new = sides(edited(tmp_path, [("value(originating and hs in steel) >= 70% of value(hs in steel)",
                                        "value(originating and hs in steel, traced) >= 70% of value(hs in steel, traced)")]))
    result = compare(old, new, on=ON, run_search=False, run_proof=True)
    assert result.verdict == "unknown"
    assert "`traced` sum" in result.proof.reason
    assert result.verdict_text.startswith("unknown (a `traced` sum")


def test_out_of_time_is_unknown(tmp_path):
    old, new = sides(edited(tmp_path, [("parties = [US, MX, CA]", "parties = [US, MX]")]))
    result = compare(old, new, on=ON, run_search=False, run_proof=True, timeout=0.1)
    assert result.verdict in ("unknown", "stricter")
    if result.verdict == "unknown":
        assert "out of time after 0.1 s" in result.proof.reason


def test_the_bound_on_materials_is_the_bound_proven(tmp_path):
    # the groups of `except more than one of` need two materials to differ: none with one
    old, new = sides(edited(tmp_path, [("(8501.32, 8501.52), (8537.10)", "(8501.32, 8501.52, 8537.10)")]))
    one = compare(old, new, on=ON, run_search=False, run_proof=True, materials=1)
    assert one.verdict == "equivalent"
    assert one.verdict_text == "equivalent (proven for BOMs of up to 1 materials with every fact given)"
    two = compare(old, new, on=ON, run_search=False, run_proof=True, materials=2)
    assert two.verdict == "looser"
    assert len(two.proof.findings[0].bom.materials) == 2


# ---- the shipped USMCA rulebook --------------------------------------------------------------------------------


def test_a_threshold_change_on_a_shipped_usmca_rule_is_classified_with_a_confirmed_counterexample(tmp_path):
    import shutil

    copy = tmp_path / "usmca"
    shutil.copytree(ROOT / "rules" / "usmca", copy)
    section = copy / "section-17-transport.roo"
    text = section.read_text()
    before = ("8708.99 where part_of in [mounted_brake_linings, brakes]\n       and rvc(net_cost) >= 70%")
    assert text.count(before) == 2
    section.write_text(text.replace(before, before.replace("70%", "72%"), 1))
    a, b = origin_rules.load(ROOT / "rules" / "usmca"), origin_rules.load(copy)
    old, new = Side(a, "USMCA", "USMCA"), Side(b, "USMCA", "USMCA (edited)")
    result = compare(old, new, on=ON, run_search=False, run_proof=True)
    assert result.verdict == "stricter", result.verdict_text
    f = result.proof.findings[0]
    assert f.bom.product.hs == "8708.30"
    assert (old.verdict(f.bom, f.as_of), new.verdict(f.bom, f.as_of)) == ("qualifies", "does_not_qualify")
    assert "against 72%" in f.new_reason


# ---- the command line ------------------------------------------------------------------------------------------


def _cli(*args: str, process: bool = False) -> subprocess.CompletedProcess:
    """``origin-rules ARGS`` run from the top of the repository: in this process (typer's
    CliRunner), or with ``process`` as its own process, as a user runs it."""
    if process:
        return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=ROOT)
    from typer.testing import CliRunner

    from origin_rules.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_cli_prove_with_expect(tmp_path):
    new = edited(tmp_path, [("rvc(transaction_value) >= 60%", "rvc(transaction_value) >= 65%")])
    ok = _cli("diff", str(BASE), str(new), "--as-of", "2026-07-01", "--prove", "--expect", "stricter", process=True)
    assert ok.returncode == 0, ok.stderr
    assert "Proof (z3; up to 8 materials; 1 good checked; as of 2026-07-01): stricter (never looser" in ok.stdout
    assert "OK: expected stricter: proven" in ok.stdout
    bad = _cli("diff", str(BASE), str(new), "--as-of", "2026-07-01", "--prove", "--expect", "looser", "--format", "json")
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    proof = doc["comparisons"][0]["proof"]
    assert proof["verdict"] == "stricter" and proof["proven"] is True and proof["missing_facts"] == "excluded"
    assert proof["findings"][0]["evidence"] == "decisive"
    assert doc["expectation_met"] is False
    usage = _cli("diff", str(BASE), str(new), "--prove", "--no-search")
    assert usage.returncode == 2


def test_cli_saves_counterexamples_that_evaluate_confirms(tmp_path):
    new = edited(tmp_path, [("subheading and rvc(net_cost) >= 50%", "subheading and rvc(net_cost) >= 45%")])
    out = _cli("diff", str(BASE), str(new), "--as-of", "2026-07-01", "--prove", "--save", str(tmp_path / "found"))
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "found").iterdir())
    assert [f.name for f in files] == ["Demo-looser.yaml"]
    for rules, verdict in ((BASE, "does_not_qualify"), (new, "qualifies")):
        shown = _cli("evaluate", str(files[0]), "--rules", str(rules), "--under", "Demo", "--as-of", "2026-07-01",
                     "--format", "json")
        assert json.loads(shown.stdout)["verdict"] == verdict, shown.stdout


def test_cli_prove_unknown_does_not_confirm_an_intent(tmp_path):
    new = edited(tmp_path, [("value(hs in steel)", "value(hs in steel, traced)")])
    out = _cli("diff", str(BASE), str(new), "--as-of", "2026-07-01", "--prove", "--expect", "equivalent")
    assert out.returncode == 1
    assert "FAILED: expected equivalent, but it could not be proven: a `traced` sum" in out.stdout


def test_the_command_line_starts_without_z3():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom origin_rules.cli import app\n"
            "CliRunner().invoke(app, ['--help'])\nCliRunner().invoke(app, ['diff', '--help'])\n"
            "print('z3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


# ---- the search's own corpus (tests/data/diff) -------------------------------------------------------------

SEARCH_DATA = ROOT / "tests" / "data" / "diff"


@pytest.mark.parametrize("edited_file, expected", [
    ("raised.roo", "stricter"), ("lowered.roo", "looser"), ("alternative-removed.roo", "stricter"),
    ("exception-added.roo", "stricter"), ("mixed.roo", "both"),
])
def test_the_search_corpus_is_proven_as_the_search_classifies_it(edited_file, expected):
    a, b = origin_rules.load(SEARCH_DATA / "base.roo"), origin_rules.load(SEARCH_DATA / edited_file)
    old, new = Side(a, "Demo", "base"), Side(b, "Demo", edited_file)
    result = compare(old, new, on=ON, run_search=False, run_proof=True)
    assert result.verdict == expected, result.verdict_text
    for f in result.proof.findings:
        assert direction(old.verdict(f.bom, f.as_of), new.verdict(f.bom, f.as_of)) == f.direction
