"""Goods deemed originating: ``deemed originating for CODES [except CODES] [when COND]``
(USMCA Art. 2.10, HTSUS GN11(p)) and the BOM field ``product.imported_from``.

The language (grammar, checker, formatter), the engine against the reference evaluator and
the deciding path on hand-worked cases (a deeming that holds decides "notwithstanding any
other provisions"; one that may hold is never guessed), the explanation, scenarios,
sub-assemblies, coverage, the structural diff and the BOM field (validation, schema, CSV).
Every expectation is worked by hand in the comment beside it."""

from __future__ import annotations

import csv
import dataclasses
from datetime import date

import pytest

import origin_rules
from origin_rules.diff.normal import normalize
from origin_rules.diff.structural import structural_diff
from origin_rules.formatting.printer import format_module
from origin_rules.model import ast
from origin_rules.model.bom import BOM, BomError, bom_from_data, bom_json_schema
from origin_rules.rulebook.book import loads
from origin_rules.rulebook.explain import render
from origin_rules.rulebook.sources import parse_texts
from origin_rules.rulebook.vocabulary import asked_of
from origin_rules.syntax.parser import parse

import reference_evaluator as reference

ON = date(2026, 1, 1)

# the worked example of docs/language.md ("Goods deemed originating"), with a scenario
RULES = """agreement "Deemed" {
  parties = [US, MX, CA]
  effective = 2020-07-01

  rule 84.71 "ADP machines" { change from any other heading }
  rule 84.73 "Parts" { change from any other heading }

  deemed originating "ADP machines and units" for 8471.30..8471.50, 8471.60.10
      when imported_from in [CA, MX] {
    cite "HTSUS GN11(p); USMCA Art. 2.10"
  }
}

scenario "Deemed, more" extends "Deemed" {
  deemed originating for 8473.30 except 8473.30.11 when imported_from in [MX] {
    cite "hypothetical"
  }
}
"""


@pytest.fixture(scope="module")
def book():
    return origin_rules.loads({"rules.roo": RULES})


def _bom(product: dict, materials: list[dict] = ()) -> BOM:
    return BOM.model_validate({"product": {"id": "P", "currency": "USD", "transaction_value": "1000.00", **product},
                               "materials": list(materials)})


def _both(book, bom: BOM, under: str = "Deemed", on: date = ON) -> tuple[str, list[str]]:
    """The engine's verdict and missing fields, asserted equal to the reference's and to the
    deciding path's."""
    det = book.evaluate(bom, under=under, as_of=on)
    ref = reference.evaluate(book.parsed.programs, bom, under, on)
    assert det.verdict == ref.verdict == book.verdict(bom, under=under, as_of=on)
    assert set(det.missing) == set(ref.missing) if det.verdict == "insufficient_data" else not det.missing
    return det.verdict, sorted(det.missing)


ORIGINATING = [{"id": "M1", "hs": "8473.30", "origin": "MX", "originating": True, "value": "600.00"}]
FAILING = [{"id": "M1", "hs": "8471.49", "origin": "CN", "originating": False, "value": "600.00"}]


