"""`origin-rules batch`: one output record per input record, in order, every format.

Small inputs, in-process (typer's CliRunner) unless a test needs real worker processes.
The 20,000-record acceptance run is tests/test_batch_scale.py; interruption is
tests/test_batch_kill.py.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import origin_rules
from origin_rules.batch import Options, run_batch
from origin_rules.batch.records import compact_json
from origin_rules.batch.sample import product_bom
from origin_rules.files.xlsx import cell_text
from origin_rules.files.boms import read_boms
from origin_rules.cli import app

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
EXAMPLES = ROOT / "examples" / "boms"
BOM_DATA = ROOT / "tests" / "data" / "bom"
DATA = ROOT / "tests" / "data" / "batch"
AS_OF = "2026-07-01"
ON = date(2026, 7, 1)
CAP = "USMCA review 2026: China content cap"
runner = CliRunner()


@pytest.fixture(scope="module")
def book(shipped_rulebook):
    return shipped_rulebook


def run(*args: str):
    return runner.invoke(app, ["batch", *args, "--rules", RULES, "--as-of", AS_OF])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def example_lines() -> list[str]:
    """The shipped example BOMs as JSON Lines (one BOM each)."""
    return [origin_rules.read_bom(p).to_json(indent=None) for p in sorted(EXAMPLES.glob("*.yaml"))]


# ---------------------------------------------------------------------------- the record


def test_every_record_in_order_with_position_and_same_verdicts_as_evaluate(tmp_path, book):
    lines = example_lines()
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert len(records) == len(lines)
    for index, (record, line) in enumerate(zip(records, lines), 1):
        assert record["source"] == str(src)
        assert record["position"] == index and record["line"] == index
        bom = origin_rules.BOM.model_validate_json(line)
        assert record["product_id"] == bom.product.id
        assert record["hs"] == bom.product.hs
        names = [d["agreement"] for d in record["determinations"]]
        assert names == book.applicable(bom)  # every applicable agreement/scenario, as evaluate does
        for entry in record["determinations"]:
            det = book.evaluate(bom, entry["agreement"], ON)
            assert entry["verdict"] == det.verdict
            for name, value in entry.get("figures", {}).items():
                assert det.figures[name] == value
            if det.verdict != "qualifies":
                from origin_rules.rulebook.explain import one_line_reason

                assert entry.get("reason", "") == one_line_reason(det)
                assert entry.get("missing", []) == det.missing


# A brake sold below the cost of its materials, with a Chinese material declared originating:
# BOM102 (15,000 of materials against a price of 1,000) and BOM104 (CN is no USMCA party).
ODD = ('{"product": {"id": "ODD-1", "hs": "8708.30", "produced_in": "MX", "transaction_value": "1000"}, '
       '"materials": [{"id": "M", "hs": "7325.99", "origin": "CN", "originating": true, "value": "15000"}]}')
# Originating status per agreement: a name no rulebook has (BOM105, under every agreement),
# Chinese steel originating under USMCA alone and a Japanese bolt under CPTPP alone (BOM104
# under the agreements, and their scenarios, that list them, and only there).
NAMED = ('{"product": {"id": "NAMED-1", "hs": "8708.30", "produced_in": "MX", "transaction_value": "1000", '
         '"end_use": "passenger_vehicle"}, "materials": ['
         '{"id": "A", "hs": "7325.99", "origin": "CN", "originating": ["USMCA", "Nowhere FTA"], "value": "100"}, '
         '{"id": "B", "hs": "7318.15", "origin": "JP", "originating": {"CPTPP": true}, "value": "50"}, '
         '{"id": "C", "hs": "7318.15", "origin": "MX", "originating": true, "value": "50"}]}')


@pytest.mark.parametrize("figures", ["--figures", "--verdicts-only"])
def test_warnings_are_carried_as_evaluate_gives_them(tmp_path, book, figures):
    lines = example_lines() + [NAMED, ODD]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "-j", "1", figures)
    assert result.exit_code == 0, result.output
    warned = 0
    for record, line in zip(read_jsonl(out), lines):
        bom = origin_rules.BOM.model_validate_json(line)
        carried = False
        for entry in record["determinations"]:
            det = book.evaluate(bom, entry["agreement"], ON)
            want = [w.model_dump() for w in det.warnings]
            if figures == "--verdicts-only" and det.verdict == "qualifies":  # no figures: no negative RVC looked for
                want = [w for w in want if w["code"] != "BOM106"]
            assert entry.get("warnings", []) == want, (record["product_id"], entry["agreement"])
            carried |= bool(want)
        warned += carried
    odd = read_jsonl(out)[-1]["determinations"]
    usmca = next(e for e in odd if e["agreement"] == "USMCA")
    assert [(w["code"], w["path"]) for w in usmca["warnings"]] == [
        ("BOM102", "product.transaction_value"), ("BOM104", "materials[0].originating")]
    assert f"{warned:,} with warnings" in result.output


def test_warnings_in_csv_and_strict_exits_2_with_the_output_written(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(example_lines()[0] + "\n" + ODD + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    relaxed = run(str(src), "--out", str(out), "-u", "USMCA", "-j", "1")
    assert relaxed.exit_code == 0, relaxed.output
    strict = run(str(src), "--out", str(out), "-u", "USMCA", "-j", "1", "--strict", "--summary", str(tmp_path / "s.json"))
    assert strict.exit_code == 2, strict.output
    assert "--strict: 1 record with warnings about the input" in strict.output
    assert json.loads((tmp_path / "s.json").read_text())["with_warnings"] == 1
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 2 and rows[0]["USMCA.warnings"] == ""
    cell = rows[1]["USMCA.warnings"]
    assert cell.startswith("product.transaction_value: the materials are worth 15000 in all") and "[BOM102] | " in cell
    assert cell.endswith("[BOM104]") and "materials[0].originating: declared originating under USMCA" in cell
    clean = tmp_path / "clean.jsonl"
    clean.write_text(example_lines()[0] + "\n", encoding="utf-8")
    assert run(str(clean), "--out", str(tmp_path / "c.jsonl"), "-u", "USMCA", "-j", "1", "--strict").exit_code == 0


def test_the_summary_line_counts_in_words_that_agree_with_the_number(tmp_path):
    src = tmp_path / "one.jsonl"
    src.write_text(example_lines()[0] + "\n", encoding="utf-8")
    result = run(str(src), "--out", str(tmp_path / "o.jsonl"), "-u", "USMCA", "-j", "1")
    assert result.exit_code == 0, result.output
    assert "1 record, 0 unreadable; 1 distinct BOM evaluated" in result.output and "1 worker)" in result.output
    said = result.output.replace(" records/s", " per second")  # a rate is a unit
    assert "1 records" not in said and "1 distinct BOMs" not in said


def test_scenario_entries_name_their_agreement_and_failures_carry_causes(tmp_path):
    out = tmp_path / "out.jsonl"
    result = run(str(EXAMPLES / "brake-assembly.yaml"), "--out", str(out), "-u", "USMCA", "-u", CAP, "-j", "1")
    assert result.exit_code == 0, result.output
    (record,) = read_jsonl(out)
    base, cap = record["determinations"]
    assert base["agreement"] == "USMCA" and "base" not in base and base["verdict"] == "qualifies"
    assert cap["base"] == "USMCA" and cap["verdict"] == "does_not_qualify"
    assert "10% of transaction_value" in cap["reason"]
    assert cap["causes"] == [{"id": "PAD-1", "hs": "6813.81", "origin": "CN", "value": "150.00"}]
    assert {"figure", "value", "threshold", "comparison", "margin", "holds"} <= set(cap["thresholds"][0])
    assert base["figures"]["rvc_net_cost"] == "82.35"


def test_error_records_name_the_field_and_line_and_the_batch_goes_on(tmp_path):
    good = example_lines()[0]
    bad_value = json.loads(good)
    bad_value["materials"][1]["value"] = "12,5"
    no_id = json.loads(good)
    del no_id["product"]["id"]
    lines = [good, json.dumps(bad_value), "{not json", json.dumps(no_id), "", good]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "-u", "USMCA", "-j", "1")
    assert result.exit_code == 2  # some input could not be read; everything was still written
    assert "3 records could not be read" in result.output
    records = read_jsonl(out)
    assert [r["line"] for r in records] == [1, 2, 3, 4, 6]  # the blank line is no record
    assert "determinations" in records[0] and "determinations" in records[4]
    value_error = records[1]["error"]["problems"]
    assert value_error == [{"path": "materials[1].value", "line": 2,
                            "message": 'expected a decimal number like "120.00", got "12,5"'}]
    assert records[1]["product_id"] == json.loads(good)["product"]["id"]
    assert records[2]["error"]["problems"][0]["message"].startswith("invalid JSON")
    assert records[2]["product_id"] is None
    assert records[3]["error"]["problems"][0]["path"] == "product.id"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_lone_surrogate_escape_is_an_error_record_and_the_others_are_written(tmp_path, workers):
    """``"\\ud800"`` alone is valid JSON to Python's reader but no character: the record is an
    error naming it (it used to end the whole batch with UnicodeEncodeError and no output);
    a pair of escapes is one character and reads."""
    good = json.loads(example_lines()[0])
    lone, pair = dict(good), dict(good)
    lone["product"] = {**good["product"], "id": "P\ud800X"}
    pair["product"] = {**good["product"], "id": "P\U0001F600"}  # written by json.dumps as a pair of escapes
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(d) for d in (good, lone, pair)) + "\n", encoding="utf-8")
    assert "\\ud800" in src.read_text(encoding="utf-8") and "\\ud83d\\ude00" in src.read_text(encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "-u", "USMCA", "-j", workers)
    assert result.exit_code == 2 and "1 record could not be read" in result.output
    records = read_jsonl(out)
    assert [("error" in r, r["line"]) for r in records] == [(False, 1), (True, 2), (False, 3)]
    (problem,) = records[1]["error"]["problems"]
    assert problem["message"].startswith("invalid JSON: `\\ud800` is half of a UTF-16 surrogate pair")
    assert records[2]["product_id"] == "P\U0001F600"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_quote_never_closed_in_a_csv_is_an_error_record_as_the_reader_says(tmp_path, workers):
    src = tmp_path / "open.csv"
    src.write_text((BOM_DATA / "batch.csv").read_text(encoding="utf-8").replace(",shipping_packing,", ',"shipping_packing,', 1), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "-u", "USMCA", "-j", workers)
    assert result.exit_code == 2, result.output
    got = read_jsonl(out)
    expected = list(read_boms(src))
    assert [(r["position"], r["product_id"]) for r in got] == [(w.position, w.product_id) for w in expected]
    assert [w.error is None for w in expected] == [True, False, True, False]  # (BAD-1 has bad values)
    assert "is never closed" in got[-1]["error"]["problems"][0]["message"] and got[-1]["line"] == 9


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("name", ["list.json", "list.yaml"])
def test_a_record_nested_very_deep_in_a_list_file_is_an_error_record_with_workers(tmp_path, workers, name):
    """A YAML/JSON list is parsed in the main process and its records sent to the workers:
    one nested hundreds of levels deep (facts, or sub-assemblies) could not be pickled, and
    the batch ended in a traceback with no output, every record lost. It is an error record,
    as with one worker and as the reader says."""
    good = json.loads(example_lines()[0])
    deep_facts = json.loads(json.dumps(good))
    nested: object = "x"
    for _ in range(500):
        nested = [nested]
    deep_facts["product"]["facts"] = {"good": nested}
    deep_parts = json.loads(json.dumps(good))
    part = {"id": "SUB", "hs": "8708.99", "value": "1.00", "materials": []}
    for level in range(250):
        part = {"id": f"S{level}", "hs": "8708.99", "value": "1.00", "materials": [part]}
    deep_parts["materials"] = [part]
    records = [good, deep_parts, good] + ([deep_facts] if name.endswith(".json") else [])  # (YAML's reader refuses
    # the whole file nested as deep as those facts)
    src = tmp_path / name
    src.write_text(json.dumps(records), encoding="utf-8")  # (JSON is YAML too: a YAML emitter does not nest so deep)
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "-u", "USMCA", "-j", workers)
    bad = len(records) - 2
    assert result.exit_code == 2 and f"{bad} record{'s' * (bad > 1)} could not be read" in result.output, result.output
    got = read_jsonl(out)
    expected = list(read_boms(src))
    assert [(r["position"], "error" in r) for r in got] == [(0, False), (1, True), (2, False), (3, True)][:len(records)]
    assert [r.get("product_id") for r in got] == [r["product"]["id"] for r in records]
    for record, want in zip(got, expected, strict=True):
        if want.error is not None:
            assert [p["message"] for p in record["error"]["problems"]] == [p.message for p in want.error.problems]
    assert "nested more than 50 levels" in got[1]["error"]["problems"][0]["message"]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("output", ["out.jsonl", "out.csv"])
def test_a_nul_character_is_an_error_record_at_its_path_and_the_others_are_written(tmp_path, workers, output):
    """A NUL (``\\u0000``) in a BOM's text is refused at each field holding one (PostgreSQL
    cannot store it: ``batch --record`` then stopped recording every record); the record
    names no product id (it would carry the NUL into the output); a text that only shows
    the escape (an escaped backslash) reads as any other."""
    good = json.loads(example_lines()[0])
    nul, shown = dict(good), dict(good)
    nul["product"] = {**good["product"], "id": "P\x00X", "description": "a\x00"}
    shown["product"] = {**good["product"], "id": "P\\u0000X"}
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(d) for d in (good, nul, shown)) + "\n", encoding="utf-8")
    assert '"P\\u0000X"' in src.read_text(encoding="utf-8") and '"P\\\\u0000X"' in src.read_text(encoding="utf-8")
    out = tmp_path / output
    result = run(str(src), "--out", str(out), "-u", "USMCA", "-j", workers)
    assert result.exit_code == 2 and "1 record could not be read" in result.output
    if output.endswith(".csv"):
        text = out.read_text(encoding="utf-8")
        assert "\x00" not in text and text.count("NUL character (U+0000)") == 2
        return
    records = read_jsonl(out)
    assert [("error" in r, r["line"]) for r in records] == [(False, 1), (True, 2), (False, 3)]
    assert records[1]["product_id"] is None
    assert [(p["path"], p["line"]) for p in records[1]["error"]["problems"]] == [("product.description", 2), ("product.id", 2)]
    assert all("NUL character (U+0000)" in p["message"] for p in records[1]["error"]["problems"])
    assert records[2]["product_id"] == "P\\u0000X"


@pytest.mark.parametrize("text, refused_at", [
    ('{"a": "P\\ud800X"}', 9), ('{"a": "\\ude00"}', 8), ('{"a": "\\ud83d\\ude00 \\udbff"}', 21),
    ('{"a": "ok \\ud83d\\ude00"}', None), ('{"a": "\\\\ud800"}', None), ('{"\\ud800": 1}', 3)])
def test_lone_surrogate_escapes_are_refused_where_they_are(text, refused_at):
    from origin_rules.model.bom import bom_from_json, loads_json

    for data in (text, text.encode()):
        if refused_at is None:
            loads_json(data)
            continue
        with pytest.raises(json.JSONDecodeError) as caught:
            loads_json(data)
        assert caught.value.colno == refused_at and "surrogate" in caught.value.msg
        assert bom_from_json(data) is None  # the fast reader leaves it to the models' way


@pytest.mark.parametrize("name", ["batch.jsonl", "batch.csv", "batch.yaml", "batch.json"])
def test_same_records_and_errors_as_read_boms(tmp_path, book, name):
    """Every format: positions and problems exactly as the BOM reader reports them."""
    src = BOM_DATA / name
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out), "-u", "USMCA", "-j", "1")
    assert result.exit_code in (0, 2), result.output
    records = read_jsonl(out)
    expected = list(read_boms(src))
    assert len(records) == len(expected)
    for record, want in zip(records, expected):
        assert (record["position"], record["line"], record["product_id"]) == (want.position, want.line, want.product_id)
        if want.error is not None:
            got = record["error"]["problems"]
            assert [(p["path"], p["line"]) for p in got] == [(p.path, p.line) for p in want.error.problems]
            assert all(p["message"].startswith(w.message) for p, w in zip(got, want.error.problems))
        else:
            assert record["determinations"][0]["verdict"] == book.verdict(want.bom, "USMCA", ON)


def test_a_file_that_cannot_be_read_is_one_error_record(tmp_path):
    out = tmp_path / "out.jsonl"
    result = run(str(BOM_DATA / "broken_syntax.yaml"), str(EXAMPLES / "bumper.yaml"), "--out", str(out), "-j", "1")
    assert result.exit_code == 2
    broken, bumper = read_jsonl(out)
    assert broken["position"] == 0 and broken["error"]["problems"][0]["message"].startswith("invalid YAML")
    assert bumper["product_id"] == "BMP-330"


# ---------------------------------------------------------------------------- formats


def _write_xlsx(path: Path, rows: list[list]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)


def test_xlsx_reads_like_the_same_csv(tmp_path):
    with open(BOM_DATA / "batch.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    _write_xlsx(tmp_path / "batch.xlsx", rows)
    for name in ("batch.xlsx",):
        out = tmp_path / f"{name}.jsonl"
        result = run(str(tmp_path / name), "--out", str(out), "-u", "USMCA", "-j", "1")
        assert result.exit_code == 2, result.output  # the file holds one bad record
    from_csv = tmp_path / "csv.jsonl"
    run(str(BOM_DATA / "batch.csv"), "--out", str(from_csv), "-u", "USMCA", "-j", "1")
    xlsx, plain = read_jsonl(tmp_path / "batch.xlsx.jsonl"), read_jsonl(from_csv)
    assert len(xlsx) == len(plain) == 4
    for a, b in zip(xlsx, plain):
        a.pop("source"), b.pop("source")
        assert a == b


def test_xlsx_numbers_become_exact_text(tmp_path):
    assert cell_text(120.5) == "120.5" and cell_text(0.1) == "0.1" and cell_text(2000.0) == "2000"
    assert cell_text(8708.3, "hs") == "8708.30" and cell_text(10121, "hs") == "010121"
    assert cell_text(101.21, "hs") == "0101.21" and cell_text(True) == "true"
    rows = [["product.id", "product.hs", "product.produced_in", "product.transaction_value",
             "material.id", "material.hs", "material.origin", "material.originating", "material.value"],
            ["N-1", 870830, "MX", 1000, "PAD", 6813.81, "CN", False, 150.1],
            ["N-1", None, None, None, "ROT", 8708.3, "MX", True, 200]]
    _write_xlsx(tmp_path / "n.xlsx", rows)
    out = tmp_path / "n.jsonl"
    result = run(str(tmp_path / "n.xlsx"), "--out", str(out), "-u", CAP, "-j", "1")
    assert result.exit_code == 0, result.output
    (record,) = read_jsonl(out)
    assert record["hs"] == "8708.30" and record["line"] == 2
    assert record["determinations"][0]["causes"][0] == {"id": "PAD", "hs": "6813.81", "origin": "CN", "value": "150.1"}


def test_unreadable_xlsx_is_an_error_record(tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(fake), "--out", str(out), "-j", "1")
    assert result.exit_code == 2
    (record,) = read_jsonl(out)
    assert "cannot read the workbook" in record["error"]["problems"][0]["message"]


def test_csv_output_has_a_column_block_per_agreement(tmp_path):
    out = tmp_path / "out.csv"
    result = run(str(BOM_DATA / "batch.jsonl"), str(EXAMPLES / "brake-assembly.yaml"), "--out", str(out),
                 "-u", "USMCA", "-u", CAP, "-j", "1")
    assert result.exit_code == 2
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5  # 4 records of batch.jsonl, then the brake
    assert rows[1]["error"].startswith("materials[0].value: ")
    brake = rows[4]
    assert brake["USMCA.verdict"] == "qualifies" and brake[f"{CAP}.verdict"] == "does_not_qualify"
    assert brake[f"{CAP}.causes"] == "PAD-1 6813.81 CN 150.00"
    assert brake["USMCA.vnm"] == "150.00"


# ---------------------------------------------------------------------------- workers and reuse


def _portfolio(tmp_path: Path, n: int = 300) -> Path:
    src = tmp_path / "portfolio.jsonl"
    lines = [json.dumps(product_bom(i % 40, (i // 40) % 2)) for i in range(n)]
    lines[17] = lines[17].replace('"value":', '"valeu":', 1)
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def test_workers_and_chunks_do_not_change_the_output(tmp_path):
    src = _portfolio(tmp_path)
    outputs = []
    for workers, chunk in ((1, 500), (2, 7), (2, 1)):
        out = tmp_path / f"out-{workers}-{chunk}.jsonl"
        result = run(str(src), "--out", str(out), "-j", str(workers), "--chunk-size", str(chunk))
        assert result.exit_code == 2, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize("frozen", [False, True])
def test_workers_leave_the_collector_frozen_only_if_it_was(tmp_path, book, frozen):
    """The batch freezes the parent's objects while it forks its workers (they share the
    rulebook's pages); a caller that had frozen objects (the CLI freezes the rulebook it
    loads) finds them frozen still, so the last collection at exit does not walk them;
    one that had not finds nothing frozen."""
    import gc

    src = _portfolio(tmp_path, 40)
    gc.unfreeze()
    if frozen:
        gc.freeze()
    try:
        summary = run_batch(book, Options(inputs=[str(src)], out=str(tmp_path / "o.jsonl"), names=["USMCA"], as_of=ON,
                                          workers=2))
        assert summary.records == 40
        assert (gc.get_freeze_count() > 0) is frozen
    finally:
        gc.unfreeze()


def test_identical_boms_are_evaluated_once(tmp_path, book):
    src = _portfolio(tmp_path)
    summary = run_batch(book, Options(inputs=[str(src)], out=str(tmp_path / "o.jsonl"), names=["USMCA"], as_of=ON, workers=1))
    assert summary.records == 300 and summary.errors == 1
    assert summary.evaluated == 80  # 40 products x 2 variants
    assert summary.reused == 300 - 80 - 1 - 1  # the error; line 1 is never reused, so its twin goes to a worker


def test_same_bom_written_differently_is_evaluated_once(tmp_path, book):
    bom = product_bom(3)
    again = {"materials": bom["materials"], "product": dict(bom["product"], hs=bom["product"]["hs"].replace(".", ""))}
    src = tmp_path / "two.jsonl"
    src.write_text(json.dumps(bom) + "\n" + json.dumps(again, indent=None) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    summary = run_batch(book, Options(inputs=[str(src)], out=str(out), names=["USMCA"], as_of=ON, workers=1))
    assert summary.evaluated == 1
    first, second = read_jsonl(out)
    assert first["determinations"] == second["determinations"]


def test_boms_alike_in_their_fingerprint_are_told_apart(tmp_path, book):
    """The workers' cheap fingerprint leaves out most fields: BOMs equal in it but not in
    content are each evaluated, and a later copy of either (written differently, so the main
    process does not reuse it) takes its own result."""
    from origin_rules.batch.work import fingerprint
    from origin_rules.model.bom import bom_from_data

    bom = product_bom(5)
    flipped = json.loads(json.dumps(bom))
    for material in flipped["materials"]:
        material["originating"] = not material["originating"]
    assert fingerprint(bom_from_data(bom)) == fingerprint(bom_from_data(flipped))
    again = dict(flipped, product=dict(flipped["product"], hs=flipped["product"]["hs"].replace(".", "")))
    src = tmp_path / "alike.jsonl"
    src.write_text("".join(json.dumps(b) + "\n" for b in (bom, flipped, again, bom)), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    summary = run_batch(book, Options(inputs=[str(src)], out=str(out), names=["USMCA"], as_of=ON, workers=1))
    assert summary.evaluated == 2
    first, second, third, fourth = read_jsonl(out)
    assert first["determinations"] != second["determinations"]
    assert second["determinations"] == third["determinations"] and first["determinations"] == fourth["determinations"]
    for record, expected in ((first, bom), (second, flipped)):
        verdict = book.evaluate(bom_from_data(expected), "USMCA", ON).verdict
        assert record["determinations"][0]["verdict"] == verdict


def test_raw_records_kept_for_their_key_are_bounded_by_materials(book, monkeypatch):
    """A worker keeps the raw records of BOMs met once (to key them if a copy comes) within
    a budget of materials: large BOMs are keyed at once, and copies are still reused."""
    from origin_rules.batch import work
    from origin_rules.batch.records import Renderer

    monkeypatch.setattr(work, "MET_MATERIALS", 100)  # 20-material BOMs: 5 kept; over 12 keyed at once
    setup = work.Setup(book, ["USMCA"], ON, Renderer("jsonl", ["USMCA"]))
    boms = [product_bom(i) for i in range(12)]
    small = [dict(b, materials=b["materials"][:10]) for b in boms[:6]]  # 10 materials: kept
    raw = [json.dumps(b).encode() for b in small + boms]
    again = [json.dumps(b, indent=1).replace("\n", "").encode() for b in small + boms]  # the same BOMs, written differently
    results, evaluated = work.run_jobs([("jsonl", "in.jsonl", 2 + i, r) for i, r in enumerate(raw + again)], setup)
    assert evaluated == len(raw)
    assert results[len(raw):] == results[:len(raw)]
    more = [json.dumps(dict(b, materials=b["materials"][:10])).encode() for b in map(product_bom, range(20, 32))]
    work.run_jobs([("jsonl", "in.jsonl", 2 + i, r) for i, r in enumerate(more)], setup)  # 120 materials met: the oldest go
    kept = [v for v in setup.met.values() if v is not None]
    assert len(kept) == 10 and setup.met_materials == sum(v[2] for v in kept) == 100


def test_verdicts_only_gives_the_same_verdicts(tmp_path):
    src = _portfolio(tmp_path, 120)
    full, fast = tmp_path / "full.jsonl", tmp_path / "fast.jsonl"
    run(str(src), "--out", str(full), "-j", "1")
    run(str(src), "--out", str(fast), "-j", "1", "--verdicts-only")
    for a, b in zip(read_jsonl(full), read_jsonl(fast)):
        if "error" in a:
            assert a == b
            continue
        # figures mode reads reasons and causes off the engine's trace; verdicts-only off evaluate()
        keys = ("agreement", "verdict", "reason", "missing", "causes", "rule_source", "criterion")
        assert [[d.get(k) for k in keys] for d in a["determinations"]] == \
               [[d.get(k) for k in keys] for d in b["determinations"]]
        for d in b["determinations"]:
            if d["verdict"] == "qualifies":  # verdicts only: no figures where nothing needs explaining
                assert "figures" not in d and "thresholds" not in d


# ---------------------------------------------------------------------------- summary and CLI


def test_summary_counts_every_verdict_and_loss(tmp_path):
    out, summary = tmp_path / "o.jsonl", tmp_path / "s.json"
    result = run(str(EXAMPLES), "--out", str(out), "--summary", str(summary), "-j", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(summary.read_text())
    records = read_jsonl(out)
    assert data["records"] == len(records) == len(list(EXAMPLES.glob("*.yaml")))
    assert data["errors"] == 0 and data["as_of"] == AS_OF and data["rules_digest"].startswith("sha256:")
    counted = {}
    for r in records:
        for d in r["determinations"]:
            counted.setdefault(d["agreement"], {}).setdefault(d["verdict"], 0)
            counted[d["agreement"]][d["verdict"]] += 1
    for name, row in data["verdicts"].items():
        assert {k: v for k, v in row.items() if v} == counted[name]
    # a loss: qualifies under the agreement, not under the scenario (the brake assembly, the
    # bumper, the engine, the battery and the typewriter carry Chinese content above the cap)
    lost = 0
    for r in records:
        by = {d["agreement"]: d["verdict"] for d in r["determinations"]}
        lost += by.get("USMCA") == "qualifies" and by.get(CAP) != "qualifies"
    assert data["losses"][CAP] == lost == 5
    assert "USMCA" in result.output and "loses vs agreement" in result.output  # the table on stderr


def test_fail_on_and_usage_errors(tmp_path):
    out = tmp_path / "o.jsonl"
    brake = str(EXAMPLES / "brake-assembly.yaml")
    assert run(brake, "--out", str(out), "-u", CAP, "--fail-on", "does_not_qualify", "-j", "1").exit_code == 1
    assert run(brake, "--out", str(out), "-u", "USMCA", "--fail-on", "does_not_qualify", "-j", "1").exit_code == 0
    bad = run(brake, "--out", str(out), "-u", "USMCA revue", "-j", "1")
    assert bad.exit_code == 2 and "did you mean" in bad.output
    assert run(brake, "--out", str(tmp_path / "o.txt")).exit_code == 2
    assert run(str(tmp_path / "missing.jsonl"), "--out", str(out)).exit_code == 2
    assert run(brake, "--out", str(tmp_path / "no" / "o.jsonl")).exit_code == 2


def test_output_is_an_ordinary_file_and_no_temporary_file_is_left(tmp_path):
    out = tmp_path / "o.jsonl"
    assert run(str(EXAMPLES / "bumper.yaml"), "--out", str(out), "-j", "1").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl"]
    assert out.stat().st_mode & 0o044  # readable by others as umask allows, not mkstemp's 0600


def test_help_documents_the_record():
    result = runner.invoke(app, ["batch", "--help"])
    assert result.exit_code == 0
    for word in ("--workers", "--summary", "--verdicts-only", "determinations", "error.problems"):
        assert word in result.output


def test_empty_input_is_reported(tmp_path):
    src = tmp_path / "empty.jsonl"
    src.write_text("\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = run(str(src), "--out", str(out), "-j", "1")
    assert result.exit_code == 2 and "no records found" in result.output
    assert out.read_text() == ""


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_records_are_written_as_json_writes_them(value):
    """The output records are made by orjson; the text is the standard library's to the byte
    (control characters, any Unicode including lone surrogates, integers of any size)."""
    assert compact_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_verdicts_only_gives_a_good_that_does_not_qualify_the_entry_it_gets_with_figures(book):
    """--verdicts-only drops the figures of a good that qualifies and nothing else: the
    entry of one that does not is the one made with figures (the examples and part of the
    batch sample, on two dates; every verdict occurs)."""
    from origin_rules.batch.judge import judge
    from origin_rules.files.boms import jsonl_record

    boms = [r.bom for path in sorted(EXAMPLES.glob("*.yaml")) for r in read_boms(path) if r.bom is not None]
    boms += [jsonl_record("sample.jsonl", 2, json.dumps(product_bom(seed, variant))).bom
             for seed in range(24) for variant in range(2)]
    verdicts = set()
    for on in (date(2026, 7, 1), date(2020, 1, 1)):
        for bom in boms:
            for full, short in zip(judge(book, bom, None, on, True), judge(book, bom, None, on, False), strict=True):
                verdicts.add(full["verdict"])
                if full["verdict"] == "qualifies":
                    assert short == {k: full[k] for k in ("agreement", "verdict", "base", "warnings") if k in full}
                else:
                    assert short == full
    assert verdicts == {"qualifies", "does_not_qualify", "insufficient_data", "no_rule"}


def _reference_causes(bom, out):
    """The causes of a failing entry as the batch documents them, worked out plainly: the
    materials the engine names (failed tariff shifts first, then the deepest failing steps),
    each once, the first of an id at any depth, at most MAX_CAUSES; when none is named, the
    non-originating direct materials of the largest value, unless the good fails before any
    rule (made outside the parties, the agreement not in force)."""
    from decimal import Decimal

    from origin_rules.batch.judge import MAX_CAUSES, _cause, _failing_ids

    by_id = {}
    for _, material in bom.walk():
        by_id.setdefault(material.id, material)
    reasons = {f.id: f.reason for f in out.failures}
    ids = list(reasons)
    _failing_ids(out.trace, ids)
    named = [mid for i, mid in enumerate(ids) if mid in by_id and mid not in ids[:i]]
    if named:
        return [_cause(by_id[mid], reasons.get(mid)) for mid in named][:MAX_CAUSES]
    if out.criterion in ("not_produced_in_territory", "agreement_not_in_force"):
        return []
    pool = [m for m in bom.materials if m.originating is not True and m.kind not in ("indirect", "shipping_packing")]
    pool.sort(key=lambda m: m.value if m.value is not None else Decimal(0), reverse=True)
    return [_cause(m, "non-originating value") for m in pool[:MAX_CAUSES]]


def test_causes_are_the_named_materials_or_the_largest_values_each_entry_its_own(book):
    """The causes of every failing entry of sample BOMs under every applicable agreement, as
    the reference works them out (many have more named materials than are listed); the
    entries of one BOM's names share no cause object (each is made once, then copied)."""
    from origin_rules.batch.judge import MAX_CAUSES, judge

    from origin_rules.model.bom import bom_from_data

    on = date(2026, 7, 1)
    checked = truncated = by_value = 0
    cases = [(product_bom(seed), None) for seed in range(60)]
    # a rule failing on a declared fact names no material: the largest non-originating values
    vehicle = yaml.safe_load((EXAMPLES / "passenger-vehicle.yaml").read_text(encoding="utf-8"))
    for lvc in ("39.999", "20", "0"):
        facts = {**vehicle["product"]["facts"], "lvc": {**vehicle["product"]["facts"]["lvc"], "value": lvc}}
        cases.append(({**vehicle, "product": {**vehicle["product"], "facts": facts}}, ["USMCA", CAP]))
    # made outside the parties, or under an agreement not yet in force: no material is behind
    # the failure (evaluate names none either), so there are no causes
    outside = [{**product_bom(seed), "product": {**product_bom(seed)["product"], "produced_in": "CN"}}
               for seed in range(15)]
    for data in outside:
        for entry in judge(book, bom_from_data(data), ["USMCA", CAP], on):
            assert entry["verdict"] == "does_not_qualify" and "causes" not in entry, entry
    for entry in judge(book, bom_from_data(product_bom(1)), ["USMCA"], date(2020, 6, 30)):
        assert entry["criterion"] == "agreement_not_in_force" and "causes" not in entry, entry
    for data, names in cases:
        bom = bom_from_data(data)
        entries = judge(book, bom, names, on)
        seen_objects = set()
        for entry in entries:
            if entry["verdict"] != "does_not_qualify" or "causes" not in entry:
                continue
            want = _reference_causes(bom, book.outcome(bom, entry["agreement"], on))
            assert entry["causes"] == want, (bom.product.id, entry["agreement"])
            checked += 1
            truncated += len(want) == MAX_CAUSES
            by_value += all(c.get("reason") == "non-originating value" for c in want)
            for cause in entry["causes"]:
                assert id(cause) not in seen_objects
                seen_objects.add(id(cause))
    assert checked > 100 and truncated > 10 and by_value >= 3  # (each way of listing them met)
