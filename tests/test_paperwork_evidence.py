"""Supplier certifications as evidence of origin, and materials priced in another currency
(issue 16, parts 1 and 2): validity on the determination date, the warnings naming the
certification, the evidence in the explanation, exact conversion, a missing rate named."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from typer.testing import CliRunner

import origin_rules
from origin_rules.cli import app
from origin_rules.files.boms import loads_bom, read_bom, read_boms
from origin_rules.files.rates import read_rates
from origin_rules.model.bom import BomError, Rate
from origin_rules.model.currency import convert, with_rates
from origin_rules.rulebook.explain import one_line_reason

from conftest import examples
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "paperwork" / "certified-brake.yaml"
runner = CliRunner()

# A tariff shift or an RVC of 60% on the transaction value; a scenario on top of it.
RULES = """\
agreement "A" {
  parties = [US, MX, CA]
  rule 8708.30 "Brakes" {
    change from any other heading
    or rvc(transaction_value) >= 60%
  }
}

agreement "B" {
  parties = [MX, JP]
  rule 8708.30 "Brakes" {
    change from any other heading
  }
}

scenario "A tighter" extends "A" {
  require "cap" for 87 {
    value(non_originating) <= 50% of transaction_value
  }
}
"""


@pytest.fixture(scope="module")
def book():
    return origin_rules.loads(RULES)


def brake(cert: str = "{reference: C-1, issuer: Acme, agreement: A, from: 2026-01-01, until: 2026-12-31}",
          extra: str = "") -> str:
    """A good whose housing (same heading as the good: it fails the tariff shift unless it
    originates) is half its price: with the housing originating, RVC = (1000 - 100) / 1000 =
    90%; without, (1000 - 600) / 1000 = 40% < 60%. The only risk is the housing's evidence."""
    return f"""
product: {{id: G-1, hs: "8708.30", produced_in: MX, currency: USD, transaction_value: "1000.00"}}
materials:
  - {{id: HOUSING, hs: "8708.30", origin: US, value: "500.00", certifications: [{cert}]{extra}}}
  - {{id: PAD, hs: "6813.81", origin: CN, originating: false, value: "100.00"}}
"""


def test_a_valid_certification_makes_the_material_originating_and_the_explanation_says_so(book):
    det = book.evaluate(loads_bom(brake()), under="A", as_of=date(2026, 6, 1))
    assert det.verdict == "qualifies" and det.warnings == []
    assert det.figures["vnm"] == "100.00"
    evidence = det.explanation.children[-1]
    assert evidence.text == "the evidence of origin each material rests on" and evidence.result == "true"
    housing, pad = evidence.children
    assert housing.result == "true" and "certification C-1 issued by Acme for A (blanket 2026-01-01 to 2026-12-31)" \
        in housing.text and "valid on 2026-06-01" in housing.text
    assert pad.result == "false" and "as the BOM declares" in pad.text


def test_the_acceptance_case_flips_the_day_after_expiry_naming_the_certification(shipped_rulebook):
    bom = read_bom(EXAMPLE)
    last, after = date(2026, 12, 31), date(2027, 1, 1)
    before = shipped_rulebook.evaluate(bom, under="USMCA", as_of=last)
    assert before.verdict == "qualifies" and before.warnings == []
    # hand: VNM = 100.00 EUR x 1.0842 = 108.42; RVC(net cost) = (900 - 108.42) / 900 = 87.95%
    assert before.figures["vnm"] == "108.42" and before.figures["rvc_net_cost"].startswith("87.95")
    det = shipped_rulebook.evaluate(bom, under="USMCA", as_of=after)
    assert det.verdict == "does_not_qualify"
    # hand: VNM = 300.00 + 108.42 = 408.42; RVC = (900 - 408.42) / 900 = 54.62% < 70%
    assert det.figures["vnm"] == "408.42" and det.figures["rvc_net_cost"].startswith("54.62")
    [warning] = det.warnings
    assert warning.code == "BOM108" and warning.path == "materials[0].certifications[0]"
    assert "SUP-2026-17" in warning.message and "expired on 2026-12-31" in warning.message
    reason = one_line_reason(det)
    assert "SUP-2026-17" in reason and "expired on 2026-12-31, before the determination date 2027-01-01" in reason
    assert any(f.id == "HOUSING-1" and "SUP-2026-17" in f.reason for f in det.failed_materials)
    assert shipped_rulebook.verdict(bom, "USMCA", last) == "qualifies"
    assert shipped_rulebook.verdict(bom, "USMCA", after) == "does_not_qualify"


