"""Fast BOM reading (issue 14 items 3 and 4): the memoised validators, the shared default
facts, the memoised plausibility findings and the batch records validated in workers give
exactly what the plain readers give.

The memos keep only what a validator accepted, keyed by text that is exactly ``str``; these
tests check that a warm memo never changes an answer (value or error message) and that a
number remembering its source text (``SourceInt('007')``) keeps it through a pickle, as a
YAML record sent to a batch worker must.
"""

from __future__ import annotations

import json
import re
import multiprocessing
import pickle
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from origin_rules.batch import Options, run_batch
from origin_rules.batch.sample import product_bom
from origin_rules.files.boms import bom_record, raw_records, read_boms
from origin_rules.model import bom as bom_module
from origin_rules.model.bom import BOM, NO_FACTS, BomError, SourceDecimal, SourceInt, bom_from_data, loads_json
from origin_rules.model import plausibility
from origin_rules.model.plausibility import check_bom

from conftest import examples

ROOT = Path(__file__).resolve().parent.parent
BOM_DATA = ROOT / "tests" / "data" / "bom"
ON = date(2026, 7, 1)


def _answer(fn, value):
    try:
        return ("ok", fn(value))
    except PydanticCustomError as err:
        return ("error", str(err))


def _cold(fn, value):
    for memo in (bom_module._DECIMALS, bom_module._CODES, bom_module._COUNTRY_CODES):
        memo.clear()
    return _answer(fn, value)


TEXTS = st.one_of(
    st.sampled_from(["MX", "mx", " MX ", "Mx", "XX", "MEX", "Mexico", "unknown", " Unknown", "", " ",
                     "8708.30", "870830", " 8708.30", "8708.3", "87.08", "8708", "87083050", "0.50", "12.5",
                     "-0", "-1", "1e2", "1E+2", ".5", "5.", "NaN", "Infinity", "1e99", "007"]),
    st.text(alphabet="0123456789.-+eE MXUSCNmxusk ", max_size=12),
)
VALIDATORS = [bom_module._to_decimal, bom_module._to_hs, bom_module._to_country, bom_module._to_origin]


@settings(max_examples=examples(300))
@given(first=TEXTS, second=TEXTS)
def test_a_warm_memo_gives_the_answer_of_a_cold_one(first, second):
    """Whatever was read before, a text gets the value or the error it gets on a cold start."""
    for fn in VALIDATORS:
        cold = _cold(fn, second)
        _answer(fn, first)
        _answer(fn, second)
        assert _answer(fn, second) == cold, (fn.__name__, first, second)


AMOUNTS = st.one_of(
    TEXTS,
    st.text(alphabet="0123456789. \t\n\u0663\u00b2_", max_size=45),  # long ones, digits of other scripts
    st.decimals(min_value=0, allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"[0-9]{0,44}\.?[0-9]{0,44}", fullmatch=True),
)


def _decimal_answer(fn, value):
    kind, got = _answer(fn, value)
    return (kind, str(got), type(got)) if kind == "ok" else (kind, got)


@settings(max_examples=examples(500))
@given(text=AMOUNTS)
def test_a_plain_amount_is_read_as_the_whole_reader_reads_it(text):
    """The short way for digits and a point (``_PLAIN_AMOUNT``) gives what the whole of
    ``_read_any_decimal`` gives: the same value with the same exponent, or the same error
    (a text too long for the range, Unicode digits, whitespace around, a lone point)."""
    assert _decimal_answer(bom_module._read_decimal, text) == _decimal_answer(bom_module._read_any_decimal, text)


def test_memo_answers_are_the_validators_own():
    assert _cold(bom_module._to_country, " mx ") == ("ok", "MX")
    assert _answer(bom_module._to_origin, " mx ") == ("ok", "MX")  # the memo _to_country filled
    assert _cold(bom_module._to_origin, "UNKNOWN") == ("ok", "unknown")
    assert _answer(bom_module._to_country, "UNKNOWN")[0] == "error"
    assert _cold(bom_module._to_hs, "870830") == ("ok", "8708.30")
    assert _answer(bom_module._to_hs, 870830) == ("ok", "8708.30")
    assert _cold(bom_module._to_decimal, "1e2") == ("ok", Decimal(100))
    assert str(_answer(bom_module._to_decimal, "1e2")[1]) == "100"
    error = _answer(bom_module._to_decimal, "-1")
    assert error == ("error", 'expected a non-negative number, got "-1"')


def test_memos_stay_bounded(monkeypatch):
    monkeypatch.setattr(bom_module, "_MEMO_SIZE", 3)
    bom_module._CODES.clear()
    for code in ("87", "8708", "870830", "8708.30", "84"):
        bom_module._to_hs(code)
    assert len(bom_module._CODES) <= 3
    assert bom_module._to_hs("870830") == "8708.30"


