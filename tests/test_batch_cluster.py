"""`batch` on a Dask cluster, and Parquet in and out.

Parquet tests run in process (typer's CliRunner). The cluster tests start a real Dask
LocalCluster: a scheduler and worker processes of their own (marked slow); the killed-worker
test kills a worker process with SIGKILL in the middle of the run.
"""

from __future__ import annotations

import json
import os
import signal
import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import origin_rules
from origin_rules.batch import Options, run_batch
from origin_rules.batch.cluster import ClusterError, ClusterPool, parse_address
from origin_rules.cli import app
from origin_rules.rulebook.cache import pack, unpack
from processes import PYTHON_CLI, alive, descendants

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
EXAMPLES = ROOT / "examples" / "boms"
BOM_DATA = ROOT / "tests" / "data" / "bom"
AS_OF = "2026-07-01"
ON = date(2026, 7, 1)
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["batch", *args, "--rules", RULES, "--as-of", AS_OF])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def shipments(path: Path, copies: int) -> Path:
    """The example BOMs ``copies`` times over, each copy with its own product ids (so that no
    record is a repeat of another), and one broken record in the middle."""
    lines = []
    for n in range(copies):
        for p in sorted(EXAMPLES.glob("*.yaml")):
            data = json.loads(origin_rules.read_bom(p).to_json(indent=None))
            data["product"]["id"] = f"{data['product']['id']}-{n}"
            lines.append(json.dumps(data))
        if n == copies // 2:
            lines.append('{"product": {"id": "BROKEN", "hs": "8708.30"}, "materials": "none"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_rows() -> tuple[list[str], list[list[str]]]:
    with open(BOM_DATA / "batch.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


# ---------------------------------------------------------------------------- Parquet in


def test_a_flat_parquet_file_reads_like_the_same_csv(tmp_path):
    head, body = csv_rows()
    table = pa.table({name: [r[i] if i < len(r) else "" for r in body] for i, name in enumerate(head)})
    pq.write_table(table, tmp_path / "batch.parquet")
    assert run(str(tmp_path / "batch.parquet"), "--out", str(tmp_path / "pq.jsonl"), "-u", "USMCA", "-j", "1").exit_code == 2
    assert run(str(BOM_DATA / "batch.csv"), "--out", str(tmp_path / "csv.jsonl"), "-u", "USMCA", "-j", "1").exit_code == 2
    from_parquet, from_csv = read_jsonl(tmp_path / "pq.jsonl"), read_jsonl(tmp_path / "csv.jsonl")
    assert len(from_parquet) == len(from_csv) == 4
    for a, b in zip(from_parquet, from_csv):
        assert a.pop("source").endswith("batch.parquet") and b.pop("source").endswith("batch.csv")
        assert a == b  # positions are the lines of the same table exported as CSV


def test_typed_parquet_columns_become_exact_text(tmp_path):
    """decimal128 amounts stay exact; integers, booleans: as a CSV file would spell them."""
    table = pa.table({
        "product.id": ["P-1", "P-1"],
        "product.hs": ["8708.30", "8708.30"],
        "product.produced_in": ["MX", "MX"],
        "product.transaction_value": pa.array([Decimal("100.005"), Decimal("100.005")], pa.decimal128(12, 3)),
        "material.id": ["A", "B"],
        "material.hs": ["7326.90", "8708.30"],
        "material.origin": ["CN", "MX"],
        "material.originating": pa.array([False, True]),
        "material.value": pa.array([Decimal("40.001"), Decimal("10.000")], pa.decimal128(12, 3)),
    })
    pq.write_table(table, tmp_path / "typed.parquet")
    out = tmp_path / "typed.jsonl"
    assert run(str(tmp_path / "typed.parquet"), "--out", str(out), "-u", "USMCA", "-j", "1").exit_code == 0
    (record,) = read_jsonl(out)
    assert record["product_id"] == "P-1" and record["line"] == 2
    # the non-originating value, exactly: 40.001 (a float would not be)
    assert record["determinations"][0]["figures"]["vnm"] == "40.001"


def test_a_nested_or_unknown_parquet_layout_is_one_error_record_naming_the_columns(tmp_path):
    nested = pa.table({"product.id": ["P"], "materials": pa.array([[{"id": "A"}]])})
    pq.write_table(nested, tmp_path / "nested.parquet")
    unknown = pa.table({"product.id": ["P"], "material.vaule": ["1"]})
    pq.write_table(unknown, tmp_path / "unknown.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    out = tmp_path / "out.jsonl"
    result = run(str(tmp_path / "nested.parquet"), str(tmp_path / "unknown.parquet"), str(tmp_path / "junk.parquet"),
                 str(EXAMPLES / "bumper.yaml"), "--out", str(out), "-j", "1")
    assert result.exit_code == 2, result.output
    nested_rec, unknown_rec, junk_rec, bumper = read_jsonl(out)
    assert "a nested Parquet BOM table has a `product` struct column" in nested_rec["error"]["problems"][0]["message"]
    assert "missing: `product`" in nested_rec["error"]["problems"][0]["message"]
    assert "unknown column `material.vaule` (did you mean `material.value`?)" in unknown_rec["error"]["problems"][0]["message"]
    assert junk_rec["error"]["problems"][0]["message"].startswith("not a Parquet file")
    assert bumper["product_id"] == "BMP-330"


def test_a_nested_parquet_table_reads_like_the_same_json_lines(tmp_path):
    """A row per BOM (product struct, materials list of structs), as pyarrow writes JSON
    Lines; decimals exact; positions are row numbers, as JSON Lines line numbers."""
    from origin_rules.batch.sample import write_jsonl

    import pyarrow.json as pj

    write_jsonl(str(tmp_path / "s.jsonl"), 60)
    table = pj.read_json(tmp_path / "s.jsonl")
    materials = table.column("materials").type.value_type
    assert materials.field("value").type == pa.string()
    pq.write_table(table, tmp_path / "s.parquet")
    for name in ("s.jsonl", "s.parquet"):
        assert run(str(tmp_path / name), "--out", str(tmp_path / f"{name}.out.jsonl"), "-u", "USMCA", "-j", "1").exit_code == 0
    a, b = read_jsonl(tmp_path / "s.jsonl.out.jsonl"), read_jsonl(tmp_path / "s.parquet.out.jsonl")
    assert len(a) == len(b) == 60
    for x, y in zip(a, b):
        x.pop("source"), y.pop("source")
        assert x == y
    # a decimal128 amount in a nested table stays exact
    product = pa.array([{"id": "P-9", "hs": "8708.30", "produced_in": "MX", "transaction_value": Decimal("100.005")}],
                       pa.struct([("id", pa.string()), ("hs", pa.string()), ("produced_in", pa.string()),
                                  ("transaction_value", pa.decimal128(12, 3))]))
    mats = pa.array([[{"id": "A", "hs": "7326.90", "origin": "CN", "originating": False, "value": Decimal("40.001")},
                      {"id": "B", "hs": "8708.30", "origin": "MX", "originating": True, "value": None}]],
                    pa.list_(pa.struct([("id", pa.string()), ("hs", pa.string()), ("origin", pa.string()),
                                        ("originating", pa.bool_()), ("value", pa.decimal128(12, 3))])))
    pq.write_table(pa.table({"product": product, "materials": mats}), tmp_path / "typed.parquet")
    out = tmp_path / "typed.jsonl"
    result = run(str(tmp_path / "typed.parquet"), "--out", str(out), "-u", "USMCA", "-j", "1")
    (record,) = read_jsonl(out)
    assert record["line"] == 1 and record["product_id"] == "P-9", result.output
    (entry,) = record["determinations"]
    assert entry["figures"]["vnm"] == "40.001"  # exact, not a float's 40.000999...
    # B's null value is an absent field (B is originating: not needed); what is missing is named
    assert entry["verdict"] == "insufficient_data" and "product.end_use" in entry["missing"]


# ---------------------------------------------------------------------------- Parquet out


class _FixedClock:
    """``datetime`` for the report's page, its ``now`` one fixed instant: two pages rendered
    either side of a minute's turn show the same time."""

    @staticmethod
    def now(tz=None):
        import datetime as real

        return real.datetime(2026, 7, 1, 12, 0, tzinfo=tz)


def test_parquet_results_hold_the_json_lines_records_and_the_report_reads_them(tmp_path, monkeypatch):
    import origin_rules.report.page

    monkeypatch.setattr(origin_rules.report.page, "datetime", _FixedClock)
    src = shipments(tmp_path / "in.jsonl", 3)
    assert run(str(src), "--out", str(tmp_path / "out.jsonl"), "-j", "1").exit_code == 2
    assert run(str(src), "--out", str(tmp_path / "out.parquet"), "-j", "1").exit_code == 2
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.names == ["source", "position", "line", "product_id", "hs", "produced_in", "determinations", "error"]
    from origin_rules.files.parquet import read_results

    expected = read_jsonl(tmp_path / "out.jsonl")
    got = list(read_results(str(tmp_path / "out.parquet")))
    assert len(got) == len(expected) == table.num_rows
    for g, e in zip(got, expected):
        assert {k: v for k, v in g.items() if v is not None} == {k: v for k, v in e.items() if v is not None}
    pages = []
    for name in ("out.jsonl", "out.parquet"):
        html = tmp_path / f"{name}.html"
        result = runner.invoke(app, ["report", str(tmp_path / name), "--html", str(html), "--title", "T"])
        assert result.exit_code == 0, result.output
        pages.append(html.read_text(encoding="utf-8").replace(name, "RESULTS"))
    assert pages[0] == pages[1] and "2026-07-01 12:00 UTC" in pages[0]


def test_a_parquet_file_that_is_not_batch_output_is_refused_by_the_report(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "x.parquet")
    result = runner.invoke(app, ["report", str(tmp_path / "x.parquet"), "--html", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert "not the Parquet output of `origin-rules batch`" in result.output
    assert not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------------------- shipping the rules


def test_packed_rules_refuse_damage_and_another_code_version(shipped_rulebook, monkeypatch):
    blob = pack(shipped_rulebook.parsed)
    assert origin_rules.rulebook.book.Rulebook(unpack(blob)).names == shipped_rulebook.names
    damaged = bytearray(blob)
    damaged[-10] ^= 0xFF
    with pytest.raises(ValueError, match="damaged"):
        unpack(bytes(damaged))
    import origin_rules.rulebook.cache as cache

    monkeypatch.setattr(cache, "_code_digest", b"\0" * 32)
    with pytest.raises(ValueError, match="another version of origin-rules"):
        unpack(blob)


def test_cluster_addresses_are_checked():
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    for bad in ("local:0", "local:x", "local"):
        with pytest.raises(ValueError):
            parse_address(bad)
    result = run(str(EXAMPLES / "bumper.yaml"), "--out", "never.jsonl", "--cluster", "local:0")
    assert result.exit_code == 2 and "local:N" in result.output
    result = run(str(EXAMPLES / "bumper.yaml"), "--out", "never.jsonl", "--cluster", "local:2", "-j", "2")
    assert result.exit_code == 2 and "do not go together" in result.output


@pytest.mark.slow
def test_a_local_cluster_keeps_the_configured_worker_preloads():
    import dask

    from origin_rules.batch.cluster import _worker_preloads

    assert _worker_preloads() == {"preload": ["origin_rules.batch.cluster"], "preload_argv": [[]]}
    with dask.config.set({"distributed.worker.preload": ["mine.py", "other"],
                          "distributed.worker.preload-argv": ["--flag"]}):
        assert _worker_preloads() == {"preload": ["mine.py", "other", "origin_rules.batch.cluster"],
                                      "preload_argv": [["--flag"], ["--flag"], []]}


def test_an_unreachable_scheduler_is_a_clear_error(shipped_rulebook, tmp_path):
    options = Options(inputs=[], out=str(tmp_path / "o.jsonl"), as_of=ON)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        ClusterPool("tcp://127.0.0.1:9", shipped_rulebook, options, shipped_rulebook.names, timeout="0.5s")  # refused: it only waits


# ---------------------------------------------------------------------------- a real cluster


@pytest.mark.slow
def test_a_local_cluster_writes_byte_for_byte_what_the_local_batch_writes(tmp_path, monkeypatch):
    """... and records the same determinations with --record (made by the cluster's workers)."""
    from origin_rules.audit import Store

    src = shipments(tmp_path / "in.jsonl", 6)
    local, on_cluster = tmp_path / "local.jsonl", tmp_path / "cluster.jsonl"
    monkeypatch.setenv("ORIGIN_RULES_DB", f"sqlite:///{tmp_path / 'local.sqlite3'}")
    assert run(str(src), "--out", str(local), "-j", "1", "--record").exit_code == 2
    monkeypatch.setenv("ORIGIN_RULES_DB", f"sqlite:///{tmp_path / 'cluster.sqlite3'}")
    result = run(str(src), "--out", str(on_cluster), "--cluster", "local:2", "--chunk-size", "7", "--record")
    assert result.exit_code == 2, result.output  # the broken record: one error record, the run goes on
    assert on_cluster.read_bytes() == local.read_bytes()
    records = read_jsonl(on_cluster)
    assert [r["product_id"] for r in records if "error" in r] == ["BROKEN"]
    stored = [[(r.bom_received, r.agreement, r.verdict, r.determination) for r in Store(f"sqlite:///{tmp_path / db}").records()]
              for db in ("local.sqlite3", "cluster.sqlite3")]
    assert stored[0] == stored[1] and len(stored[0]) >= len(records) - 1


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(shipped_rulebook, tmp_path):
    from distributed import get_client

    src = shipments(tmp_path / "in.jsonl", 10)
    local = tmp_path / "local.jsonl"
    run_batch(shipped_rulebook, Options(inputs=[str(src)], out=str(local), as_of=ON, workers=1, chunk=5))
    killed: list[int] = []
    after: dict = {}

    def progress(records: int, done: int, total: int) -> None:
        client = get_client()
        pids = client.run(os.getpid, on_error="ignore")  # a worker just killed may still be listed
        if not killed:  # after the first chunk: kill a worker with chunks still queued on it
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        elif done >= total:
            after.update(pids)

    on_cluster = tmp_path / "cluster.jsonl"
    summary = run_batch(shipped_rulebook, Options(inputs=[str(src)], out=str(on_cluster), as_of=ON, chunk=5,
                                                  cluster="local:2"), progress=progress)
    assert killed and killed[0] not in after.values()  # the worker really died and was replaced
    assert summary.records == len(read_jsonl(local)) == len(read_jsonl(on_cluster))
    assert on_cluster.read_bytes() == local.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("group", [False, True], ids=["main-process", "process-group"])
def test_ctrl_c_on_a_cluster_run_leaves_no_output_no_temporary_file_and_no_cluster(tmp_path, group):
    # group: SIGINT to every process of the batch's group, as a terminal's Ctrl-C; the
    # workers of the local cluster ended in tracebacks (CancelledError, KeyboardInterrupt)
    import subprocess
    import sys
    import time

    from origin_rules.batch.sample import write_jsonl

    src = tmp_path / "in.jsonl"
    write_jsonl(str(src), 12_000, products=12_000, variants=1, seed=5)  # distinct BOMs: a long run
    out = tmp_path / "results.parquet"
    args = [sys.executable, "-c", PYTHON_CLI, "batch", str(src), "--rules", RULES,
            "--as-of", AS_OF, "--out", str(out), "--cluster", "local:2", "--chunk-size", "20"]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=group)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        parts = list(tmp_path.glob(".results.parquet.*.part"))
        if parts and parts[0].stat().st_size > 5_000:
            break
        if process.poll() is not None:
            pytest.fail(f"the batch ended before it could be interrupted: {process.stderr.read().decode()}")
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the batch wrote nothing within 180 s")
    tree = descendants(process.pid)
    assert len(tree) >= 2, tree  # the local cluster's scheduler side and worker processes
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    code = process.wait(timeout=90)
    stderr = process.stderr.read().decode()
    assert code == 130, stderr
    assert stderr == "interrupted: no output written\n"
    assert not out.exists()
    assert list(tmp_path.glob(".*.part")) == []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in tree):
        time.sleep(0.2)
    assert [p for p in tree if alive(p)] == [], "cluster processes outlived the interrupted batch"


def test_the_interrupt_race_of_distributed_is_not_logged_and_nothing_else_is_hidden():
    """Ctrl-C as distributed's sync() starts: its cancel callback fails (no future yet) and
    tornado logged the traceback (seen once under load in the process-group test above)."""
    import logging

    from origin_rules.batch.cluster import _QUIET_RACE

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("tornado.application", logging.ERROR, __file__, 1, message, None, None)

    assert not _QUIET_RACE.filter(record("Exception in callback functools.partial(<function sync.<locals>.cancel at 0x7f>)"))
    assert _QUIET_RACE.filter(record("Exception in callback functools.partial(<function other at 0x7f>)"))
