"""Properties of evaluation that hold whatever the rules and the data.

Rulebooks and BOMs come from ``origin_rules.testing``; each property is checked on the
compiled evaluator and on the reference evaluator (tests/reference_evaluator.py), so a
failure says which of the two broke it.

* Monotonicity: a stricter threshold (a floor raised, a ceiling lowered, ``not`` flipping
  the direction) never loosens a verdict; a line widened with ``or`` never tightens one; a
  scenario that only adds requirements is never looser than its base; with no ``not`` and
  no lower bound on non-originating content, a material becoming originating never makes a
  good fail.
* Determinism: two evaluations give the same determination; the order of materials does not
  matter (missing fields are renamed with the materials); nor does the hash seed of the
  Python process.
* De minimis never changes VNM, VOM or any RVC / MaxNOM figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import origin_rules
from origin_rules.model import ast
from origin_rules.model.bom import BOM
from origin_rules.syntax.parser import parse
from origin_rules.testing.bom_strategies import boms, boms_for, dates_for, shuffled
from origin_rules.testing.rulebook_strategies import TIMELINE, criteria_texts, require_texts, rulebooks

import reference_evaluator as reference
from conftest import examples

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = settings(max_examples=examples(40, nightly=300), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: How far a verdict lets a good in: not qualifying < undecided < qualifying.
RANK = {"does_not_qualify": 0, "no_rule": 0, "insufficient_data": 1, "qualifies": 2}


def load(text: str) -> origin_rules.Rulebook:
    return origin_rules.loads({"rules.roo": text})


def verdicts(book: origin_rules.Rulebook, bom: BOM, under: str, as_of: date) -> tuple[str, str]:
    """(engine verdict, reference verdict)."""
    engine = book.evaluate(bom, under=under, as_of=as_of).verdict
    ref = reference.evaluate(book.parsed.programs, bom, under, as_of).verdict
    return engine, ref


# ---- editing rule text by the spans of its AST ------------------------------------------------


def _offset(text: str, line: int, column: int) -> int:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts[line - 1] + column - 1


def replace_span(text: str, span: ast.Span, new: str) -> str:
    start = _offset(text, span.line, span.column)
    end = _offset(text, span.end_line, span.end_column)
    return text[:start] + new + text[end:]


def members(text: str):
    """Every rule, requirement and de minimis line of the file, with the line range it spans."""
    module, diagnostics = parse(text, "rules.roo")
    assert module is not None, diagnostics
    for item in module.items:
        if isinstance(item, (ast.Agreement, ast.Scenario)):
            for member in item.members:
                if isinstance(member, (ast.Rule, ast.Require, ast.DeMinimis)):
                    yield member


def thresholds(text: str, rule_line: int | None = None, rules_only: bool = False) -> list[tuple[ast.Percent, int]]:
    """Thresholds with the way that makes each stricter (+1 raise it, -1 lower it): those of
    the rule starting on ``rule_line`` (every rule when None); unless ``rules_only``, those
    of every requirement, and of the de minimis lines when no tariff shift sits under a
    ``not`` (de minimis makes shifts easier, so under ``not`` it makes criteria harder)."""
    found: list[tuple[ast.Percent, int]] = []
    negated_shift = False

    def walk(node, flips: int, keep: bool) -> None:
        nonlocal negated_shift
        if isinstance(node, (ast.And, ast.Or)):
            for o in node.operands:
                walk(o, flips, keep)
        elif isinstance(node, ast.Not):
            walk(node.operand, flips + 1, keep)
        elif isinstance(node, ast.Change):
            negated_shift = negated_shift or flips % 2 == 1
        elif isinstance(node, ast.Comparison) and keep:
            floor = node.op in (">=", ">")
            found.append((node.share, (1 if floor else -1) * (-1 if flips % 2 else 1)))

    policies = []
    for member in members(text):
        if isinstance(member, ast.DeMinimis):
            policies.append((member.share, -1))
            continue
        if isinstance(member, ast.Require):
            keep = not rules_only
        else:
            keep = rule_line is None or member.span.line == rule_line
        for criterion in member.criteria:
            walk(criterion, 0, keep)
    return found + ([] if negated_shift or rules_only else policies)


def _percent(value: Decimal) -> str:
    return format(value.normalize(), "f") + "%"


def _applied_rule_line(book, bom, under, as_of) -> int | None:
    rule = book.evaluate(bom, under=under, as_of=as_of).rule
    return int(rule.source.rsplit(":", 1)[1]) if rule is not None else None


#: Mostly criteria with a threshold, so that moving one often matters.
THRESHOLD_HEAVY = {"change": 1, "rvc": 4, "sum": 3, "performed": 0, "wholly": 0}

# ---- monotonicity --------------------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_a_stricter_threshold_never_loosens(data):
    text = data.draw(rulebooks(max_groups=3, atom_weights=THRESHOLD_HEAVY), label="rules")
    book = load(text)
    # without sub-assemblies: a sub-assembly that stops qualifying can help a parent whose
    # rule counts non-originating content from below
    bom = data.draw(boms_for(book, subassemblies=False, missing=data.draw(st.booleans())), label="bom")
    as_of = data.draw(dates_for(book), label="as_of")
    line = _applied_rule_line(book, bom, data.draw(st.sampled_from(book.names)), as_of)
    found = thresholds(text, line, rules_only=True) or thresholds(text)
    assume(found)
    share, direction = data.draw(st.sampled_from(found), label="threshold")
    step = data.draw(st.sampled_from((Decimal("0.01"), Decimal("1"), Decimal("5"), Decimal("30"), Decimal("100"), Decimal("100"))), label="step")
    moved = min(Decimal(100), max(Decimal(0), share.value + direction * step))
    assume(moved != share.value)
    stricter_text = replace_span(text, share.span, _percent(moved))
    note(stricter_text)
    stricter = load(stricter_text)
    for under in book.names:
        before, after = verdicts(book, bom, under, as_of), verdicts(stricter, bom, under, as_of)
        for who, b, a in zip(("engine", "reference"), before, after):
            assert RANK[a] <= RANK[b], f"{who}: {b} became {a} under {under}"


LADDER = tuple(Decimal(x) for x in ("0", "0.01", "5", "10", "30", "45", "50", "60", "62.5", "75", "90", "99.99", "100"))


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_verdicts_follow_one_threshold(data):
    """One rule of one criterion with a threshold, tried at a ladder of values: the
    verdicts never loosen as the threshold gets stricter."""
    bom = data.draw(boms(chapters=("72", "84", "87"), subassemblies=False, missing=data.draw(st.booleans())), label="bom")
    assume(bom.product.hs is not None)
    criterion = data.draw(criteria_texts(atom_weights={"rvc": 3, "sum": 2, "change": 0, "performed": 0, "wholly": 0},
                                         chapters=("72", "84", "87"), depth=data.draw(st.sampled_from((0, 0, 1)))),
                          label="criterion")
    text = f'agreement "A" {{\n  parties = [US, MX, CA]\n  rule {bom.product.hs[:2]} {{\n    {criterion}\n  }}\n}}\n'
    found = thresholds(text)
    assume(found)
    share, direction = data.draw(st.sampled_from(found), label="threshold")
    ladder = sorted({*LADDER, share.value}, reverse=direction < 0)  # from loosest to strictest
    seen = []
    for value in ladder:
        book = load(replace_span(text, share.span, _percent(value)))
        seen.append((value, verdicts(book, bom, "A", date(2026, 1, 1))))
    for who in (0, 1):
        ranks = [RANK[v[who]] for _, v in seen]
        assert ranks == sorted(ranks, reverse=True), (("engine", "reference")[who], text, seen)


def criterion_lines(text: str, rule_line: int | None = None) -> list[int]:
    """Indexes (0-based) of the lines that hold one criterion of a rule or requirement body,
    only those of the rule starting on ``rule_line`` (1-based) when given.

    Generated rule files put each criterion on a line of its own, indented by four spaces
    (node spans are not used here: see the note on spans in test_differential)."""
    lines = text.splitlines()
    out = []
    inside = rule_line is None
    for i, line in enumerate(lines):
        if rule_line is not None and i + 1 == rule_line:
            inside = True
        elif rule_line is not None and inside and line.startswith("  }"):
            break
        if inside and line.startswith("    ") and not line.strip().startswith(("cite ", "#")):
            out.append(i)
    return out


#: Alternatives that hold for many goods, to make the property bite.
GENEROUS = ("change from any other chapter", "rvc(transaction_value) >= 0%", "value(non_originating) <= 100% of fob",
            "rvc(build_up, fob) >= 0%", "wholly_obtained")
#: Requirements that fail for many goods.
HARSH = ("  require { rvc(transaction_value) >= 100% }", "  require { CC }", "  require { wholly_obtained }",
         "  require { value(non_originating) <= 0% of transaction_value }")


@SETTINGS
@given(st.data())
def test_an_or_alternative_never_tightens(data):
    text = data.draw(rulebooks(max_groups=3), label="rules")
    book = load(text)
    bom = data.draw(boms_for(book, subassemblies=False, missing=data.draw(st.booleans())), label="bom")
    as_of = data.draw(dates_for(book), label="as_of")
    line = _applied_rule_line(book, bom, data.draw(st.sampled_from(book.names)), as_of)
    found = criterion_lines(text, line) or criterion_lines(text)
    assume(found)
    index = data.draw(st.sampled_from(found), label="line")
    extra = data.draw(st.one_of(criteria_texts(), st.sampled_from(GENEROUS)), label="alternative")
    lines = text.splitlines()
    lines[index] = f"    ({lines[index].strip()}) or ({extra})"
    wider_text = "\n".join(lines) + "\n"
    note(wider_text)
    wider = load(wider_text)
    for under in book.names:
        before, after = verdicts(book, bom, under, as_of), verdicts(wider, bom, under, as_of)
        for who, b, a in zip(("engine", "reference"), before, after):
            assert RANK[a] >= RANK[b], f"{who}: {b} became {a} under {under}"


@SETTINGS
@given(st.data())
def test_a_scenario_adding_requirements_is_never_looser(data):
    text = data.draw(rulebooks(max_groups=3, max_scenarios=1), label="rules")
    base = data.draw(st.sampled_from(load(text).names), label="base")
    block = st.one_of(require_texts(effective=TIMELINE[-1]), st.sampled_from(HARSH))
    blocks = data.draw(st.lists(block, min_size=1, max_size=3), label="requires")
    stricter_text = text + f'scenario "Stricter" extends "{base}" {{\n' + "\n".join(blocks) + "\n}\n"
    note(stricter_text)
    book = load(stricter_text)
    bom = data.draw(boms_for(book, subassemblies=False, missing=data.draw(st.booleans())), label="bom")
    as_of = data.draw(dates_for(book), label="as_of")
    before, after = verdicts(book, bom, base, as_of), verdicts(book, bom, "Stricter", as_of)
    for who, b, a in zip(("engine", "reference"), before, after):
        assert RANK[a] <= RANK[b], f"{who}: {b} under {base} but {a} under the stricter scenario"


def _leaves(materials, prefix: str = "materials"):
    for i, m in enumerate(materials):
        path = f"{prefix}[{i}]"
        if m.materials:
            yield from _leaves(m.materials, path + ".materials")
        else:
            yield path


def _with_originating(bom: BOM, path: str) -> BOM:
    data = bom.model_dump(exclude_defaults=True)
    node = data
    for part in path.split("."):
        name, index = part[:-1].split("[")
        node = node[name][int(index)]
    node["originating"] = True
    return BOM.model_validate(data)


@SETTINGS
@given(st.data())
def test_an_originating_material_never_makes_a_good_fail(data):
    text = data.draw(rulebooks(max_groups=3, monotone=True), label="rules")
    book = load(text)
    bom = data.draw(boms_for(book), label="bom")
    candidates = [p for p in _leaves(bom.materials)]
    assume(candidates)
    path = data.draw(st.sampled_from(candidates), label="material")
    better = _with_originating(bom, path)
    as_of = data.draw(dates_for(book), label="as_of")
    for under in book.names:
        before, after = verdicts(book, bom, under, as_of), verdicts(book, better, under, as_of)
        for who, b, a in zip(("engine", "reference"), before, after):
            assert RANK[a] >= RANK[b], f"{who}: {b} became {a} under {under} with {path} originating"


# ---- determinism -------------------------------------------------------------------------------------------


def _rename(field: str, mapping: dict[str, str]) -> str:
    """``materials[2].materials[0].value`` under a reordering of the materials."""
    head, sep, tail = field.rpartition(".")
    prefix = head
    while prefix and prefix not in mapping:
        prefix = prefix.rpartition(".")[0]
    return field if not prefix else mapping[prefix] + field[len(prefix):]


@SETTINGS
@given(st.data())
def test_determinations_do_not_depend_on_material_order(data):
    text = data.draw(rulebooks(max_groups=3), label="rules")
    book = load(text)
    bom = data.draw(boms_for(book), label="bom")
    other, mapping = data.draw(shuffled(bom), label="shuffled")
    as_of = data.draw(dates_for(book), label="as_of")
    for under in book.names:
        first = book.evaluate(bom, under=under, as_of=as_of)
        again = book.evaluate(bom, under=under, as_of=as_of)
        assert first.to_json() == again.to_json()
        moved = book.evaluate(other, under=under, as_of=as_of)
        assert moved.verdict == first.verdict
        assert {k: Decimal(v) for k, v in moved.figures.items()} == {k: Decimal(v) for k, v in first.figures.items()}
        assert sorted(moved.missing) == sorted(_rename(f, mapping) for f in first.missing)
        ref, ref_moved = (reference.evaluate(book.parsed.programs, b, under, as_of) for b in (bom, other))
        assert (ref_moved.verdict, ref_moved.figures) == (ref.verdict, ref.figures)
        assert ref_moved.missing == {_rename(f, mapping) for f in ref.missing}


HASH_SEED_SCRIPT = r"""
import glob, json, os, sys
from datetime import date
import origin_rules
out = []
cases = sorted(glob.glob("tests/golden/eval/*/"))
for case in cases:
    rules = {os.path.basename(f): open(f).read() for f in sorted(glob.glob(case + "*.roo"))}
    book = origin_rules.loads(rules)
    bom = origin_rules.read_bom(case + "bom.yaml")
    for under in book.names:
        out.append(book.evaluate(bom, under=under, as_of=date(2026, 1, 1), explain="full").to_json())
