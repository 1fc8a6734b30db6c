"""The BOM JSON Schema (``origin-rules schema bom``) validated with ``jsonschema``, against the readers.

* The schema is valid draft 2020-12, and the command prints it with its ``$schema``.
* Every BOM of the repository validates: the example BOMs, the BOM files of the tests, the
  golden evaluation cases and every BOM written inline in a rule test; so does every BOM the
  readers produce, written back as JSON (CSV included).
* Schema and readers agree on each record of each fixture, and on hostile BOMs (one bad field
  on a valid BOM each: ``87.0830``, ``XX``, ``12,0``, ...) and on accepted spellings (``mx``,
  ``870830``, ``"yes"``): the schema accepts exactly what the readers accept, except what only
  the HS 2022 nomenclature or the whole list can tell (``BEYOND_THE_SCHEMA``: an HS code that
  does not exist, a product code coarser than a subheading, two materials with one id).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from typer.testing import CliRunner

from origin_rules.model.bom import BOM, BomError, bom_from_data, bom_json_schema, loads_json
from origin_rules.files.boms import loads_bom, read_boms
from origin_rules.cli import app
from origin_rules.model.plausibility import check_bom

from conftest import examples
from edits import DROP, put

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = bom_json_schema()
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
#: Reader errors on input the schema accepts: they need the HS 2022 nomenclature or compare
#: materials with each other (docs/schemas.md, "Things a schema alone does not say").
BEYOND_THE_SCHEMA = ("BOM001", "BOM002", "duplicate material id", "expected `until` on or after `from`")


# ---- the raw records, read as the readers read them (YAML 1.2 core, exact numbers) ----------------------


class _Yaml12(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML 1.2 core scalars as the BOM readers take them: only true/false are booleans (``NO``
    is Norway), numbers are exact, ``0101`` stays text, no timestamps."""

    yaml_implicit_resolvers: dict = {}


for _tag, _pattern, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?[0-9]+$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    _Yaml12.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
_Yaml12.add_constructor("tag:yaml.org,2002:int", lambda loader, node: (
    node.value if re.match(r"^[-+]?0\d", node.value) else int(node.value)))
