"""Golden evaluation cases: ``tests/golden/eval/<case>/{rules.roo, bom.yaml, expected.yaml}``.

Each case is a rule file, a BOM and the determination worked out by hand (the arithmetic is
in a comment at the top of ``expected.yaml``; never copied from the tool's output). The test
loads the rules with :func:`origin_rules.load`, reads the BOM with
:func:`origin_rules.read_bom`, evaluates it and compares:

``verdict`` (required), and when given: ``origin_criterion``, ``rule_source_line`` (line of
the applied rule in ``rules.roo``), ``figures`` (a subset, compared as exact strings),
``missing`` (the exact set of field paths), ``failed_materials`` (the exact set of ids),
``failed_reasons`` (id -> text the reason must contain), ``headroom`` (entries matched by
``figure``, in order among entries of the same figure; each a subset of the actual entry),
``explanation_contains`` (nodes of the full explanation that must exist: ``text`` substring,
and optionally ``origin`` and ``result``).

A case whose expectation the engine does not meet yet carries ``xfail_reason``: it runs as a
strict xfail, so fixing the engine turns it into a failure until the marker is removed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

import origin_rules

ROOT = Path(__file__).parent / "golden" / "eval"
CASES = sorted(p for p in ROOT.iterdir() if p.is_dir()) if ROOT.is_dir() else []

REQUIRED = {"under", "as_of", "verdict"}
OPTIONAL = {
    "origin_criterion", "rule_source_line", "figures", "missing", "failed_materials",
    "failed_reasons", "headroom", "explanation_contains", "xfail_reason",
}


def _expected(case: Path) -> dict:
    return yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))


def _params():
    out = []
    for case in CASES:
        reason = _expected(case).get("xfail_reason")
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def _as_of(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _determine(case: Path, spec: dict, explain: str = "summary"):
    book = origin_rules.load([case / "rules.roo"])
    bom = origin_rules.read_bom(case / "bom.yaml")
    return book.evaluate(bom, under=spec["under"], as_of=_as_of(spec["as_of"]), explain=explain)


def _walk(node: dict | None):
    """Nodes of one explanation tree, not descending into sub-determinations."""
    if node is None:
        return
    yield node
    for child in node.get("children", []):
        yield from _walk(child)


def _mismatches(case: Path, spec: dict) -> list[str]:
    det = _determine(case, spec)
    full = json.loads(_determine(case, spec, explain="full").to_json())
    problems: list[str] = []

    def check(label, want, got):
        if want != got:
            problems.append(f"{label}: expected {want!r}, got {got!r}")

    check("verdict", spec["verdict"], det.verdict)
    if "origin_criterion" in spec:
        check("origin_criterion", spec["origin_criterion"], det.origin_criterion)
    if "rule_source_line" in spec:
        got = int(det.rule.source.rsplit(":", 1)[1]) if det.rule is not None else None
        check("rule_source_line", spec["rule_source_line"], got)
    for name, want in (spec.get("figures") or {}).items():
        assert isinstance(want, str), f"{case.name}: figure {name} must be a quoted string, got {want!r}"
        check(f"figures[{name}]", want, det.figures.get(name))
    if "missing" in spec:
        check("missing", sorted(spec["missing"]), sorted(det.missing))
    if "failed_materials" in spec:
        check("failed_materials", sorted(spec["failed_materials"]), sorted(f.id for f in det.failed_materials))
    for mid, text in (spec.get("failed_reasons") or {}).items():
        reasons = [f.reason for f in det.failed_materials if f.id == mid]
        if not any(text in r for r in reasons):
            problems.append(f"failed_reasons[{mid}]: expected a reason containing {text!r}, got {reasons!r}")
    seen: dict[str, int] = {}
    for want in spec.get("headroom") or []:
        figure = want["figure"]
        k = seen.get(figure, 0)
        seen[figure] = k + 1
        same = [h for h in det.headroom if h.figure == figure]
        if k >= len(same):
            problems.append(f"headroom[{figure} #{k + 1}]: expected {want!r}, no such entry in "
                            f"{[h.model_dump(include={'figure', 'margin', 'flip_value'}) for h in det.headroom]!r}")
            continue
        got = same[k].model_dump()
        for key, value in want.items():
            assert isinstance(value, str), f"{case.name}: headroom {key} must be a quoted string, got {value!r}"
            check(f"headroom[{figure} #{k + 1}].{key}", value, got.get(key))
    for want in spec.get("explanation_contains") or []:
        nodes = [n for n in _walk(full["explanation"]) if want["text"] in n["text"]]
        ok = [n for n in nodes if all(n.get(k) == v for k, v in want.items() if k != "text")]
        if not ok:
            problems.append(f"explanation: no node matching {want!r}; nodes with that text: "
                            f"{[{k: n.get(k) for k in ('text', 'origin', 'result')} for n in nodes]!r}")
    return problems


def test_cases_exist():
    assert len(CASES) >= 40, f"expected at least 40 golden cases under {ROOT}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_well_formed(case: Path):
    for name in ("rules.roo", "bom.yaml", "expected.yaml"):
        assert (case / name).is_file(), f"{case.name}: {name} is missing"
    text = (case / "expected.yaml").read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), f"{case.name}: expected.yaml must open with the hand arithmetic as a comment"
    spec = _expected(case)
    assert REQUIRED <= set(spec), f"{case.name}: expected.yaml needs {sorted(REQUIRED - set(spec))}"
    unknown = set(spec) - REQUIRED - OPTIONAL
    assert not unknown, f"{case.name}: unknown keys in expected.yaml: {sorted(unknown)}"


@pytest.mark.parametrize("case", _params())
def test_golden_eval(case: Path):
    spec = _expected(case)
    problems = _mismatches(case, spec)
    if problems:
        pytest.fail(f"{case.name} under {spec['under']!r} as of {spec['as_of']}:\n  " + "\n  ".join(problems)
                    + f"\n  (hand computation: {case / 'expected.yaml'})", pytrace=False)


def _check_nesting(materials, explanation: dict | None, where: str, problems: list[str]) -> None:
    """Every sub-assembly of ``materials`` has a node whose sub_determination is its own, and so on down."""
    subs = {n["sub_determination"]["product_id"]: n["sub_determination"]
            for n in _walk(explanation) if n.get("sub_determination")}
    expected_ids = {m.id for m in materials if m.materials}
    for m in materials:
        if not m.materials:
            continue
        sub = subs.get(m.id)
        if sub is None:
            problems.append(f"{where}: no explanation node carries the sub-determination of `{m.id}`")
            continue
        _check_nesting(m.materials, sub.get("explanation"), f"{where} > {m.id}", problems)
    extra = set(subs) - expected_ids
    if extra:
        problems.append(f"{where}: sub-determinations for materials that are not sub-assemblies here: {sorted(extra)}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_explanation_nests_sub_determinations(case: Path):
    """Where the BOM has sub-assemblies, the explanation JSON nests their determinations (and
    only there); checked on the default (summary) explanation."""
    spec = _expected(case)
    bom = origin_rules.read_bom(case / "bom.yaml")
    det = _determine(case, spec)
    explanation = json.loads(det.to_json())["explanation"]
    problems: list[str] = []
    _check_nesting(bom.materials, explanation, "product", problems)
    assert not problems, f"{case.name}:\n  " + "\n  ".join(problems)
