"""The audit store on SQLite and on a real PostgreSQL server: migrations, append and read
back, append-only enforced by the database, export, replay.

PostgreSQL: the server on 127.0.0.1:5432 (trust auth, user ``postgres``; ``$ORIGIN_RULES_TEST_PG``
overrides the server URL). Each test run creates and drops its own database. Under CI
(``CI=true``) an unreachable server fails the tests; elsewhere they are skipped saying so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

import origin_rules
from origin_rules.audit import Store, export, record_determinations, replay
from origin_rules.audit.capture import new_records
from origin_rules.audit import migrate
from origin_rules.audit.migrate import current_revision, head_revision
from origin_rules.files.boms import loads_bom

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"
PG_SERVER = os.environ.get("ORIGIN_RULES_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def book(shipped_rulebook):
    return shipped_rulebook  # the shipped rules, loaded once per test process (tests/conftest.py)


def _pg_database():
    """Create a fresh database on the PostgreSQL server; yield its URL; drop it."""
    import psycopg

    name = f"origin_rules_test_{uuid.uuid4().hex[:12]}"
    admin = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {PG_SERVER} ({str(exc).strip().splitlines()[0]})"
        if IN_CI:
            pytest.fail(message + "; CI=true needs it")
        pytest.skip(message)
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    else:
        yield from _pg_database()


@pytest.fixture
def store(db_url):
    store = Store(db_url)
    yield store
    store.close()


def _record(store, book, under=("USMCA", "USMCA review 2026: China content cap"), as_of=date(2026, 7, 1)):
    bom_text = BRAKE.read_text(encoding="utf-8")
    bom = loads_bom(bom_text)
    dets = [book.evaluate(bom, under=n, as_of=as_of) for n in under]
    return record_determinations(store, book, [(bom, bom_text, "yaml", dets)], explain="summary",
                                 requested_by="analyst@example.com", channel="test")


def test_opening_a_store_runs_the_migrations_to_the_newest_revision(store):
    assert head_revision() == "0002" == migrate.HEAD  # (HEAD: a new migration must update it)
    assert current_revision(store.engine) == "0002"
    again = Store(store.url)  # opening it again is a no-op upgrade
    assert current_revision(again.engine) == "0002"
    again.close()


def test_a_store_at_the_newest_revision_opens_without_alembic(db_url, monkeypatch):
    """Alembic runs for a store at an older revision (or none), not for one at HEAD."""
    from alembic import command

    runs = []
    real = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda config, revision: runs.append(revision) or real(config, revision))
    bare = Store(db_url, migrate=False)  # a new database: no revision recorded
    assert migrate._recorded(bare.engine) is None
    migrate.upgrade(bare.engine, "0001")
    assert migrate._recorded(bare.engine) == "0001"
    bare.close()
    Store(db_url).close()  # at 0001: Alembic brings it to HEAD
    assert runs == ["0001", "head"]
    opened = Store(db_url)  # at HEAD: Alembic is not run
    assert runs == ["0001", "head"] and current_revision(opened.engine) == migrate.HEAD
    opened.close()


def test_a_record_keeps_the_bom_as_received_its_hash_and_the_full_determination(store, book):
    ids = _record(store, book)
    assert len(ids) == 2 and ids[1] == ids[0] + 1
    first, second = store.get(ids[0]), store.get(ids[1])
    raw = BRAKE.read_text(encoding="utf-8")
    assert first.bom_received == raw
    assert first.bom_hash == "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
    assert (first.product_id, first.hs, first.agreement, first.as_of) == ("BRK-100", "8708.30", "USMCA", date(2026, 7, 1))
    # RVC (net cost) = (850 - 150) / 850 = 82.35% >= 70%: qualifies under USMCA; the Chinese
    # pads are 150 / 1000 = 15% of the value, over the scenario's 10% cap: does not qualify.
    assert (first.verdict, second.verdict) == ("qualifies", "does_not_qualify")
    det = json.loads(first.determination)
    assert det["figures"]["rvc_net_cost"] == "82.35"
    assert det["rules_digest"] == book.digest == first.rules_digest
    assert first.requested_by == "analyst@example.com" and first.request_id == second.request_id
    assert store.rules(book.digest) == dict(book.parsed.sources)
    assert store.count() == 2 and store.count(verdict="qualifies") == 1
    assert [r.id for r in store.records(newest_first=True)] == [ids[1], ids[0]]


def test_records_appended_together_get_their_ids_in_order(store, book):
    """One call appends many records in one statement: each id returned is the id of the
    record at that position; ``append_many`` (a batch's records) the same without returning
    them. A batch's records are read back in input order by id."""
    bom_text = BRAKE.read_text(encoding="utf-8")
    bom = loads_bom(bom_text)
    dets = [book.evaluate(bom, under=n, as_of=date(2026, 7, 1)) for n in ("USMCA", "USMCA review 2026: China content cap")]
    records = [replace(r, product_id=f"P-{i}") for i in range(7) for r in new_records(bom, bom_text, "yaml", dets, "summary")]
    store.keep_book(book)
    ids = store.append(records, requested_by="analyst@example.com", channel="test")
    assert ids == sorted(set(ids)) and len(ids) == len(records) == 14
    assert [(store.get(i).product_id, store.get(i).agreement) for i in ids] == [(r.product_id, r.agreement) for r in records]
    first = store.get(ids[0])
    assert first.bom_hash == "sha256:" + hashlib.sha256(bom_text.encode()).hexdigest()
    assert store.append([], requested_by="analyst@example.com", channel="test") == []
    # a batch's records, appended without asking for their ids, come back in order too
    assert store.append_many(records, requested_by="batch", channel="test", request_id="b") == 14
    again = list(store.records(request_id="b"))
    assert [(r.product_id, r.agreement, r.bom_hash) for r in again] == [(r.product_id, r.agreement, first.bom_hash)
                                                                         for r in records]
    assert [r.id for r in again] == list(range(ids[-1] + 1, ids[-1] + 15))
    assert store.append_many([], requested_by="batch", channel="test") == 0


def test_the_database_refuses_to_update_or_delete_records(store, book):
    (record_id, _) = _record(store, book)
    for statement in (f"UPDATE determinations SET verdict = 'qualifies' WHERE id = {record_id}",
                      f"DELETE FROM determinations WHERE id = {record_id}",
                      "UPDATE rule_sets SET files = '{}'",
                      "DELETE FROM rule_sets"):
        with pytest.raises(Exception, match="append-only"):
            with store.engine.begin() as connection:
                connection.execute(text(statement))
    assert store.get(record_id).verdict == "qualifies"
    assert store.count() == 2
    assert not any(hasattr(store, name) for name in ("update", "delete", "remove"))


@pytest.fixture
def pg_store():
    for url in _pg_database():
        store = Store(url)
        yield store
        store.close()


def test_postgresql_also_refuses_truncate(pg_store, book):
    """SQLite has no TRUNCATE; PostgreSQL's is refused by a statement trigger."""
    store = pg_store
    _record(store, book)
    with pytest.raises(Exception, match="append-only"):
        with store.engine.begin() as connection:
            connection.execute(text("TRUNCATE determinations CASCADE"))
    assert store.count() == 2


def test_export_as_json_lines_and_csv_holds_every_record(store, book):
    ids = _record(store, book)
    out = io.StringIO()
    assert export(store.records(), out, "jsonl") == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["id"] for line in lines] == ids
    assert lines[1]["determination"]["verdict"] == "does_not_qualify"
    assert lines[0]["bom_received"] == BRAKE.read_text(encoding="utf-8")
    assert lines[0]["recorded_at"].endswith("Z")
    out = io.StringIO()
    assert export(store.records(), out, "csv") == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["id"]) for r in rows] == ids
    assert json.loads(rows[0]["determination"])["figures"]["rvc_net_cost"] == "82.35"
    assert rows[0]["bom_received"] == BRAKE.read_text(encoding="utf-8")


