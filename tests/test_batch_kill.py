"""Acceptance: a batch killed midway leaves no output that looks complete.

The CLI runs in a subprocess on an input slow enough to be caught midway (many distinct
BOMs); once it has written part of its output (to its temporary file), it is killed.
SIGKILL: no file under the output's name (a stale ``.part`` may remain, clearly named),
the worker processes die with it. SIGTERM and Ctrl-C: no output and no temporary file.
An output left by an earlier complete run stays as it was.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from origin_rules.batch.sample import write_jsonl
from processes import PYTHON_CLI, Proc, children, wait_gone

pytestmark = pytest.mark.slow  # end to end (registered in pyproject.toml): run first by tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")


@pytest.fixture(scope="module")
def slow_input(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "shipments.jsonl"
    write_jsonl(str(path), 30_000, products=30_000, variants=1, seed=9)  # mostly distinct: minutes of work
    return path


def _start_and_wait_for_partial_output(src: Path, out: Path) -> tuple[subprocess.Popen, list[Proc]]:
    args = [sys.executable, "-c", PYTHON_CLI, "batch", str(src), "--rules", RULES,
            "--as-of", "2026-07-01", "--out", str(out), "--workers", "2", "--chunk-size", "50"]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        parts = list(out.parent.glob(f".{out.name}.*.part"))
        if parts and parts[0].stat().st_size > 10_000:
            return process, children(process.pid)
        if process.poll() is not None:
            pytest.fail(f"the batch ended before it could be interrupted: {process.stderr.read().decode()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("the batch wrote nothing within 120 s")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc to find the worker processes")
def test_sigkill_leaves_no_output_and_no_workers(slow_input, tmp_path):
    out = tmp_path / "results.jsonl"
    process, workers = _start_and_wait_for_partial_output(slow_input, out)
    assert len(workers) == 2, workers
    process.kill()
    process.wait(timeout=30)
    assert not out.exists()
    (part,) = tmp_path.glob(".results.jsonl.*.part")  # the partial file is clearly not the output
    assert part.stat().st_size > 0
    assert wait_gone(workers) == [], "worker processes outlived the killed batch"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_clean_up(slow_input, tmp_path, signum):
    out = tmp_path / "results.jsonl"
    out.write_text("an earlier complete run\n", encoding="utf-8")
    process, workers = _start_and_wait_for_partial_output(slow_input, out)
    process.send_signal(signum)
    code = process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    assert code == 130, stderr
    assert "interrupted: no output written" in stderr
    assert "Traceback" not in stderr
    assert out.read_text(encoding="utf-8") == "an earlier complete run\n"
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".*.part")) == []
    assert wait_gone(workers) == []
