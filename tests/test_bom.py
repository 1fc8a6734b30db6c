"""BOM models and readers: exact decimals, error paths, HS/country normalization, batches."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from origin_rules.model.bom import (
    BOM,
    BomError,
    BomProblem,
    Material,
    bom_from_data,
    bom_json_schema,
    format_decimal,
    loads_json,
    normalize_hs,
)
from origin_rules.files.boms import BomRecord, loads_bom, read_bom, read_boms

DATA = Path(__file__).parent / "data" / "bom"


def minimal(**materials_and_product) -> dict:
    product = {"id": "P-1", "hs": "8708.30", "produced_in": "MX"}
    product.update(materials_and_product.pop("product", {}))
    return {"product": product, "materials": materials_and_product.pop("materials", [])}


def problems(error: BomError) -> dict[str, str]:
    return {p.path: p.message for p in error.problems}


# ---------------------------------------------------------------------------- decimals


def test_yaml_numbers_are_read_exactly_from_the_source_text():
    bom = read_bom(DATA / "brake.yaml")
    assert str(bom.product.net_cost) == "850.00"
    assert str(bom.product.weight_kg) == "12.5"
    assert str(bom.product.transaction_value) == "1000.00"
    cal = bom.materials[1]
    assert str(cal.value) == "300.00"
    assert cal.materials[0].value == Decimal("0.1") and str(cal.materials[0].value) == "0.1"
    assert bom.materials[2].value == Decimal("10") and format_decimal(bom.materials[2].value) == "10"
    assert bom.materials[0].quantity == Decimal(4)


def test_json_numbers_never_pass_through_float():
    bom = read_bom(DATA / "brake.json")
    assert str(bom.product.transaction_value) == "1000.00"
    assert str(bom.materials[0].weight_kg) == "1.2"
    assert str(bom.materials[1].materials[0].value) == "0.1"
    assert bom.materials[2].value == Decimal("10")


def test_yaml_and_json_fixtures_give_the_same_bom():
    assert read_bom(DATA / "brake.yaml") == read_bom(DATA / "brake.json")


@pytest.mark.parametrize("text, expected", [
    ("1e2", "100"), ("1E+2", "100"), ("1.5e-3", "0.0015"), ("0.10", "0.10"), ("+5", "5"), ("-0.00", "0.00"),
])
def test_exponents_and_signs(text, expected):
    sources = [json.dumps(minimal(product={"fob": text}))]
    if not text.startswith("+"):  # JSON numbers have no plus sign
        sources.append(f'{{"product": {{"id": "P", "fob": {text}}}}}')
    for data in sources:
        assert format_decimal(BOM.model_validate_json(data).product.fob) == expected
    bom = loads_bom(f"product: {{id: P, fob: {text}}}\nmaterials: []")
    assert format_decimal(bom.product.fob) == expected


@pytest.mark.parametrize("bad", ["12,0", "1,000.00", "abc", "", "NaN", "Infinity", "-1", "0x10", "1e999"])
def test_bad_decimal_text_is_rejected_with_what_was_expected(bad):
    with pytest.raises(BomError) as err:
        bom_from_data(minimal(materials=[{"id": "M", "value": bad}]))
    message = problems(err.value)["materials[0].value"]
    assert message.startswith("expected a ")
    assert json.dumps(bad) in message


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "-5.0"])
def test_json_nan_infinity_negative_rejected(text):
    text = '{"product": {"id": "P", "net_cost": %s}}' % text
    with pytest.raises(BomError) as err:
        loads_bom(text, format="json")
    assert "product.net_cost" in problems(err.value)
    with pytest.raises(ValidationError):  # the pydantic entry point keeps pydantic's error type
        BOM.model_validate_json(text)


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf", "-3"])
def test_yaml_nan_infinity_negative_rejected(text):
    with pytest.raises(BomError) as err:
        loads_bom(f"product:\n  id: P\n  net_cost: {text}\n")
    assert err.value.problems[0].path == "product.net_cost"
    assert err.value.problems[0].line == 3


def test_a_bare_float_is_refused():
    with pytest.raises(BomError) as err:
        bom_from_data(minimal(materials=[{"id": "M", "value": 0.1}]))
    assert "binary float" in problems(err.value)["materials[0].value"]


def test_bool_is_not_a_number():
    with pytest.raises(BomError):
        bom_from_data(minimal(materials=[{"id": "M", "value": True}]))


# ---------------------------------------------------------------------------- errors and paths


def test_misspelt_fields_are_errors_with_their_path_and_a_suggestion():
    with pytest.raises(BomError) as err:
        read_bom(DATA / "misspelt.yaml")
    found = {p.path: p for p in err.value.problems}
    assert found["materials[1].valeu"].message == "unknown field `valeu` (did you mean `value`?)"
    assert found["materials[1].valeu"].line == 12
    assert "did you mean `transaction_value`" in found["product.transaction_vlaue"].message
    assert found["product.transaction_vlaue"].line == 5
    assert all(p.file == str(DATA / "misspelt.yaml") for p in err.value.problems)


def test_bad_value_names_the_path_line_and_what_was_expected():
    with pytest.raises(BomError) as err:
        read_bom(DATA / "bad_value.yaml")
    (problem,) = err.value.problems
    assert problem.path == "materials[1].value"
    assert problem.line == 12
    assert problem.message == 'expected a decimal number like "120.00", got "12,0"'
    text = str(err.value)
    assert text == f'{DATA / "bad_value.yaml"}:12: materials[1].value: expected a decimal number like "120.00", got "12,0"'
    assert "Traceback" not in text


def test_all_problems_are_collected_and_str_is_multiline():
    data = minimal(product={"currency": "usd", "hs": "8708.3"},
                   materials=[{"id": "A", "kind": "indirekt"}, {"value": "1"}, {"id": "A", "originating": "maybe"}])
    with pytest.raises(BomError) as err:
        bom_from_data(data, file="x.json")
    found = problems(err.value)
    assert "did you mean `indirect`" in found["materials[0].kind"]
    assert found["materials[1].id"] == "missing required field `id`"
    assert "8708.3" in found["product.hs"]
    assert "materials[2].originating" in found
    assert len(str(err.value).splitlines()) == len(err.value.problems) >= 4
    assert err.value.to_dicts()[0]["file"] == "x.json"


def test_duplicate_sibling_ids_point_at_the_second():
    with pytest.raises(BomError) as err:
        bom_from_data(minimal(materials=[{"id": "A"}, {"id": "B", "materials": [{"id": "C"}, {"id": "C"}]}]))
    assert list(problems(err.value)) == ["materials[1].materials[1].id"]


def test_not_a_mapping():
    with pytest.raises(BomError) as err:
        bom_from_data([1, 2])
    assert "expected a BOM" in str(err.value)
    with pytest.raises(BomError) as err:
        bom_from_data({"product": "P-1"})
    assert problems(err.value)["product"].startswith("expected a mapping")


def test_unreadable_files_raise_bom_error_with_line_and_column():
    with pytest.raises(BomError) as err:
        read_bom(DATA / "broken_syntax.yaml")
    problem = err.value.problems[0]
    assert problem.message.startswith("invalid YAML") and problem.line is not None and problem.column
    with pytest.raises(BomError) as err:
        read_bom(DATA / "broken_syntax.json")
    problem = err.value.problems[0]
    assert problem.message.startswith("invalid JSON") and (problem.line, problem.column) == (2, 19)
    with pytest.raises(BomError, match="no such file"):
        read_bom(DATA / "nope.yaml")
    with pytest.raises(BomError, match="unsupported file type"):
        read_bom(DATA / "nope.txt")
    with pytest.raises(BomError, match="no such file"):
        read_boms(DATA / "nope.jsonl")


def test_duplicate_keys_are_errors(tmp_path):
    with pytest.raises(BomError, match="duplicate key `id`") as err:
        loads_bom("product:\n  id: A\n  id: B\n")
    assert err.value.problems[0].line == 3
    with pytest.raises(BomError, match="duplicate key"):
        loads_bom('{"product": {"id": "A", "id": "B"}}', format="json")


def test_problem_str():
    assert str(BomProblem("bad", "materials[0].value", "f.yaml", 3, 7)) == "f.yaml:3:7: materials[0].value: bad"
    assert str(BomProblem("bad")) == "bad"


# ---------------------------------------------------------------------------- fields


@pytest.mark.parametrize("text, dotted", [
    ("8708.30", "8708.30"), ("870830", "8708.30"), ("8708.30.50", "8708.30.50"), ("87083050", "8708.30.50"),
    ("87.08", "87.08"), ("8708", "87.08"), ("87", "87"), (" 8708.30 ", "8708.30"), ("8708305010", "8708.30.5010"),
])
def test_hs_normalization(text, dotted):
    assert normalize_hs(text) == dotted
    assert bom_from_data(minimal(product={"hs": text})).product.hs == dotted


@pytest.mark.parametrize("bad", ["8708.3", "870.830", "87083", "abcd", "8708-30", "", "8708.30.5"])
def test_bad_hs(bad):
    with pytest.raises(BomError) as err:
        bom_from_data(minimal(materials=[{"id": "M", "hs": bad}]))
    assert "expected an HS code" in problems(err.value)["materials[0].hs"]


def test_hs_from_yaml_numbers_keeps_leading_zeros_and_trailing_zeros():
    bom = loads_bom("product: {id: P, hs: 0101.21}\nmaterials:\n  - {id: M, hs: 8708.30}\n  - {id: N, hs: 870830}\n")
    assert bom.product.hs == "0101.21"
    assert [m.hs for m in bom.materials] == ["8708.30", "8708.30"]


def test_countries():
    bom = bom_from_data(minimal(product={"produced_in": "mx"},
                                materials=[{"id": "A", "origin": "cn"}, {"id": "B", "origin": "Unknown"}, {"id": "C"}]))
    assert bom.product.produced_in == "MX"
    assert [m.origin for m in bom.materials] == ["CN", "unknown", None]
    with pytest.raises(BomError) as err:
        bom_from_data(minimal(product={"produced_in": "MEX"}, materials=[{"id": "A", "origin": "XX"}]))
    found = problems(err.value)
    assert 'did you mean "MX"' in found["product.produced_in"]
    assert 'or "unknown"' in found["materials[0].origin"]


def test_norway_is_not_false_in_yaml():
    bom = loads_bom("product: {id: P, produced_in: NO, wholly_obtained: true}\nmaterials: [{id: M, origin: no}]\n")
    assert bom.product.produced_in == "NO" and bom.product.wholly_obtained is True
    assert bom.materials[0].origin == "NO"


def test_defaults_and_three_valued_originating():
    bom = bom_from_data(minimal(materials=[{"id": "A"}, {"id": "B", "originating": None},
                                           {"id": "C", "originating": True, "kind": "shipping_packing"}]))
    a, b, c = bom.materials
    assert (a.kind, a.originating, a.value, a.wholly_obtained) == ("direct", None, None, False)
    assert b.originating is None and c.originating is True and c.kind == "shipping_packing"
    assert bom.product.wholly_obtained is False and bom.product.processes == ()


def test_subassembly_carries_product_figures_and_models_are_frozen():
    bom = read_bom(DATA / "brake.yaml")
    cal = bom.materials[1]
    assert cal.is_subassembly and not bom.materials[0].is_subassembly
    sub = Material.model_validate({"id": "S", "net_cost": "5", "transaction_value": "6", "end_use": "x_1",
                                   "materials": [{"id": "T"}]})
    assert sub.net_cost == Decimal("5")
    with pytest.raises(Exception):
        bom.product.id = "other"  # type: ignore[misc]
    assert [p for p, _ in bom.walk()] == ["materials[0]", "materials[1]", "materials[2]", "materials[1].materials[0]"]


def test_ids_may_be_numbers_but_not_floats():
    bom = loads_bom("product: {id: 12345}\nmaterials: [{id: 007}]\n")
    assert bom.product.id == "12345" and bom.materials[0].id == "007"


# ---------------------------------------------------------------------------- batches


def summary(records: list[BomRecord]) -> list[tuple[int, str | None, bool]]:
    return [(r.position, r.product_id, r.ok) for r in records]


def test_yaml_list_with_a_broken_record_in_the_middle():
    records = list(read_boms(DATA / "batch.yaml"))
    # P-3 has no `materials` key: input no verdict should be given on (BOM003)
    assert summary(records) == [(0, "P-1", True), (1, "P-2", False), (2, "P-3", False)]
    assert [(p.path, p.line) for p in records[2].error.problems] == [("materials", 7)]
    assert "[BOM003]" in records[2].error.problems[0].message
    (problem,) = records[1].error.problems
    assert (problem.path, problem.line) == ("materials[0].value", 6)
    assert records[0].bom.materials[0].value == Decimal("10.50") and str(records[0].bom.materials[0].value) == "10.50"
    assert all(r.source == str(DATA / "batch.yaml") for r in records)


def test_json_list_with_a_broken_record_in_the_middle():
    records = list(read_boms(DATA / "batch.json"))
    # P-3 is coded `87` (a chapter) and has no `materials` key: both refused
    assert summary(records) == [(0, "P-1", True), (1, "P-2", False), (2, "P-3", False)]
    assert {p.path for p in records[2].error.problems} == {"materials", "product.hs"}
    assert records[1].error.problems[0].path == "product.hs"
    assert str(records[0].bom.materials[0].value) == "0.10"


def test_jsonl_positions_are_line_numbers():
    records = list(read_boms(DATA / "batch.jsonl"))
    assert summary(records) == [(1, "P-1", True), (2, "P-2", False), (3, None, False), (5, "P-4", False)]
    assert (records[3].error.problems[0].path, records[3].error.problems[0].line) == ("materials", 5)
    assert records[1].error.problems[0].path == "materials[0].value"
    assert records[1].error.problems[0].line == 2
    syntax = records[2].error.problems[0]
    assert syntax.message.startswith("invalid JSON") and syntax.line == 3
    assert str(records[0].bom.product.transaction_value) == "100.25"


def test_single_file_read_as_a_batch(tmp_path):
    (record,) = read_boms(DATA / "brake.yaml")
    assert (record.position, record.product_id, record.ok) == (0, "BRK-100", True)
    multi = tmp_path / "multi.yaml"
    multi.write_text("product: {id: A}\nmaterials: []\n---\nproduct: {id: B, fob: x}\n---\n")
    assert summary(list(read_boms(multi))) == [(0, "A", True), (1, "B", False)]
    with pytest.raises(BomError, match="expected one BOM, found 3"):
        read_bom(DATA / "batch.yaml")


def test_readers_are_lazy_generators():
    records = read_boms(DATA / "batch.jsonl")
    assert iter(records) is records
    assert next(records).product_id == "P-1"


def test_csv_grouping_subassemblies_and_errors():
    records = list(read_boms(DATA / "batch.csv"))
    assert summary(records) == [(2, "BRK-100", True), (6, "BAD-1", False), (8, "WO-1", True), (9, "P-9", True)]
    brk = records[0].bom
    assert brk.product.hs == "8708.30" and brk.product.transaction_value == Decimal("1000.00")
    assert [(p.name, p.country) for p in brk.product.processes] == [("cut", "MX"), ("assembly", "MX")]
    assert [m.id for m in brk.materials] == ["PAD-1", "CAL-1"]
    cal = brk.materials[1]
    assert cal.originating is None
    assert [m.id for m in cal.materials] == ["CAST-1"]
    assert cal.materials[0].originating is False
    screw = cal.materials[0].materials[0]
    assert (screw.id, screw.originating, str(screw.value)) == ("SCREW-1", True, "0.05")
    bad = {p.path: p for p in records[1].error.problems}
    assert bad["materials[0].value"].line == 6
    assert bad["product.produced_in"].line == 7 and "must repeat the same values" in bad["product.produced_in"].message
    assert records[2].bom.materials == () and records[2].bom.product.hs == "0101.21"
    assert records[3].bom.materials[0].kind == "shipping_packing"


def test_csv_parent_problems_and_consecutive_rows(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("product.id,material.id,material.parent\n"
                    "A,M1,NOPE\n"
                    "A,M2,M3\n"
                    "A,M3,M2\n"
                    "B,X,\n"
                    "A,M9,\n")
    records = list(read_boms(path))
    assert summary(records) == [(2, "A", False), (5, "B", True), (6, "A", False)]
    messages = [p.message for p in records[0].error.problems]
    assert "which is no material of product `A`" in messages[0]
    assert sum("circle" in m for m in messages) == 2
    assert "consecutive" in records[2].error.problems[0].message


def test_csv_bad_header_is_one_file_error():
    with pytest.raises(BomError) as err:
        read_boms(DATA / "bad_header.csv")
    found = problems(err.value)
    assert "did you mean `material.value`" in found["material.valeu"]
    assert "unknown column `notes`" in found["notes"]
    assert all(p.line == 1 for p in err.value.problems)


def test_csv_read_bom_single_and_empty(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("product.id,product.net_cost,material.id,material.value\nA,1.10,M,0.3\n")
    bom = read_bom(one)
    assert str(bom.product.net_cost) == "1.10" and str(bom.materials[0].value) == "0.3"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert list(read_boms(empty)) == []


# ---------------------------------------------------------------------------- schema and round-trips


def test_bom_json_schema():
    schema = bom_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]) >= {"Product", "Material", "Process"}
    material = schema["$defs"]["Material"]["properties"]
    assert "value" in material and "materials" in material
    json.dumps(schema)


def test_loads_json_is_exact():
    assert loads_json("[0.1, 1e2, 7]") == [Decimal("0.1"), Decimal("1e2"), 7]
    assert not any(isinstance(x, float) for x in loads_json("[0.1, 1e2, 7]"))


_amount = st.one_of([st.decimals(min_value=0, max_value=Decimal("1e12"), places=places) for places in (0, 1, 2, 3, 8)])
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)
_id = st.text("ABCXYZ019-_", min_size=1, max_size=8)
_hs = st.sampled_from(["87", "87.08", "8708.30", "8708.30.50", "0101.21", "6813.81"])
_country = st.sampled_from(["MX", "US", "CA", "CN", "NO", "DE"])


def _materials(depth: int) -> st.SearchStrategy:
    children = _materials(depth - 1) if depth else st.just([])
    material = st.fixed_dictionaries(
        {"id": _id},
        optional={"description": _text, "hs": _hs, "origin": st.one_of(_country, st.just("unknown")),
                  "originating": st.one_of(st.none(), st.booleans()), "value": _amount,
                  "weight_kg": _amount, "quantity": _amount,
                  "kind": st.sampled_from(["direct", "indirect", "accessory", "retail_packaging", "shipping_packing"]),
                  "net_cost": _amount, "materials": children},
    )
    return st.lists(material, max_size=3, unique_by=lambda m: m["id"])


_boms = st.fixed_dictionaries(
    {"product": st.fixed_dictionaries(
        {"id": _id},
        optional={"hs": _hs, "produced_in": _country, "transaction_value": _amount, "net_cost": _amount,
                  "weight_kg": _amount, "wholly_obtained": st.booleans(), "currency": st.just("USD"),
                  "processes": st.lists(st.fixed_dictionaries({"name": _text.filter(bool)},
                                                              optional={"country": _country}), max_size=2)})},
    optional={"materials": _materials(2)},
)


@settings(max_examples=150, deadline=None)
@given(_boms)
def test_round_trip_through_json_and_yaml_is_exact(data):
    bom = bom_from_data(data)
    for text in (bom.to_json(), bom.model_dump_json(), bom.to_json(indent=None)):
        again = BOM.model_validate_json(text)
        assert again == bom
        assert again.model_dump(mode="json") == bom.model_dump(mode="json")  # same digits, not just equal values
    as_yaml = yaml.safe_dump(bom.model_dump(mode="json"), allow_unicode=True)
    # the YAML reader's exact scalars, without the plausibility checks (codes like `87` are
    # refused as products by read_bom/loads_bom, but are valid structure)
    from origin_rules.files.boms import yaml_documents

    assert bom_from_data(yaml_documents(as_yaml, "x.yaml")[0][0]) == bom
    assert "materials" in json.loads(bom.to_json())  # written even when empty: read back as given


@settings(max_examples=200, deadline=None)
@given(_amount)
def test_decimals_survive_exactly_unquoted(amount):
    text = format_decimal(amount)
    for bom in (BOM.model_validate_json('{"product": {"id": "P", "fob": %s}}' % text),
                loads_bom(f"product:\n  id: P\n  fob: {text}\nmaterials: []\n"),
                bom_from_data({"product": {"id": "P", "fob": text}})):
        assert bom.product.fob.as_tuple() == Decimal(text).as_tuple()
        assert format_decimal(bom.product.fob) == text
        assert json.loads(bom.to_json())["product"]["fob"] == text


def test_a_line_that_is_not_utf8_spoils_only_its_record(tmp_path):
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_bytes(b'{"product": {"id": "A"}, "materials": []}\n{"product": {"id": "B\xff"}}\n'
                      b'{"product": {"id": "C"}, "materials": []}\n')
    assert summary(list(read_boms(jsonl))) == [(1, "A", True), (2, None, False), (3, "C", True)]
    csv_file = tmp_path / "b.csv"
    csv_file.write_bytes(b"\xef\xbb\xbfproduct.id,material.id\nA,M\nB,\xff\nC,M\n")
    records = list(read_boms(csv_file))
    assert summary(records) == [(2, "A", True), (3, "B", False), (4, "C", True)]
    assert "not UTF-8" in str(records[1].error)


def test_alias_bombs_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    with pytest.raises(BomError, match="too large"):
        loads_bom("\n".join(lines) + "\nproduct: {id: P}\n")


def test_a_quote_never_closed_in_a_csv_is_an_error_at_its_row_not_the_rest_of_the_file_in_one_cell(tmp_path):
    """Python's CSV reader, unless strict, takes a quote never closed to the end of the file:
    the rows after it became one cell of the first, silently lost (evaluate exited 0)."""
    path = tmp_path / "open.csv"
    path.write_text(
        "product.id,product.hs,product.produced_in,material.id,material.description,material.hs,material.origin,material.value\n"
        "A,7326.19,MX,A1,steel,7326.19,MX,900\n"
        'B,7326.19,MX,B1,"steel bar 3/4"" ,7326.19,CN,900\n'
        "C,7326.19,MX,C1,steel,7326.19,CN,900\n", encoding="utf-8")
    records = list(read_boms(path))
    assert [(r.position, r.product_id, r.error is None) for r in records] == [(2, "A", True), (3, None, False)]
    (problem,) = records[1].error.problems
    assert problem.line == 3 and "quoted cell of the row starting on line 3 is never closed" in problem.message


@pytest.mark.parametrize("cell, column, message", [
    ("USMCA=true; USMCA=false", "material.originating", "agreement `USMCA` is given twice in the cell"),
    ("USMCA=true; usmca=false", "material.originating", "agreement `usmca` is given twice in the cell"),
    ("good=brake_assembly; good=mounted_brake_lining", "product.facts", "fact `good` is given twice in the cell"),
])
def test_a_csv_cell_naming_one_entry_twice_is_refused_not_the_last_kept(tmp_path, cell, column, message):
    """Which of two contradicting entries holds would be a guess: the verdict flipped with
    their order (the mapping kept the last)."""
    header = ["product.id", "product.hs", "product.produced_in", "product.facts", "material.id", "material.hs",
              "material.originating", "material.value"]
    row = {"product.id": "P", "product.hs": "8708.30", "product.produced_in": "MX", "material.id": "M",
           "material.hs": "6813.81", "material.value": "1.00", column: cell}
    path = tmp_path / "b.csv"
    path.write_text(",".join(header) + "\n" + ",".join(row.get(h, "") for h in header) + "\n", encoding="utf-8")
    (record,) = read_boms(path)
    assert record.bom is None
    (problem,) = record.error.problems
    assert (problem.path, problem.line) == (column, 2) and problem.message.startswith(message)


@pytest.mark.parametrize("mapping", [{"USMCA": True, "usmca": False}, {"usmca": False, "USMCA": True}])
def test_an_originating_mapping_naming_one_agreement_twice_in_any_case_is_refused(mapping):
    data = {"product": {"id": "P", "hs": "8708.30", "produced_in": "MX"},
            "materials": [{"id": "M", "hs": "6813.81", "value": "1.00", "originating": mapping}]}
    with pytest.raises(BomError) as caught:
        bom_from_data(data)
    (problem,) = caught.value.problems
    assert problem.path == "materials[0].originating" and "expected each agreement once" in problem.message


@pytest.mark.parametrize("text", ["20260701", "2026-W27-3", "2026-182", "2026-07-01T00:00", " 2026-07-01x"])
def test_only_yyyy_mm_dd_is_a_date(text):
    """Python's date.fromisoformat also reads the basic form and ISO week and ordinal dates:
    none is documented, and each passed as some date (a fact's period, --as-of, the service)."""
    from origin_rules.model.dates import iso_date

    assert iso_date("2026-07-01").isoformat() == "2026-07-01"
    with pytest.raises(ValueError):
        iso_date(text)
    data = {"product": {"id": "P", "hs": "8708.30", "produced_in": "MX",
                        "facts": {"good": {"value": "brake_assembly", "from": text}}}, "materials": []}
    with pytest.raises(BomError) as caught:
        bom_from_data(data)
    assert [p.path for p in caught.value.problems] == ["product.facts.good.from"]


@pytest.mark.parametrize("text, path, line", [
    ('product:\n  id: A\n  hs: "8708.30"\n  produced_in: MX\n  facts:\n    good: brake_assembly\n'
     '    lvc: {value: "42.5", from: 2026-02-30, until: 2026-12-31}\nmaterials: []\n', "product.facts.lvc.from", 7),
    ('product:\n  id: A\n  hs: "8708.30"\n  produced_in: MX\n  facts:\n    good: brake_assembly\n'
     '    lvc:\n      value: [1]\nmaterials: []\n', "product.facts.lvc.value", 8),
    ('product: {id: A, hs: "8708.30", produced_in: MX, transaction_value: "1000.00"}\nmaterials:\n  - id: M\n'
     '    hs: "8708.30"\n    origin: US\n    value: "300.00"\n    certifications:\n      - reference: SUP-1\n'
     '        issuer: Acme\n        agreement: USMCA\n        from: 2026-02-30\n        until: 2026-12-31\n',
     "materials[0].certifications[0].from", 11),
    ('product: {id: A, hs: "8708.30", produced_in: MX, transaction_value: "1000.00"}\nmaterials: []\nrates:\n'
     '  - {from: EUR, to: USD, rate: "1.08"}\n  - {from: GBP, to: USDX, rate: "1.2"}\n', "rates[1]", 5),
])
def test_a_problem_inside_a_fact_a_certification_or_a_rate_names_its_own_path_and_line(text, path, line):
    """They were reported at their container (`product.facts` on the `facts:` line)."""
    from origin_rules.files.boms import loads_bom

    with pytest.raises(BomError) as caught:
        loads_bom(text, file="b.yaml")
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == (path, line)