def test_replay_under_the_stored_rules_reproduces_every_record_after_a_restart(store, book):
    _record(store, book)
    _record(store, book, under=("USMCA",), as_of=date(2020, 1, 1))  # before entry into force
    reopened = Store(store.url)
    results = list(replay(reopened, reopened.records()))
    reopened.close()
    assert [r.stored_verdict for r in results] == ["qualifies", "does_not_qualify", "does_not_qualify"]
    assert all(r.same for r in results), [r.to_dict() for r in results]


def test_replay_evaluates_a_repeated_bom_once_and_still_checks_every_record(store, book, monkeypatch):
    """Records of one BOM text, name and date share one evaluation (a batch's repeated
    shipments), yet each record's own stored determination is compared with it: a record
    whose determination differs is found among identical ones, a record whose JSON is only
    laid out otherwise is the same, and a record with another BOM text is evaluated anew."""
    from origin_rules.rulebook.book import Rulebook

    bom_text = BRAKE.read_text(encoding="utf-8")
    bom = loads_bom(bom_text)
    det = book.evaluate(bom, under="USMCA", as_of=date(2026, 7, 1))
    (good,) = new_records(bom, bom_text, "yaml", [det], "summary")
    wrong = json.loads(good.determination)
    wrong["figures"]["rvc_net_cost"] = "99.99"
    laid_out = json.dumps(json.loads(good.determination), indent=2)
    other_text = bom_text.replace("BRK-100", "BRK-101")
    records = [good, replace(good, determination=json.dumps(wrong)), good, replace(good, determination=laid_out),
               replace(good, bom_received=other_text, product_id="BRK-101"), good]
    store.keep_book(book)
    store.append(records, requested_by="analyst@example.com", channel="test")
    evaluated = []
    real = Rulebook.evaluate
    monkeypatch.setattr(Rulebook, "evaluate", lambda self, *a, **k: evaluated.append(a) or real(self, *a, **k))
    results = list(replay(store, store.records()))
    assert [r.same for r in results] == [True, False, True, True, False, True]
    assert results[1].paths == ["figures.rvc_net_cost"] and results[1].verdict == "qualifies"
    assert "product_id" in results[4].paths  # BRK-101's own evaluation, against BRK-100's stored determination
    assert len(evaluated) == 2  # one per distinct BOM text


