"""Batch benchmarks: end-to-end throughput against plain JSON parsing, and peak memory.

1. Throughput: ``origin-rules batch`` (the real CLI in a child process: interpreter start,
   loading the rules, worker processes, writing the output) on N generated 20-material
   BOMs in JSON Lines, against reading the same file and ``json.loads`` on each line in
   this process, measured in one run (best of the rounds). The ratio is what counts
   (targets, issue 14: at most 2.5x for one scenario, 4x for every applicable agreement). Shipments repeat their product's BOM as real exports do
   (``origin_rules.batch.sample``: 2,000 products x 2 BOM variants, skewed popularity).
   Also: the same with ``--verdicts-only``, and a worst case where no two BOMs are alike.
2. Workers: the same batch with one worker and with two, one scenario (target: two at
   least 1.7x faster), on the sample file and on one where no two BOMs are alike; wall
   times, so read them with the load average printed beside them; then two workers under
   every applicable agreement (target: at most 4x ``json.loads``), and where a worker's
   time goes (:func:`bench_shares`: reading, the engine, the rest of the judging, the
   rendering, per distinct BOM, CPU in process).
3. Reading: BOM reading + validation (``loads_json``, the pydantic models) and the whole
   reading of a batch record (that and the plausibility checks, as ``read_boms`` and the
   batch workers do) against ``json.loads`` of the same lines, CPU time in this process,
   best of the rounds (target: reading + validation at most 3x).
4. Memory: the peak resident memory of the batch for N and 10 x N records (target: within
   1.2x): the largest single process (``os.wait4`` rusage of the child, whose maximum
   includes its workers) and the peak of the sum of proportional set sizes (PSS) over the
   whole process tree, sampled every 50 ms from /proc.

Run: ``python -m bench --only batch [--quick]`` (``--only read`` for part 3 alone).
``quick``: 20,000 records for throughput, 10,000 vs 100,000 for memory; otherwise
100,000, and 100,000 vs 1,000,000.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from origin_rules.batch.sample import product_bom, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
AS_OF = "2026-07-01"


def parse_seconds(path: Path) -> tuple[float, float]:
    """Read the file and json.loads every line, the floor any batch has to beat: wall and
    CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                json.loads(line)
    return time.perf_counter() - start, time.process_time() - cpu


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            stack.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except OSError:
            pass
    return out


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _own_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


LAST_MAIN_CPU = [0.0]  # CPU seconds of the batch's main process alone in the last run_batch (sampled)


