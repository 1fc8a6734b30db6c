"""What a determination and a batch record show of figures and thresholds: a shown figure is
on the same side of its threshold as the exact one, whatever the digits; the texts of a
margin do not depend on how the BOM wrote its amounts; a strict test is shown as strict."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from origin_rules.engine.measures import show
from origin_rules.files.boms import loads_bom

from conftest import examples

ON = date(2026, 7, 1)
ROOT = Path(__file__).resolve().parent.parent


def _side(a: Decimal, b: Decimal) -> int:
    return (a > b) - (a < b)


_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=20, allow_nan=False,
                       allow_infinity=False)
_THRESHOLDS = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=6, allow_nan=False,
                          allow_infinity=False)


@settings(max_examples=examples(400), deadline=None)
@given(_AMOUNTS, _AMOUNTS, _THRESHOLDS, st.integers(min_value=-30, max_value=30))
def test_a_shown_percentage_is_on_its_thresholds_side(numerator, whole, threshold, nudge):
    """numerator/whole x 100 against a threshold, also within a hair of it (``nudge``: the
    numerator moved to the threshold's exact amount plus a tiny step): the shown value
    compares with the threshold as the exact one does (70.000000000000% was shown for
    69.999999999999999%, failing against 70%)."""
    with localcontext(prec=500):  # (exactly: the default context keeps 28 digits)
        if nudge:
            numerator = threshold * whole / 100 + Decimal(nudge).scaleb(-25)
            if numerator <= 0:
                return
        exact = numerator * 100 - threshold * whole
    shown = show(numerator, whole, threshold)
    assert _side(shown, threshold) == _side(exact, Decimal(0)), (numerator, whole, threshold, shown)


def test_a_percentage_far_out_of_range_is_shown_not_a_traceback():
    shown = show(Decimal("9" * 40), Decimal("0.01"), Decimal(70))
    assert shown > 10**40
    assert show(-Decimal("9" * 40), Decimal("0.01"), Decimal(70)) < -10**40


def _determination(book, text: str, name: str):
    return book.evaluate(loads_bom(text), name, ON)


GT = """
product: {id: GT-1, hs: "8708.10", produced_in: MX, currency: USD, transaction_value: "1000.00",
          net_cost: "1000.00", end_use: aftermarket}
materials:
  - {id: BEAM, hs: "8708.99", origin: CN, originating: false, value: "600.00"}
"""


def test_a_strict_test_is_shown_strict_and_its_text_says_so(shipped_rulebook):
    """USMCA's GN11(b)(iv) fallback asks for `value(...) > 0% of value()`: the headroom showed
    `>=` with `0 >= 0.00` not holding, and the text `short by 0.00`."""
    from origin_rules.rulebook.explain import headroom_line

    det = _determination(shipped_rulebook, GT, "USMCA")
    (strict,) = [h for h in det.headroom if h.criterion.startswith("value(") and " > " in h.criterion]
    assert (strict.comparison, strict.value, strict.threshold, strict.holds) == (">", "0.00", "0.00", False)
    assert headroom_line(strict).split("  [")[0].endswith("0.00 against a limit of 0.00: must be more than it")
    from origin_rules.model.determination import Determination

    Determination.model_validate_json(det.to_json())  # the schema takes the strict comparisons


CAP = """
product: {id: CAP-1, hs: "8708.30", produced_in: MX, currency: USD, transaction_value: TV, net_cost: "900.00",
          end_use: passenger_vehicle, facts: {good: brake_assembly}}
materials:
  - {id: PAD, hs: "6813.81", origin: CN, originating: false, value: PAD_VALUE}
  - {id: CAL, hs: "7325.10", origin: MX, originating: true, value: "300.00"}
"""


def test_the_texts_of_a_value_margin_do_not_depend_on_how_amounts_are_written(shipped_rulebook):
    name = "USMCA review 2026: China content cap"
    seen = []
    for tv, pad in (("1000", "100"), ("1000.0", "100.0"), ('"1000.00"', '"100.00"')):
        det = _determination(shipped_rulebook, CAP.replace("TV", tv).replace("PAD_VALUE", pad), name)
        seen.append([(h.value, h.threshold, h.margin) for h in det.headroom if h.figure == "value"])
    assert seen[0] == seen[1] == seen[2] == [("100.00", "100.00", "0.00")]


B = {"product": {"id": "P1", "hs": "8708.10", "produced_in": "MX", "currency": "USD", "transaction_value": "1000.00",
                 "net_cost": "1000.00", "end_use": "passenger_vehicle"},
     "materials": [{"id": "BEAM", "hs": "8708.99", "origin": "CN", "originating": False, "value": "300.00000000000001"}]}


@pytest.mark.parametrize("names", [["CPTPP", "USMCA"], ["USMCA", "CPTPP"], ["USMCA"]])
def test_a_batch_record_shows_each_agreements_figure_as_its_determination_does(shipped_rulebook, names):
    """The batch remembered a figure's text by its value, and 70.00 == 70.000000000000: the
    first agreement's rounding (against 45%) was shown under the next (against 70%), a
    failing RVC as 70.00."""
    from origin_rules.batch.judge import judge
    from origin_rules.model.bom import bom_from_data

    bom = bom_from_data(json.loads(json.dumps(B)))
    for entry in judge(shipped_rulebook, bom, names, ON):
        det = shipped_rulebook.evaluate(bom, entry["agreement"], ON)
        assert entry["figures"]["rvc_net_cost"] == det.figures["rvc_net_cost"]
    usmca = next(e for e in judge(shipped_rulebook, bom, names, ON) if e["agreement"] == "USMCA")
    assert usmca["verdict"] == "does_not_qualify" and usmca["figures"]["rvc_net_cost"] == "69.999999999999"


SHARES = """
agreement "T" {
  parties = [US, MX, CA]
  rule 84.09 { value(non_originating) < 60% of value() }
  rule 84.07 { max_nom(ex_works) < 40% }
  rule 84.08 { rvc(transaction_value) > 60% }
}
"""


def _one(book, hs: str, value: str, originating_value: str = "40.01", figure: str = "1000.00"):
    from origin_rules.model.bom import bom_from_data

    bom = bom_from_data({"product": {"id": "P", "hs": hs, "produced_in": "MX", "transaction_value": figure,
                                     "ex_works": figure},
                         "materials": [{"id": "M1", "hs": "7325.99", "origin": "CN", "originating": False, "value": value},
                                       {"id": "M2", "hs": "7325.99", "origin": "US", "originating": True,
                                        "value": originating_value}]})
    return bom, book.evaluate(bom, "T", ON)


@pytest.mark.parametrize("value", ["59.99", "10.00", "0.00", "59.9999"])
def test_the_flip_of_a_test_against_all_the_materials_counts_what_is_added_in_the_base(value):
    """`value(non_originating) < 60% of value()`: what is added is in value() too, so the
    boundary is room / 0.4, not the room (59.99 of 100.00 showed 0.01, and 0.02 more still
    qualified); a strict test fails at the boundary itself."""
    import origin_rules

    book = origin_rules.loads({"t.roo": SHARES})
    _, det = _one(book, "8409.10", value)
    (h,) = det.headroom
    flip = Decimal(h.flip_value)
    assert h.holds and h.comparison == "<"
    assert book.verdict(_one(book, "8409.10", str(Decimal(value) + flip))[0], "T", ON) == "does_not_qualify"
    step = Decimal("1e-12")
    assert book.verdict(_one(book, "8409.10", str(Decimal(value) + flip - step))[0], "T", ON) == "qualifies"


def test_a_strict_tests_flip_is_reached_not_passed_and_its_text_says_so():
    import origin_rules
    from origin_rules.rulebook.explain import headroom_line

    book = origin_rules.loads({"t.roo": SHARES})
    _, holds = _one(book, "8407.10", "399.99", "0.00")  # MaxNOM 39.999% < 40%
    (h,) = holds.headroom
    assert (h.comparison, h.flip_value) == ("<", "0.01")
    assert "; 0.01 or more of additional non-originating value would fail it" in headroom_line(h)
    assert book.verdict(_one(book, "8407.10", "400.00", "0.00")[0], "T", ON) == "does_not_qualify"
    _, fails = _one(book, "8408.10", "400.00", "0.00")  # RVC 60.00% > 60% fails
    (h,) = fails.headroom
    assert not h.holds and h.comparison == ">"
    assert "fails by 0.00 points; more than 0.00 less non-originating value would meet it" in headroom_line(h)


@pytest.mark.parametrize("lvc, holds, margin", [("39.999", False, "-0.001"), ("40", True, "0"), ("52.5", True, "12.5")])
def test_a_declared_percentage_has_its_headroom_entry(lvc, holds, margin):
    """`fact(lvc) >= 40%` decided a vehicle's verdict but never appeared in the headroom: a
    good failing only on it listed holding entries alone."""
    import origin_rules
    from origin_rules.model.bom import bom_from_data
    from origin_rules.rulebook.explain import headroom_line

    book = origin_rules.loads({"t.roo": 'agreement "T" {\n  parties = [US, MX, CA]\n  rule 87.03 { fact(lvc) >= 40% }\n}\n'})
    bom = bom_from_data({"product": {"id": "V", "hs": "8703.80", "produced_in": "MX", "facts": {"lvc": lvc}},
                         "materials": []})
    det = book.evaluate(bom, "T", ON)
    (h,) = det.headroom
    assert (h.figure, h.value, h.threshold, h.comparison, h.margin, h.holds) == ("lvc", lvc, "40", ">=", margin, holds)
    assert det.verdict == ("qualifies" if holds else "does_not_qualify")
    assert headroom_line(h).startswith(f"lvc {lvc}% (declared) against 40% (>=): ")