book = origin_rules.load(["rules/"])
for path in sorted(glob.glob("examples/boms/*.yaml")):
    bom = origin_rules.read_bom(path)
    for under in book.names:
        out.append(book.evaluate(bom, under=under, as_of=date(2026, 1, 1), explain="full").to_json())
print(json.dumps(out))
"""


@pytest.mark.slow  # two new processes, each loading the shipped rules
def test_determinations_do_not_depend_on_the_hash_seed():
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", HASH_SEED_SCRIPT], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True)
        outputs.append(done.stdout)
    assert json.loads(outputs[0]), "no determinations were made"
    assert outputs[0] == outputs[1]


# ---- de minimis and figures --------------------------------------------------------------------------------


def without_de_minimis(text: str) -> str:
    """The rule file with its ``de_minimis`` lines (one line each when generated) left out."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.strip().startswith("de_minimis "))


FIGURE_PREFIXES = ("vnm", "vom", "fvnm", "rvc_", "max_nom_")


@SETTINGS
@given(st.data())
def test_de_minimis_never_changes_vnm_or_rvc(data):
    text = data.draw(rulebooks(max_groups=3), label="rules")
    bare_text = without_de_minimis(text)
    assume(bare_text != text)
    book, bare = load(text), load(bare_text)
    # without sub-assemblies: de minimis may rightly make one originate (roll-up)
    bom = data.draw(boms_for(book, subassemblies=False), label="bom")
    as_of = data.draw(dates_for(book), label="as_of")
    for under in book.names:
        with_dm = book.evaluate(bom, under=under, as_of=as_of).figures
        without = bare.evaluate(bom, under=under, as_of=as_of).figures
        pick = lambda figures: {k: v for k, v in figures.items() if k.startswith(FIGURE_PREFIXES)}  # noqa: E731
        a, b = pick(with_dm), pick(without)
        # the same value for every figure worked out both ways
        assert {k: a[k] for k in a.keys() & b.keys()} == {k: b[k] for k in a.keys() & b.keys()}
        if "fallback" not in text:
            assert a.keys() == b.keys()
        # else a fallback is tried only when the rule fails: de minimis may make the rule hold
        # and the fallback's figures (e.g. its rvc(net_cost)) are then never worked out


# ---- robustness ------------------------------------------------------------------------------------------------


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(boms(chapters=("39", "61", "72", "73", "84", "85", "87", "94")), st.sampled_from((date(2021, 1, 1), date(2026, 1, 1))))
def test_any_bom_gets_a_determination_under_the_shipped_rules(shipped_rulebook, bom, as_of):
    book = shipped_rulebook
    for under in book.names:
        det = book.evaluate(bom, under=under, as_of=as_of)
        assert det.verdict in RANK
        assert bool(det.missing) == (det.verdict == "insufficient_data"), (det.verdict, det.missing)