def test_the_default_facts_are_shared_read_only_and_invisible():
    data = {"product": {"id": "P", "hs": "8708.30"}, "materials": [{"id": "M1"}, {"id": "M2", "facts": {"a": "x"}}]}
    bom = bom_from_data(data)
    assert bom.product.facts is NO_FACTS and bom.materials[0].facts is NO_FACTS
    assert bom.materials[1].facts == {"a": bom_module.DeclaredFact("x")} and type(bom.materials[1].facts) is dict
    with pytest.raises(TypeError):
        bom.product.facts["x"] = 1  # type: ignore[index]
    assert json.loads(bom.to_json()) == {"product": {"id": "P", "hs": "8708.30"},
                                         "materials": [{"id": "M1"}, {"id": "M2", "facts": {"a": "x"}}]}
    assert pickle.loads(pickle.dumps(bom)) == bom
    assert BOM.model_json_schema()["$defs"]["Material"]["properties"]["facts"]["default"] == {}


def test_numbers_keep_their_source_text_through_a_pickle():
    for value in (SourceInt("007"), SourceDecimal("12.50"), SourceDecimal("1e2"), SourceDecimal("NaN")):
        again = pickle.loads(pickle.dumps(value))
        assert type(again) is type(value) and again.source == value.source
        assert again == value or (value.is_nan() and again.is_nan())
    data = pickle.loads(pickle.dumps(loads_json('{"product": {"id": 7.50}, "materials": [{"id": 1e2}]}')))
    bom = bom_from_data(data)
    assert (bom.product.id, bom.materials[0].id) == ("7.50", "1e2")  # as written, not 7.5 and 1E+2


def test_plausibility_findings_are_the_same_for_a_code_met_again():
    bom = bom_from_data({"product": {"id": "P", "hs": "87.08"}, "materials": [
        {"id": "M1", "hs": "87.08"}, {"id": "M2", "hs": "0123.45"}, {"id": "M3", "hs": "0123.45"}]})
    first = check_bom(bom)
    assert [(f.code, f.path) for f in first] == [
        ("BOM002", "product.hs"), ("BOM001", "materials[1].hs"), ("BOM001", "materials[2].hs")]
    assert first[1].message == first[2].message == (
        "`0123.45` is not an HS 2022 code; chapter 01 has 01.01, 01.02, 01.03, 01.04, 01.05, 01.06")
    plausibility._LAST = (None, ())  # (the last BOM's findings are remembered: work them out again)
    assert check_bom(bom) == first
    plausibility._CODE_MEMO.clear()
    plausibility._LAST = (None, ())
    assert check_bom(bom) == first
    nested = bom_from_data({"product": {"id": "P", "hs": "8708.30"}, "materials": [
        {"id": "S", "materials": [{"id": "a", "hs": "0123.45"}]}, {"id": "M", "hs": "0123.45"}]})
    assert [f.path for f in check_bom(nested)] == ["materials[0].materials[0].hs", "materials[1].hs"]


def test_plausibility_findings_of_the_last_bom_are_remembered_as_they_were():
    """A batch checks a BOM when it reads it and again when it judges it: the second check
    gives what the first gave, as a list of its own; another BOM, or the same BOM checked
    with ``has_materials_key`` given, is checked anew."""
    boms = [bom_from_data(product_bom(p)) for p in range(40)]
    boms.append(bom_from_data({"product": {"id": "P", "hs": "0123.45", "net_cost": "1"},
                               "materials": [{"id": "M", "hs": "0123.45", "value": "5"}]}))
    fresh = [plausibility._check_bom(b, "materials" in b.model_fields_set) for b in boms]
    assert any(fresh)  # (some findings to remember)
    for bom, want in zip(boms, fresh):
        got = check_bom(bom)
        assert got == want
        got.append("changed by the caller")
        assert check_bom(bom) == want  # (from the memo: the caller's list was its own)
    bom = boms[-1]
    assert check_bom(bom) != check_bom(bom, has_materials_key=False)  # BOM003 without a materials list
    assert check_bom(boms[0]) == fresh[0] and check_bom(bom) == fresh[-1]


@pytest.mark.parametrize("name", ["batch.yaml", "batch.json", "brake.yaml"])
def test_raw_records_then_bom_record_is_read_boms(name):
    src = str(BOM_DATA / name)
    def seen(record):
        return (record.position, record.line, record.product_id, record.bom, record.error and record.error.problems)

    again = [bom_record(src, position, data, lines=lines, line=first) for position, data, lines, first in raw_records(src)]
    assert [seen(r) for r in again] == [seen(r) for r in read_boms(src)]
    assert any(r.error for r in again) or name == "brake.yaml"


