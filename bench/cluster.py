"""Cluster and Parquet benchmarks: a Dask LocalCluster against the local batch, in one run.

1. Throughput: ``origin-rules batch`` (the real CLI in a child process) on the same
   generated JSON Lines shipments (``origin_rules.batch.sample``), with 1 and 2 local
   worker processes and on a Dask LocalCluster of 1 and 2 workers (``--cluster local:N``:
   a scheduler and N worker processes started by the run, their start-up included). The
   ratios are records/s of the cluster against the local batch with as many workers, and
   2 workers against 1.
2. Parquet all the way: shipments as a nested Parquet table (a row per BOM; shipments
   repeat their products' BOMs as exports do) -> ``batch --out results.parquet`` ->
   ``report``: peak memory of the largest process and of the whole process tree for N and
   10 x N shipments (target: within 1.2x: memory stays flat), and records/s; and the flat
   layout (a row per material) on shipments no two alike, every one read, validated and
   evaluated.

Run alone: ``python -m bench --only cluster [--quick]``. ``quick``: 4,000 records for
throughput, 10,000 vs 100,000 for memory; otherwise 20,000, and 100,000 vs 1,000,000.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from origin_rules.batch.sample import product_bom, shipments, write_jsonl

from .batch import AS_OF, ROOT, RULES, run_batch

__all__ = ["main"]

UNDER = ("--under", "USMCA")


def write_parquet_shipments(path: Path, n: int) -> None:
    """``n`` shipments in the flat layout, one row per material; shipment i has product id
    ``S{i}`` (its product's BOM otherwise), written a few thousand shipments at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    product_fields = ("hs", "produced_in", "currency", "transaction_value", "net_cost", "end_use")
    material_fields = ("id", "hs", "origin", "originating", "value")
    names = ["product.id", *(f"product.{f}" for f in product_fields), *(f"material.{f}" for f in material_fields)]
    schema = pa.schema([(name, pa.bool_() if name == "material.originating" else pa.string()) for name in names])
    cache: dict[tuple[int, int], list[list]] = {}
    columns: list[list] = [[] for _ in names]
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for index, key in enumerate(shipments(n)):
            rows = cache.get(key)
            if rows is None:
                bom = product_bom(*key)
                product = [bom["product"].get(f) for f in product_fields]
                rows = cache[key] = [product + [m[f] for f in material_fields] for m in bom["materials"]]
            sid = f"S{index:07d}"
            for row in rows:
                columns[0].append(sid)
                for i, value in enumerate(row, 1):
                    columns[i].append(value)
            if len(columns[0]) >= 100_000:
                writer.write_batch(pa.record_batch(columns, schema=schema))
                columns = [[] for _ in names]
        if columns[0]:
            writer.write_batch(pa.record_batch(columns, schema=schema))


def _measured(args: list[str]) -> tuple[float, int, int]:
    """Seconds, peak RSS of the largest process (KiB) and peak PSS of the whole process tree
    (KiB, sampled every 50 ms) of a command run from the repository's root."""
    import os
    import subprocess
    import threading
    import time

    from .batch import _pss_kib, _tree

    start = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], sum(_pss_kib(p) for p in _tree(child.pid)))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    stop.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        raise RuntimeError(f"{args[3:5]} failed: {stderr.decode()[-2000:]}")
    return time.perf_counter() - start, usage.ru_maxrss, peak[0]


