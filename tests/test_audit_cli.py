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


def _no_traceback(result) -> None:
    """The command ended by exiting, not by an exception reaching the user."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["audit", "show", str(2**63)], f"error: no record {2**63} in "),
    (["audit", "replay", str(10**23)], f"error: no record {10**23} in "),
    (["audit", "token", "revoke", str(10**23)], f"error: no token {10**23}"),
    (["audit", "list", "--limit", str(10**23)], "Invalid value for '--limit'"),
])
def test_ids_and_limits_past_64_bits_are_clear_errors(db, args, message):
    """(The drivers cannot send such a number: an OverflowError traceback, exit 1, before.)"""
    _recorded(db)
    result = run(*args)
    _no_traceback(result)
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize("args, message", [
    (["audit", "list", "--product", "a\x00b"], "error: `--product` holds a NUL character (U+0000)"),
    (["audit", "export", "--by", "a\x00"], "error: `--by` holds a NUL character (U+0000)"),
    (["audit", "replay", "--under", "\x00"], "error: `--under` holds a NUL character (U+0000)"),
    (["audit", "token", "create", "a\x00b"], "error: the token's name holds a NUL character (U+0000)"),
])
def test_a_nul_character_in_a_text_option_is_refused(db, args, message):
    result = run(*args)
    _no_traceback(result)
    assert result.exit_code == 2 and message in result.stderr
    assert Store(db).count() == 0 and run("audit", "token", "list").stderr.strip() == "no tokens"


def _insert_bad_rows(db) -> list[int]:
    """Rows written around the store (as a tool or a hand might): a date and time that is
    not one, a date that is not one, a determination that is not JSON; copies of record 1."""
    import sqlite3

    connection = sqlite3.connect(db.removeprefix("sqlite:///"))
    columns = [row[1] for row in connection.execute("PRAGMA table_info(determinations)") if row[1] != "id"]
    good = dict(zip(columns, connection.execute(f"SELECT {', '.join(columns)} FROM determinations WHERE id = 1").fetchone()))
    ids = []
    for column, value in (("recorded_at", "garbage"), ("as_of", "not-a-date"), ("determination", "{bad")):
        row = good | {column: value}
        cursor = connection.execute(f"INSERT INTO determinations ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                    list(row.values()))
        ids.append(cursor.lastrowid)
    connection.commit()
    connection.close()
    return ids


def test_a_record_that_cannot_be_read_is_reported_and_the_others_are_not_lost(db, tmp_path):
    _recorded(db)
    bad_date, bad_day, bad_json = _insert_bad_rows(db)
    assert (bad_date, bad_day, bad_json) == (3, 4, 5)
    said = {3: "error: record 3 in sqlite:///{} cannot be read: its `recorded_at` is not a date and time: 'garbage'",
            4: "error: record 4 in sqlite:///{} cannot be read: its `as_of` is not a date: 'not-a-date'",
            5: "error: record 5 in sqlite:///{} cannot be read: its determination is not JSON (Expecting property name"}
    said = {k: v.format(db.removeprefix("sqlite:///")) for k, v in said.items()}

    listing = run("audit", "list")
    _no_traceback(listing)
    assert listing.exit_code == 2
    assert [line.split()[1] for line in listing.stdout.splitlines() if "BRK-100" in line] == ["5", "2", "1"]
    assert listing.stderr.splitlines() == [said[4], said[3]]  # newest first, as listed
    as_json = run("audit", "list", "--format", "json")
    assert as_json.exit_code == 2 and [r["id"] for r in json.loads(as_json.stdout)] == [5, 2, 1]
    assert as_json.stderr.splitlines() == [said[4], said[3]]

    exported = run("audit", "export")
    _no_traceback(exported)
    assert exported.exit_code == 2
    assert [json.loads(line)["id"] for line in exported.stdout.splitlines()] == [1, 2]
    lines = exported.stderr.splitlines()
    assert lines[0] == "exported 2 records" and lines[1:3] == [said[3], said[4]] and lines[3].startswith(said[5])
    out = tmp_path / "audit.csv"
    as_csv = run("audit", "export", "--format", "csv", "--out", str(out))
    assert as_csv.exit_code == 2 and as_csv.stderr.splitlines() == [f"exported 3 records to {out}", said[3], said[4]]
    assert [r["id"] for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))] == ["1", "2", "5"]

    for record_id in (3, 4, 5):
        for fmt in ("text", "json"):
            shown = run("audit", "show", str(record_id), "--format", fmt)
            _no_traceback(shown)
            assert shown.exit_code == 2 and shown.stderr.startswith(said[record_id]), shown.stderr
    assert run("audit", "show", "2").exit_code == 0

    for workers in ("1", "2"):
        replayed = run("audit", "replay", "--workers", workers)
        _no_traceback(replayed)
        assert replayed.exit_code == 2
        lines = replayed.stdout.splitlines()
        assert lines[:2] == ["record 3: cannot replay: the record cannot be read: its `recorded_at` is not a date and time: 'garbage'",
                             "record 4: cannot replay: the record cannot be read: its `as_of` is not a date: 'not-a-date'"]
        assert lines[2].startswith("record 5 (BRK-100 under USMCA): cannot replay: the stored determination is not JSON")
        assert lines[3] == "replayed 5 records under their stored rules: 2 same, 0 different, 3 not replayable"


def test_a_damaged_store_is_a_clear_error(db, tmp_path):
    """A page in the middle of a good, checkpointed store overwritten with random bytes."""
    import random
    import sqlite3

    brake = yaml.safe_load(BRAKE.read_text(encoding="utf-8"))
    source = tmp_path / "in.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        for index in range(40):
            brake["product"]["id"] = f"BRK-{index}"
            brake["product"]["description"] = f"marker-{index:03d}"
            handle.write(json.dumps(brake) + "\n")
    assert run("batch", str(source), "--out", str(tmp_path / "out.jsonl"), "--rules", RULES, "-u", "USMCA",
               "--as-of", "2026-07-01", "--workers", "1", "--record").exit_code == 0
    path = Path(db.removeprefix("sqlite:///"))
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    data = path.read_bytes()
    page = data.index(b"marker-020") // 4096  # a page of the records' rows (the text is in no index)
    assert 0 < page < len(data) // 4096 - 1
    with open(path, "r+b") as handle:
        handle.seek(page * 4096)
        handle.write(random.Random(7).randbytes(4096))
    for args in (["audit", "list", "--limit", "1000"], ["audit", "export"], ["audit", "replay"],
                 ["audit", "export", "--out", str(tmp_path / "x.jsonl")]):
        result = run(*args)
        _no_traceback(result)
        assert result.exit_code == 2, args
        assert result.stderr.splitlines()[-1] == f"error: cannot read the audit store {db}: database disk image is malformed"
    assert not (tmp_path / "x.jsonl").exists()


def test_a_read_only_store_is_a_clear_error(tmp_path):
    """Written by a user who may only read it (as root, which ignores file permissions, the
    commands run as nobody)."""
    import os
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="origin-rules-ro-"))
    try:
        folder.chmod(0o777)
        path = folder / "ro.sqlite3"
        Store(f"sqlite:///{path}").close()
        path.chmod(0o444)
        prefix = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: cannot run as a user that file permissions bind")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        code = "import sys; from origin_rules.cli import main; sys.argv = ['origin-rules', *sys.argv[1:]]; main()"
        env = {**os.environ, "HOME": str(folder), "ORIGIN_RULES_DB": str(path), "PYTHONDONTWRITEBYTECODE": "1"}
        for args, message in (
                (["audit", "token", "create", "x"], "cannot write to"),
                (["evaluate", str(BRAKE), "--rules", RULES, "-u", "USMCA", "--record"], "cannot record the determinations in")):
            result = subprocess.run([*prefix, sys.executable, "-c", code, *args], capture_output=True, text=True,
                                    cwd=ROOT, env=env)
            assert result.returncode == 2, result.stderr
            assert result.stderr.splitlines()[-1] == (f"error: {message} the audit store sqlite:///{path}: "
                                                      "attempt to write a readonly database")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_database_that_is_not_a_store_is_refused_and_left_as_it_was(tmp_path):
    import sqlite3

    path = tmp_path / "w.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE determinations(x)")
    connection.commit()
    connection.close()
    before = path.read_bytes()
    for _ in range(2):
        result = run("audit", "list", "--db", str(path))
        _no_traceback(result)
        assert result.exit_code == 2
        assert result.stderr == (f"error: sqlite:///{path} is not an origin-rules audit store: it holds other tables "
                                 "(determinations); give a new database or file, or an audit store\n")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.sqlite3"]


@pytest.mark.parametrize("where, message", [
    ("missing/x.jsonl", "error: `--out {}`: the folder `{}` does not exist"),
    ("", "error: `--out {}` is a folder; give a file name"),
])
def test_export_to_a_path_it_cannot_write_is_a_clear_error(db, tmp_path, where, message):
    _recorded(db)
    out = tmp_path / where if where else tmp_path
    result = run("audit", "export", "--out", str(out))
    _no_traceback(result)
    assert result.exit_code == 2 and result.stderr == message.format(out, out.parent) + "\n"


def test_serve_on_a_port_in_use_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--rules", RULES, "--db", str(tmp_path / "a.sqlite3"), "--port", str(port),
                     "--insecure-local")
    _no_traceback(result)
    assert result.exit_code == 2
    assert result.stderr == (f"error: cannot listen on 127.0.0.1:{port}: the port is in use (another server, or an "
                             "earlier one still running): stop it or give another --port\n")


def test_evaluate_record_on_postgresql_refusing_a_value_is_a_clear_error(monkeypatch):
    """PostgreSQL refuses a NUL character in text (here in who asked; the BOM readers refuse
    one in a BOM): the recording fails with the database's one-line reason, exit 2 (a
    psycopg.DataError traceback before)."""
    import origin_rules.audit
    from test_audit_store import _pg_database

    databases = _pg_database()
    url = next(databases)
    try:
        monkeypatch.setenv("ORIGIN_RULES_DB", url)
        monkeypatch.setattr(origin_rules.audit, "cli_user", lambda: "cli:a\x00b")
        result = run("evaluate", str(BRAKE), "--rules", RULES, "-u", "USMCA", "--as-of", "2026-07-01", "--record")
        _no_traceback(result)
        assert result.exit_code == 2
        shown = Store(url).shown_url
        assert result.stderr.splitlines()[-1] == (f"error: cannot record the determinations in the audit store {shown}: "
                                                  "PostgreSQL text fields cannot contain NUL (0x00) bytes")
    finally:
        next(databases, None)