def test_not_yet_valid_and_single_shipment(book):
    early = book.evaluate(loads_bom(brake()), under="A", as_of=date(2025, 12, 31))
    assert early.verdict == "does_not_qualify"
    assert [w.code for w in early.warnings] == ["BOM108"]
    assert "is not valid before 2026-01-01, after the determination date 2025-12-31" in early.warnings[0].message
    shipment = brake("{reference: INV-9, issuer: Acme, agreement: A, shipment: INV-9, issued: 2026-03-02}")
    assert book.verdict(loads_bom(shipment), "A", date(2026, 3, 1)) == "does_not_qualify"
    assert book.verdict(loads_bom(shipment), "A", date(2026, 3, 2)) == "qualifies"
    assert book.verdict(loads_bom(shipment), "A", date(2030, 1, 1)) == "qualifies"


def test_a_lapsed_certification_overrides_a_declared_originating(book):
    det = book.evaluate(loads_bom(brake(extra=", originating: true")), under="A", as_of=date(2027, 1, 1))
    assert det.verdict == "does_not_qualify"
    assert "although the BOM declares it originating" in det.warnings[0].message


def test_a_certification_for_another_agreement_does_not_count_and_is_named(book):
    bom = loads_bom(brake("{reference: C-B, issuer: Acme, agreement: b, from: 2026-01-01, until: 2026-12-31}"))
    det = book.evaluate(bom, under="A", as_of=date(2026, 6, 1))
    assert det.verdict == "does_not_qualify"
    assert [(w.code, w.path) for w in det.warnings] == [("BOM109", "materials[0].certifications[0]")]
    assert "C-B" in det.warnings[0].message and "not under A" in det.warnings[0].message
    # under B (names without regard to case) it counts; the tariff shift still fails, no RVC in B
    assert book.evaluate(bom, under="B", as_of=date(2026, 6, 1)).explanation.children[-1].children[0].result == "true"
    # declared originating under A by the BOM: the B certification is not named
    declared = loads_bom(brake("{reference: C-B, issuer: Acme, agreement: B, from: 2026-01-01, until: 2026-12-31}",
                               extra=", originating: [A]"))
    det = book.evaluate(declared, under="A", as_of=date(2026, 6, 1))
    assert det.verdict == "qualifies" and det.warnings == []
    assert "as the BOM declares (no certification cited)" in det.explanation.children[-1].children[0].text


def test_a_scenario_takes_the_certification_of_its_agreement(book):
    det = book.evaluate(loads_bom(brake()), under="A tighter", as_of=date(2026, 6, 1))
    assert det.verdict == "qualifies"
    det = book.evaluate(loads_bom(brake()), under="A tighter", as_of=date(2027, 6, 1))
    assert det.verdict == "does_not_qualify" and "non-originating under A tighter" in det.warnings[0].message


@settings(max_examples=examples(40), deadline=None)
@given(start=st.dates(date(2020, 1, 1), date(2030, 1, 1)), length=st.integers(0, 400),
       offset=st.integers(-30, 430))
def test_qualifies_exactly_on_the_days_the_blanket_period_covers(start, length, offset):
    book = _BOOK
    end = start + timedelta(days=length)
    on = start + timedelta(days=offset)
    bom = loads_bom(brake(f"{{reference: C-1, issuer: Acme, agreement: A, from: {start}, until: {end}}}"))
    want = "qualifies" if start <= on <= end else "does_not_qualify"
    assert book.verdict(bom, "A", on) == want
    assert book.evaluate(bom, under="A", as_of=on).verdict == want


_BOOK = origin_rules.loads(RULES)