def test_raw_records_of_an_unreadable_file_raise():
    with pytest.raises(BomError):
        raw_records(str(BOM_DATA / "broken_syntax.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["batch.yaml", "batch.json"])
def test_yaml_and_json_records_validated_in_two_workers_as_in_one(tmp_path, shipped_rulebook, name):
    """The records of a YAML/JSON list go to the workers unvalidated (pickled, with their
    lines): the output is byte for byte the in-process one's."""
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out-{workers}.jsonl"
        run_batch(shipped_rulebook, Options(inputs=[str(BOM_DATA / name)], out=str(out), names=["USMCA"], as_of=ON,
                                            workers=workers, chunk=1))
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert b'"error"' in outputs[0] and b'"determinations"' in outputs[0]


def _in_spawned_worker(job):
    from origin_rules.batch.work import run_jobs

    results, _ = run_jobs([job])
    return "lark" in sys.modules, results[0][0]


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False])
def test_spawned_workers_read_the_rulebook_cache(tmp_path, monkeypatch, cache):
    """A spawned worker loads the rules from the cache the parent filled (Lark, the parser,
    is never imported), or parses them with ``cache=False`` (``--no-cache``)."""
    import origin_rules
    from origin_rules.batch.records import Renderer
    from origin_rules.batch.work import init_worker

    monkeypatch.setenv("ORIGIN_RULES_CACHE_DIR", str(tmp_path / "cache"))
    rules = [str(ROOT / "rules")]
    origin_rules.load(rules, cache=True)  # the parent's load fills the cache
    line = json.dumps(product_bom(1)).encode()
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=init_worker,
                      initargs=(multiprocessing.current_process().pid, rules, ["USMCA"], ON, "jsonl", ["USMCA"], True,
                                cache)) as pool:
        lark_imported, kind = pool.apply(_in_spawned_worker, (("jsonl", "in.jsonl", 2, line),))
    assert kind == "ok"
    assert lark_imported is (not cache)
    assert Renderer  # the worker built its own renderer from the format and columns


@pytest.mark.parametrize("name, edit", [
    ("batch.csv", lambda text: text.replace("PAD-1", "PAD\x00-1", 1)),
    ("batch.yaml", None),
])
def test_a_nul_character_is_refused_at_its_path_and_line_in_every_format(tmp_path, name, edit):
    """YAML's ``"\\0"`` escape and a CSV cell bring a NUL (U+0000) as surely as JSON's
    ``\\u0000``: each is refused at its field and line, and the other records read."""
    text = (BOM_DATA / name).read_text(encoding="utf-8")
    if edit is None:  # the first material id of the YAML list, written with the escape
        first = re.search(r"id: ([^\s,}]+)", text.split("materials:", 1)[1]).group(1)
        text = text.replace(f"id: {first}", f'id: "{first.strip(chr(34))}\\0"', 1)
    else:
        text = edit(text)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = list(read_boms(BOM_DATA / name))
    after = list(read_boms(path))
    assert len(after) == len(before)
    bad = [r for r in after if r.error is not None and any("NUL character" in p.message for p in r.error.problems)]
    assert len(bad) == 1
    (problem,) = bad[0].error.problems
    assert problem.path.endswith(".id") and problem.path.startswith("materials[") and problem.line is not None
    assert "\x00" in text.splitlines()[problem.line - 1] or "\\0" in text.splitlines()[problem.line - 1]
    assert [r.product_id for r in after if r is not bad[0]] == [r.product_id for r in before if r.position != bad[0].position]


def test_the_fast_reader_leaves_a_nul_escape_to_the_models():
    from origin_rules.model.bom import bom_from_json

    good = json.dumps(product_bom(3, 0))
    assert bom_from_json(good) is not None
    with_nul = good.replace('"generated product', '"generated\\u0000 product', 1)
    assert "\\u0000" in with_nul
    assert bom_from_json(with_nul) is None and bom_from_json(with_nul.encode()) is None
    with pytest.raises(BomError) as caught:
        bom_from_data(loads_json(with_nul))
    assert [p.path for p in caught.value.problems] == ["product.description"]


@pytest.mark.parametrize("text, line, column, message", [
    ('{"a": 1,\n "b": {"c": 1,\n  "c": 2}}', 2, 7, "duplicate key `c` in the object that opens here"),
    ('{"a": 1, "a": 2}', 1, 1, "duplicate key `a` in the object that opens here"),
    ('{"a": "x",\n "n": ' + "7" * 5000 + "}", 2, 7,
     "an integer of more than 4,300 digits: expected a number of sensible size"),
])
def test_json_errors_without_a_position_get_one(text, line, column, message):
    """A key given twice and an integer too long for Python: json.loads reports them with no
    position, and a JSON Lines record's error named the line before it (a .json file's, none)."""
    for data in (text, text.encode()):
        with pytest.raises(json.JSONDecodeError) as caught:
            loads_json(data)
        assert (caught.value.lineno, caught.value.colno, caught.value.msg) == (line, column, message)


def test_a_json_lines_record_with_a_key_twice_names_its_own_line(tmp_path):
    good = json.dumps(product_bom(1, 0))
    twice = good.replace('"hs":', '"hs":"8708.30","hs":', 1)
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join([good, good, twice, good]) + "\n", encoding="utf-8")
    records = list(read_boms(path))
    assert [r.error is None for r in records] == [True, True, False, True]
    (problem,) = records[2].error.problems
    assert problem.line == 3 and problem.column == twice.index("{", 1) + 1  # the product's object
    assert "duplicate key `hs`" in problem.message
