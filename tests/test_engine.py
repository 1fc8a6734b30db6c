"""The engine's own invariants on the shipped rulebooks and example BOMs.

The fast verdict path (short-circuited, no explanation) must always give the verdict of
the explaining path; determinations must be byte-identical across runs; the caller's
decimal context must be left alone.
"""

from __future__ import annotations

import decimal
from datetime import date
from pathlib import Path

import pytest

import origin_rules
from origin_rules.files.boms import read_boms

ROOT = Path(__file__).resolve().parent.parent
DATES = (date(2020, 6, 30), date(2022, 1, 15), date(2026, 7, 1))


@pytest.fixture(scope="module")
def book(shipped_rulebook):
    return shipped_rulebook


def example_boms():
    out = []
    for path in sorted((ROOT / "examples" / "boms").glob("*.yaml")):
        for record in read_boms(path):
            assert record.ok, record.error
            out.append(record.bom)
    return out


def test_there_are_example_boms():
    assert len(example_boms()) >= 12


def test_fast_verdict_agrees_with_explained_verdict(book):
    checked = 0
    for bom in example_boms():
        for name in book.names:
            for on in DATES:
                explained = book.evaluate(bom, under=name, as_of=on)
                assert book.verdict(bom, under=name, as_of=on) == explained.verdict, (bom.product.id, name, on)
                checked += 1
    assert checked > 100


def test_determinations_are_identical_across_runs(book):
    for bom in example_boms():
        for name in book.applicable(bom):
            first = book.evaluate(bom, under=name, as_of=date(2026, 7, 1), explain="full").to_json()
            again = book.evaluate(bom, under=name, as_of=date(2026, 7, 1), explain="full").to_json()
            assert first == again


def test_callers_decimal_context_is_untouched(book):
    bom = example_boms()[0]
    with decimal.localcontext() as ctx:
        ctx.prec = 7
        ctx.traps[decimal.Inexact] = False
        book.evaluate(bom, under="USMCA", as_of=date(2026, 7, 1))
        book.verdict(bom, under="USMCA", as_of=date(2026, 7, 1))
        assert decimal.getcontext().prec == 7
        assert not decimal.getcontext().traps[decimal.Inexact]


def test_agreement_not_in_force_does_not_qualify(book):
    bom = example_boms()[0]
    det = book.evaluate(bom, under="USMCA", as_of=date(2019, 1, 1))
    assert det.verdict == "does_not_qualify"
    assert det.origin_criterion == "agreement_not_in_force"


def test_unknown_agreement_names_the_nearest(book):
    with pytest.raises(origin_rules.UnknownAgreement) as info:
        book.evaluate(example_boms()[0], under="USMCAA")
    assert "did you mean `USMCA`" in str(info.value)


RVC_AT_BOUNDARY = """
agreement "A" {
  parties = [MX]
  rule 8708.30 { rvc(transaction_value) >= 60% }
}
"""


@pytest.mark.parametrize(
    "vnm, verdict",
    [("400.00", "qualifies"), ("400.01", "does_not_qualify"), ("399.99", "qualifies")],
)
def test_threshold_compared_exactly_and_unrounded(vnm, verdict):
    # RVC = (1000 - VNM) / 1000: 400.00 gives exactly 60%; 400.01 gives 59.999%, which rounds
    # to 60.00 for display but must fail.
    book = origin_rules.loads(RVC_AT_BOUNDARY)
    bom = origin_rules.BOM.model_validate({
        "product": {"id": "P", "hs": "8708.30", "produced_in": "MX", "transaction_value": "1000.00"},
        "materials": [{"id": "M", "hs": "8708.30", "originating": False, "value": vnm}],
    })
    det = book.evaluate(bom, under="A", as_of=date(2026, 1, 1))
    assert det.verdict == verdict
    assert book.verdict(bom, under="A", as_of=date(2026, 1, 1)) == verdict
    if vnm == "400.01":
        # the display keeps enough decimals not to show a failing 59.999% as 60.00
        assert det.figures["rvc_transaction_value"] == "59.999"


def _parts_state(parts) -> list:
    return [(p.id, p.originating, p.sub, _parts_state(p.parts)) for p in parts]


def _plan_state(plan) -> dict:
    state = {}
    for name, value in vars(plan).items():
        state[name] = dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
    for rules in plan.index.values():
        for rule in rules:
            if hasattr(rule, "__dict__"):
                state[("rule", id(rule))] = dict(vars(rule))
    return state


def test_evaluation_never_writes_into_its_input(book):
    # A BOM with sub-assemblies is where evaluation has per-run state (whether each
    # sub-assembly originates, its outcome); it must live on copies, not on the BOM, the
    # cached view of it that every evaluation starts from, or the compiled plans.
    from origin_rules.engine.view import good_of_bom

    boms = [b for b in example_boms() if any(m.materials for m in b.materials)]
    assert boms, "the example BOMs include sub-assemblies"
    for bom in boms:
        names = book.applicable(bom)
        assert names
        plans = {name: book.plan(name) for name in names}
        dumped = bom.model_dump()
        view = good_of_bom(bom)
        before = _parts_state(view.parts)
        # the plans' memo caches (lookups by code and date, lines compiled on first use) fill
        # on first use, whatever the order the tests run in: fill them, then compare
        for when in DATES:
            for name in names:
                book.evaluate(bom, under=name, as_of=when)
        assert good_of_bom(bom) is view and _parts_state(view.parts) == before
        plan_before = {name: _plan_state(plan) for name, plan in plans.items()}
        for when in DATES:
            book.evaluate_all(bom, as_of=when)
            for name in names:
                book.verdict(bom, name, as_of=when)
        assert bom.model_dump() == dumped
        assert good_of_bom(bom) is view  # the same cached view, unchanged
        assert _parts_state(view.parts) == before
        assert all(p.sub is None for p in view.parts)
        assert {name: _plan_state(plan) for name, plan in plans.items()} == plan_before


def test_a_datetime_as_of_is_its_calendar_day_and_anything_else_is_refused(book):
    from datetime import datetime

    bom = example_boms()[0]
    name = book.applicable(bom)[0]
    on = date(2026, 7, 1)
    moment = datetime(2026, 7, 1, 23, 59)
    assert book.evaluate(bom, under=name, as_of=moment).to_json() == book.evaluate(bom, under=name, as_of=on).to_json()
    assert book.verdict(bom, under=name, as_of=moment) == book.verdict(bom, under=name, as_of=on)
    with pytest.raises(TypeError, match="as_of must be a date"):
        book.evaluate(bom, under=name, as_of="2026-07-01")