def _cli(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-c", "from origin_rules.cli import main; main()", *args]


def _generate(kind: str, path: Path, n: int) -> None:
    """Write the input in a child process: a forked child inherits its parent's peak memory
    (ru_maxrss), so the benchmark's own process must stay small for the figures to be the
    batch's."""
    import subprocess
    import sys

    code = f"from bench.cluster import {kind}; from pathlib import Path; {kind}(Path({str(path)!r}), {n})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def bench_throughput(folder: Path, quick: bool) -> list[str]:
    n = 4_000 if quick else 20_000
    src = folder / "shipments.jsonl"
    write_jsonl(str(src), n)
    rows = []
    for label, extra in (("local batch, 1 worker", ("-j", "1")), ("local batch, 2 workers", ("-j", "2")),
                         ("Dask LocalCluster, 1 worker", ("--cluster", "local:1")),
                         ("Dask LocalCluster, 2 workers", ("--cluster", "local:2"))):
        out = folder / f"out-{len(rows)}.jsonl"
        seconds, _, _, cpu = run_batch(src, out, *UNDER, *extra)
        rows.append((label, seconds, cpu, out))
    same = all(r[3].read_bytes() == rows[0][3].read_bytes() for r in rows)
    lines = [f"cluster throughput: {n:,} shipments (JSON Lines, USMCA), end to end from the shell, one run:"]
    for label, seconds, cpu, _ in rows:
        lines.append(f"  {label:30} {seconds:7.2f} s {n / seconds:9,.0f} records/s   CPU {cpu:6.2f} s")
    local1, local2, dask1, dask2 = (r[1] for r in rows)
    lines.append(f"  ratios: 2 workers vs 1: local {local1 / local2:.2f}x, cluster {dask1 / dask2:.2f}x; "
                 f"cluster vs local with as many workers: {local1 / dask1:.2f}x (1), {local2 / dask2:.2f}x (2)")
    lines.append(f"  outputs byte-identical across the four runs: {'yes' if same else 'NO'}")
    return lines


def write_nested_shipments(path: Path, n: int) -> None:
    """``n`` shipments in the nested layout (a row per BOM), repeating their products' BOMs
    as exports do: the JSON Lines sample read by pyarrow's JSON reader."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    lines = path.with_suffix(".jsonl")
    write_jsonl(str(lines), n)
    pq.write_table(pj.read_json(lines), path, compression="zstd")
    lines.unlink()


def bench_parquet(folder: Path, quick: bool) -> list[str]:
    small, large = (10_000, 100_000) if quick else (100_000, 1_000_000)
    lines = [f"Parquet in -> Parquet out -> report, {small:,} vs {large:,} shipments (nested layout, shipments "
             "repeat their products' BOMs; USMCA, 2 workers):"]
    measured = []
    for n in (small, large):
        src = folder / f"shipments-{n}.parquet"
        _generate("write_nested_shipments", src, n)
        out = folder / f"results-{n}.parquet"
        seconds, rss, pss = _measured(_cli("batch", str(src), "--rules", RULES, "--as-of", AS_OF, "--out", str(out),
                                           *UNDER, "-j", "2"))
        r_seconds, r_rss, r_pss = _measured(_cli("report", str(out), "--html", str(folder / f"report-{n}.html")))
        measured.append((rss, pss, r_rss))
        lines.append(f"  {n:>9,}: batch {seconds:7.2f} s ({n / seconds:,.0f} records/s), largest process "
                     f"{rss / 1024:6.1f} MiB, whole tree {pss / 1024:6.1f} MiB; report {r_seconds:6.2f} s, "
                     f"{r_rss / 1024:6.1f} MiB")
        src.unlink()
    (rss1, pss1, rrss1), (rss2, pss2, rrss2) = measured
    lines.append(f"  memory ratio 10x records: batch largest process {rss2 / rss1:.2f}x, whole tree "
                 f"{pss2 / max(pss1, 1):.2f}x, report {rrss2 / rrss1:.2f}x (target <= 1.2x)")
    n = 2_000
    src = folder / "distinct.parquet"
    _generate("write_parquet_shipments", src, n)
    seconds, rss, _, cpu = run_batch(src, folder / "distinct-results.parquet", *UNDER, "-j", "2")
    lines.append(f"  flat layout, {n:,} shipments no two alike (each read, validated, evaluated): {seconds:.2f} s, "
                 f"{n / seconds:,.0f} records/s, CPU {cpu:.2f} s, largest process {rss / 1024:.1f} MiB")
    return lines


def main(quick: bool = False) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="origin-rules-bench-cluster-") as tmp:
        folder = Path(tmp)
        return bench_throughput(folder, quick) + bench_parquet(folder, quick)


if __name__ == "__main__":
    print("\n".join(main(quick=True)))
