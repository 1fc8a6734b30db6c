"""`origin-rules evaluate` and `origin-rules schema`: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from origin_rules.cli import app

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
BRAKE = str(ROOT / "examples" / "boms" / "brake-assembly.yaml")
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_one_bom_one_agreement_json_is_one_object():
    result = run("evaluate", BRAKE, "--rules", RULES, "--under", "USMCA", "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 0, result.output
    det = json.loads(result.stdout)
    assert det["product_id"] == "BRK-100"
    assert det["agreement"] == "USMCA"
    assert det["verdict"] in ("qualifies", "does_not_qualify", "insufficient_data", "no_rule")
    assert det["rules_digest"].startswith("sha256:")
    for value in det["figures"].values():
        assert isinstance(value, str)


def test_without_under_every_applicable_agreement_as_a_list():
    result = run("evaluate", BRAKE, "--rules", RULES, "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 0, result.output
    dets = json.loads(result.stdout)
    names = {d["agreement"] for d in dets}
    assert "USMCA" in names and len(names) > 1
    # produced in MX: the EU-UK TCA does not apply
    assert "EU-UK TCA" not in names


def test_text_starts_with_the_verdict():
    result = run("evaluate", BRAKE, "--rules", RULES, "--under", "USMCA", "--as-of", "2026-07-01")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("BRK-100 (8708.30) under USMCA, as of 2026-07-01: ")
    assert "Why:" in result.stdout and "Figures:" in result.stdout


def test_fail_on_turns_a_verdict_into_exit_1():
    args = ["evaluate", BRAKE, "--rules", RULES, "--under", "USMCA review 2026: China content cap", "--as-of", "2026-07-01"]
    plain = run(*args)
    assert plain.exit_code == 0
    assert "DOES NOT QUALIFY" in plain.stdout
    failing = run(*args, "--fail-on", "does_not_qualify")
    assert failing.exit_code == 1


def test_bad_bom_is_exit_2_with_field_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "product: {id: X, hs: '8708.30', produced_in: MX, transaction_value: '100'}\n"
        "materials:\n  - {id: A, hs: '7318.15', value: '12,0'}\n",
        encoding="utf-8",
    )
    result = run("evaluate", str(bad), "--rules", RULES, "--under", "USMCA")
    assert result.exit_code == 2
    assert "materials[0].value" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_agreement_is_exit_2_with_suggestion():
    result = run("evaluate", BRAKE, "--rules", RULES, "--under", "USMCAA")
    assert result.exit_code == 2
    assert "did you mean `USMCA`" in result.stderr


def test_bad_date_is_exit_2():
    result = run("evaluate", BRAKE, "--rules", RULES, "--as-of", "2026-13-01")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr


def test_folder_of_boms_gives_a_table_and_the_losses():
    result = run("evaluate", str(ROOT / "examples" / "boms"), "--rules", RULES, "--as-of", "2026-07-01")
    assert result.exit_code == 0, result.output
    assert "BRK-100" in result.stdout
    assert "Loses qualification under a scenario:" in result.stdout


def test_schemas_are_json_schema():
    for which in ("bom", "determination"):
        result = run("schema", which)
        assert result.exit_code == 0
        schema = json.loads(result.stdout)
        assert "$defs" in schema or "properties" in schema


def test_an_as_of_date_other_than_yyyy_mm_dd_exits_2():
    for text in ("20260701", "2026-W27-3"):
        result = run("evaluate", BRAKE, "--rules", RULES, "--under", "USMCA", "--as-of", text)
        assert result.exit_code == 2 and f"`--as-of {text}` is not a date" in result.output
