"""origin_rules.diff.aimed: BOMs aimed at a rule, and the example test file for users."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings

import origin_rules
from origin_rules.model.bom import BOM
from origin_rules.rulebook.book import UnknownAgreement
from origin_rules.diff.aimed import (
    Aim, aim_at, amounts_near, boms_aimed_at, boms_for_aim, codes_around, codes_at, merge_aims, related_codes,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "diff"
BOOK = origin_rules.load(DATA / "base.roo")
ON = date(2026, 7, 1)
FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def test_codes_at_and_around_a_selector():
    assert codes_at("6101", "6117") == ["610120", "610729", "611790"]
    assert codes_around("6101", "6117") == ["600690", "620120"]
    assert codes_at("870830", "870830") == ["870830"]
    assert codes_around("870830", "870830") == ["870829", "870840"]
    related = related_codes("8708.30")
    assert related[-1] == "8708.30"  # its own code last, another chapter first
    assert related[0][:2] != "87" and any(c[:5] == "87.08" or c.startswith("8708.") for c in related[1:-1])


def test_aim_collects_what_the_rule_names():
    aim = aim_at(BOOK, "Demo", "8708.30")
    assert aim.good_codes == ("8708.30",)
    assert ("transaction_value", Decimal(40)) in aim.amounts  # rvc(transaction_value) >= 60%
    assert ("net_cost", Decimal(50)) in aim.amounts  # rvc(net_cost) >= 50%
    assert ("transaction_value", Decimal(10)) in aim.amounts  # de minimis
    assert not aim.weight  # the weight de minimis is only for chapters 50-63
    apparel = aim_at(BOOK, "Demo", "61.09", around=True)
    assert apparel.processes == ("cut and sewn",) and apparel.weight
    assert any(c.startswith("51") for c in apparel.material_codes)  # the exception
    assert apparel.nearby_codes  # around=True
    vehicles = aim_at(BOOK, "Demo", "87.03")
    assert (None, Decimal(70)) in vehicles.amounts and (None, Decimal(30)) in vehicles.amounts


def test_amounts_near_a_threshold():
    assert amounts_near((("net_cost", Decimal(50)),), {"net_cost": Decimal(700)}) == (
        Decimal(0), Decimal(349), Decimal("349.99"), Decimal(350), Decimal("350.01"), Decimal(351))


def test_merge_aims_keeps_order_and_drops_duplicates():
    a = Aim(good_codes=("8708.30",), countries=("CN",))
    b = Aim(good_codes=("8708.10", "8708.30"), countries=("JP", "CN"), weight=True)
    m = merge_aims(a, b)
    assert m.good_codes == ("8708.30", "8708.10") and m.countries == ("CN", "JP") and m.weight


@FAST
@given(boms_aimed_at(BOOK, "Demo", hs="8708.30"))
def test_aimed_boms_are_valid_and_at_the_rule(bom):
    assert isinstance(bom, BOM)
    assert bom.product.hs == "8708.30"
    assert BOM.model_validate_json(bom.to_json()) == bom
    assert BOOK.verdict(bom, "Demo", ON) == BOOK.evaluate(bom, "Demo", ON).verdict


def test_aimed_boms_reach_every_outcome_of_the_rule():
    strategy = boms_aimed_at(BOOK, "Demo", hs="8708.30")
    quick = settings(max_examples=1000, database=None, deadline=None, derandomize=True)
    for verdict in ("qualifies", "does_not_qualify", "insufficient_data"):
        found = find(strategy, lambda b, v=verdict: BOOK.verdict(b, "Demo", ON) == v, settings=quick)
        assert BOOK.verdict(found, "Demo", ON) == verdict
    # a BOM right at the 60% threshold of the transaction-value alternative
    at = find(strategy, lambda b: any(m.value == Decimal(400) for m in b.materials)
              and b.product.transaction_value == Decimal(1000), settings=quick)
    assert at.product.transaction_value == Decimal(1000)


def test_around_reaches_codes_outside_the_selector():
    strategy = boms_aimed_at(BOOK, "Demo", hs="8708.30", around=True)
    outside = find(strategy, lambda b: b.product.hs != "8708.30",
                   settings=settings(max_examples=500, database=None, derandomize=True))
    assert outside.product.hs in ("8708.29", "8708.40")


def test_traced_sums_give_subassemblies(shipped_rulebook):
    book = shipped_rulebook
    aim = aim_at(book, "USMCA review 2026: China content tracing", "8703.80")
    assert aim.traced
    nested = find(boms_for_aim(aim), lambda b: any(m.materials for m in b.materials),
                  settings=settings(max_examples=500, database=None, derandomize=True))
    assert all(sub.id.startswith(m.id + ".") for m in nested.materials for sub in m.materials)


def test_rule_text_and_bad_names():
    text = 'agreement "X" {\n  parties = [US, MX]\n  rule 39.01 { CTH }\n}\n'
    aim = aim_at(text, "X", "39.01")
    assert aim.good_codes == ("3901.10",) or aim.good_codes[0].startswith("3901")
    assert aim.parties == ("MX", "US")
    with pytest.raises(UnknownAgreement):
        aim_at(text, "Y")
    with pytest.raises(ValueError):
        boms_for_aim(Aim(good_codes=()))
    with pytest.raises(ValueError):
        boms_for_aim(replace(aim, max_materials=-1))


@pytest.mark.slow  # a pytest run in a new process
def test_the_example_test_file_for_users_passes():
    example = ROOT / "docs" / "examples" / "test_my_rules.py"
    done = subprocess.run([sys.executable, "-m", "pytest", str(example), "-o", "addopts=", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_amounts_at_thresholds_of_many_digits_are_exact():
    """`100 - share` and `base x share / 100` under the default 28-digit context rounded a
    threshold of 29 digits to 40%, and its amounts to those of 40% of the net cost."""
    from origin_rules.diff import nodes as N
    from origin_rules.diff.aimed import amounts_of

    thin = Decimal("60.000000000000000000000000001")
    compare = N.NCompare(N.NRvc("net_cost", "net_cost", None), ">=", N.share(thin), None)
    assert amounts_of(compare) == [("net_cost", Decimal("39.999999999999999999999999999"))]
    assert amounts_near(((None, Decimal("0." + "0" * 39 + "1")),), {}) == (Decimal(0), Decimal("0.01"), Decimal(1))
    at = "6000000000000000000000000000"  # x 100: 10^30 x 60.000000000000000000000000001% is at + "10"
    assert amounts_near((("net_cost", thin),), {"net_cost": Decimal("1" + "0" * 30)}) == tuple(Decimal(x) for x in (
        "0", at + "09", at + "09.99", at + "10.00", at + "10.01", at + "11"))
