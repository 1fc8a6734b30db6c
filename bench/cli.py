"""The command line as a user meets it: whole processes, timed from the shell.

Each figure is the median of N runs (5; --quick: 3) of a fresh process, started the way a
pre-commit hook or a CI step starts it (the ``origin-rules`` console script beside this
Python, else ``python cli.py``), its output thrown away:

* ``--help``;
* ``evaluate`` of examples/boms/brake-assembly.yaml against the whole shipped rulebook
  (rules/), under USMCA alone and under every applicable agreement and scenario (what
  ``evaluate`` does without ``--under``), with the rulebook cache warm, and cold
  (``--no-cache``: parsed and checked again; and a first run on an empty cache, which
  parses, checks and stores);
* ``check rules/`` with the cache warm;
* the bare interpreter (``python -c pass``), the floor every figure includes.

Beside each wall time, the median CPU time (user + system) of the same runs: on a machine
other processes share, it moves less than the wall time.

The cache lives in a temporary folder (``ORIGIN_RULES_CACHE_DIR``), primed by one run. The
package's bytecode is compiled first and ``PYTHONDONTWRITEBYTECODE`` dropped, as after
``pip install``: otherwise every run would compile every module from source again.
In process, the same run also times loading the shipped rulebook from the cache against
parsing and checking it, as a ratio.
"""

from __future__ import annotations

import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOM = "examples/boms/brake-assembly.yaml"
EVALUATE = ["evaluate", BOM, "--rules", "rules/", "--as-of", "2026-07-01"]
TARGETS = {"help": 0.150, "warm": 0.400, "cold": 2.0}


def command() -> list[str]:
    script = Path(sys.executable).parent / "origin-rules"
    return [str(script)] if script.exists() else [sys.executable, str(ROOT / "cli.py")]


def children_cpu() -> float:
    """CPU time (user + system) of the finished child processes so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def median_run(argv: list[str], runs: int, env: dict[str, str], empty_cache: bool = False) -> tuple[float, float]:
    """The median wall time and the median CPU time of ``runs`` processes. The CPU time is the
    process's own (user + system), which other processes on a shared machine change less."""
    times, cpu = [], []
    for _ in range(runs):
        if empty_cache:
            shutil.rmtree(env["ORIGIN_RULES_CACHE_DIR"], ignore_errors=True)
        start, used = time.perf_counter(), children_cpu()
        done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        cpu.append(children_cpu() - used)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return statistics.median(times), statistics.median(cpu)


def bench_processes(quick: bool) -> list[str]:
    runs = 3 if quick else 5
    cli = command()
    compileall.compile_dir(str(ROOT / "origin_rules"), quiet=1)
    folder = tempfile.mkdtemp(prefix="origin-rules-bench-cache-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["ORIGIN_RULES_CACHE_DIR"] = folder
    try:
        median_run(cli + EVALUATE + ["--under", "USMCA"], 1, env)  # primes the cache
        t = {
            "python -c pass": median_run([sys.executable, "-c", "pass"], runs, env),
            "--help": median_run(cli + ["--help"], runs, env),
            "evaluate --under USMCA, warm cache": median_run(cli + EVALUATE + ["--under", "USMCA"], runs, env),
            "evaluate, every applicable, warm": median_run(cli + EVALUATE, runs, env),
            "check rules/, warm cache": median_run(cli + ["check", "rules/"], runs, env),
            "evaluate --under USMCA, --no-cache": median_run(cli + EVALUATE + ["--under", "USMCA", "--no-cache"], runs, env),
            "evaluate --under USMCA, empty cache": median_run(cli + EVALUATE + ["--under", "USMCA"], runs, env,
                                                              empty_cache=True),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    floor = t["python -c pass"][0]
    target = {"--help": "help", "evaluate --under USMCA, warm cache": "warm",
              "evaluate --under USMCA, --no-cache": "cold", "evaluate --under USMCA, empty cache": "cold"}
    lines = [f"whole processes, median of {runs} runs ({' '.join(Path(c).name for c in cli)}; {BOM}, rules/):"]
    for name, (sec, cpu) in t.items():
        goal = f"  target <= {TARGETS[target[name]] * 1000:.0f} ms" if name in target else ""
        lines.append(f"  {name:<38} {sec * 1000:7.0f} ms (CPU {cpu * 1000:5.0f} ms)  {sec / floor:5.1f}x python -c pass{goal}")
    return lines


def bench_cache(quick: bool) -> list[str]:
    """Loading the shipped rulebook in process: cold parse + check against a cache hit (the
    programs and the modules read, which a cache hit leaves until they are asked for)."""
    from origin_rules.rulebook.cache import parse_cached

    folder = Path(tempfile.mkdtemp(prefix="origin-rules-bench-cache-"))
    try:
        parse_cached(["rules"], folder)  # stores it
        cold, warm = [], []
        for _ in range(1 if quick else 3):
            start = time.perf_counter()
            parse_cached(["rules"], folder, use_cache=False)
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            parsed = parse_cached(["rules"], folder)
            parsed.programs, parsed.modules  # noqa: B018 - read when first asked for: all of it, here
            warm.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    size = sum(p.stat().st_size for p in (ROOT / "rules").rglob("*.roo")) // 1024
    return [
        f"shipped rulebook ({size} KiB of rules), in process: parse + check {min(cold):.2f} s,"
        f" from the cache {min(warm):.3f} s ({min(cold) / min(warm):.1f}x faster)",
    ]


def main(quick: bool = False) -> list[str]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return bench_cache(quick) + bench_processes(quick)
    finally:
        os.chdir(cwd)
