"""Declared facts: what the BOM says about the good or a material beyond its code, and the
rules that test it (`when NAME in [...]`, `NAME in [...]` in filters, `CODES where NAME in
[...]` as a tariff-shift source, `fact(NAME) OP N%`)."""

from __future__ import annotations

from datetime import date

import pytest

import origin_rules
from origin_rules.model.bom import BOM, BomError, bom_from_data

RULES = """
agreement "F" {
  parties = [US, MX, CA]
  de_minimis value <= 10% of transaction_value

  rule 8708.29 "Body stampings" when end_use in [passenger_vehicle] and good in [body_stamping] {
    rvc(net_cost) >= 75%
  }
  rule 8708.29 "Other body parts" { CTH }

  rule 8708.30 "Brakes" {
    change from any other heading, 8708.30 where part_of in [brakes], 8708.99 where part_of in [brakes]
  }

  rule 8708.40 "Gear boxes" {
    value(non_originating and part_of in [gears]) <= 20% of transaction_value
  }

  require for 87.03 "Labour value content" when end_use in [passenger_vehicle] {
    fact(lvc) >= 40%
  }
  rule 87.03 "Passenger vehicles" { rvc(net_cost) >= 50% }
}
"""
ON = date(2026, 6, 1)


@pytest.fixture(scope="module")
def book():
    return origin_rules.loads({"f.roo": RULES})


def bom(hs: str, materials: list[dict], **product) -> BOM:
    head = {"id": "P", "hs": hs, "produced_in": "MX", "transaction_value": "1000", "net_cost": "800", **product}
    return BOM.model_validate({"product": head, "materials": materials})


def steel(value: str, **extra) -> dict:
    return {"id": f"M{value}", "hs": "7208.51", "origin": "CN", "originating": False, "value": value, **extra}


# ---- reading facts ---------------------------------------------------------------------------------------------


def test_facts_are_words_yes_no_or_exact_numbers_with_periods():
    b = bom("8708.29", [], facts={"good": "body_stamping", "smoked": True, "lvc": {
        "value": "41.5", "from": "2026-01-01", "until": "2026-12-31"}})
    facts = b.product.facts
    assert facts["good"].value == "body_stamping"
    assert facts["smoked"].value == "yes"
    assert str(facts["lvc"].value) == "41.5" and facts["lvc"].start == date(2026, 1, 1)
    again = BOM.model_validate_json(b.to_json())
    assert again.product.facts == facts


@pytest.mark.parametrize("facts, words", [
    ({"9bad": "x"}, "fact names"),
    ({"good": "two words"}, "a word like body_stamping"),
    ({"lvc": {"value": "41", "from": "2026-12-31", "until": "2026-01-01"}}, "`until` on or after `from`"),
    ({"lvc": {"value": "41", "since": "2026-01-01"}}, "unknown key `since`"),
    ({"lvc": {"from": "2026-01-01"}}, "no `value`"),
    (["good"], "a mapping of fact names"),
])
def test_bad_facts_are_errors_with_their_path(facts, words):
    with pytest.raises(BomError) as info:
        bom_from_data({"product": {"id": "P", "hs": "8708.29", "facts": facts}, "materials": []})
    text = str(info.value)
    assert "product.facts" in text and words in text


# ---- `when` on a declared fact -------------------------------------------------------------------------------


def test_a_declared_fact_chooses_the_rule(book):
    materials = [steel("300")]
    stamping = book.evaluate(bom("8708.29", materials, end_use="passenger_vehicle",
                                 facts={"good": "body_stamping"}), under="F", as_of=ON)
    assert stamping.verdict == "does_not_qualify"  # RVC (800 - 300) / 800 = 62.5% < 75%
    assert stamping.rule.title == "Body stampings"
    other = book.evaluate(bom("8708.29", materials, end_use="passenger_vehicle", facts={"good": "hinge"}),
                          under="F", as_of=ON)
    assert other.verdict == "qualifies" and other.rule.title == "Other body parts"  # 72 -> 87: CTH


