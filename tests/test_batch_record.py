"""`batch --record`: the batch's workers make each distinct BOM's full determinations as the
batch runs, and the audit store gets them once the batch is done, in input order.

Checked against a reference that reads every input record again and evaluates it on its own
(:func:`reference`: what recording a batch means, whatever the workers share): the same
records, field for field, in the same order, for inputs where sharing could go wrong: a line
repeated (one result reused by the main process), the same BOM written with its keys in
another order or with white space around the line (one result reused by a worker, each record
keeping its own text), the same BOM as a YAML list item (kept as its JSON), unreadable
records (not recorded), every applicable agreement per BOM, small chunks and two workers (a
result still in flight reused by a later chunk)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from origin_rules.audit import Store
from origin_rules.batch.sample import product_bom
from origin_rules.cli import app
from origin_rules.files.boms import read_boms
from origin_rules.rulebook.book import load

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
AS_OF = "2026-07-01"
FIELDS = ("bom_received", "bom_format", "product_id", "hs", "agreement", "as_of", "verdict", "determination",
          "rules_digest", "explain", "channel")


def reference(book, files: list[Path], names: list[str] | None, as_of: date) -> list[tuple]:
    """Every determination the store must hold, each record read and evaluated alone: a JSON
    Lines record as its line (without the white space around it), any other as its BOM's JSON."""
    out = []
    for path in files:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        for record in read_boms(path):
            if record.bom is None:
                continue
            bom = record.bom
            if path.suffix == ".jsonl":
                text, fmt = lines[record.line - 1].strip(), "json"
            else:
                text, fmt = bom.to_json(indent=None), "bom-json"
            for name in names or book.applicable(bom):
                d = book.evaluate(bom, under=name, as_of=as_of)
                out.append((text, fmt, bom.product.id, bom.product.hs, d.agreement, d.as_of, d.verdict,
                            d.to_json(indent=None), d.rules_digest, "summary", "cli batch"))
    return out