_Yaml12.add_constructor("tag:yaml.org,2002:float", lambda loader, node: (
    node.value if re.match(r"^[-+]?0\d", node.value) else Decimal(
        {".inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}.get(node.value.lower(), node.value))))

UNREADABLE = object()  # a record whose text does not parse: nothing for a schema to say


def raw_records(path: Path) -> list[Any]:
    """The records of a BOM file as plain data (one per BOM the readers report)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        out = []
        for line in text.splitlines():
            if line.strip():
                try:
                    out.append(loads_json(line))
                except ValueError:
                    out.append(UNREADABLE)
        return out
    try:
        docs = [loads_json(text)] if path.suffix == ".json" else list(yaml.load_all(text, Loader=_Yaml12))
    except (ValueError, yaml.YAMLError):
        return [UNREADABLE]
    return [item for doc in docs for item in (doc if isinstance(doc, list) else [doc])]


def bom_files() -> list[Path]:
    patterns = ["examples/boms/*.yaml", "tests/data/bom/*.yaml", "tests/data/bom/*.json", "tests/data/bom/*.jsonl",
                "tests/data/testrunner/**/boms/*.yaml", "tests/golden/eval/*/bom*.yaml"]
    return sorted({p for pattern in patterns for p in ROOT.glob(pattern)})


def inline_test_boms() -> list[tuple[str, Any]]:
    """Every BOM written inline in a rule test (``bom:`` a mapping, not a path)."""
    out = []
    for path in sorted([*ROOT.glob("rules/**/*.test.yaml"), *ROOT.glob("tests/data/**/*.test.yaml")]):
        cases = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12) or []
        out.extend((f"{path.relative_to(ROOT)}[{i}]", case["bom"]) for i, case in enumerate(cases)
                   if isinstance(case, dict) and isinstance(case.get("bom"), dict))
    return out


# ---- the three judges ------------------------------------------------------------------------------


def schema_errors(data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(data)]


def reader_errors(data: Any) -> list[str]:
    """What the readers refuse in one record: field errors, then the plausibility errors
    (BOMxxx) they add; [] when they take it."""
    try:
        bom = bom_from_data(data)
    except BomError as err:
        return [f"{p.path}: {p.message}" for p in err.problems]
    has_key = isinstance(data, dict) and "materials" in data
    return [f"{f.path}: {f.message} [{f.code}]" for f in check_bom(bom, has_materials_key=has_key) if f.is_error]


def assert_agree(data: Any, where: str, by_schema: list[str] | None = None) -> None:
    by_schema = schema_errors(data) if by_schema is None else by_schema
    by_readers = reader_errors(data)
    if by_schema:
        assert by_readers, f"{where}: the schema refuses what the readers take: {by_schema}"
    elif by_readers:
        assert all(any(mark in e for mark in BEYOND_THE_SCHEMA) for e in by_readers), (
            f"{where}: the readers refuse what the schema takes: {by_readers}")


# ---- the schema itself ----------------------------------------------------------------------------------


def test_the_schema_is_draft_2020_12_and_printed_by_the_command():
    Draft202012Validator.check_schema(SCHEMA)
    result = CliRunner().invoke(app, ["schema", "bom"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == {"$schema": "https://json-schema.org/draft/2020-12/schema", **SCHEMA}
    Draft202012Validator.check_schema(printed)


# ---- every BOM of the repository ---------------------------------------------------------------------------

FILES = bom_files()
#: Fixture records the readers refuse on purpose (tests of the readers' errors).
REFUSED = {
    "tests/data/bom/bad_value.yaml[0]",      # value "12,0"
    "tests/data/bom/misspelt.yaml[0]",       # transaction_vlaue, valeu
    "tests/data/bom/broken_syntax.json[0]",  # not JSON
    "tests/data/bom/broken_syntax.yaml[0]",  # not YAML
    "tests/data/bom/batch.json[1]",          # hs "87083"
    "tests/data/bom/batch.json[2]",          # no materials list (and hs 87: a chapter)
    "tests/data/bom/batch.jsonl[1]",         # value "1,5"
    "tests/data/bom/batch.jsonl[2]",         # a line that is not JSON
    "tests/data/bom/batch.jsonl[3]",         # no materials list
    "tests/data/bom/batch.yaml[1]",          # value "ten"
    "tests/data/bom/batch.yaml[2]",          # no materials list
}


def test_the_fixtures_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"examples/boms/brake-assembly.yaml", "tests/data/bom/brake.json", "tests/data/bom/batch.jsonl",
            "tests/golden/eval/kind-indirect/bom.yaml"} <= names
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_schema_and_readers_agree_on_each_record_of_each_fixture(path):
    raw = raw_records(path)
    if raw == [UNREADABLE]:  # the readers refuse the whole file
        with pytest.raises(BomError):
            list(read_boms(path))
        assert f"{path.relative_to(ROOT).as_posix()}[0]" in REFUSED
        return
    records = list(read_boms(path))
    assert len(records) == len(raw), path
    for index, (record, data) in enumerate(zip(records, raw)):
        where = f"{path.relative_to(ROOT).as_posix()}[{index}]"
        assert (record.bom is None) == (where in REFUSED), (where, record.error)
        if data is UNREADABLE:
            assert record.bom is None, where
            continue
        assert bool(reader_errors(data)) == (record.bom is None), where
        assert_agree(data, where)
        if where not in REFUSED:
            assert not schema_errors(data), where


def test_every_bom_written_inline_in_a_rule_test_validates():
    inline = inline_test_boms()
    assert len(inline) > 2000
    failures = []
    for where, data in inline:
        errors = schema_errors(data)
        if errors:
            failures.append((where, errors))
        assert_agree(data, where, errors)
    assert not failures, failures[:5]


@pytest.mark.parametrize("path", [*FILES, ROOT / "tests" / "data" / "bom" / "batch.csv"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_what_the_readers_read_validates_as_json(path):
    """A BOM read from any format (CSV included), written back as JSON, is valid."""
    try:
        records = list(read_boms(path))
    except BomError:
        return
    for record in records:
        if record.bom is not None:
            assert not schema_errors(json.loads(record.bom.to_json())), (path, record.position)


# ---- hostile BOMs: one bad field each ---------------------------------------------------------------------------


def base() -> dict:
    return {
        "product": {"id": "P-1", "hs": "8708.30", "produced_in": "MX", "currency": "USD",
                    "transaction_value": "1000.00", "wholly_obtained": False, "facts": {"good": "part"}},
        "materials": [{"id": "M-1", "hs": "8708.99", "origin": "CN", "originating": False, "value": "120.00",
                       "kind": "direct", "processes": [{"name": "cut", "country": "CN"}]}],
    }


HOSTILE = [
    ("product.hs", "87.0830"), ("product.hs", "870830."), ("product.hs", "8708.3"), ("product.hs", "8708 30"),
    ("product.hs", "87083"), ("product.hs", "HS8708.30"), ("product.hs", ""), ("product.hs", "8708.30.5"),
    ("product.hs", 87083), ("product.hs", Decimal("8708.3")), ("materials.0.hs", "87.0899"), ("materials.0.hs", "8708-99"), ("materials.0.hs", "87.08.99"),
    ("materials.0.origin", "XX"), ("materials.0.origin", "ZZ"), ("materials.0.origin", "MEX"),
    ("materials.0.origin", "Mexico"), ("materials.0.origin", "M"), ("materials.0.origin", ""),
    ("materials.0.origin", "unknown?"), ("product.produced_in", "XX"), ("product.produced_in", "unknown"),
    ("product.produced_in", "USA"), ("product.currency", "ZZZ"), ("product.currency", "US"),
    ("product.currency", "dollars"),
    ("materials.0.value", "12,0"), ("materials.0.value", "1,000.00"), ("materials.0.value", "abc"),
    ("materials.0.value", ""), ("materials.0.value", "NaN"), ("materials.0.value", "Infinity"),
    ("materials.0.value", "-1"), ("materials.0.value", "0x10"), ("materials.0.value", "1e999"),
    ("materials.0.value", Decimal("-5")), ("materials.0.value", True), ("product.transaction_value", "-0.01"),
    ("materials.0.originating", "maybe"), ("materials.0.originating", 2), ("materials.0.originating", ["USMCA", "USMCA"]),
    ("materials.0.originating", [""]), ("materials.0.originating", {"USMCA": "maybe"}),
    ("materials.0.originating", {" ": True}),
    ("materials.0.kind", "direkt"), ("materials.0.kind", ""), ("materials.0.kind", "packaging"),
    ("materials.0.kind", None), ("product.wholly_obtained", "maybe"), ("product.wholly_obtained", None),
    ("product.wholly_obtained", 1), ("product.id", ""), ("product.id", "   "), ("product.id", None),
    ("product.id", True), ("materials.0.id", DROP), ("product.end_use", "passenger vehicle"),
    ("product.end_use", "9x"), ("materials.0.valeu", "1.00"), ("product.transaction_vlaue", "1.00"),
    ("product", DROP), ("materials", DROP), ("materials", {"id": "M-1"}), ("materials.0.materials", "none"),
    ("materials.0.processes", [{"name": "cut", "country": "XX"}]), ("materials.0.processes", [{"country": "MX"}]),
    ("product.facts", {"good": "body stamping"}), ("product.facts", {"lvc": -1}), ("product.facts", {"lvc": "-1"}),
    ("product.facts", {"9x": "a"}), ("product.facts", {"lvc": {"value": 1, "since": "2026-01-01"}}),
    ("product.facts", {"lvc": {"from": "2026-01-01"}}), ("product.facts", {"lvc": {"value": 1, "from": "2026-13-01"}}),
    ("product.facts", ["good"]),
]

ACCEPTED = [
    ("materials.0.origin", "mx"), ("materials.0.origin", " CN "), ("materials.0.origin", "Unknown"),
    ("materials.0.origin", None), ("product.produced_in", "ca"), ("product.currency", "usd"),
    ("product.hs", "870830"), ("product.hs", "8708.30.50"), ("product.hs", "8708.30.5010"),
    ("product.hs", "8708300000"), ("product.hs", " 8708.30 "), ("product.hs", None), ("product.hs", 870830),
    ("product.hs", 8708300000),
    ("materials.0.value", Decimal("12.5")), ("materials.0.value", 0), ("materials.0.value", "1e2"),
    ("materials.0.value", "-0.00"), ("materials.0.value", ".5"), ("materials.0.value", " 7 "),
    ("materials.0.value", None), ("materials.0.originating", "yes"), ("materials.0.originating", "unknown"),
    ("materials.0.originating", None), ("materials.0.originating", ["USMCA", "CPTPP"]),
    ("materials.0.originating", {"USMCA": True, "CPTPP": None}), ("materials.0.kind", "Retail packaging"),
    ("materials.0.kind", "shipping-packing"), ("materials.0.kind", "INDIRECT"), ("product.wholly_obtained", "no"),
    ("product.id", 12), ("product.description", Decimal("12.50")), ("product.end_use", "passenger_vehicle"),
    ("materials", []), ("materials.0.processes", [{"name": "cut", "country": "mx"}]),
    ("product.facts", {"good": "body_stamping", "lvc": Decimal("41.5"), "ok": True, "gone": None}),
    ("product.facts", {"lvc": {"value": "41.5", "from": "2026-01-01", "until": "2026-12-31"}}),
    ("materials.0.facts", {"part_of": " brakes "}),
]


@pytest.mark.parametrize("path, value", HOSTILE, ids=lambda v: v if isinstance(v, str) and v.strip() else repr(v))
def test_hostile_boms_are_refused_by_both(path, value):
    data = put(base(), path, value)
    assert schema_errors(data), (path, value)
    assert reader_errors(data), (path, value)


@pytest.mark.parametrize("path, value", ACCEPTED, ids=lambda v: v if isinstance(v, str) and v.strip() else repr(v))
def test_other_spellings_are_taken_by_both(path, value):
    data = put(base(), path, value)
    assert not schema_errors(data), (path, value, schema_errors(data))
    assert not reader_errors(data), (path, value, reader_errors(data))


def test_the_materials_list_may_be_left_out_only_for_a_wholly_obtained_good():
    data = put(base(), "materials", DROP)
    assert schema_errors(data) and reader_errors(data)
    for flag in (True, "yes", "TRUE"):
        data["product"]["wholly_obtained"] = flag
        assert not schema_errors(data) and not reader_errors(data), flag


@pytest.mark.parametrize("path, value, mark", [
    ("product.hs", "8799.99", "BOM001"), ("product.hs", "87.08", "BOM002"),
    ("materials.0.hs", "8799.99", "BOM001"),
    ("product.facts", {"lvc": {"value": 1, "from": "2026-02-01", "until": "2026-01-01"}}, "expected `until`"),
    ("materials", [{"id": "M-1"}, {"id": "M-1"}], "duplicate material id"),
])
def test_beyond_the_schema(path, value, mark):
    """What only the nomenclature or the whole list can tell: the schema takes it, the readers do not."""
    data = put(base(), path, value)
    assert not schema_errors(data)
    assert any(mark in e for e in reader_errors(data)), reader_errors(data)


def test_a_code_written_as_a_number_with_decimals_is_refused_by_the_schema_only():
    """JSON and YAML numbers are read from their text, so ``8708.30`` unquoted is the code
    8708.30 to the readers; a schema sees the number 8708.3, which is no code: it refuses every
    code written as a number with decimals (docs/schemas.md). Integers agree (``870830``)."""
    data = put(base(), "product.hs", Decimal("8708.30"))
    assert schema_errors(data) and not reader_errors(data)
    assert not schema_errors(put(base(), "product.hs", 870830)) and not reader_errors(put(base(), "product.hs", 870830))


def test_json_text_of_a_hostile_bom_is_refused_by_the_json_reader():
    text = json.dumps(put(base(), "materials.0.origin", "XX"))
    with pytest.raises(BomError, match="materials\\[0\\].origin"):
        loads_bom(text, format="json")
    assert schema_errors(json.loads(text))


# ---- any value in any field: the schema and the readers agree -----------------------------------------------

FIELDS = ["product.hs", "product.produced_in", "product.currency", "product.transaction_value", "product.id",
          "product.wholly_obtained", "product.end_use", "product.facts.good", "product.facts.lvc", "materials.0.hs",
          "materials.0.origin", "materials.0.originating", "materials.0.value", "materials.0.kind", "materials.0.id",
          "materials.0.description", "materials.0.processes.0.country"]
PIECES = ["8708", ".", "30", "MX", "mx", "XX", "unknown", "USD", "1", "0", "-", "+", "e", "2", " ", "\t", ",",
          "yes", "NO", "true", "direct", "retail", "_", "packaging", "USMCA", "a", "é", ""]
VALUES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=4).map("".join),
    st.sampled_from([None, True, False, 0, 7, 870830, Decimal("1.5"), Decimal("-2"), [], {}, ["USMCA"],
                     {"USMCA": "yes"}]),
)


@settings(max_examples=examples(300))
@given(st.sampled_from(FIELDS), VALUES)
@example("materials.0.hs", "87.0830")
@example("materials.0.origin", "XX")
def test_schema_and_readers_agree_on_any_value(path, value):
    data = put(base(), path, value)
    assert_agree(data, f"{path} = {value!r}")
