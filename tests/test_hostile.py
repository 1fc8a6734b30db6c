"""Hostile input over every command that reads input (issue 13, acceptance).

NUL bytes, deep nesting, YAML alias bombs, huge numbers, 50,000 materials, truncated
files and wrong encodings (UTF-16, latin-1), each in every format a command reads: BOMs
(YAML, JSON, JSON Lines, CSV, XLSX) for ``evaluate``, ``batch``, ``diff --boms`` and the
BOMs of rule tests; rule files for ``check``, ``fmt``, ``evaluate --rules``, ``diff`` and
``test``; rule test files for ``test``; batch results for ``report``; completeness
manifests for ``rulebook coverage``; arguments for ``schema``. Every run must end with exit
code 0, 1 or 2 and no traceback: bad input is reported (file, line, what is wrong), never
crashed on.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
MANY = 50_000

RULES = """\
agreement "A" {
  parties = [US, MX, CA]
  effective = 2020-07-01
  # Café: a comment that is not ASCII
  rule 8708.30 "Brakes" {
    change from any other heading
    or rvc(transaction_value) >= 60%
  }
}
"""

# ---------------------------------------------------------------------------- payloads

BOM_YAML = """\
product: {id: P, description: "Frein à disque", hs: "8708.30", produced_in: MX, transaction_value: "1000"}
materials:
  - {id: M1, description: "Étrier", hs: "7325.99", origin: CN, originating: false, value: "100", weight_kg: "1"}
  - {id: M2, hs: "8708.99", origin: MX, originating: true, value: "200"}