@pytest.mark.parametrize("cert, message", [
    ("{issuer: Acme, agreement: A, from: 2026-01-01, until: 2026-12-31}", "expected `reference` in certification 1"),
    ("{reference: C-1, issuer: Acme, agreement: A, from: 2026-01-01}", "a blanket period (`from` and `until`)"),
    ("{reference: C-1, issuer: Acme, agreement: A, from: 2026-02-01, until: 2026-01-01}", "`until` on or after `from`"),
    ("{reference: C-1, issuer: Acme, agreement: A, shipment: I-1, from: 2026-01-01, until: 2026-12-31}", "not both"),
    ("{reference: C-1, issuer: Acme, agreemnt: A, from: 2026-01-01, until: 2026-12-31}", "did you mean `agreement`?"),
    ("{reference: C-1, issuer: Acme, agreement: A, from: 2026-13-01, until: 2026-12-31}", "expected a date like"),
])
def test_bad_certifications_are_named_with_their_path(cert, message):
    with pytest.raises(BomError) as info:
        loads_bom(brake(cert), file="b.yaml")
    [problem] = info.value.problems
    # the certification itself, and the key when one key is wrong (`...certifications[0].from`)
    assert problem.path.startswith("materials[0].certifications[0]") and message in problem.message
    assert problem.file == "b.yaml" and problem.line == 4


def test_certifications_and_currency_in_csv_and_back_to_json(tmp_path, book):
    path = tmp_path / "b.csv"
    path.write_text(
        "product.id,product.hs,product.produced_in,product.currency,product.transaction_value,"
        "material.id,material.hs,material.origin,material.value,material.currency,material.certifications\n"
        "G-1,8708.30,MX,USD,1000.00,HOUSING,8708.30,US,300.00,,"
        "reference=C-1; issuer=Acme; agreement=A; from=2026-01-01; until=2026-12-31 | "
        "reference=C-0; issuer=Acme; agreement=A; from=2025-01-01; until=2025-12-31\n"
        "G-1,,,,,PAD,6813.81,CN,100.00,EUR,\n", encoding="utf-8")
    [record] = list(read_boms(path))
    bom = record.bom
    assert [c.reference for c in bom.materials[0].certifications] == ["C-1", "C-0"]
    assert bom.materials[1].currency == "EUR"
    again = origin_rules.BOM.model_validate_json(bom.to_json())
    assert again == bom
    data = json.loads(bom.to_json())
    assert data["materials"][0]["certifications"][0] == {
        "reference": "C-1", "issuer": "Acme", "agreement": "A", "from": "2026-01-01", "until": "2026-12-31"}
    # the PAD's price is in EUR with no rate: the tariff shift fails for HOUSING only when it
    # does not originate; C-1 is valid in 2026 and C-0 in 2025, so the verdict needs no price
    assert book.verdict(bom, "A", date(2026, 6, 1)) == "qualifies"
    assert book.verdict(bom, "A", date(2025, 6, 1)) == "qualifies"
    # neither valid: RVC = (1000 - 300 - PAD) / 1000 >= 60% holds only if PAD <= 100.00 USD
    det = book.evaluate(bom, under="A", as_of=date(2027, 6, 1))
    assert det.verdict == "insufficient_data" and det.missing == ["rates[EUR->USD]"]
    assert [w.path for w in det.warnings] == ["materials[0].certifications[0]", "materials[0].certifications[1]"]
    bad = tmp_path / "bad.csv"
    bad.write_text("product.id,material.id,material.certifications\nG-1,M-1,reference C-1\n", encoding="utf-8")
    [record] = list(read_boms(bad))
    assert "expected `key=value` entries separated by `;`" in str(record.error)
    assert "materials[0].certifications" in str(record.error)


# ---------------------------------------------------------------------------- currencies


def euros(rate: str | None = '"1.0842"', currency: str = "USD", value: str = "500.00") -> str:
    rates = f"\nrates:\n  - {{from: EUR, to: USD, rate: {rate}, date: 2026-06-30, source: ECB}}" if rate else ""
    return f"""
product: {{id: G-2, hs: "8708.30", produced_in: MX, currency: {currency}, transaction_value: "1000.00"}}
materials:
  - {{id: HOUSING, hs: "8708.30", origin: DE, originating: false, value: "{value}", currency: EUR}}
  - {{id: PAD, hs: "6813.81", origin: CN, originating: false, value: "100.00"}}{rates}
"""


