"""Acceptance: 20,000 shipments with 50 broken ones, through the real CLI with 2 workers.

Every input record yields exactly one output record, in input order; the 50 broken ones
are error records naming the field; every other record has the verdicts `evaluate` gives
(checked once per distinct input line: identical lines are identical BOMs). About 20-40 s
on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

import origin_rules
from origin_rules.batch.sample import product_bom, write_jsonl

pytestmark = pytest.mark.slow  # end to end (registered in pyproject.toml): run first by tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
NAMES = ["USMCA", "USMCA review 2026: China content cap"]
ON = date(2026, 7, 1)
N = 20_000


def _broken(k: int) -> tuple[str, str]:
    """A bad record (JSON text) and the field path its error must name."""
    bom = product_bom(k)
    kind = k % 5
    if kind == 0:
        bom["materials"][3]["value"] = "12,5"
        return json.dumps(bom), "materials[3].value"
    if kind == 1:
        bom["product"]["hs"] = "87.0830"
        return json.dumps(bom), "product.hs"
    if kind == 2:
        bom["materials"][5]["origin"] = "Mexico"
        return json.dumps(bom), "materials[5].origin"
    if kind == 3:
        bom["materials"][2]["valeu"] = bom["materials"][2].pop("value")
        return json.dumps(bom), "materials[2].valeu"
    bom["product"]["transaction_value"] = "-5"
    return json.dumps(bom), "product.transaction_value"


def test_20000_records_50_broken(tmp_path, shipped_rulebook):
    broken_at = {i * 397 + 11: _broken(i) for i in range(50)}  # 0-based record numbers
    src = tmp_path / "shipments.jsonl"
    write_jsonl(str(src), N, products=600, variants=2, seed=5, broken={i: text for i, (text, _) in broken_at.items()})
    out, summary = tmp_path / "results.jsonl", tmp_path / "summary.json"
    args = [sys.executable, "-c", "from origin_rules.cli import main; main()", "batch", str(src), "--rules", RULES, "--as-of", "2026-07-01",
            "--out", str(out), "--summary", str(summary), "--workers", "2"]
    for name in NAMES:
        args += ["--under", name]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "COLUMNS": "160"})
    seconds = time.perf_counter() - start
    assert done.returncode == 2, done.stderr  # 2: some records could not be read (all are in the output)
    print(f"batch of {N:,} records: {seconds:.1f} s end to end")

    lines = src.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(lines) == N
    assert [r["line"] for r in records] == list(range(1, N + 1))
    assert all(r["source"] == str(src) for r in records)

    book = shipped_rulebook
    expected: dict[str, list[str]] = {}
    errors = 0
    for index, (record, line) in enumerate(zip(records, lines)):
        if index in broken_at:
            errors += 1
            problems = record["error"]["problems"]
            assert problems[0]["path"] == broken_at[index][1], problems
            assert problems[0]["line"] == index + 1
            assert record["product_id"] == json.loads(line)["product"]["id"]
            continue
        assert "error" not in record, record
        want = expected.get(line)
        if want is None:
            bom = origin_rules.BOM.model_validate_json(line)
            want = expected[line] = [book.evaluate(bom, name, ON).verdict for name in NAMES]
        assert [d["verdict"] for d in record["determinations"]] == want
        assert record["product_id"] == json.loads(line)["product"]["id"]
    assert errors == 50

    data = json.loads(summary.read_text())
    assert data["records"] == N and data["errors"] == 50
    assert sum(data["verdicts"]["USMCA"].values()) == N - 50
    assert data["evaluated"] <= 1200  # 600 products x 2 variants, each evaluated once
