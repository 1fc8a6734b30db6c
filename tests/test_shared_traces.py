"""A good's rule traces shared between an agreement and its scenarios (engine/evaluate.py,
``_rule_traces``): the determinations are those of evaluating every name on its own.

Sharing is switched off through ``SHARE_RULE_TRACES`` to give the expected determinations;
with it on, the names are evaluated in turn on the same BOM object (so on the same view of it),
in file order and in reverse (the scenario first, then its base reusing its traces), and
every determination, figures, margins and explanation included, must be the same. Over
generated rulebooks (scenarios adding requirements, replacing de minimis, shadowing rules,
redefining sets) and over the shipped rulebook with the example BOMs and the batch sample.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import origin_rules
from origin_rules.batch.judge import judge
from origin_rules.batch.sample import product_bom
from origin_rules.engine import evaluate as engine
from origin_rules.files.boms import read_bom
from origin_rules.model.bom import bom_from_data
from origin_rules.testing.bom_strategies import boms_for, dates_for
from origin_rules.testing.rulebook_strategies import rulebooks

from conftest import examples

ROOT = Path(__file__).resolve().parent.parent
ON = date(2026, 7, 1)


def determinations(book, bom, names, on, share: bool) -> dict[str, str]:
    previous = engine.SHARE_RULE_TRACES
    engine.SHARE_RULE_TRACES = share
    try:
        return {n: book.evaluate(bom, under=n, as_of=on, explain="full").to_json() for n in names}
    finally:
        engine.SHARE_RULE_TRACES = previous


def fresh(bom):
    """The same BOM as a new object: a view of its own, nothing shared from earlier runs."""
    return bom.model_copy()


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_generated_rulebooks_give_the_unshared_determinations(data):
    text = data.draw(rulebooks(max_scenarios=3, shadowing=data.draw(st.booleans(), label="shadowing")), label="rules")
    book = origin_rules.loads({"rules.roo": text})
    on = data.draw(dates_for(book), label="as_of")
    names = list(book.names)
    for bom in data.draw(st.lists(boms_for(book), min_size=1, max_size=3), label="boms"):
        expected = determinations(book, fresh(bom), names, on, share=False)
        for order in (names, names[::-1]):
            assert determinations(book, fresh(bom), order, on, share=True) == expected


def shipped_boms() -> list:
    boms = [read_bom(p) for p in sorted((ROOT / "examples" / "boms").glob("*.yaml"))]
    boms += [bom_from_data(product_bom(p, v)) for p in range(0, 2000, 40) for v in range(2)]
    return boms


def test_the_shipped_rulebook_gives_the_unshared_determinations(shipped_rulebook):
    book = shipped_rulebook
    for bom in shipped_boms():
        names = book.applicable(bom) or list(book.names)[:3]
        expected = determinations(book, fresh(bom), names, ON, share=False)
        assert determinations(book, fresh(bom), names, ON, share=True) == expected
        assert determinations(book, fresh(bom), names[::-1], ON, share=True) == expected


def test_batch_entries_are_the_unshared_ones(shipped_rulebook, monkeypatch):
    book = shipped_rulebook
    boms = [bom_from_data(product_bom(p, v)) for p in range(0, 2000, 25) for v in range(2)]
    monkeypatch.setattr(engine, "SHARE_RULE_TRACES", False)
    expected = [json.dumps(judge(book, fresh(b), None, ON), sort_keys=True) for b in boms]
    monkeypatch.setattr(engine, "SHARE_RULE_TRACES", True)
    assert [json.dumps(judge(book, fresh(b), None, ON), sort_keys=True) for b in boms] == expected


def test_a_scenario_adding_a_requirement_reuses_its_base_rule_trace(shipped_rulebook, monkeypatch):
    """Not vacuous: under USMCA and its China content cap, each rule of the good is traced
    once; a scenario replacing de minimis takes it too, as the trace did not read the
    de minimis lines (no material failed a shift); another date traces it again."""
    book = shipped_rulebook
    bom = read_bom(ROOT / "examples" / "boms" / "office-desk.yaml")  # evaluated as it is (no per-agreement status)
    calls = []
    real = engine._rule_trace
    monkeypatch.setattr(engine, "_rule_trace", lambda rule, run: calls.append(run.plan.name) or real(rule, run))
    bom = fresh(bom)
    book.outcome(bom, "USMCA", ON)
    assert calls == ["USMCA"]
    book.outcome(bom, "USMCA review 2026: China content cap", ON)
    assert calls == ["USMCA"]
    book.outcome(bom, "USMCA review 2026: no de minimis for China", ON)
    assert calls == ["USMCA"]
    book.outcome(bom, "USMCA", date(2026, 7, 2))  # another date: traced again
    assert len(calls) == 2


def test_a_trace_that_read_de_minimis_is_shared_only_with_the_same_lines(shipped_rulebook, monkeypatch):
    """A rule trace that read the plan's de minimis lines (a material failed a shift) is
    traced again under a scenario that replaces them, and shared with one that keeps them;
    one that did not read them is shared with both. Both kinds occur in the batch sample."""
    from origin_rules.engine.criteria import Run

    book = shipped_rulebook
    made: list[tuple[str, bool]] = []  # (plan, whether that trace read the de minimis lines)
    reads = []
    real, real_read = engine._rule_trace, Run.de_minimis

    def traced(rule, run):
        before = len(reads)
        trace = real(rule, run)
        made.append((run.plan.name, len(reads) > before))
        return trace

    monkeypatch.setattr(engine, "_rule_trace", traced)
    monkeypatch.setattr(Run, "de_minimis", lambda run: reads.append(run.plan.name) or real_read(run))
    seen = set()
    for p in range(0, 2000, 7):
        bom = fresh(bom_from_data(product_bom(p, 0)))
        made.clear()
        book.outcome(bom, "USMCA", ON)
        base = list(made)
        book.outcome(bom, "USMCA review 2026: China content cap", ON)  # the same lines: shared
        assert made == base
        book.outcome(bom, "USMCA review 2026: no de minimis for China", ON)  # other lines
        again = [name for name, _ in made[len(base):]]
        assert again == ["USMCA review 2026: no de minimis for China"] * sum(read for _, read in base)
        seen.update(read for _, read in base)
    assert seen == {True, False}


@pytest.mark.parametrize("share", [True, False])
def test_a_sub_assembly_is_never_shared(shipped_rulebook, monkeypatch, share):
    """A BOM with a sub-assembly: its view is copied per evaluation, so each name traces anew."""
    book = shipped_rulebook
    bom = read_bom(ROOT / "examples" / "boms" / "office-desk.yaml")
    data = json.loads(bom.to_json())
    first = data["materials"][0]
    first["materials"] = [dict(first, id="inner", materials=[])]
    nested = bom_from_data(data)
    monkeypatch.setattr(engine, "SHARE_RULE_TRACES", share)
    calls = []
    real = engine._rule_trace
    monkeypatch.setattr(engine, "_rule_trace", lambda rule, run: calls.append(run.plan.name) or real(rule, run))
    book.outcome(nested, "USMCA", ON)
    once = len(calls)
    book.outcome(nested, "USMCA review 2026: China content cap", ON)
    assert len(calls) == 2 * once


def test_names_resolving_materials_alike_share_one_bom(shipped_rulebook, monkeypatch):
    """A BOM declaring originating per agreement (``[USMCA]``) resolves alike under USMCA and
    its scenarios: one resolved BOM (so one view, and the scenarios take USMCA's rule traces),
    and another under CPTPP, where the fabric is non-originating. The determinations are
    those of evaluating each name on a BOM of its own (the first test above)."""
    book = shipped_rulebook
    bom = fresh(read_bom(ROOT / "examples" / "boms" / "knitted-apparel.yaml"))
    usmca = book._by_agreement(bom, "USMCA")
    assert usmca is not bom
    assert book._by_agreement(bom, "USMCA review 2026: China content cap") is usmca
    cptpp = book._by_agreement(bom, "CPTPP")
    assert cptpp is not usmca and cptpp.to_json() != usmca.to_json()
    assert book._by_agreement(bom, "CPTPP") is cptpp
    calls = []
    real = engine._rule_trace
    monkeypatch.setattr(engine, "_rule_trace", lambda rule, run: calls.append(run.plan.name) or real(rule, run))
    book.outcome(bom, "USMCA", ON)
    made = len(calls)
    assert made > 0
    book.outcome(bom, "USMCA review 2026: China content cap", ON)
    assert len(calls) == made


def test_batch_entries_of_a_bom_are_those_of_each_name_judged_alone(shipped_rulebook):
    """``judge`` shares figure texts, threshold and warning entries between the names of one
    BOM: each entry is the one the name judged on its own gives (with all memos fresh). The
    sample goods fail and pass, with figures, thresholds and causes; the examples add warnings."""
    book = shipped_rulebook
    boms = [bom_from_data(product_bom(p, v)) for p in range(0, 2000, 50) for v in range(2)]
    boms += [read_bom(p) for p in sorted((ROOT / "examples" / "boms").glob("*.yaml"))]
    kinds = set()
    for bom in boms:
        names = book.applicable(bom) or list(book.names)[:3]
        together = judge(book, fresh(bom), names, ON)
        alone = [judge(book, fresh(bom), [name], ON)[0] for name in names]
        assert together == alone
        kinds.update(k for entry in together for k in entry if k in ("thresholds", "warnings", "causes", "figures"))
    assert kinds == {"thresholds", "warnings", "causes", "figures"}


@pytest.mark.parametrize("figures", [True, False])
def test_a_batch_entry_lists_each_threshold_once(shipped_rulebook, figures):
    """USMCA's 8708.30 rule has two alternatives testing the same RVC: the outcome has two
    margins alike, the batch entry one threshold entry for them (with figures, and for a good
    that does not qualify under --verdicts-only); the threshold entries are those of the
    margins, each once."""
    book = shipped_rulebook
    seen = 0
    for p in range(0, 2000, 3):
        data = product_bom(p, 0)
        if data["product"]["hs"] != "8708.30":
            continue
        bom = bom_from_data(data)
        out = book.outcome(fresh(bom), "USMCA", ON)
        [entry] = judge(book, fresh(bom), ["USMCA"], ON, figures=figures)
        alike = [(m.figure, m.value, m.threshold, m.comparison, m.margin, m.holds) for m in out.margins]
        if "thresholds" not in entry:
            assert not figures and entry["verdict"] == "qualifies"
            continue
        listed = [(t["figure"], t["value"], t["threshold"], t["comparison"], t["margin"], t["holds"])
                  for t in entry["thresholds"]]
        assert len(listed) == len(set(listed))
        assert len(set(listed)) == len({(f, format(v, "f"), format(t, "f"), c if c in (">=", "<=") else c[0] + "=",
                                         format(g, "f"), h) for f, v, t, c, g, h in alike})
        seen += len(alike) > len(listed)
    assert seen > 0