def _example(name: str) -> dict:
    return yaml.safe_load((ROOT / "examples" / "boms" / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("record")
    brake, desk = _example("brake-assembly.yaml"), _example("office-desk.yaml")
    sample = [product_bom(seed, variant) for seed in range(4) for variant in range(2)]
    reordered = dict(reversed(list(sample[0].items())))  # the same BOM, its keys in another order
    lines = [json.dumps(brake), json.dumps(sample[0]), "{not json", json.dumps(sample[0]), json.dumps(desk),
             json.dumps(reordered), "  " + json.dumps(sample[1]) + "\t", "",
             *(json.dumps(b) for b in sample[2:]), json.dumps(brake), json.dumps({"product": {"id": "X"}})]
    jsonl = folder / "shipments.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    listed = folder / "more.yaml"
    listed.write_text(yaml.safe_dump([sample[3], _example("engine.yaml")], sort_keys=False), encoding="utf-8")
    return [jsonl, listed]


@pytest.fixture(scope="module")
def book():
    return load([RULES], cache=True)


def _stored(url: str) -> list[tuple]:
    records = list(Store(url).records())
    assert len({r.request_id for r in records}) == 1  # one request: the batch
    assert [r.id for r in records] == sorted(r.id for r in records)
    return [tuple(getattr(r, f) for f in FIELDS) for r in records]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_store_holds_every_determination_of_the_batch_in_input_order(inputs, book, tmp_path, monkeypatch, workers):
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    monkeypatch.setenv("ORIGIN_RULES_DB", url)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["batch", *map(str, inputs), "--out", str(out), "--rules", RULES,
                                      "--as-of", AS_OF, "--workers", workers, "--chunk-size", "3", "--record"])
    assert result.exit_code == 2, result.output  # the two unreadable records, written as errors
    expected = reference(book, inputs, None, date.fromisoformat(AS_OF))
    assert f"recorded {len(expected):,} determinations" in result.stderr
    stored = _stored(url)
    assert stored == expected
    # the cases the sharing must get right are in it: a repeated line, a BOM read from two texts
    texts = [r[0] for r in stored]
    assert len(expected) > 40 and {r[1] for r in stored} == {"json", "bom-json"}
    assert len({t for t in texts if '"P00000"' in t}) >= 3 and not any(t != t.strip() for t in texts)
    # and the batch's own output agrees with what was recorded
    verdicts = [(d["agreement"], d["verdict"]) for line in out.read_text(encoding="utf-8").splitlines()
                for d in json.loads(line).get("determinations", [])]
    assert verdicts == [(r[4], r[6]) for r in stored]


@pytest.mark.parametrize("figures", ["--figures", "--verdicts-only"])
def test_named_agreements_only(inputs, book, tmp_path, monkeypatch, figures):
    """(With --verdicts-only a qualifying good's entry is made without the engine's outcome,
    which the full determination then computes itself.)"""
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    monkeypatch.setenv("ORIGIN_RULES_DB", url)
    names = ["USMCA", "USMCA review 2026: China content cap"]
    result = CliRunner().invoke(app, ["batch", str(inputs[0]), "--out", str(tmp_path / "out.csv"), "--rules", RULES,
                                      "-u", names[0], "-u", names[1], "--as-of", AS_OF, "--workers", "2", figures,
                                      "--record"])
    assert result.exit_code == 2, result.output
    assert _stored(url) == reference(book, inputs[:1], names, date.fromisoformat(AS_OF))


def test_a_store_that_cannot_be_opened_stops_the_batch_before_any_work(inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("ORIGIN_RULES_DB", "mysql://nowhere/db")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["batch", str(inputs[0]), "--out", str(out), "--rules", RULES,
                                      "--as-of", AS_OF, "--record"])
    assert result.exit_code == 2 and "mysql" in result.stderr
    assert not out.exists()  # nothing evaluated, nothing written


def test_an_interrupted_batch_records_nothing(inputs, book, tmp_path, monkeypatch):
    from origin_rules.audit import BatchRecording
    from origin_rules.batch import Options, run_batch
    from origin_rules.batch import run as batch_run

    store = Store(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    written = []
    real = batch_run._Writer.write

    def write_then_stop(self, chunk):
        real(self, chunk)
        written.append(chunk)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_run._Writer, "write", write_then_stop)
    options = Options(inputs=[str(inputs[0])], out=str(tmp_path / "out.jsonl"), as_of=date.fromisoformat(AS_OF),
                      workers=1, chunk=3)
    with BatchRecording(store, book, requested_by="test", channel="test") as recording:
        with pytest.raises(KeyboardInterrupt):
            run_batch(book, options, recording=recording)
    assert written and store.count() == 0 and not (tmp_path / "out.jsonl").exists()
    store.close()


def test_a_store_that_fails_when_the_batch_is_done_is_a_clear_error(inputs, tmp_path, monkeypatch):
    """The output is written; the failure is named, without a traceback (exit 2)."""
    from sqlalchemy.exc import OperationalError

    from origin_rules.audit import Store as Opened

    def refuse(self, records, **kwargs):
        raise OperationalError("INSERT INTO determinations ...", {}, Exception("database or disk is full"))

    monkeypatch.setattr(Opened, "append_many", refuse)
    monkeypatch.setenv("ORIGIN_RULES_DB", f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["batch", str(inputs[0]), "--out", str(out), "--rules", RULES,
                                      "--as-of", AS_OF, "--workers", "1", "--record"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # (no other exception escaped)
    assert "could not record the determinations" in result.stderr and "database or disk is full" in result.stderr
    assert "Traceback" not in result.output and out.exists()


def test_a_worker_keeps_no_determinations_in_its_caches(inputs, book):
    """What a worker keeps to reuse results (bounded by count, not by size) leaves out the
    full determinations, tens of kilobytes a BOM; a BOM it meets again under its canonical
    key gets them made again, the same."""
    from origin_rules.batch.records import Renderer
    from origin_rules.batch.work import Setup, run_jobs

    setup = Setup(book, None, date.fromisoformat(AS_OF), Renderer("jsonl", list(book.names)), record=True)
    lines = inputs[0].read_text(encoding="utf-8").splitlines()
    jobs = [("jsonl", str(inputs[0]), n, line.strip().encode()) for n, line in enumerate(lines, 1) if line.strip()]
    results, _ = run_jobs(jobs, setup)
    kept = [v for v in setup.cache.values()] + [v[1] for v in setup.met.values() if v is not None]
    assert kept and all(len(r) == 5 for r in kept)
    ok = [r for r in results if r[0] == "ok"]
    assert all(len(r) == 7 and r[5][2] for r in ok)
    first, again = ok[1], ok[4]  # the sample BOM, then the same BOM with its keys in another order
    assert again[5] == first[5] and again[5] is not first[5]