def test_conversion_is_exact_and_shown(book):
    det = book.evaluate(loads_bom(euros()), under="A", as_of=date(2026, 6, 1))
    # hand: 500.00 x 1.0842 = 542.100000; VNM = 642.10; RVC = (1000 - 642.10) / 1000 = 35.79% < 60%
    assert det.verdict == "does_not_qualify" and det.figures["vnm"] == "642.10"
    node = next(c for c in det.explanation.children if c.text.startswith("prices converted"))
    assert node.text == "prices converted into USD, exactly" and node.result == "true"
    [line] = node.children
    assert line.figures == {"materials[0].value": "542.100000"}
    assert line.text == "HOUSING: value 500.00 EUR x 1.0842 = 542.100000 USD (1 EUR = 1.0842 USD (ECB, 2026-06-30))"


def test_a_missing_rate_is_insufficient_data_naming_it(book):
    det = book.evaluate(loads_bom(euros(rate=None)), under="A", as_of=date(2026, 6, 1))
    assert det.verdict == "insufficient_data" and det.missing == ["rates[EUR->USD]"]
    assert book.verdict(loads_bom(euros(rate=None)), "A", date(2026, 6, 1)) == "insufficient_data"
    assert "rates[EUR->USD]" in one_line_reason(det)
    # the product's own currency not given: that is what is missing
    det = book.evaluate(loads_bom(euros(currency="null")), under="A", as_of=date(2026, 6, 1))
    assert det.verdict == "insufficient_data" and det.missing == ["product.currency"]
    # a rate the other way round is not used (its inverse is no exact multiplication)
    bom = loads_bom(euros(rate=None))
    reverse = with_rates(bom, [Rate("USD", "EUR", Decimal("0.92"))])
    assert book.verdict(reverse, "A", date(2026, 6, 1)) == "insufficient_data"