def test_replay_under_other_rules_finds_the_verdict_that_changed(store, book, tmp_path):
    _record(store, book, under=("USMCA",))
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    section = rules / "usmca" / "section-17-transport.roo"
    source = section.read_text(encoding="utf-8")
    old = '"Brakes, servo-brakes and parts, for passenger vehicles or light trucks, from 2023-07-01"'
    start = source.index("change from any other heading", source.index(old))
    end = source.index("rvc(net_cost) >= 70%", start) + len("rvc(net_cost) >= 70%")
    # the rule becomes: a change of heading AND an RVC (net cost) of at least 90%
    section.write_text(source[:start] + "change from any other heading and rvc(net_cost) >= 90%" + source[end:],
                       encoding="utf-8")
    current = origin_rules.load([str(rules)])
    assert current.digest != book.digest
    (result,) = replay(store, store.records(), current)
    # The pads (6813.81) change heading, but 82.35% < 90%: no longer qualifies.
    assert (result.stored_verdict, result.verdict, result.same) == ("qualifies", "does_not_qualify", False)
    assert "verdict" in result.paths
    assert "rules_digest" not in result.paths
    (unchanged,) = replay(store, store.records())  # the stored rules still give what was stored
    assert unchanged.same


def test_replay_under_other_rules_does_not_count_a_rule_that_only_moved_in_its_file(store, book, tmp_path):
    """Lines added above a rule change its ``source`` (file:line), not what it decides."""
    _record(store, book, under=("USMCA",))
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    section = rules / "usmca" / "section-17-transport.roo"
    section.write_text("# a note\n# another\n" + section.read_text(encoding="utf-8"), encoding="utf-8")
    current = origin_rules.load([str(rules)])
    assert current.digest != book.digest
    (result,) = replay(store, store.records(), current)
    assert result.same, result.to_dict()
    assert result.paths == []
    assert result.moved and all(p.endswith("source") for p in result.moved)
    assert any(".roo:" in json.dumps(v) for v in json.loads(store.get(result.record_id).determination).values())
    assert result.to_dict()["moved"] == result.moved