def run_batch(src: Path, out: Path, *extra: str, env: dict[str, str] | None = None,
              pss: bool = False) -> tuple[float, int, int, float]:
    """Seconds, peak RSS of the largest process (KiB), peak PSS of the whole tree (KiB; 0
    unless ``pss``), CPU seconds of the whole tree (the batch and its workers). The main
    process's own CPU (without its workers), last sampled every 50 ms, is left in
    ``LAST_MAIN_CPU[0]``. ``env``: variables added to the batch's environment. ``pss``:
    sample the whole tree's PSS every 50 ms, for the memory figures only: reading every
    process's page tables that often takes CPU from the batch (two workers on two cores
    lost 0.05-0.1 s of 1.3 s to it), so timed runs leave it off."""
    args = [sys.executable, "-c", "from origin_rules.cli import main; main()", "batch", str(src), "--rules", RULES,
            "--as-of", AS_OF, "--out", str(out), *extra]
    start = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=dict(os.environ, **env) if env else None)
    peak_pss = [0]
    main_cpu = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            if pss:
                peak_pss[0] = max(peak_pss[0], sum(_pss_kib(p) for p in _tree(child.pid)))
            main_cpu[0] = max(main_cpu[0], _own_cpu(child.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    LAST_MAIN_CPU[0] = main_cpu[0]
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 2):
        raise RuntimeError(f"batch failed ({child.returncode}): {stderr.decode()[-2000:]}")
    return seconds, usage.ru_maxrss, peak_pss[0], usage.ru_utime + usage.ru_stime


def _distinct(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps(product_bom(10_000 + i), separators=(",", ":")) + "\n")


SCENARIO = "USMCA review 2026: China content cap"
QUESTION = ("--under", "USMCA", "--under", SCENARIO)  # keeps USMCA treatment? loses it under the review?


def bench_throughput(folder: Path, quick: bool) -> list[str]:
    n = 20_000 if quick else 100_000
    src = folder / "shipments.jsonl"
    size = write_jsonl(str(src), n)
    out = folder / "results.jsonl"
    configs = {
        "USMCA + China content cap": QUESTION,
        "  ... --verdicts-only": QUESTION + ("--verdicts-only",),
        "every applicable (7 for MX)": (),
    }
    targets = {"USMCA + China content cap": "2.5x", "  ... --verdicts-only": "2.5x", "every applicable (7 for MX)": "4x"}
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in ["json.loads"] + list(configs)}
    for _ in range(1 if quick else 2):
        seconds["json.loads"].append(parse_seconds(src))
        for name, extra in configs.items():
            wall, _, _, cpu = run_batch(src, out, *extra)
            seconds[name].append((wall, cpu))
    best = {name: min(values) for name, values in seconds.items()}
    p, pc = best["json.loads"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"batch throughput: {n:,} shipments of 2,000 products x 2 BOM variants, 20 materials each"
        f" ({size / 1e6:.0f} MB JSON Lines), {os.cpu_count()} CPUs (load average {load:.1f}),"
        " end to end (CLI in a child process), best round; CPU = all processes:",
        f"  {'json.loads of every line':<30} {p:7.2f} s  {n / p:9,.0f} records/s               CPU {pc:6.2f} s",
    ]
    for name in configs:
        t, c = best[name]
        lines.append(f"  {name:<30} {t:7.2f} s  {n / t:9,.0f} records/s  ratio {t / p:5.2f}x"
                     f"  CPU {c:6.2f} s  ratio {c / pc:5.2f}x   (target: time ratio <= {targets[name]})")
    # the report of the last batch's output (every applicable agreement), against json.loads of it
    report_wall = _report_seconds(out, folder / "report.html")
    rp, _ = parse_seconds(out)
    lines.append(f"  report of that output ({out.stat().st_size / 1e6:.0f} MB)  {report_wall:7.2f} s"
                 f"  ratio {report_wall / rp:5.2f}x json.loads of it ({rp:.2f} s): reading, charts, the page")
    worst = 1_000 if quick else 5_000
    distinct = folder / "distinct.jsonl"
    _distinct(distinct, worst)
    dp, dpc = parse_seconds(distinct)
    dt, _, _, dc = run_batch(distinct, out, *QUESTION)
    lines.append(f"  worst case, {worst:,} shipments, no two alike (USMCA + cap): {dt:.2f} s, {worst / dt:,.0f} records/s,"
                 f" ratio {dt / dp:.0f}x, CPU ratio {dc / dpc:.0f}x (every BOM validated and evaluated)")
    return lines