def test_rates_from_a_file_and_the_boms_own_rate_wins(tmp_path, book):
    rates = read_rates(ROOT / "examples" / "paperwork" / "rates.yaml")
    assert [(r.base, r.quote, r.rate) for r in rates] == [("EUR", "USD", Decimal("1.0842")), ("CAD", "USD", Decimal("0.7311"))]
    plain = with_rates(loads_bom(euros(rate=None)), rates)
    assert convert(plain).bom.materials[0].value == Decimal("542.100000")
    own = with_rates(loads_bom(euros(rate='"2"')), rates)
    assert convert(own).bom.materials[0].value == Decimal("1000.00")
    bom_file = tmp_path / "g.yaml"
    bom_file.write_text(euros(rate=None), encoding="utf-8")
    rules = tmp_path / "r.roo"
    rules.write_text(RULES, encoding="utf-8")
    args = ["evaluate", str(bom_file), "--rules", str(rules), "--under", "A", "--as-of", "2026-06-01", "--format", "json"]
    without = runner.invoke(app, args)
    assert json.loads(without.output)["missing"] == ["rates[EUR->USD]"]
    with_file = runner.invoke(app, [*args, "--rates", str(ROOT / "examples" / "paperwork" / "rates.yaml")])
    assert with_file.exit_code == 0 and json.loads(with_file.output)["figures"]["vnm"] == "642.10"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rates:\n  - {from: EUR, to: USD, rate: 1.0x}\n", encoding="utf-8")
    result = runner.invoke(app, [*args, "--rates", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "rate 1" in result.output and "decimal number" in result.output
    empty = tmp_path / "empty.yaml"
    empty.write_text("# no rates yet\n", encoding="utf-8")
    with pytest.raises(BomError) as info:  # a rates file, not a BOM
        read_rates(empty)
    assert str(info.value) == (f"{empty}: the rates file is empty: expected a list of rates, or a mapping with the key "
                               "`rates` (docs/bom.md, Currencies)")


@pytest.mark.parametrize("rates, message", [
    ('[{from: EUR, to: EUR, rate: "1"}]', "two different currencies"),
    ('[{from: EUR, to: USD, rate: "0"}]', "above zero"),
    ('[{from: EUR, to: USD, rate: "1"}, {from: EUR, to: USD, rate: "2"}]', "one rate from EUR to USD"),
    ('[{from: EURO, to: USD, rate: "1"}]', "ISO 4217"),
])
def test_bad_rates_are_named(rates, message):
    text = euros(rate=None) + f"\nrates: {rates}\n"
    with pytest.raises(BomError) as info:
        loads_bom(text, file="r.yaml")
    # a rate's own problem at its index; one rate given twice at the list
    assert any(message in p.message and p.path in ("rates[0]", "rates") for p in info.value.problems), info.value


_AMOUNTS = st.decimals(min_value=0, max_value=10 ** 9, places=4, allow_nan=False, allow_infinity=False)
_RATES = st.decimals(min_value=Decimal("0.000001"), max_value=10 ** 4, places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(40), deadline=None)
@given(value=_AMOUNTS, rate=_RATES)
def test_converting_is_the_same_as_writing_the_converted_price(value, rate):
    """The verdict on a BOM priced in EUR is the verdict on the same BOM with the price
    already multiplied out in USD; and the multiplication is exact (no digit lost)."""
    book = _BOOK
    converted = loads_bom(euros(rate=f'"{rate}"', value=str(value)))
    assert convert(converted).bom.materials[0].value == value * rate  # exact: Decimal's default precision suffices here
    assert convert(converted).bom.materials[0].value * 1 == Decimal(str(value)) * Decimal(str(rate))
    direct = loads_bom(euros(rate=None, value=format(value * rate, "f")).replace(", currency: EUR", ""))
    on = date(2026, 6, 1)
    assert book.verdict(converted, "A", on) == book.verdict(direct, "A", on)
    assert book.evaluate(converted, under="A", as_of=on).figures["vnm"] == \
        book.evaluate(direct, under="A", as_of=on).figures["vnm"]


def test_a_batch_names_the_lapsed_certification(tmp_path):
    from origin_rules.batch.judge import judge

    bom = loads_bom(brake())
    [entry] = judge(_BOOK, bom, ["A"], date(2027, 1, 1))
    assert entry["verdict"] == "does_not_qualify"
    assert [w["code"] for w in entry["warnings"]] == ["BOM108"]
    assert "C-1" in entry["reason"] and "expired on 2026-12-31" in entry["reason"]
    [fast] = judge(_BOOK, bom, ["A"], date(2027, 1, 1), figures=False)
    assert "C-1" in fast["reason"] and fast["verdict"] == "does_not_qualify"


def test_certifications_and_currency_in_xlsx(tmp_path):
    import openpyxl

    from origin_rules.files.boms import read_xlsx_boms

    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["product.id", "product.hs", "product.produced_in", "product.currency", "product.transaction_value",
                  "material.id", "material.hs", "material.origin", "material.value", "material.currency",
                  "material.certifications"])
    sheet.append(["G-1", "8708.30", "MX", "USD", "1000.00", "HOUSING", "8708.30", "US", "500.00", None,
                  "reference=C-1; issuer=Acme; agreement=A; from=2026-01-01; until=2026-12-31"])
    sheet.append(["G-1", None, None, None, None, "PAD", "6813.81", "CN", "100.00", "EUR", None])
    wb.save(tmp_path / "b.xlsx")
    [record] = list(read_xlsx_boms(tmp_path / "b.xlsx"))
    assert record.ok, record.error
    [cert] = record.bom.materials[0].certifications
    assert (cert.reference, cert.agreement, cert.start, cert.end) == ("C-1", "A", date(2026, 1, 1), date(2026, 12, 31))
    assert record.bom.materials[1].currency == "EUR"
    assert _BOOK.verdict(record.bom, "A", date(2026, 6, 1)) == "qualifies"
    assert _BOOK.verdict(record.bom, "A", date(2027, 6, 1)) == "does_not_qualify"  # VNM >= 500: RVC <= 50%