"""
BOM_DATA = {
    "product": {"id": "P", "description": "Frein à disque", "hs": "8708.30", "produced_in": "MX", "transaction_value": "1000"},
    "materials": [{"id": "M1", "description": "Étrier", "hs": "7325.99", "origin": "CN", "originating": False, "value": "100"},
                  {"id": "M2", "hs": "8708.99", "origin": "MX", "originating": True, "value": "200"}],
}
CSV_HEAD = "product.id,product.description,product.hs,product.produced_in,product.transaction_value,material.id,material.hs,material.origin,material.originating,material.value\n"
CSV_ROW = 'P,Frein à disque,8708.30,MX,1000,M1,7325.99,CN,false,100\nP,,,,,M2,8708.99,MX,true,200\n'
LAUGHS = ('a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
          + "".join(f"{x}: &{x} [{', '.join([f'*{p}'] * 9)}]\n" for p, x in zip("abcdefgh", "bcdefghi")))
HUGE_INT = "9" * 100_000


def nested(depth: int) -> dict:
    """A BOM whose one material is a sub-assembly ``depth`` levels deep."""
    material = {"id": "LEAF", "hs": "7318.15", "origin": "CN", "originating": False, "value": "1"}
    for level in range(depth):
        material = {"id": f"S{level}", "hs": "8708.99", "origin": "MX", "value": "1", "materials": [material]}
    return {"product": {"id": "P", "hs": "8708.30", "produced_in": "MX", "transaction_value": "1000"},
            "materials": [material]}


@cache
def many_materials() -> str:
    """The JSON text of a BOM of :data:`MANY` materials (made once per test process: seven
    payloads are made of it)."""
    materials = [{"id": f"M{i}", "hs": "7318.15", "origin": "CN", "originating": False, "value": "1.00"}
                 for i in range(MANY)]
    return json.dumps({"product": {"id": "BIG", "hs": "8708.30", "produced_in": "MX", "transaction_value": "100000"},
                       "materials": materials})


def _cut(text: str) -> bytes:
    data = text.encode("utf-8")
    return data[: len(data) * 2 // 3]


def bom_yaml(kind: str) -> bytes:
    return {
        "nul": lambda: BOM_YAML.encode() + b"\x00\n",
        "nul_in_string": lambda: BOM_YAML.replace("Frein", "Fr\x00ein").encode(),
        "deep": lambda: ("[" * 100_000 + "]" * 100_000).encode(),
        "deep_block": lambda: "".join(" " * i + "a:\n" for i in range(3_000)).encode(),
        "deep_subassemblies": lambda: json.dumps(nested(300)).encode(),
        "subassemblies": lambda: json.dumps(nested(150)).encode(),
        "alias_bomb": lambda: LAUGHS.encode(),
        "huge_numbers": lambda: BOM_YAML.replace('"1000"', "1e999999").replace('"100"', HUGE_INT)
                                        .replace('"200"', "-1e-999999").encode(),
        "many_materials": lambda: many_materials().encode(),  # JSON is YAML too
        "truncated": lambda: _cut(BOM_YAML),
        "utf16": lambda: BOM_YAML.encode("utf-16"),
        "latin1": lambda: BOM_YAML.encode("latin-1"),
    }[kind]()


def bom_json(kind: str) -> bytes:
    text = json.dumps(BOM_DATA, ensure_ascii=False)
    return {
        "nul": lambda: text.encode() + b"\x00",
        "nul_in_string": lambda: text.replace("Frein", "Fr\x00ein").encode(),
        "deep": lambda: ("[" * 100_000 + "]" * 100_000).encode(),
        "deep_block": lambda: ('{"a": ' * 100_000 + "1" + "}" * 100_000).encode(),
        "deep_subassemblies": lambda: json.dumps(nested(300)).encode(),
        "subassemblies": lambda: json.dumps(nested(150)).encode(),
        "alias_bomb": lambda: LAUGHS.encode(),  # not JSON at all
        "huge_numbers": lambda: text.replace('"1000"', "1e999999").replace('"100"', HUGE_INT).encode(),
        "many_materials": lambda: many_materials().encode(),
        "truncated": lambda: _cut(text),
        "utf16": lambda: text.encode("utf-16"),
        "latin1": lambda: text.encode("latin-1"),
    }[kind]()


def bom_jsonl(kind: str) -> bytes:
    line = json.dumps(BOM_DATA, ensure_ascii=False)
    if kind == "many_materials":
        return many_materials().encode() + b"\n"
    if kind in ("deep", "deep_block", "alias_bomb", "huge_numbers", "nul_in_string", "deep_subassemblies", "subassemblies"):
        return line.encode() + b"\n" + bom_json(kind).replace(b"\n", b" ") + b"\n" + line.encode() + b"\n"
    if kind == "truncated":
        return (line + "\n" + line).encode()[:-40]
    return {
        "nul": lambda: (line + "\n").encode() + b"\x00\n" + (line + "\n").encode(),
        "utf16": lambda: (line + "\n" + line + "\n").encode("utf-16"),
        "latin1": lambda: (line + "\n").encode() + (line + "\n").encode("latin-1"),
    }[kind]()


def bom_csv(kind: str) -> bytes:
    good = CSV_HEAD + CSV_ROW
    return {
        "nul": lambda: good.replace("M1,", "M\x001,").encode(),
        "nul_in_string": lambda: (good + "\x00\x00\n").encode(),
        "deep": lambda: (CSV_HEAD + 'P,"' + '"' * 200_000 + '",8708.30\n').encode(),
        "deep_block": lambda: (CSV_HEAD + "P," + "x" * 2_000_000 + "\n").encode(),
        "deep_subassemblies": lambda: (CSV_HEAD.rstrip("\n") + ",material.parent\n" + "".join(
            f"P,,8708.30,MX,1000,S{i},8708.99,MX,false,1,{f'S{i - 1}' if i else ''}\n" for i in range(3_000))).encode(),
        "subassemblies": lambda: (CSV_HEAD.rstrip("\n") + ",material.parent\n" + "".join(
            f"P,,8708.30,MX,1000,S{i},8708.99,MX,false,1,S{(i + 1) % 50}\n" for i in range(50))).encode(),  # a circle
        "alias_bomb": lambda: (CSV_HEAD.rstrip("\n") + "," * 10_000 + "\n" + CSV_ROW).encode(),
        "huge_numbers": lambda: good.replace(",1000,", ",1e999999,").replace(",100\n", f",{HUGE_INT}\n").encode(),
        "many_materials": lambda: (CSV_HEAD + "".join(f"BIG,,8708.30,MX,100000,M{i},7318.15,CN,false,1.00\n"
                                                      for i in range(MANY))).encode(),
        "truncated": lambda: (CSV_HEAD + 'P,"Frein à disque,8708.30,MX').encode(),
        "utf16": lambda: good.encode("utf-16"),
        "latin1": lambda: good.encode("latin-1"),
    }[kind]()


def bom_xlsx(kind: str) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for line in (CSV_HEAD + CSV_ROW).splitlines():
        sheet.append(line.split(","))
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    if kind == "truncated":
        return data[: len(data) // 2]
    if kind == "nul":
        return b"\x00" * 4096
    if kind == "utf16":
        return (CSV_HEAD + CSV_ROW).encode("utf-16")
    if kind == "alias_bomb":  # a zip whose sheet is a billion-laughs XML document
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                body = src.read(item.filename)
                if item.filename.endswith("sheet1.xml"):
                    body = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                            + b"".join(b'<!ENTITY lol%d "%s">' % (i + 1, (b"&lol%d;" % i if i else b"&lol;") * 10)
                                       for i in range(9))
                            + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                              b"<sheetData><row><c t=\"inlineStr\"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>")
                dst.writestr(item, body)
        return out.getvalue()
    return data


ROO_VARIANTS = {
    "nul": lambda: RULES.replace("Brakes", "Bra\x00kes").encode(),
    "deep": lambda: RULES.replace("change from any other heading\n", "(" * 20_000 + "change from any other heading"
                                  + ")" * 20_000 + "\n").encode(),
    "deep_block": lambda: RULES.replace("change from any other heading\n", " and ".join(["CTH"] * 5_000) + "\n").encode(),
    "huge_numbers": lambda: RULES.replace(">= 60%", f">= {HUGE_INT}%").replace("2020-07-01", "99999-99-99").encode(),
    "many_rules": lambda: ('agreement "A" {\n  parties = [US, MX, CA]\n'
                           + "".join(f'  rule {c // 100:02d}{c % 100:02d}.{s:02d} "R" {{ CTH }}\n'
                                     for c in range(101, 9700, 5) for s in (10,))
                           + "}\n").encode(),
    "truncated": lambda: _cut(RULES),
    "utf16": lambda: RULES.encode("utf-16"),
    "latin1": lambda: RULES.encode("latin-1"),
}

TEST_YAML = """\
- name: brake
  as_of: 2026-01-01
  bom:
    product: {id: P, description: "Frein à disque", hs: "8708.30", produced_in: MX, transaction_value: "1000"}
    materials:
      - {id: M1, hs: "7325.99", origin: CN, originating: false, value: "100"}
  expect:
    A: qualifies