@pytest.mark.parametrize("product, materials, expected", [
    # the docs' table: 8471.30 listed; produced in CN (not a party: the rules say no)
    ({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"}, [], ("qualifies", [])),
    ({"hs": "8471.30", "produced_in": "CN", "imported_from": "CN"}, [], ("does_not_qualify", [])),
    ({"hs": "8471.30", "produced_in": "CN"}, [], ("insufficient_data", ["product.imported_from"])),
    # every material originating: the rules qualify it, imported_from does not matter
    ({"hs": "8471.30", "produced_in": "MX"}, ORIGINATING, ("qualifies", [])),
    # "from another USMCA country": the condition names CA and MX, not the US
    ({"hs": "8471.30", "produced_in": "CN", "imported_from": "US"}, [], ("does_not_qualify", [])),
    # produced in MX, the rule of 84.71 fails (8471.49 is of the good's heading; no de minimis
    # here): deemed when imported from CA; undecided without imported_from
    ({"hs": "8471.41", "produced_in": "MX", "imported_from": "CA"}, FAILING, ("qualifies", [])),
    ({"hs": "8471.41", "produced_in": "MX"}, FAILING, ("insufficient_data", ["product.imported_from"])),
    ({"hs": "8471.41", "produced_in": "MX", "imported_from": "JP"}, FAILING, ("does_not_qualify", [])),
    # a range of the list: 8471.50 is in 8471.30..8471.50; 8471.70 is not
    ({"hs": "8471.50", "produced_in": "CN", "imported_from": "MX"}, [], ("qualifies", [])),
    ({"hs": "8471.70", "produced_in": "CN", "imported_from": "MX"}, [], ("does_not_qualify", [])),
    # a tariff item of the list against a coarser code: 8471.60 could be 8471.60.10 or not
    ({"hs": "8471.60", "produced_in": "CN", "imported_from": "MX"}, [], ("insufficient_data", ["product.hs"])),
    ({"hs": "8471.60.10", "produced_in": "CN", "imported_from": "MX"}, [], ("qualifies", [])),
    ({"hs": "8471.60.20", "produced_in": "CN", "imported_from": "MX"}, [], ("does_not_qualify", [])),
    # both unknown: the code and where it comes from
    ({"hs": "8471.60", "produced_in": "CN"}, [], ("insufficient_data", ["product.hs", "product.imported_from"])),
    # the rules undecided (produced_in missing) and the deeming too: both named
    ({"hs": "8471.30"}, [], ("insufficient_data", ["product.imported_from", "product.produced_in"])),
    # not listed, and the rules say no: nothing is asked of imported_from
    ({"hs": "8473.30", "produced_in": "CN"}, [], ("does_not_qualify", [])),
])
def test_worked_cases(book, product, materials, expected):
    assert _both(book, _bom(product, materials)) == expected


def test_no_rule_does_not_stop_a_deeming():
    """A good no rule covers (verdict no_rule) is still deemed, or undecided."""
    book = origin_rules.loads({"r.roo": 'agreement "A" {\n  parties = [US, MX, CA]\n'
                                        '  rule 01 { wholly_obtained }\n'
                                        '  deemed originating for 8471.30 when imported_from in [MX] {}\n}\n'})
    assert _both(book, _bom({"hs": "8471.30", "produced_in": "MX", "imported_from": "MX"}), "A") == ("qualifies", [])
    assert _both(book, _bom({"hs": "8471.30", "produced_in": "MX"}), "A") == (
        "insufficient_data", ["product.imported_from"])
    assert _both(book, _bom({"hs": "8471.30", "produced_in": "MX", "imported_from": "CN"}), "A")[0] == "no_rule"


def test_not_in_force_is_not_deemed(book):
    # before 2020-07-01 the agreement (and its deemings) does not apply
    bom = _bom({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"})
    assert _both(book, bom, on=date(2020, 6, 30)) == ("does_not_qualify", [])


def test_dated_deeming():
    book = origin_rules.loads({"r.roo": 'agreement "A" {\n  parties = [US, MX, CA]\n  rule 84 { CTH }\n'
                                        '  deemed originating for 84.71 from 2024-01-01 until 2024-12-31 '
                                        'when imported_from in [MX] {}\n}\n'})
    bom = _bom({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"})
    assert _both(book, bom, "A", date(2024, 6, 1)) == ("qualifies", [])
    assert _both(book, bom, "A", date(2025, 1, 1)) == ("does_not_qualify", [])


def test_scenario_inherits_and_adds(book):
    # the base's deeming holds under the scenario too
    assert _both(book, _bom({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"}), "Deemed, more")[0] == "qualifies"
    # the scenario's own: 8473.30 from MX, except the tariff item 8473.30.11
    part = {"hs": "8473.30.51", "produced_in": "CN", "imported_from": "MX"}
    assert _both(book, _bom(part), "Deemed, more") == ("qualifies", [])
    assert _both(book, _bom(part), "Deemed") == ("does_not_qualify", [])
    assert _both(book, _bom({**part, "hs": "8473.30.11"}), "Deemed, more") == ("does_not_qualify", [])
    # 8473.30 at 6 digits could be the excepted item: undecided
    assert _both(book, _bom({**part, "hs": "8473.30"}), "Deemed, more") == ("insufficient_data", ["product.hs"])


def test_sub_assemblies_are_not_deemed(book):
    """A sub-assembly is not imported: a listed sub-assembly that fails its rule stays
    non-originating, and the product (not listed) does not qualify."""
    sub = {"id": "SUB", "hs": "8471.50", "origin": "MX", "value": "600.00",
           "materials": [{"id": "S1", "hs": "8471.49", "origin": "CN", "originating": False, "value": "500.00"}]}
    bom = _bom({"hs": "8473.30", "produced_in": "MX", "imported_from": "MX"}, [sub])
    det = book.evaluate(bom, under="Deemed", as_of=ON)
    # SUB: rule 84.71 fails (8471.49 is of its heading) -> non-originating; the product: rule
    # 84.73 "change from any other heading" is met by SUB of 84.71 -> qualifies anyway
    assert _both(book, bom) == ("qualifies", [])
    assert det.origin_criterion == "product_specific_rule"
    outcome = book.outcome(bom, "Deemed", ON)
    subs = [n.sub for n in outcome.trace.walk() if n.sub is not None]
    assert [s.verdict for s in subs] == ["does_not_qualify"] and subs[0].deemed == []


def test_explanation_cites_the_deeming(book):
    bom = _bom({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"})
    det = book.evaluate(bom, under="Deemed", as_of=ON, explain="full")
    assert det.origin_criterion == "deemed_originating"
    text = render(det, full=True)
    assert "deemed originating" in text and "GN11(p)" in text
    outcome = book.outcome(bom, "Deemed", ON)
    first = outcome.trace.children[0]
    assert first.result is True and first.kind == "deemed" and "GN11(p)" in (first.note or "")
    assert [d.node.title for d, _ in outcome.deemed] == ["ADP machines and units"]


def test_default_agreements_include_the_country_imported_from(book):
    # produced in CN: no agreement by production; imported from MX: the agreement is tried
    assert book.applicable(_bom({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"})) == [
        "Deemed", "Deemed, more"]
    assert book.applicable(_bom({"hs": "8471.30", "produced_in": "CN"})) == []
    # an agreement without deemings is not tried for where the good comes from
    plain = origin_rules.loads({"r.roo": 'agreement "A" {\n  parties = [US, MX]\n  rule 84 { CTH }\n}\n'})
    assert plain.applicable(_bom({"hs": "8471.30", "produced_in": "CN", "imported_from": "MX"})) == []


def test_coverage_counts_a_deeming_that_held(tmp_path):
    from origin_rules.ruletests.runner import run  # noqa: PLC0415 (the runner is heavy)
    (tmp_path / "r.roo").write_text(RULES, encoding="utf-8")
    (tmp_path / "r.test.yaml").write_text(
        '- name: deemed\n  as_of: 2026-01-01\n  bom:\n    product: {id: P, hs: "8471.30", produced_in: CN, '
        'imported_from: MX}\n    materials: []\n  expect:\n    Deemed: qualifies\n', encoding="utf-8")
    report = run([tmp_path], coverage=True)
    kinds = report.coverage.by_kind()
    # the agreement's deeming held; the scenario's was never tried
    assert kinds["deemed"] == (1, 2)


# ---- language: check, format ------------------------------------------------------------------


def _codes(src: str) -> list[str]:
    return [d.code for d in parse_texts({"r.roo": src}).diagnostics]


HEAD = 'agreement "A" {\n  parties = [US, MX, CA]\n  rule 84 { CTH }\n  '
TAIL = "\n}\n"


@pytest.mark.parametrize("statement", [
    "deemed originating for 8471.30 {}",
    'deemed originating "T" for 8471.30, 8471.60.10 except 8471.60.10 when imported_from in [CA, MX] { cite "x" }',
    "deemed originating for 84.71 when imported_from in parties and produced_in in [CN] {}",
    "deemed originating for 84.71 from 2021-01-01 until 2022-01-01 when good in [printer_part] {}",
])
def test_well_formed_statements_are_clean(statement):
    assert _codes(HEAD + statement + TAIL) == []


@pytest.mark.parametrize("statement, code", [
    ("deemed originating for 8471.99 {}", "ROO101"),  # not in HS 2022
    ("deemed originating for 8471.30 when imported_from in [XX] {}", "ROO104"),  # unknown country
    ("deemed originating for 8471.30 when imported_frm in [MX] {}", "ROO018"),  # a slip of the built-in fact
    ("deemed originating for nowhere {}", "ROO109"),  # unknown set
    ("deemed originating for 8471.30 until 2019-01-01 from 2020-01-01 {}", "ROO117"),
])
def test_errors(statement, code):
    assert code in _codes(HEAD + statement + TAIL)


@pytest.mark.parametrize("statement, expected", [
    ("deemed originating when imported_from in [MX] {}", "`for`"),  # `for` is required
    ("deemed originating for 8471.30 { CTH }", "`cite`"),  # the body holds citations only
    ("deemed for 8471.30 {}", "`originating`"),
])
def test_syntax_errors_say_what_was_expected(statement, expected):
    _, diags = parse(HEAD + statement + TAIL, "r.roo")
    assert diags and diags[0].code == "ROO001"
    assert expected in diags[0].message


def test_format_round_trips():
    module, diags = parse(RULES, "rules.roo")
    assert diags == []
    out = format_module(module)
    assert 'deemed originating "ADP machines and units" for 8471.30..8471.50, 8471.60.10' in out
    again, _ = parse(out, "rules.roo")
    assert again == module and format_module(again) == out


def test_the_ast():
    module, _ = parse(RULES, "rules.roo")
    deemed = module.items[0].deemed[0]
    assert isinstance(deemed, ast.Deemed)
    assert deemed.title == "ADP machines and units" and deemed.cites == ("HTSUS GN11(p); USMCA Art. 2.10",)
    assert isinstance(deemed.when, ast.FactIn) and deemed.when.fact == "imported_from"


def test_imported_from_is_not_a_declared_fact_of_the_good(book):
    names = {(a.kind, a.name) for a in asked_of(book.parsed)}
    assert not any(name == "imported_from" for _, name in names)


# ---- the structural diff -------------------------------------------------------------------------


def _program(body: str):
    return normalize(loads({"x.roo": f'agreement "Demo" {{\n  parties = [US, MX, CA]\n  rule 84 {{ CTH }}\n{body}\n}}\n'})
                     .parsed.programs["Demo"])


def test_diff_reports_deemings():
    before = "  deemed originating for 8471.30 when imported_from in [MX] {}"
    d = structural_diff(_program(""), _program(before))
    assert [c.kind for c in d.changes] == ["deemed_added"]
    d = structural_diff(_program(before), _program(before.replace("8471.30", "8471.30, 8471.41")))
    assert [c.kind for c in d.changes] == ["deemed_changed"]
    assert "deemed code 8471.41 added" in d.changes[0].summary
    d = structural_diff(_program(before), _program(before.replace("[MX]", "[CA, MX]")))
    assert "applies when imported_from in [MX] -> when imported_from in [CA, MX]" in d.changes[0].summary
    assert [c.kind for c in structural_diff(_program(before), _program("")).changes] == ["deemed_removed"]
    # a title or a citation is no change in meaning
    assert _program(before).same_meaning(_program(before.replace("deemed originating", 'deemed originating "T"')))


# ---- BOM field -----------------------------------------------------------------------------------


def test_imported_from_is_a_country():
    bom = bom_from_data({"product": {"id": "P", "hs": "8471.30", "imported_from": "MX"}, "materials": []})
    assert bom.product.imported_from == "MX"
    with pytest.raises(BomError) as err:
        bom_from_data({"product": {"id": "P", "imported_from": "Mexico"}, "materials": []}, file="b.yaml")
    assert err.value.problems[0].path == "product.imported_from"


def test_imported_from_in_schema():
    prop = bom_json_schema()["$defs"]["Product"]["properties"]["imported_from"]
    assert "GN11(p)" in prop["description"] and "produced_in" in prop["description"]


def test_imported_from_read_from_csv(tmp_path):
    path = tmp_path / "goods.csv"
    rows = [["product.id", "product.hs", "product.produced_in", "product.imported_from"],
            ["P", "8471.30", "CN", "MX"]]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    assert origin_rules.read_bom(path).product.imported_from == "MX"


def test_imported_from_read_from_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "goods.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["product.id", "product.hs", "product.produced_in", "product.imported_from"])
    wb.active.append(["P", "8471.30", "CN", "CA"])
    wb.save(path)
    from origin_rules.files.boms import read_xlsx_boms  # noqa: PLC0415
    (record,) = list(read_xlsx_boms(path))
    assert record.bom.product.imported_from == "CA"


def test_sub_assembly_view_has_no_imported_from(book):
    from origin_rules.engine.view import good_of_bom, good_of_part  # noqa: PLC0415
    bom = _bom({"hs": "8473.30", "produced_in": "MX", "imported_from": "MX"},
               [{"id": "SUB", "hs": "8471.50", "origin": "MX", "value": "1.00",
                 "materials": [{"id": "S1", "hs": "8471.49", "origin": "CN", "value": "1.00"}]}])
    good = good_of_bom(bom)
    assert good.imported_from == "MX"
    assert dataclasses.replace(good_of_part(good.parts[0], good)).imported_from is None
