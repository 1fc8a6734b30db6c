"""The general rules of USMCA written beside the product-specific rules (rules/usmca/
agreement.roo): retail sets and the "no change of classification possible" fallback
(GN11(b)(iv)), with the product flags they read (`retail_set`, `imported_unassembled`); and
rules/usmca/general-rules-l.roo: goods only packaged or only diluted where they are declared
produced (`packaging_only`, `diluted_only`: GN11(l)(xvi), Art. 4.13(a))."""

from __future__ import annotations

import csv
import dataclasses
from datetime import date
from pathlib import Path

import pytest

import origin_rules
from origin_rules.model import ast as A
from origin_rules.model.bom import BOM, bom_json_schema
from origin_rules.model.hs import HsCode, HsRange, HsSet
from origin_rules.rulebook.explain import render

import reference_evaluator as reference

ROOT = Path(__file__).resolve().parent.parent
USMCA = ROOT / "rules" / "usmca"
ON = date(2026, 1, 1)


@pytest.fixture(scope="module")
def book():
    return origin_rules.load([USMCA])


def _nodes(node):
    yield node
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _nodes(getattr(node, f.name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _nodes(item)


def _usmca_blocks(book):
    """Every block of the agreement USMCA over the files of rules/usmca."""
    for module in book.parsed.modules:
        yield from (item for item in module.items if isinstance(item, A.Agreement) and item.name == "USMCA")


def _usmca_rules(book):
    for block in _usmca_blocks(book):
        yield from block.rules


def _automotive_set(book):
    for block in _usmca_blocks(book):
        for decl in block.sets:
            if decl.name == "automotive_end_use":
                return decl
    raise AssertionError("set automotive_end_use not found in rules/usmca")


def _codes(expr) -> list[str]:
    """The HS 2022 subheadings and tariff items written in an HS-set expression, as text
    (ranges by their two ends)."""
    out = []
    for item in expr.items:
        if isinstance(item, A.HsRangeLit):
            out += [str(item.low.code), str(item.high.code)]
        elif isinstance(item, A.HsCodeLit):
            out.append(str(item.code))
    return out


def _members(book) -> HsSet:
    """The set `automotive_end_use` as the HS model reads it."""
    items = []
    for item in _automotive_set(book).value.items:
        if isinstance(item, A.HsRangeLit):
            items.append(HsRange(HsCode.parse(str(item.low.code)), HsCode.parse(str(item.high.code))))
        else:
            items.append(HsCode.parse(str(item.code)))
    return HsSet(tuple(items))


def test_the_automotive_set_holds_every_code_whose_rules_choose_by_end_use(book):
    """The (b)(iv) fallback leaves out the codes whose rules depend on the vehicle end use;
    a code given such a rule in a section file but missing from the set would take the
    fallback for original equipment, which the set is there to prevent."""
    members = _members(book)
    missing = []
    for rule in _usmca_rules(book):
        if rule.when is None or not any(isinstance(n, A.FactIn) and n.fact == "end_use" for n in _nodes(rule.when)):
            continue
        for code in _codes(rule.selector):
            if not members.covers(HsCode.parse(code)):
                missing.append(code)
    assert missing == []


def _range_text(item) -> str:
    if isinstance(item, A.HsRangeLit):
        return f"{item.low.code}..{item.high.code}"
    return str(item.code)


def test_no_rule_outside_the_automotive_codes_is_an_rvc_alone(book):
    """(b)(iv) applies where a material "cannot satisfy the change in tariff classification";
    the fallback cannot see which line of a rule failed, so it must never meet a rule that
    has no tariff shift at all, except the aftermarket automotive ones the file names."""
    members = _members(book)
    rvc_only = []
    for rule in _usmca_rules(book):
        nodes = list(_nodes(rule.lines))
        if any(isinstance(n, A.Change) for n in nodes) or not any(isinstance(n, A.Rvc) for n in nodes):
            continue
        codes = _codes(rule.selector)
        if not all(members.covers(HsCode.parse(code)) for code in codes):
            rvc_only.append((codes, rule.title))
    assert rvc_only == []


def _bom(product: dict, materials: list[dict]) -> BOM:
    return BOM.model_validate({"product": {"id": "G", "produced_in": "MX", "currency": "USD", **product},
                               "materials": materials})


def _both(book, bom: BOM) -> tuple[str, str]:
    det = book.evaluate(bom, under="USMCA", as_of=ON)
    ref = reference.evaluate(book.parsed.programs, bom, "USMCA", ON)
    return det.verdict, ref.verdict


SET_GOODS = [{"id": "M1", "hs": "8213.00", "origin": "CN", "originating": False, "value": "200.00"},
             {"id": "M2", "hs": "4202.92", "origin": "MX", "originating": True, "value": "300.00"}]


@pytest.mark.parametrize("retail_set, scissors, expected", [
    # rule of 96.05 (change from any other chapter) holds; 200 > 10% x 1000 refuses a set
    (True, "200.00", "does_not_qualify"),
    (False, "200.00", "qualifies"),
    # 100 = 10% x 1000: "does not exceed" holds at the limit
    (True, "100.00", "qualifies"),
    (True, "100.01", "does_not_qualify"),
])
def test_retail_set_rule_in_engine_and_reference(book, retail_set, scissors, expected):
    goods = [dict(SET_GOODS[0], value=scissors), SET_GOODS[1]]
    bom = _bom({"hs": "9605.00", "transaction_value": "1000.00", "retail_set": retail_set}, goods)
    assert _both(book, bom) == (expected, expected)


def test_retail_set_rule_saves_a_set_whose_rule_fails(book):
    # a brush 9603.29 of chapter 96 fails "from any other chapter"; 50 <= 100 would also be
    # forgiven by de minimis, so the brush is worth 150 and the set is judged on its value:
    # non-originating 150 > 100 -> refused; the same with 90 -> de minimis and the set agree.
    brush = {"id": "B", "hs": "9603.29", "origin": "CN", "originating": False, "value": "150.00"}
    bom = _bom({"hs": "9605.00", "transaction_value": "1000.00", "retail_set": True}, [brush])
    assert _both(book, bom) == ("does_not_qualify", "does_not_qualify")


def test_the_flags_are_facts_that_are_never_missing(book):
    bom = _bom({"hs": "9605.00", "transaction_value": "1000.00"}, SET_GOODS)
    facts = bom.product.all_facts()
    flags = ("retail_set", "imported_unassembled", "packaging_only", "diluted_only")
    assert all(facts[name].value == "no" for name in flags)
    det = book.evaluate(bom, under="USMCA", as_of=ON)
    assert not any(name in m for m in det.missing for name in flags)


def test_a_flag_written_as_a_declared_fact_is_an_error_naming_the_field():
    with pytest.raises(Exception) as err:
        BOM.model_validate({"product": {"id": "G", "facts": {"retail_set": "yes"}}, "materials": []})
    assert "product.facts" in str(err.value) and "retail_set: true" in str(err.value)


def test_the_flags_are_in_the_schema_and_read_from_csv(tmp_path):
    props = bom_json_schema()["$defs"]["Product"]["properties"]
    for name in ("retail_set", "imported_unassembled", "packaging_only", "diluted_only"):
        assert {"type": "boolean"} in props[name]["anyOf"] and props[name]["default"] is False
        assert "rule" in props[name]["description"]
    path = tmp_path / "set.csv"
    rows = [["product.id", "product.hs", "product.retail_set", "material.id", "material.hs", "material.value"],
            ["S1", "9605.00", "true", "M1", "8213.00", "10"]]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    bom = origin_rules.read_bom(path)
    assert bom.product.retail_set is True and bom.product.imported_unassembled is False


def test_same_subheading_fallback_in_engine_and_reference(book):
    part = {"id": "P", "hs": "8714.10", "origin": "CN", "originating": False, "value": "400.00",
            "provided_as_part": True}
    good = {"hs": "8714.10", "transaction_value": "1000.00", "net_cost": "800.00"}
    assert _both(book, _bom(good, [part])) == ("qualifies", "qualifies")          # RVC(TV) 60%
    assert _both(book, _bom(good, [dict(part, value="400.01")])) == ("does_not_qualify",) * 2
    # not declared a part (the flag's default): the fallback does not apply, and nothing is
    # asked for
    plain = {k: v for k, v in part.items() if k != "provided_as_part"}
    assert _both(book, _bom(good, [plain])) == ("does_not_qualify",) * 2
    det = book.evaluate(_bom(good, [plain]), under="USMCA", as_of=ON)
    assert det.missing == []


def test_a_material_flag_written_as_a_declared_fact_is_an_error():
    with pytest.raises(Exception) as err:
        BOM.model_validate({"product": {"id": "G"}, "materials": [
            {"id": "M", "facts": {"provided_as_part": "yes"}}]})
    assert "materials.0.facts" in str(err.value) and "provided_as_part: true" in str(err.value)


def test_a_subassembly_is_never_a_retail_set(book):
    """The set requirement reads `retail_set` of every good it covers, sub-assemblies too:
    a sub-assembly (a material with materials) has no such field and reads `no`."""
    sub = {"id": "S", "hs": "8213.00", "origin": "MX", "value": "500.00", "transaction_value": "500.00",
           "materials": [{"id": "S1", "hs": "7211.23", "origin": "CN", "originating": False, "value": "300.00"}]}
    bom = _bom({"hs": "9605.00", "transaction_value": "1000.00"}, [sub])
    det = book.evaluate(bom, under="USMCA", as_of=ON)
    assert det.verdict != "insufficient_data" and not any("retail_set" in m for m in det.missing)


def test_same_subheading_fallback_is_not_taken_for_original_equipment(book):
    """8708.99 is an automotive code: the fallback applies only to a good declared aftermarket."""
    assert _members(book).covers(HsCode.parse("8708.99"))


def test_zero_percent_of_a_missing_base_is_zero():
    """`value(FILTER) <= 0% of transaction_value` needs no transaction value: the limit is 0
    whatever the base (found by the apparel requirements on a BOM without figures)."""
    rules = origin_rules.loads('''
agreement "Z" {
  parties = [US, MX, CA]
  rule 61.09 { CC }
  require for 61.09 { value(non_originating and hs in 58.06) <= 0% of transaction_value }
}
''')
    clean = _bom({"hs": "6109.10"}, [{"id": "F", "hs": "6006.22", "origin": "US", "originating": True}])
    dirty = _bom({"hs": "6109.10"}, [{"id": "E", "hs": "5806.20", "origin": "CN", "originating": False,
                                      "value": "1.00"}])
    for bom, expected in ((clean, "qualifies"), (dirty, "does_not_qualify")):
        det = rules.evaluate(bom, under="Z", as_of=ON)
        ref = reference.evaluate(rules.parsed.programs, bom, "Z", ON)
        assert (det.verdict, ref.verdict) == (expected, expected)


GLUE = {"id": "GLUE", "hs": "3506.91", "origin": "IN", "originating": False, "value": "400.00"}
BLISTER = {"id": "BLISTER", "hs": "3923.90", "origin": "CN", "originating": False, "value": "30.00",
           "kind": "retail_packaging"}


@pytest.mark.parametrize("flag, glue, expected", [
    # ch. 35 rule 4(A): 3506.91 -> 3506.10 is a change of subheading, the rule holds; the
    # requirement of general-rules-l.roo: non-originating direct materials 400.00 > 0.00
    ("packaging_only", GLUE, "does_not_qualify"),
    ("diluted_only", GLUE, "does_not_qualify"),
    (None, GLUE, "qualifies"),                                       # not declared: the rule decides
    ("packaging_only", dict(GLUE, origin="US", originating=True), "qualifies"),  # 0.00 <= 0.00
    ("packaging_only", {k: v for k, v in GLUE.items() if k != "value"}, "insufficient_data"),
])
def test_packaging_and_dilution_in_engine_and_reference(book, flag, glue, expected):
    product = {"hs": "3506.10", "transaction_value": "1000.00", "net_cost": "800.00"}
    if flag:
        product[flag] = True
    assert _both(book, _bom(product, [glue, BLISTER])) == (expected, expected)


def test_packaging_only_names_the_requirement_and_the_missing_value(book):
    bom = _bom({"hs": "3506.10", "transaction_value": "1000.00", "packaging_only": True},
               [{k: v for k, v in GLUE.items() if k != "value"}, BLISTER])
    det = book.evaluate(bom, under="USMCA", as_of=ON)
    # the blister is retail packaging: its value is not asked for
    assert det.verdict == "insufficient_data" and det.missing == ["materials[0].value"]
    refused = book.evaluate(_bom({"hs": "3506.10", "transaction_value": "1000.00", "packaging_only": True},
                                 [GLUE, BLISTER]), under="USMCA", as_of=ON)
    assert refused.verdict == "does_not_qualify"
    assert "Packaging or repackaging is not production" in render(refused)


def test_a_subassembly_is_never_packaging_only(book):
    """The flags are the product's: a sub-assembly, as a good, reads them as `no`."""
    sub = {"id": "SUB", "hs": "3506.91", "origin": "MX", "value": "400.00",
           "materials": [{"id": "RESIN", "hs": "3907.30", "origin": "CN", "originating": False, "value": "100.00"}]}
    bom = _bom({"hs": "3506.10", "transaction_value": "1000.00", "packaging_only": True}, [sub])
    det = book.evaluate(bom, under="USMCA", as_of=ON)
    # the glue made in MX from Chinese resin (3907.30 -> 3506.91) originates by rule 4(A);
    # the retail good is then made of originating contents only -> qualifies
    assert det.verdict == "qualifies" and not det.missing