def test_replay_under_rules_that_decide_the_same_compares_texts_but_for_the_digest(store, book, tmp_path, monkeypatch):
    """A note added at the end of a file changes the rules digest and nothing a determination
    says: every record is the same, found by comparing the texts with the digest swapped, no
    JSON read; a determination that differs elsewhere is still found."""
    import importlib

    replaying = importlib.import_module("origin_rules.audit.replay")  # (the package's `replay` is the function)
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    book = origin_rules.load([str(rules)])  # (the rules' files named as they will be under the edited rules)
    _record(store, book)
    section = rules / "usmca" / "section-17-transport.roo"
    section.write_text(section.read_text(encoding="utf-8") + "# a note at the end\n", encoding="utf-8")
    current = origin_rules.load([str(rules)])
    assert current.digest != book.digest
    parsed = []
    real = json.loads
    monkeypatch.setattr(replaying.json, "loads", lambda text, **kw: parsed.append(text) or real(text, **kw))
    results = list(replay(store, store.records(), current))
    assert [r.same for r in results] == [True, True] and parsed == []
    monkeypatch.undo()
    assert all(r.rules_digest == current.digest and not r.moved for r in results)
    bom_text = BRAKE.read_text(encoding="utf-8")
    det = json.loads(store.get(results[0].record_id).determination)
    det["figures"]["vnm"] = "1.00"
    (stored,) = new_records(loads_bom(bom_text), bom_text, "yaml",
                            [book.evaluate(loads_bom(bom_text), under="USMCA", as_of=date(2026, 7, 1))], "summary")
    store.append([replace(stored, determination=json.dumps(det, separators=(",", ":")))],
                 requested_by="analyst@example.com", channel="test")
    (changed,) = replay(store, [list(store.records())[-1]], current)
    assert not changed.same and changed.paths == ["figures.vnm"]


def test_replay_names_each_record_whose_stored_bom_no_longer_reads(store, book):
    """Two records of one BOM text that no longer reads: each is reported with its own id
    (a BOM read once for several records is never a failure read once)."""
    bom_text = BRAKE.read_text(encoding="utf-8")
    (good,) = new_records(loads_bom(bom_text), bom_text, "yaml",
                          [book.evaluate(loads_bom(bom_text), under="USMCA", as_of=date(2026, 7, 1))], "summary")
    broken = replace(good, bom_received="product: {id: X, hs: [")
    store.keep_book(book)
    ids = store.append([broken, good, broken], requested_by="analyst@example.com", channel="test")
    results = list(replay(store, store.records()))
    assert [r.same for r in results] == [False, True, False]
    for record_id, result in zip(ids, results):
        if result.error:
            assert result.error.startswith("the stored BOM no longer reads") and f"record {record_id}" in result.error


@pytest.mark.parametrize("chunk, memo", [(1000, 4096), (3, 2)])
def test_replay_in_worker_processes_gives_what_replay_here_gives(store, book, monkeypatch, chunk, memo):
    """Records the same, one wrong, BOMs that no longer read, an agreement the rules do not
    know, under the stored rules and under rules given; with small chunks and a small memo
    (records sent while their BOM's determination is forgotten) too."""
    import importlib

    replaying = importlib.import_module("origin_rules.audit.replay")
    monkeypatch.setattr(replaying, "CHUNK", chunk)
    monkeypatch.setattr(replaying, "MEMO_SIZE", memo)
    bom_text = BRAKE.read_text(encoding="utf-8")
    bom = loads_bom(bom_text)
    dets = [book.evaluate(bom, under=n, as_of=date(2026, 7, 1)) for n in ("USMCA", "USMCA review 2026: China content cap")]
    good = new_records(bom, bom_text, "yaml", dets, "summary")
    wrong = json.loads(good[0].determination)
    wrong["verdict"] = "does_not_qualify"
    other = bom_text.replace("BRK-100", "BRK-101")
    records = [*good, replace(good[0], determination=json.dumps(wrong)), replace(good[1], bom_received="product: ["),
               *good, replace(good[0], agreement="NAFTA"), replace(good[1], bom_received="product: ["),
               replace(good[0], bom_received=other), *good, replace(good[0], bom_received=other)]
    store.keep_book(book)
    store.append(records, requested_by="analyst@example.com", channel="test")
    for under in (None, book):
        here = [r.to_dict() for r in replay(store, store.records(), under)]
        there = [r.to_dict() for r in replay(store, store.records(), under, workers=2)]
        assert there == here
        assert [r["same"] for r in here] == [True, True, False, False, True, True, False, False, False, True, True, False]
        assert f"record {here[3]['id']}" in here[3]["error"] and f"record {here[7]['id']}" in here[7]["error"]


