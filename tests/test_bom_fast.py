"""The fast JSON reader of BOMs (issue 14 item 3): ``bom_from_json`` builds a BOM without
pydantic's machinery, from the models' own validators. It must give exactly the BOM the
models give (the same values of the same types, the same fields set, the fields in the same
order) or None, and None whenever the models would refuse the text, so that every problem
is still worded by the models (a JSON Lines record read either way is the same record).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from origin_rules.batch.sample import product_bom
from origin_rules.files.boms import bom_record, json_problem, jsonl_record
from origin_rules.model import bom as bom_module
from origin_rules.model.bom import BOM, BomError, bom_from_data, bom_from_json, loads_json
from origin_rules.testing.bom_strategies import boms

from conftest import examples
from edits import DROP, put


def same(fast, slow, where="bom") -> None:
    """``fast`` is ``slow`` down to the types of its values and the fields it was given."""
    assert type(fast) is type(slow), where
    if isinstance(slow, BaseModel):
        assert list(fast.__dict__) == list(slow.__dict__), where
        assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__, where
        assert fast.__pydantic_extra__ == slow.__pydantic_extra__, where
        assert fast.__pydantic_private__ == slow.__pydantic_private__, where
        for name, value in slow.__dict__.items():
            same(fast.__dict__[name], value, f"{where}.{name}")
        assert fast == slow
    elif isinstance(slow, (tuple, list)):
        assert len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(slow, dict):
        assert list(fast) == list(slow), where
        for key in slow:
            same(fast[key], slow[key], f"{where}.{key}")
    else:
        assert fast == slow, where
        if isinstance(slow, Decimal):
            assert str(fast) == str(slow), where  # the same exponent: 1.50 stays 1.50


def models_way(text: str):
    try:
        return bom_from_data(loads_json(text))
    except (BomError, ValueError, RecursionError):
        return None


def test_the_fast_reader_is_on():
    assert bom_module.FAST_READER  # a model given a validator it does not repeat turns it off


@pytest.mark.parametrize("seed", [0, 1, 7, 123, 4567])
def test_sample_boms_are_read_fast_and_identical(seed):
    text = json.dumps(product_bom(seed), separators=(",", ":"))
    fast = bom_from_json(text)
    assert fast is not None
    same(fast, bom_from_data(loads_json(text)))
    assert bom_from_json(text.encode()) is not None  # bytes as read from a file


@settings(max_examples=examples(100), deadline=None)
@given(bom=boms(max_depth=3))
def test_generated_boms_read_fast_are_the_models_boms(bom):
    text = bom.to_json(indent=None)
    fast = bom_from_json(text)
    assert fast is not None  # a plain valid BOM is read fast (with or without colons in its texts)
    same(fast, bom_from_data(loads_json(text)))


# Values put in place of a field of a sample BOM: good, bad, and of the kinds the fast reader
# leaves to the models (numbers in text fields, exponents, floats' specials, nesting).
ODD = st.sampled_from([
    None, True, False, 0, 1, 7, -1, "", " ", "MX", "mx", " CN ", "XX", "unknown", "8708.30", "870830", "8708.3",
    "12.50", "1e2", "-0", "-0.00", "NaN", [], {}, ["USMCA"], {"USMCA": True}, {"x": 1}, "yes", "direct",
    "Retail-Packaging", "passenger_vehicle", "two words", "2026-01-01", [{"name": "welding", "country": "MX"}],
    {"good": "body_stamping"}, {"retail_set": "yes"}, {"lvc": {"value": "41.5", "from": "2026-01-01"}},
])
RAW = st.sampled_from(["1.50", "1E2", "0E0", "12.5e-1", "007.5", "1e999", "-0", "NaN", "Infinity", "870830", "8708.30"])
FIELDS = ["id", "description", "hs", "origin", "originating", "value", "weight_kg", "polymer_weight_kg", "quantity",
          "kind", "wholly_obtained", "end_use", "facts", "processes", "provided_as_part", "in_component", "currency",
          "materials", "certifications", "unknown_field", "price"]
PRODUCT_FIELDS = ["id", "description", "hs", "produced_in", "imported_from", "currency", "transaction_value",
                  "net_cost", "weight_kg", "wholly_obtained", "end_use", "facts", "retail_set", "processes", "color"]


@st.composite
def mutated(draw) -> str:
    data = product_bom(draw(st.integers(0, 50)))
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from(["product", "material", "material", "top", "remove"]))
        if where == "remove":  # a field left out, required or not
            materials = data.get("materials")
            target = draw(st.sampled_from([data, data.get("product"), *(materials if isinstance(materials, list) else [])]))
            if isinstance(target, dict) and target:
                del target[draw(st.sampled_from(sorted(target)))]
            continue
        if where == "top":
            data[draw(st.sampled_from(["rates", "extra", "materials"]))] = copy.deepcopy(draw(ODD))
            continue
        materials = data.get("materials") if isinstance(data.get("materials"), list) and data["materials"] else None
        if where == "material" and materials is None:
            continue
        target = data.get("product") if where == "product" else draw(st.sampled_from(materials))
        if not isinstance(target, dict):
            continue
        target[draw(st.sampled_from(PRODUCT_FIELDS if where == "product" else FIELDS))] = copy.deepcopy(draw(ODD))
    text = json.dumps(data, separators=(",", ":"))
    edit = draw(st.sampled_from(["none", "none", "number", "duplicate", "colon"]))
    if edit == "number":  # a raw JSON number where a text was
        text = text.replace('"value":"', '"value":', 1).replace('","', ',"', 1) if '"value":"' in text else text
        field = draw(st.sampled_from(["id", "hs", "value", "description"]))
        text = text.replace(f'"{field}":"', f'"{field}":{draw(RAW)},"_":"', 1)
    elif edit == "duplicate":
        text = text.replace('"origin":', '"origin":"US","origin":', 1)
    elif edit == "colon":
        text = text.replace('"description":"', '"description":"a: b ', 1)
    return text


@settings(max_examples=examples(400), deadline=None)
@given(text=mutated())
def test_a_mutated_bom_is_read_as_the_models_read_it_or_left_to_them(text):
    slow = models_way(text)
    fast = bom_from_json(text)
    if slow is None:
        assert fast is None  # every refusal is the models' to word
    elif fast is not None:
        same(fast, slow)


@settings(max_examples=examples(200), deadline=None)
@given(text=mutated())
def test_a_json_lines_record_is_the_record_of_the_models_way(text):
    try:
        record = bom_record("f.jsonl", 3, loads_json(text), line=3)
    except ValueError as err:
        expected = ("error", str(BomError(json_problem(err, "f.jsonl", 2))))
    else:
        expected = ("error", str(record.error)) if record.error else ("ok", record.product_id)
    got = jsonl_record("f.jsonl", 3, text)
    assert (("error", str(got.error)) if got.error else ("ok", got.product_id)) == expected
    if got.bom is not None:
        same(got.bom, record.bom)


def _read_with(layouts: int, text: str):
    """``bom_from_json`` with fresh builders: straight-line ones for up to ``layouts`` key
    layouts per model (0: the generic builder alone)."""
    previous = bom_module._MAX_LAYOUTS
    bom_module._MAX_LAYOUTS = layouts
    try:
        assert bom_module._specs()
        return bom_from_json(text)
    finally:
        bom_module._MAX_LAYOUTS = previous
        bom_module._specs()


@settings(max_examples=examples(150), deadline=None)
@given(text=st.one_of(mutated(), boms(max_depth=2).map(lambda b: b.to_json(indent=None))))
def test_each_key_layouts_builder_gives_the_generic_builders_bom(text):
    """The builder written out for a mapping's keys (``_layout_builder``) gives exactly the
    BOM of the generic builder, or refuses it too (valid BOMs, generated, and mutated ones)."""
    generic, layout = _read_with(0, text), _read_with(64, text)
    if generic is None:
        assert layout is None
    else:
        same(layout, generic)


@pytest.mark.parametrize("field", ["id", "description", "originating"])
@pytest.mark.parametrize("value", [None, True, False, 0, 1, 1.5, "", " ", " M9 ", "M9", "true", [], {}, ["USMCA"]])
def test_the_readers_a_layouts_builder_writes_out_read_as_they_do(field, value):
    """The readers whose lines a layout's builder writes out instead of calling them
    (``_INLINE``: texts, ids, plain ``originating``) accept and refuse what they do."""
    data = product_bom(3)
    data["materials"][0][field] = value
    text = json.dumps(data)
    generic, layout = _read_with(0, text), _read_with(64, text)
    if generic is None:
        assert layout is None
    else:
        same(layout, generic)


def test_layout_builders_are_made_and_bounded(monkeypatch):
    """Not vacuous: a layout met gets a builder of its own; past the bound, the generic one."""
    monkeypatch.setattr(bom_module, "_MAX_LAYOUTS", 3)
    bom_module._specs()
    try:
        data = product_bom(5)
        for drop in ("description", "end_use", "fob", "ex_works", "net_cost"):
            data["product"].pop(drop)
            text = json.dumps(data)
            same(bom_from_json(text), bom_from_data(loads_json(text)))
        product_layouts = bom_module._LAYOUTS_MADE[bom_module.Product]
        assert len(product_layouts) == 3
        assert all(fn.__name__ == "build" and fn.__code__.co_filename == "<fast reader: Product>"
                   for fn in product_layouts.values())
    finally:
        monkeypatch.undo()
        bom_module._specs()


@pytest.mark.parametrize("text", [
    '{"product":{"id":"P","id":"Q"},"materials":[]}',                       # a duplicate key
    '{"product":{"id":"P","description":"a: b","id":"Q"},"materials":[]}',  # a duplicate key and a colon
    '{"product":{"id":12.50},"materials":[]}',                             # a number as an id: "12.50" either way
    '{"product":{"id":"P","description":1E2},"materials":[]}',             # its source text is kept: "1E2"
    '{"product":{"id":"P"},"materials":[{"id":"M","value":1e999}]}',       # out of range
    '{"product":{"id":"P"},"materials":[{"id":"M","value":NaN}]}',         # not finite
    '{"product":{"id":"P"},"materials":[{"id":"M"},{"id":"M"}]}',          # ids twice
    '{"product":{"id":"P"},"materials":[{"id":"M","weight_kg":"1","polymer_weight_kg":"2"}]}',
    '{"product":{"id":"P","facts":{"retail_set":"yes"}},"materials":[]}',  # a flag as a fact
    '{"product":{"id":"P"},"materials":[{"id":"A","materials":[{"id":"M"},{"id":" M "}]}]}',  # ids twice, nested
    '{"product":{"id":"P"},"materials":[{"id":"M","facts":{"provided_as_part":"yes"}}]}',    # a material's flag
    '{"product":{"id":"P"},"materials":[{"id":"M","polymer_weight_kg":"2","weight_kg":"1"}]}',  # either order
    '[1,2]', '"text"', '{"product":{"id":"P"}', '',
])
def test_what_the_fast_reader_leaves_to_the_models(text):
    assert bom_from_json(text) is None


def test_a_colon_in_a_text_does_not_stop_the_fast_reader():
    text = '{"product":{"id":"P","description":"Brake: front, 10:30"},"materials":[{"id":"M","value":"1"}]}'
    fast = bom_from_json(text)
    assert fast is not None and fast.product.description == "Brake: front, 10:30"
    same(fast, bom_from_data(loads_json(text)))


def test_a_number_in_a_text_field_keeps_its_source_text_the_models_way():
    record = jsonl_record("f.jsonl", 1, '{"product":{"id":"P","description":1.50E1},"materials":[{"id":1E2,"value":"1"}]}')
    assert record.bom.product.description == "1.50E1"
    assert record.bom.materials[0].id == "1E2"


def test_the_iso_codes_read_without_pycountry_are_pycountrys():
    import pycountry

    assert bom_module.COUNTRY_CODES == {c.alpha_2 for c in pycountry.countries}
    assert bom_module.CURRENCY_CODES == {c.alpha_3 for c in pycountry.currencies}


def test_reading_a_bom_does_not_import_pycountry():
    import subprocess
    import sys

    code = ("import sys, json; from origin_rules.batch.sample import product_bom; from origin_rules.files.boms import "
            "jsonl_record; r = jsonl_record('f', 1, json.dumps(product_bom(3))); assert r.bom is not None; "
            "print('pycountry' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


# A BOM with every model in it (product, material, sub-assembly, processes), each required
# field of which is removed in turn below, and other ways of making it invalid.
FULL = {
    "product": {"id": "P", "hs": "8708.30", "produced_in": "MX", "transaction_value": "100",
                "processes": [{"name": "welding", "country": "MX"}]},
    "materials": [
        {"id": "M1", "hs": "7326.90", "origin": "CN", "value": "12.50", "processes": [{"name": "cutting"}],
         "materials": [{"id": "S1", "hs": "7208.10", "origin": "US", "value": "3"}]},
        {"id": "M2", "hs": "4016.93", "origin": "MX", "value": "1.25"},
    ],
}


def _edited(path: tuple, value=DROP) -> str:
    """``FULL`` as JSON with the field at ``path`` removed (``value`` left out) or replaced."""
    return json.dumps(put(copy.deepcopy(FULL), path, value), separators=(",", ":"))


REQUIRED = [  # each required field of each model: the path removed and the problem's path
    (("product",), "product"),
    (("product", "id"), "product.id"),
    (("product", "processes", 0, "name"), "product.processes[0].name"),
    (("materials", 0, "id"), "materials[0].id"),
    (("materials", 1, "id"), "materials[1].id"),
    (("materials", 0, "processes", 0, "name"), "materials[0].processes[0].name"),
    (("materials", 0, "materials", 0, "id"), "materials[0].materials[0].id"),
]


@pytest.mark.parametrize(("path", "shown"), REQUIRED, ids=[shown for _, shown in REQUIRED])
def test_a_missing_required_field_is_refused_as_the_models_refuse_it(path, shown):
    text = _edited(path)
    assert bom_from_json(text) is None  # never a BOM holding pydantic's "undefined"
    record = jsonl_record("f.jsonl", 3, text)
    assert record.bom is None
    assert str(record.error) == str(bom_record("f.jsonl", 3, loads_json(text), line=3).error)
    name = shown.rsplit(".", 1)[-1]
    assert f"f.jsonl:3: {shown}: missing required field `{name}`" in str(record.error).splitlines()


INVALID = [  # other ways of being invalid, each refused by the models
    (("product", "id"), None), (("product", "id"), ""), (("product", "id"), ["P"]),
    (("product",), "P"), (("product",), None), (("materials",), {"id": "M"}), (("materials", 0), "M1"),
    (("product", "hs"), "8708.3"), (("product", "hs"), "87x8"), (("materials", 1, "hs"), True),
    (("product", "produced_in"), "XX"), (("product", "produced_in"), "MEX"), (("materials", 0, "origin"), 52),
    (("materials", 0, "value"), "-1"), (("materials", 0, "value"), "NaN"), (("materials", 0, "value"), "1e999"),
    (("materials", 0, "value"), "twelve"), (("materials", 0, "value"), True), (("product", "transaction_value"), "-0.5"),
    (("product", "color"), "red"), (("materials", 0, "price"), "1"), (("materials", 0, "materials", 0, "extra"), 1),
    (("product", "processes", 0, "shift"), "night"), (("materials", 0, "kind"), "directly"),
    (("materials", 0, "wholly_obtained"), "maybe"), (("materials", 1, "id"), "M1"),
]


@pytest.mark.parametrize(("path", "value"), INVALID, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v in INVALID])
def test_an_invalid_bom_is_refused_as_the_models_refuse_it(path, value):
    text = _edited(path, value)
    assert models_way(text) is None
    assert bom_from_json(text) is None
    record = jsonl_record("f.jsonl", 3, text)
    assert record.bom is None
    assert str(record.error) == str(bom_record("f.jsonl", 3, loads_json(text), line=3).error)


@pytest.mark.parametrize("text", [
    '{"product":{"id":"P"},"materials":[{"id":"M","value":NaN}]}',
    '{"product":{"id":"P"},"materials":[{"id":"M","value":-Infinity}]}',
    '{"product":{"id":"P"},"materials":[{"id":"M","value":-1.5}]}',
    '{"product":{"id":"P"},"materials":[{"id":"M","weight_kg":-0.001}]}',
])
def test_a_negative_or_not_finite_number_is_refused_as_the_models_refuse_it(text):
    assert bom_from_json(text) is None
    record = jsonl_record("f.jsonl", 3, text)
    assert record.bom is None
    assert str(record.error) == str(bom_record("f.jsonl", 3, loads_json(text), line=3).error)


def test_the_full_bom_is_read_fast():
    text = json.dumps(FULL)
    fast = bom_from_json(text)
    assert fast is not None
    same(fast, bom_from_data(loads_json(text)))


@pytest.mark.parametrize("number", ["12.50", "1E2", "0.1", "12.5e-1", "100", "0", "-0", "-0.0", "3.000000000000000000001"])
def test_a_json_number_is_read_fast_as_an_exact_decimal_never_a_float(number):
    text = f'{{"product":{{"id":"P","transaction_value":{number}}},"materials":[{{"id":"M","value":{number}}}]}}'
    fast = bom_from_json(text)
    assert fast is not None
    same(fast, bom_from_data(loads_json(text)))
    assert fast.materials[0].value == Decimal(number) and type(fast.materials[0].value) is Decimal


@pytest.mark.parametrize("number", ["123456789012345678901234567890", "18446744073709551616", "9223372036854775808"])
def test_an_integer_past_64_bits_is_read_fast_exactly(number):
    """orjson reads such an integer as a binary float: the exact reader takes over."""
    text = f'{{"product":{{"id":"P"}},"materials":[{{"id":"M","value":{number}}}]}}'
    fast = bom_from_json(text)
    assert fast is not None
    same(fast, bom_from_data(loads_json(text)))
    assert fast.materials[0].value == Decimal(number)


@pytest.mark.parametrize("text", [
    '{"product":{"id":"P","description":"\\ud800"},"materials":[]}',  # a lone surrogate: orjson refuses it
    '{"product":{"id":"P"},"materials":[{"id":"M","value":"1"}]}\n',
    '\ufeff{"product":{"id":"P"},"materials":[]}',
])
def test_a_text_orjson_refuses_or_reads_is_read_as_the_models_read_it(text):
    expected = models_way(text)
    fast = bom_from_json(text)
    if expected is None:
        assert fast is None
    else:
        same(fast, expected)


def _line(i: int, layout: str) -> dict:
    return {"A": {"id": f"M{i}", "hs": "8708.50", "origin": "CN", "originating": False, "value": "1.50"},
            "B": {"id": f"M{i}", "hs": "8708.50", "origin": "MX", "originating": True, "value": "2", "description": "d"},
            "A'": {"id": f"M{i}", "hs": "8708.50", "origin": "CN", "originating": False, "weight_kg": "3"},  # A's size
            "C": {"value": "4", "id": f"M{i}", "originating": None, "origin": "US", "hs": "3926.90"},  # A's keys, reordered
            "sub": {"id": f"M{i}", "hs": "8708.50", "materials": [{"id": "S1", "value": "1"}, {"id": "S2", "value": "2"}]},
            "dup": {"id": "M0", "hs": "8708.50", "origin": "CN", "originating": False, "value": "1"},  # M0 again
            "twice": '{"id":"M%d","value":"1","value":"2"}' % i,  # a key given twice (kept once by a parser)
            "number": {"id": f"M{i}", "hs": "8708.50", "origin": "CN", "originating": False, "value": 1.5},
            "bad": {"id": f"M{i}", "hs": "87", "origin": "CN", "originating": False, "value": "1"},
            "not a mapping": 5}[layout]


def _text(layouts: list[str]) -> str:
    lines = [_line(i, layout) for i, layout in enumerate(layouts)]
    return ('{"product":{"id":"P","hs":"8708.50","produced_in":"MX"},"materials":['
            + ",".join(line if type(line) is str else json.dumps(line) for line in lines) + "]}")


LAYOUTS = ["A", "B", "A'", "C", "sub", "dup", "twice", "number", "bad", "not a mapping"]


@settings(max_examples=examples(300), deadline=None)
@given(lists=st.lists(st.lists(st.sampled_from(LAYOUTS[:5]) | st.sampled_from(LAYOUTS), max_size=8), min_size=1, max_size=6))
def test_lists_of_lines_read_by_run_builders_are_the_models_lists(lists):
    """The lines of a list read in one loop by the run builder of the last list's layout
    (``_run_builder``), up to a line of another layout and the rest one by one: BOMs read in
    turn, each the models' BOM or refused as they refuse it (duplicate ids and keys across
    the two parts, a line that is not a mapping, one of the same size with another key)."""
    for layouts in lists:
        text = _text(layouts)
        expected = models_way(text)
        fast = bom_from_json(text)
        if expected is None:
            assert fast is None, layouts
        else:
            assert fast is not None, layouts
            same(fast, expected)


def test_run_builders_are_made_used_and_bounded(monkeypatch):
    """Not vacuous: a list of one layout gets a run builder, the next list of that layout is
    read by it, and one of another layout goes on one by one from the line that differs."""
    monkeypatch.setattr(bom_module, "_MAX_LAYOUTS", 2)
    bom_module._specs()
    try:
        material = bom_module.Material
        assert bom_module._LAST_RUN.get(material) is None
        same(bom_from_json(_text(["A", "A", "A"])), models_way(_text(["A", "A", "A"])))
        run = bom_module._LAST_RUN[material]
        assert run.__name__ == "run" and run.__code__.co_filename == "<fast reader: Material>"
        calls = []
        monkeypatch.setitem(bom_module._LAST_RUN, material, lambda items, out, count: calls.append(len(items)) or run(items, out, count))
        text = _text(["A", "A", "B", "B"])
        same(bom_from_json(text), models_way(text))
        assert calls == [4]
        assert bom_module._LAST_RUN[material] is bom_module._RUNS_MADE[material][tuple(_line(0, "B"))]
        for layouts in (["C", "C"], ["sub", "sub"]):  # past the bound: no more run builders
            same(bom_from_json(_text(layouts)), models_way(_text(layouts)))
        assert len(bom_module._RUNS_MADE[material]) == 2
    finally:
        monkeypatch.undo()
        bom_module._specs()


def test_the_fields_set_of_lines_read_alike_is_shared_and_read_only():
    """The lines of one layout share one fields set (``SharedFieldsSet``), which refuses
    changes in place; copies and pickles are plain sets, and the models serialise as ever."""
    import pickle

    from origin_rules.model.slots import SharedFieldsSet

    text = _text(["A", "A", "A"])
    fast, slow = bom_from_json(text), models_way(text)
    first, second = fast.materials[0], fast.materials[1]
    assert type(first.model_fields_set) is SharedFieldsSet and first.model_fields_set is second.model_fields_set
    assert first.model_fields_set == slow.materials[0].model_fields_set
    for change in (lambda s: s.add("weight_kg"), lambda s: s.discard("id"), lambda s: s.update({"x"}),
                   lambda s: s.__ior__({"x"}), lambda s: s.clear(), lambda s: s.pop()):
        with pytest.raises(TypeError, match="read-only"):
            change(first.model_fields_set)
    assert second.model_fields_set == {"id", "hs", "origin", "originating", "value"}
    changed = first.model_copy(update={"weight_kg": Decimal(1)})
    assert type(changed.model_fields_set) is set and "weight_kg" in changed.model_fields_set
    assert "weight_kg" not in second.model_fields_set
    assert type(pickle.loads(pickle.dumps(first)).model_fields_set) is set
    assert type(copy.deepcopy(first).model_fields_set) is set
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    assert fast.model_dump_json(exclude_unset=True) == slow.model_dump_json(exclude_unset=True)