"""
TEST_VARIANTS = {
    "nul": lambda: TEST_YAML.encode() + b"\x00",
    "deep": lambda: ("[" * 100_000 + "]" * 100_000).encode(),
    "alias_bomb": lambda: LAUGHS.encode(),
    "huge_numbers": lambda: TEST_YAML.replace('"1000"', "1e999999").replace('"100"', HUGE_INT)
                                     .replace("2026-01-01", "99999-01-01").encode(),
    "many_materials": lambda: b"- name: big\n  as_of: 2026-01-01\n  bom: big.json\n  expect:\n    A: qualifies\n",
    "truncated": lambda: _cut(TEST_YAML),
    "utf16": lambda: TEST_YAML.encode("utf-16"),
    "latin1": lambda: TEST_YAML.encode("latin-1"),
}

RESULT = json.dumps({
    "source": "in.jsonl", "position": 1, "line": 1, "product_id": "P", "hs": "8708.30", "produced_in": "MX",
    "determinations": [{"agreement": "A", "verdict": "qualifies", "figures": {"vnm": "100.00"},
                        "thresholds": [{"figure": "rvc_transaction_value", "value": "90", "threshold": "60",
                                        "comparison": ">=", "margin": "30", "holds": True}],
                        "warnings": [{"code": "BOM102", "message": "Café", "path": "product"}]}]},
    ensure_ascii=False)
RESULT_VARIANTS = {
    "nul": lambda: (RESULT + "\n").encode() + b"\x00\n",
    "nul_in_string": lambda: RESULT.replace('"P"', '"P\\u0000"').encode() + b"\n",
    "deep": lambda: ("[" * 100_000 + "]" * 100_000 + "\n").encode(),
    "deep_block": lambda: ('{"determinations": ' + "[" * 100_000 + "]" * 100_000 + "}\n").encode(),
    "huge_numbers": lambda: RESULT.replace('"30"', "1e999999").replace('"90"', HUGE_INT).replace('"60"', '"1e-999999"').encode(),
    "many_records": lambda: ("\n".join([RESULT] * MANY) + "\n").encode(),
    "wrong_shapes": lambda: "\n".join([
        '{"determinations": "x"}', '{"determinations": [1]}', '{"determinations": [{"agreement": 1}]}',
        '{"error": 1}', '{"error": {"problems": "x"}}', '{"determinations": [{"agreement": "A", "verdict": "qualifies", '
        '"thresholds": [1], "causes": "x", "warnings": [1, {"code": []}]}]}']).encode() + b"\n",
    "truncated": lambda: (RESULT + "\n" + RESULT).encode()[:-20],
    "utf16": lambda: (RESULT + "\n").encode("utf-16"),
    "latin1": lambda: (RESULT + "\n").encode("latin-1"),
}

MANIFEST = "# Café\nsource: \"HTSUS General Note 11(o)\"\nchapters:\n  87: [1, 2]\nnot_encoded: []\n"
MANIFEST_VARIANTS = {
    "nul": lambda: MANIFEST.encode() + b"\x00",
    "deep": lambda: ("[" * 100_000 + "]" * 100_000).encode(),
    "alias_bomb": lambda: LAUGHS.encode(),
    "huge_numbers": lambda: MANIFEST.replace("[1, 2]", f"[1, {HUGE_INT}, 1e999999]").encode(),
    "truncated": lambda: _cut(MANIFEST),
    "utf16": lambda: MANIFEST.encode("utf-16"),
    "latin1": lambda: MANIFEST.encode("latin-1"),
}

BOM_KINDS = ["nul", "nul_in_string", "deep", "deep_block", "deep_subassemblies", "subassemblies", "alias_bomb",
             "huge_numbers", "many_materials", "truncated", "utf16", "latin1"]

# ---------------------------------------------------------------------------- running


def calm(result) -> None:
    """Exit 0, 1 or 2, and no traceback (nor an exception escaping the command)."""
    shown = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 1, 2), (result.exit_code, shown[-2000:], result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("".join(traceback.format_exception(*result.exc_info))[-3000:])
    assert "Traceback" not in shown, shown[-2000:]


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def rules(tmp_path) -> Path:
    path = tmp_path / "rules" / "a.roo"
    path.parent.mkdir()
    path.write_text(RULES, encoding="utf-8")
    return path


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BOM_FORMATS: dict[str, Callable[[str], bytes]] = {"yaml": bom_yaml, "json": bom_json, "jsonl": bom_jsonl, "csv": bom_csv}


@pytest.mark.parametrize("kind", BOM_KINDS)
@pytest.mark.parametrize("fmt", list(BOM_FORMATS))
def test_evaluate(tmp_path, rules, fmt, kind):
    path = write(tmp_path, f"bom.{fmt}", BOM_FORMATS[fmt](kind))
    calm(invoke("evaluate", str(path), "--rules", str(rules), "--as-of", "2026-01-01"))
    if kind != "many_materials":  # once is enough for the slow one
        calm(invoke("evaluate", str(path), "--rules", str(rules), "--as-of", "2026-01-01", "--format", "json", "--strict",
                    "--explain", "full"))


@pytest.mark.parametrize("kind", BOM_KINDS)
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml", "json", "xlsx"])
def test_batch_and_report(tmp_path, rules, fmt, kind):
    make = bom_xlsx if fmt == "xlsx" else BOM_FORMATS[fmt]
    path = write(tmp_path, f"in.{fmt}", make(kind))
    out = tmp_path / "out.jsonl"
    calm(invoke("batch", str(path), "--out", str(out), "--rules", str(rules), "--as-of", "2026-01-01", "-j", "1"))
    if out.exists():  # whatever the batch wrote, the report reads
        calm(invoke("report", str(out), "--html", str(tmp_path / "r.html")))
    if kind != "many_materials":
        calm(invoke("batch", str(path), "--out", str(tmp_path / "out.csv"), "--rules", str(rules), "--as-of",
                    "2026-01-01", "-j", "1", "--verdicts-only", "--strict"))


@pytest.mark.parametrize("kind", list(ROO_VARIANTS))
def test_rule_files(tmp_path, rules, kind):
    bad = write(tmp_path, "bad.roo", ROO_VARIANTS[kind]())
    bom = write(tmp_path, "bom.yaml", BOM_YAML.encode())
    calm(invoke("check", str(bad)))
    calm(invoke("check", str(bad), "--format", "sarif"))
    calm(invoke("fmt", "--check", str(bad)))
    calm(invoke("fmt", "--diff", str(bad)))
    calm(invoke("evaluate", str(bom), "--rules", str(bad), "--as-of", "2026-01-01"))
    calm(invoke("diff", str(rules), str(bad), "--no-search", "--boms", str(bom)))
    calm(invoke("diff", str(bad), "--under", "A", "--no-search"))
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "a.roo").write_bytes(ROO_VARIANTS[kind]())
    (folder / "a.test.yaml").write_text(TEST_YAML, encoding="utf-8")
    calm(invoke("test", str(folder), "--coverage"))
    write(tmp_path, "w.roo", ROO_VARIANTS[kind]())
    calm(invoke("fmt", "--write", str(tmp_path / "w.roo")))


@pytest.mark.parametrize("kind", list(TEST_VARIANTS))
def test_rule_test_files(tmp_path, rules, kind):
    (rules.parent / "big.json").write_text(many_materials(), encoding="utf-8")
    path = write(rules.parent, "a.test.yaml", TEST_VARIANTS[kind]())
    calm(invoke("test", str(path)))
    calm(invoke("test", str(rules.parent), "--format", "junit", "--coverage"))


@pytest.mark.parametrize("kind", list(RESULT_VARIANTS))
def test_report(tmp_path, kind):
    path = write(tmp_path, "results.jsonl", RESULT_VARIANTS[kind]())
    calm(invoke("report", str(path), "--html", str(tmp_path / "r.html")))


@pytest.mark.parametrize("kind", list(MANIFEST_VARIANTS))
def test_rulebook_coverage(tmp_path, rules, kind):
    write(rules.parent, "a.gn11.yaml", MANIFEST_VARIANTS[kind]())
    calm(invoke("rulebook", "coverage", str(rules.parent)))


@pytest.mark.parametrize("args", [["schema", "bom"], ["schema", "determination"], ["schema", "bogus"], ["schema"],
                                  ["schema", "bom", "extra"], ["evaluate"], ["batch"], ["nonsense"]])
def test_schema_and_bad_arguments(args):
    calm(invoke(*args))


@pytest.mark.parametrize("kind", ["nul", "huge_numbers", "truncated", "utf16", "latin1", "alias_bomb"])
def test_diff_boms(tmp_path, rules, kind):
    path = write(tmp_path, "bom.yaml", bom_yaml(kind))
    calm(invoke("diff", str(rules), str(rules), "--boms", str(path), "--no-search"))