def _report_seconds(results: Path, page: Path) -> float:
    """Wall seconds of ``origin-rules report`` on a batch's output, in a child process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from origin_rules.cli import main; main()", "report", str(results),
                    "--html", str(page)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_workers(folder: Path, quick: bool) -> list[str]:
    """One worker against two, one scenario, on shared and on distinct BOMs (wall time)."""
    n, worst = (20_000, 2_000) if quick else (100_000, 5_000)
    src, distinct, out = folder / "workers.jsonl", folder / "workers-distinct.jsonl", folder / "workers.out.jsonl"
    write_jsonl(str(src), n)
    _distinct(distinct, worst)
    lines = [f"batch workers, one scenario (USMCA + China content cap), {os.cpu_count()} CPUs, best round:"]
    for label, path, count in ((f"{n:,} shipments (sample)", src, n), (f"{worst:,} shipments, no two alike", distinct, worst)):
        parse, _ = parse_seconds(path)
        best: dict[int, tuple[float, float, float]] = {}
        loads = []
        for _ in range(1 if quick else 2):
            for workers in (1, 2):
                loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
                wall, _, _, cpu = run_batch(path, out, *QUESTION, "--workers", str(workers))
                best[workers] = min(best.get(workers, (wall, cpu, LAST_MAIN_CPU[0])), (wall, cpu, LAST_MAIN_CPU[0]))
        (w1, c1, _), (w2, c2, m2) = best[1], best[2]
        # what the CPU split allows on an idle machine, whatever the load now: two workers take
        # between the longer of the main process's CPU and half the workers' (all of it
        # overlapping) and the sum of the two (none of it: the start and the rule loading are
        # the main process's alone, its reading and writing overlap the workers)
        low, high = c1 / (m2 + (c2 - m2) / 2), c1 / max(m2, (c2 - m2) / 2)
        lines.append(f"  {label:<32} 1 worker {w1:6.2f} s (CPU {c1:6.2f} s), 2 workers {w2:6.2f} s (CPU {c2:6.2f} s:"
                     f" main {m2:5.2f} s, workers {c2 - m2:5.2f} s): {w1 / w2:4.2f}x faster, {low:4.2f}x-{high:4.2f}x by"
                     f" the CPU split (target >= 1.7x); 2 workers = {w2 / parse:5.1f}x json.loads (target <= 2.5x);"
                     f" load average {min(loads):.1f}-{max(loads):.1f}")
    parse, parse_cpu = parse_seconds(src)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    wall, _, _, cpu = run_batch(src, out, "--workers", "2")
    lines.append(f"  {n:,} shipments, every applicable agreement (7 for MX), 2 workers {wall:6.2f} s (CPU {cpu:6.2f} s:"
                 f" main {LAST_MAIN_CPU[0]:5.2f} s): {wall / parse:5.1f}x json.loads (target <= 4x), CPU"
                 f" {cpu / parse_cpu:5.1f}x json.loads' CPU; load average {load:.1f}")
    src.unlink()
    distinct.unlink()
    return lines


def bench_shares(quick: bool) -> list[str]:
    """Where a worker's time goes, per distinct BOM of the sample (what a worker is sent: the
    main process reuses the results of identical lines), CPU in process, best round, against
    ``json.loads`` of the same lines: reading (validation and the plausibility checks), the
    engine (``book.outcome`` under each name), the whole judging of the batch entries
    (``judge``: the outcome and the warnings, reasons and causes) and the rendering of the
    record. One scenario (USMCA and its China content cap) and every applicable agreement."""
    from datetime import date

    from origin_rules.batch.judge import judge
    from origin_rules.batch.records import Renderer
    from origin_rules.files.boms import jsonl_record
    from origin_rules.rulebook.book import load

    products = 400 if quick else 2_000
    lines = list(dict.fromkeys(json.dumps(product_bom(p, v), separators=(",", ":"))
                               for p in range(products) for v in range(2)))
    book = load([RULES], cache=True)
    on = date.fromisoformat(AS_OF)
    boms = [jsonl_record("bench.jsonl", 2, line).bom for line in lines]
    chosen = {"one scenario": list(QUESTION[1::2]), "every applicable": None}
    renderer = Renderer("jsonl", list(book.names))
    for bom in boms[:50]:  # warm: the rules each good meets are compiled on first use
        judge(book, bom, None, on)

    def outcomes(names):
        return lambda bom: [book.outcome(bom, n, on) for n in (names or book.applicable(bom))]

    contenders = {"json.loads": (lines, json.loads), "reading": (lines, lambda line: jsonl_record("bench.jsonl", 2, line))}
    for label, names in chosen.items():
        contenders[f"{label}: engine"] = (boms, outcomes(names))
        contenders[f"{label}: judge"] = (boms, lambda bom, names=names: judge(book, bom, names, on))
        entries = [judge(book, bom, names, on) for bom in boms]
        contenders[f"{label}: render"] = (list(zip(boms, entries)), lambda pair: renderer.tail(
            pair[0].product.id, pair[0].product.hs, pair[0].product.produced_in, pair[1]))
    best = _best_cpu(contenders, 2 if quick else 3)
    base = best["json.loads"]
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = [f"batch worker's shares, {len(lines):,} distinct 20-material BOMs, CPU in process, best round"
           f" (load average {load_avg:.1f}); per BOM and as a multiple of json.loads:"]
    for name in contenders:
        out.append(f"  {name:<32} {best[name] / len(lines) * 1e6:8.1f} µs  {best[name] / base:6.2f}x")
    for label in chosen:
        whole = best["reading"] + best[f"{label}: judge"] + best[f"{label}: render"]
        out.append(f"  {label}: the engine is {best[f'{label}: engine'] / whole:.0%} of reading + judging + rendering"
                   f" ({whole / base:.1f}x json.loads)")
    return out


def _best_cpu(contenders: dict, rounds: int) -> dict[str, float]:
    """``{name: (items, fn)}`` -> the least CPU time of ``fn`` over all of ``items``, the
    rounds interleaved so that each figure is set against the others of the same moment."""
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, (items, fn) in contenders.items():
            start = time.process_time()
            for item in items:
                fn(item)
            best[name] = min(best[name], time.process_time() - start)
    return best


def bench_reading(quick: bool) -> list[str]:
    """BOM reading + validation, and the whole reading of a record, against json.loads."""
    from origin_rules.files.boms import bom_record, jsonl_record
    from origin_rules.model.bom import bom_from_data, bom_from_json, loads_json

    count = 1_000 if quick else 4_000
    lines = [json.dumps(product_bom(10_000 + i), separators=(",", ":")) for i in range(count)]
    # warm once, as a batch worker is warm after its first records (memoised codes and countries)
    for line in lines:
        bom_record("bench.jsonl", 1, loads_json(line), line=1)

    assert all(bom_from_json(line) is not None for line in lines)  # the fast reader reads every one
    contenders = {
        "json.loads": json.loads,
        "loads_json": loads_json,
        "models": lambda line: bom_from_data(loads_json(line)),
        "models record": lambda line: bom_record("bench.jsonl", 1, loads_json(line), line=1),
        "fast": bom_from_json,
        "fast record": lambda line: jsonl_record("bench.jsonl", 1, line),
    }
    best = _best_cpu({name: (lines, fn) for name, fn in contenders.items()}, 3 if quick else 5)
    base = best["json.loads"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    per = lambda name: f"{best[name] / count * 1e6:6.1f} µs/BOM  {best[name] / base:5.2f}x"  # noqa: E731
    return [
        f"BOM reading, {count:,} distinct 20-material BOMs as JSON lines, CPU in process, best round (load average {load:.1f}):",
        f"  json.loads                                   {per('json.loads')}",
        f"  loads_json (exact numbers)                   {per('loads_json')}",
        f"  reading + validation, the models' way        {per('models')}",
        f"  reading + validation, bom_from_json (fast)   {per('fast')}  (target <= 3x)",
        f"  a batch record (+ plausibility), models      {per('models record')}",
        f"  a batch record (+ plausibility), fast        {per('fast record')}",
    ]


def bench_memory(folder: Path, quick: bool) -> list[str]:
    small, large = (10_000, 100_000) if quick else (100_000, 1_000_000)
    results = {}
    for n in (small, large):
        src = folder / f"memory-{n}.jsonl"
        write_jsonl(str(src), n)
        out = folder / f"memory-{n}.out.jsonl"
        seconds, rss, pss, _ = run_batch(src, out, *QUESTION, pss=True)
        results[n] = (seconds, rss, pss)
        src.unlink()
        out.unlink()
    (s1, r1, p1), (s2, r2, p2) = results[small], results[large]
    return [
        f"batch peak memory, {small:,} vs {large:,} shipments:",
        f"  largest process (maxrss)   {r1 / 1024:7.1f} MiB vs {r2 / 1024:7.1f} MiB  ratio {r2 / r1:4.2f}x (target <= 1.2x)",
        f"  whole tree (peak sum PSS)  {p1 / 1024:7.1f} MiB vs {p2 / 1024:7.1f} MiB  ratio {p2 / max(p1, 1):4.2f}x",
        f"  time {s1:.1f} s vs {s2:.1f} s ({small / s1:,.0f} vs {large / s2:,.0f} records/s)",
    ]


def workers_only(quick: bool = False) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="origin-rules-bench-"))
    try:
        return bench_workers(folder, quick) + bench_shares(quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_record(folder: Path, quick: bool) -> list[str]:
    """``batch --record`` and ``audit replay`` (docs/service.md, Audit store): the sample's
    shipments under every applicable agreement, 2 workers, recorded in a new SQLite store,
    against the same batch without recording; then the store's records replayed under their
    stored rules (whole processes, wall time)."""
    n = 2_000 if quick else 20_000
    src, out, db = folder / "record.jsonl", folder / "record.out.jsonl", folder / "audit.sqlite3"
    write_jsonl(str(src), n)
    plain, _, _, _ = run_batch(src, out, "--workers", "2")
    recorded, rss, _, _ = run_batch(src, out, "--workers", "2", "--record", env={"ORIGIN_RULES_DB": f"sqlite:///{db}"})
    count = _count_records(db)
    start = time.perf_counter()
    replay = subprocess.run([sys.executable, "-c", "from origin_rules.cli import main; main()", "audit", "replay",
                             "--db", str(db)], cwd=ROOT, capture_output=True, text=True)
    replay_seconds = time.perf_counter() - start
    if replay.returncode != 0:
        raise RuntimeError(f"audit replay failed ({replay.returncode}): {replay.stderr[-2000:]}")
    size = db.stat().st_size
    for path in (src, out, db):
        path.unlink(missing_ok=True)
    return [
        f"batch --record, {n:,} shipments, every applicable agreement (7 for MX), 2 workers, a new SQLite store:",
        f"  batch                     {plain:6.2f} s",
        f"  batch --record            {recorded:6.2f} s  ({recorded / plain:4.1f}x the batch): {count:,} determinations,"
        f" {size / 1e6:,.0f} MB, {count / recorded:,.0f} determinations/s; largest process {rss / 1024:,.0f} MiB",
        f"  audit replay of them      {replay_seconds:6.2f} s  ({count / replay_seconds:,.0f} records/s)",
    ]


def _count_records(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as connection:
        return connection.execute("select count(*) from determinations").fetchone()[0]


def record_only(quick: bool = False) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="origin-rules-bench-"))
    try:
        return bench_record(folder, quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(quick: bool = False) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="origin-rules-bench-"))
    try:
        return bench_throughput(folder, quick) + bench_workers(folder, quick) + bench_reading(quick) + bench_memory(folder, quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print("\n".join(main(quick="--quick" in sys.argv)))