def test_a_store_in_memory_is_replayed_here_whatever_the_workers(book):
    """(Worker processes could not reach it.)"""
    memory = Store("sqlite:///:memory:")
    _record(memory, book)
    assert [r.same for r in replay(memory, memory.records(), workers=2)] == [True, True]
    memory.close()


def test_replay_reports_a_record_whose_rules_were_never_kept(tmp_path, book):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    (record_id, _) = _record(store, book)
    record = store.get(record_id)
    fake = type(record)(**{**{f: getattr(record, f) for f in record.__slots__}, "rules_digest": "sha256:" + "0" * 64})
    (result,) = replay(store, [fake])
    assert result.error == f"the rule files of sha256:{'0' * 64} are not in the store"
    assert not result.same


def test_rules_are_kept_once_even_by_concurrent_first_writers(db_url, book):
    """Two stores (two processes of the service) keep the same rules at once: one row, no error."""
    from concurrent.futures import ThreadPoolExecutor

    stores = [Store(db_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: s.keep_book(book), stores))
        with stores[0].engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM rule_sets")).scalar_one() == 1
        assert stores[0].digests() == [book.digest]
    finally:
        for s in stores:
            s.close()


def test_the_migrations_and_templates_ship_as_package_data():
    """Every file Alembic and the page need at run time matches a package-data pattern."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["origin_rules"]
    package = ROOT / "origin_rules"
    needed = [p for folder in ("audit/migrations", "service/templates") for p in (package / folder).rglob("*")
              if p.is_file() and "__pycache__" not in p.parts]
    assert len(needed) >= 5
    missing = [str(p.relative_to(package)) for p in needed
               if not any(fnmatch.fnmatch(p.relative_to(package).as_posix(), pattern) for pattern in patterns)]
    assert missing == []


def test_ids_past_64_bits_name_no_record_or_token(store, book):
    """The drivers cannot send such numbers (OverflowError on SQLite, DataError on
    PostgreSQL, whose token ids are 32-bit): no record, no token, no page of records."""
    from origin_rules.audit import MAX_ID, get_token

    _record(store, book)
    for number in (MAX_ID, MAX_ID + 1, 10**23, 2**31, 0, -(2**64)):
        assert store.get(number) is None
        assert get_token(store, number) is None
    assert list(store.records(offset=MAX_ID)) == [] and list(store.records(offset=10**23)) == []
    assert len(list(store.records(limit=10**23))) == 2
    assert list(store.records(ids=[1, 10**23])) == [store.get(1)]


def test_a_token_name_with_a_nul_character_is_refused(store):
    from origin_rules.audit import StoreError, create_token, list_tokens

    with pytest.raises(StoreError, match=r"the token's name holds a NUL character \(U\+0000\)"):
        create_token(store, "a\x00b", "lead", created_by="test")
    assert list_tokens(store) == []


def test_a_database_that_is_not_a_store_is_refused_before_anything_is_written(db_url):
    """Tables but no store revision: refused, and left as it was (a first migration had
    created rule_sets and alembic_version before failing on `determinations`)."""
    from origin_rules.audit import StoreError

    bare = Store(db_url, migrate=False)
    with bare.engine.begin() as connection:
        connection.execute(text("CREATE TABLE determinations (x integer)"))
    bare.close()
    path = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite") else None
    before = path.read_bytes() if path else None
    for _ in range(2):
        with pytest.raises(StoreError, match=r" is not an origin-rules audit store: it holds other tables "
                                             r"\(determinations\); give a new database or file, or an audit store"):
            Store(db_url)
    again = Store(db_url, migrate=False)
    from sqlalchemy import inspect

    with again.engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["determinations"]
    again.close()
    if path:
        assert path.read_bytes() == before


def test_a_store_at_a_revision_this_release_does_not_know_is_a_clear_error(db_url):
    from origin_rules.audit import StoreError

    Store(db_url).close()
    bare = Store(db_url, migrate=False)
    with bare.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999')"))
    bare.close()
    with pytest.raises(StoreError, match=r"cannot open the audit store .*: Can't locate revision identified by '9999' "
                                         r"\(a store of a newer origin-rules, or not an audit store\)"):
        Store(db_url)
