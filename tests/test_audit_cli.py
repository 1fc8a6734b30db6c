"""`origin-rules audit list|show|export|replay` and `--record` on `evaluate` and `batch`,
through the CLI app (typer's CliRunner) on an SQLite store named by $ORIGIN_RULES_DB; and
`origin-rules --help` starts without FastAPI, uvicorn or SQLAlchemy."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from origin_rules.audit import Store
from origin_rules.cli import app

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"
RULES = str(ROOT / "rules")


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    monkeypatch.setenv("ORIGIN_RULES_DB", url)
    return url


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_help_does_not_import_the_service_or_the_database():
    code = ("import sys; from origin_rules.cli import app; from typer.testing import CliRunner; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'serve' in r.output and 'audit' in r.output; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'sqlalchemy', 'alembic', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_evaluate_record_keeps_the_file_as_received(db):
    result = run("evaluate", str(BRAKE), "--rules", RULES, "-u", "USMCA", "-u", "CPTPP", "--as-of", "2026-07-01",
                 "--record")
    assert result.exit_code == 0, result.output
    assert "recorded 2 determinations" in result.stderr
    store = Store(db)
    records = list(store.records())
    assert [(r.agreement, r.verdict, r.channel) for r in records] == [
        ("USMCA", "qualifies", "cli evaluate"), ("CPTPP", "qualifies", "cli evaluate")]
    assert records[0].bom_received == BRAKE.read_text(encoding="utf-8") and records[0].bom_format == "yaml"
    assert records[0].requested_by.startswith("cli:")


def test_evaluate_without_record_keeps_nothing(db):
    assert run("evaluate", str(BRAKE), "--rules", RULES, "-u", "USMCA", "--as-of", "2026-07-01").exit_code == 0
    assert Store(db).count() == 0


def test_batch_record(db, tmp_path):
    brake = yaml.safe_load(BRAKE.read_text(encoding="utf-8"))
    lines = []
    for index in range(3):
        brake["product"]["id"] = f"BRK-{index}"
        lines.append(json.dumps(brake))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    result = run("batch", str(source), "--out", str(tmp_path / "out.jsonl"), "--rules", RULES, "-u", "USMCA",
                 "--as-of", "2026-07-01", "--workers", "1", "--record")
    assert result.exit_code == 0, result.output
    records = list(Store(db).records())
    assert [r.product_id for r in records] == ["BRK-0", "BRK-1", "BRK-2"]
    assert [r.bom_received for r in records] == lines  # each JSON line as it was
    assert {r.verdict for r in records} == {"qualifies"} and {r.channel for r in records} == {"cli batch"}


def _recorded(db) -> None:
    for as_of in ("2026-07-01", "2020-01-01"):
        assert run("evaluate", str(BRAKE), "--rules", RULES, "-u", "USMCA", "--as-of", as_of, "--record").exit_code == 0


def test_list_show_export(db, tmp_path):
    _recorded(db)
    listing = run("audit", "list")
    assert listing.exit_code == 0
    rows = [line for line in listing.stdout.splitlines() if "BRK-100" in line]
    assert len(rows) == 2 and "2020-01-01" in rows[0] and "does_not_qualify" in rows[0]  # newest first
    as_json = json.loads(run("audit", "list", "--format", "json", "--verdict", "qualifies").stdout)
    assert [r["as_of"] for r in as_json] == ["2026-07-01"]
    shown = run("audit", "show", "1")
    assert shown.exit_code == 0
    assert "BRK-100 (8708.30) under USMCA, as of 2026-07-01: QUALIFIES" in shown.stdout
    assert json.loads(run("audit", "show", "2", "--format", "json").stdout)["determination"]["verdict"] == "does_not_qualify"
    missing = run("audit", "show", "99")
    assert missing.exit_code == 2 and "no record 99" in missing.stderr
    out = tmp_path / "export.csv"
    exported = run("audit", "export", "--format", "csv", "--out", str(out))
    assert exported.exit_code == 0 and "exported 2 records" in exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["as_of"] for r in rows] == ["2026-07-01", "2020-01-01"]
    lines = run("audit", "export").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2]


def test_replay_under_stored_and_edited_rules(db, tmp_path):
    _recorded(db)
    same = run("audit", "replay")
    assert same.exit_code == 0 and "replayed 2 records under their stored rules: 2 same, 0 different" in same.stdout
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    agreement = rules / "usmca" / "agreement.roo"
    text = agreement.read_text(encoding="utf-8")
    assert "2020-07-01" in text
    agreement.write_text(text.replace("2020-07-01", "2019-07-01"), encoding="utf-8")  # in force a year earlier
    changed = run("audit", "replay", "--rules", str(rules))
    assert changed.exit_code == 1
    # as of 2020-01-01 USMCA is now in force: the brake assembly (tariff shift) qualifies
    assert "record 2 (BRK-100 under USMCA, as of 2020-01-01): verdict does_not_qualify -> qualifies" in changed.stdout
    # record 1 is decided the same; only the place of its rules changed (the copied files):
    # that is listed as moved, not counted as a difference
    assert "record 1 " not in changed.stdout
    assert "1 same (1 of them decided by rules that moved in their files), 1 different, 0 not replayable" in changed.stdout
    only_first = json.loads(run("audit", "replay", "1", "--rules", str(rules), "--format", "json").stdout)
    assert [(r["id"], r["verdict"], r["same"], r["differences"]) for r in only_first] == [(1, "qualifies", True, [])]
    assert "rule.source" in only_first[0]["moved"]
    assert run("audit", "replay", "7").exit_code == 2


def test_an_unreachable_store_is_a_clear_error(tmp_path):
    result = run("audit", "list", "--db", "mysql://nobody@localhost/x")
    assert result.exit_code == 2 and "unsupported database `mysql`" in result.stderr


def test_serve_refuses_a_store_it_cannot_open_before_listening():
    result = run("serve", "--rules", RULES, "--db", "postgresql://nobody@127.0.0.1:1/none", "--port", "0")
    assert result.exit_code == 2
    assert "error: cannot open the audit store postgresql+psycopg://nobody@127.0.0.1:1/none" in result.stderr