def test_a_missing_fact_is_named_when_the_candidates_disagree(book):
    d = book.evaluate(bom("8708.29", [steel("300")], end_use="passenger_vehicle"), under="F", as_of=ON)
    assert d.verdict == "insufficient_data"
    assert "product.facts.good" in d.missing


def test_a_missing_fact_does_not_matter_when_the_candidates_agree(book):
    # VNM 100 of a steel sheet: RVC 87.5% >= 75% and a change of heading: both rules hold
    d = book.evaluate(bom("8708.29", [steel("100")], end_use="passenger_vehicle"), under="F", as_of=ON)
    assert d.verdict == "qualifies"


# ---- `where` sources of a tariff shift -----------------------------------------------------------------------


def brake_part(value: str, **facts) -> dict:
    extra = {"facts": facts} if facts else {}
    return {"id": "BP", "hs": "8708.99", "origin": "CN", "originating": False, "value": value, **extra}


def test_a_where_source_admits_only_materials_declaring_the_fact(book):
    assert book.verdict(bom("8708.30", [brake_part("300", part_of="brakes")]), under="F", as_of=ON) == "qualifies"
    assert book.verdict(bom("8708.30", [brake_part("300", part_of="clutches")]), under="F",
                        as_of=ON) == "does_not_qualify"


def test_a_where_source_without_the_fact_names_it(book):
    d = book.evaluate(bom("8708.30", [brake_part("300")]), under="F", as_of=ON)
    assert d.verdict == "insufficient_data"
    assert d.missing == ["materials[0].facts.part_of"]


def test_de_minimis_forgives_a_material_a_where_source_refuses(book):
    # a clutch part worth 100 = 10% of the transaction value: within de minimis
    assert book.verdict(bom("8708.30", [brake_part("100", part_of="clutches")]), under="F", as_of=ON) == "qualifies"
    assert book.verdict(bom("8708.30", [brake_part("100.01", part_of="clutches")]), under="F",
                        as_of=ON) == "does_not_qualify"


# ---- material facts in filters -----------------------------------------------------------------------------


def test_a_filter_on_a_material_fact(book):
    gears = {"id": "G", "hs": "8483.40", "origin": "CN", "originating": False, "value": "200", "facts": {"part_of": "gears"}}
    assert book.verdict(bom("8708.40", [gears]), under="F", as_of=ON) == "qualifies"  # 200 <= 20% x 1000
    more = dict(gears, value="200.01")
    assert book.verdict(bom("8708.40", [more]), under="F", as_of=ON) == "does_not_qualify"
    unknown = {k: v for k, v in more.items() if k != "facts"}
    d = book.evaluate(bom("8708.40", [unknown]), under="F", as_of=ON)
    assert d.verdict == "insufficient_data" and d.missing == ["materials[0].facts.part_of"]


# ---- fact(NAME) ------------------------------------------------------------------------------------------------


def vehicle(lvc) -> BOM:
    return bom("8703.23", [steel("100")], end_use="passenger_vehicle", facts={"lvc": lvc} if lvc is not None else {})


def test_a_declared_number_is_compared_exactly(book):
    assert book.verdict(vehicle("40"), under="F", as_of=ON) == "qualifies"
    assert book.verdict(vehicle("39.99"), under="F", as_of=ON) == "does_not_qualify"
    d = book.evaluate(vehicle(None), under="F", as_of=ON)
    assert d.verdict == "insufficient_data" and d.missing == ["product.facts.lvc"]


def test_a_fact_counts_only_within_its_evidence_period(book):
    period = {"value": "41", "from": "2026-01-01", "until": "2026-12-31"}
    assert book.verdict(vehicle(period), under="F", as_of=date(2026, 12, 31)) == "qualifies"
    d = book.evaluate(vehicle(period), under="F", as_of=date(2027, 1, 1))
    assert d.verdict == "insufficient_data" and d.missing == ["product.facts.lvc"]
    assert book.verdict(vehicle(period), under="F", as_of=date(2025, 12, 31)) == "insufficient_data"


def test_a_word_where_a_number_is_needed_is_missing_not_a_guess(book):
    d = book.evaluate(vehicle("certified"), under="F", as_of=ON)
    assert d.verdict == "insufficient_data" and d.missing == ["product.facts.lvc"]


# ---- the checker ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, words", [
    ("rule 87.03 when end_uses in [bus] { CTH }", "unknown fact `end_uses`"),
    ("rule 87.03 when good in parties { CTH }", "values are words in brackets"),
    ("rule 87.03 { value(end_use in [bus]) <= 10% of transaction_value }", "fact of the good, not of a material"),
    ("rule 87.03 { change from 87.08 where produced_in in [MX] }", "fact of the good, not of a material"),
    ("rule 87.03 { fact(end_use) >= 10% }", "built-in fact"),
    ("rule 87.03 { fact(lvc) >= 10% of net_cost }", "declared number of percent points"),
])
def test_misused_facts_are_refused_with_roo018_or_roo016(line, words):
    text = 'agreement "A" {\n  parties = [US]\n  ' + line + "\n}\n"
    with pytest.raises(origin_rules.RulebookError) as info:
        origin_rules.loads({"a.roo": text})
    assert words in str(info.value)


def test_facts_in_csv_cells(tmp_path, book):
    from origin_rules.files.boms import read_boms

    path = tmp_path / "brakes.csv"
    path.write_text(
        "product.id,product.hs,product.produced_in,product.transaction_value,product.facts,"
        "material.id,material.hs,material.origin,material.originating,material.value,material.facts\n"
        "P,8708.30,MX,1000,good=brake; lvc=41.5,M1,8708.99,CN,false,300,part_of=brakes\n"
        "Q,8708.30,MX,1000,,M1,8708.99,CN,false,300,part_of=clutches\n"
        "R,8708.30,MX,1000,,M1,8708.99,CN,false,300,part_of brakes\n", encoding="utf-8")
    records = list(read_boms(path))
    p, q, r = records
    assert p.ok and str(p.bom.product.facts["lvc"].value) == "41.5"
    assert book.verdict(p.bom, under="F", as_of=ON) == "qualifies"
    assert book.verdict(q.bom, under="F", as_of=ON) == "does_not_qualify"
    assert not r.ok and "materials[0].facts" in str(r.error)


def test_rulebook_facts_lists_what_the_rules_ask(tmp_path):
    import json

    from typer.testing import CliRunner

    from origin_rules.cli import app

    (tmp_path / "f.roo").write_text(RULES + 'scenario "S" extends "F" {\n  rule 8708.50 when axle in [x] { CTH }\n}\n',
                                    encoding="utf-8")
    result = CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {(r["kind"], r["fact"]): r for r in json.loads(result.output)}
    assert set(rows) == {("end_use", "end_use"), ("good", "good"), ("material", "part_of"), ("number", "lvc")}
    assert rows[("good", "good")]["words"] == {"body_stamping": ["8708.29"]}
    assert rows[("material", "part_of")]["words"] == {"brakes": ["8708.30"], "gears": ["8708.40"]}
    assert rows[("end_use", "end_use")]["words"] == {"passenger_vehicle": ["87.03", "8708.29"]}
    assert rows[("number", "lvc")]["codes"] == ["87.03"]
    text = CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path)]).output
    assert "Declared fact of a material (materials[i].facts):" in text and "brakes: 8708.30" in text
    assert CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path / "nowhere")]).exit_code == 2
    # through the rulebook cache (the default) or parsed (--no-cache): the same rows, the same refusal
    again = CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path), "--format", "json", "--no-cache"])
    assert again.exit_code == 0 and again.output == result.output
    (tmp_path / "f.roo").write_text('agreement "F" { parties = [US\n', encoding="utf-8")
    for extra in ([], ["--no-cache"]):
        broken = CliRunner().invoke(app, ["rulebook", "facts", str(tmp_path), *extra])
        assert broken.exit_code == 2 and "f.roo" in broken.output
