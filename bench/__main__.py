"""`make bench`: measured ratios, printed as a table (absolute times are noisy here).

1. Parse and check a generated rulebook of 5,000 rules (time; aim: under one second).
2. Evaluations per second of the compiled plan against a hand-written Python function
   implementing the same rule (docs/language.md's 8708.30 rule plus a China-content `require`)
   over the same 20-material BOM objects, measured in one run; the ratio is what counts.
3. How time per evaluation grows with the rulebook (10 vs 10,000 rules) and with the BOM
   (10 vs 1,000 materials).
4. The semantic diff of two 1,000-rule rulebooks differing in one rule (bench/diff.py).
5. Batch throughput against parsing the same JSON Lines with `json`, one worker against
   two, BOM reading + validation against `json.loads`, and peak memory for 100,000 vs
   1,000,000 records (bench/batch.py; --quick: 10,000 vs 100,000). `--only read` or
   `--only workers` runs one of those parts alone.
6. The command line as a user meets it (bench/cli.py): whole processes, median of 5 runs,
   of `--help` and of `evaluate` against the whole shipped rulebook with the rulebook cache
   warm and cold; and loading the shipped rulebook from the cache against parsing it.
7. Batch on a Dask LocalCluster against the local batch, and Parquet in -> Parquet out ->
   report with its memory for N and 10 x N shipments (bench/cluster.py).
8. Requests/s and p50/p99 latency of POST /evaluate over HTTP (bench/service.py; alone:
   python -m bench.service [--quick] [--requests N] [--concurrency C] [--runs R]).
9. The language server: diagnostics after an edit of a 2,000-line file, over stdio and in
   process (bench/lsp.py; alone: python -m bench.lsp [--edits N]).
10. `diff --prove`: a threshold raised on each of 20 sampled shipped USMCA rules, each proven
   against the original with z3; max and median seconds (bench/prove.py; alone: python -m
   bench.prove [--n N]).

11. A full determination against the verdict path, part by part (bench/determination.py; alone:
   python -m bench.determination [--quick] [--against REF]).
12. `batch --record` against the same batch, and `audit replay` of what it recorded
   (bench/batch.py, bench_record; --quick: 2,000 shipments, else 20,000).

Run: python -m bench [--quick] [--only check,engine,diff,batch,read,workers,cluster,cli,service,lsp,prove,determination,record] (docs/performance.md)
"""

from __future__ import annotations

import sys

from . import batch, cli, cluster, determination, diff, evaluation, lsp, prove, service

PARTS = ("check", "engine", "diff", "batch", "read", "workers", "cluster", "cli", "service", "lsp", "prove", "determination",
         "record")


def _arguments(argv: list[str]):
    """The options: ``--help`` prints what each part measures and runs nothing."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0],
        epilog="Parts: " + ", ".join(PARTS) + ". Figures and how to read them: docs/performance.md.")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller inputs (a smoke run)")
    parser.add_argument("--only", metavar="PARTS", default=",".join(PARTS),
                        help="comma-separated parts to run (default: all)")
    args = parser.parse_args(argv)
    chosen = frozenset(p for p in args.only.split(",") if p)
    unknown = chosen - set(PARTS)
    if unknown or not chosen:
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown)) or '(none given)'}; parts: {', '.join(PARTS)}")
    return args.quick, chosen


if __name__ == "__main__":
    quick, parts = _arguments(sys.argv[1:])
    if parts & {"check", "engine"}:
        evaluation.main(quick=quick, parts=parts)
    if "batch" not in parts:  # `read` and `workers` are part of `batch`
        parts = parts | ({"read_only"} if "read" in parts else set()) | ({"workers_only"} if "workers" in parts else set())
    # each part's lines, in this order
    for part, lines in (("diff", diff.main), ("batch", batch.main), ("read_only", batch.bench_reading),
                        ("workers_only", batch.workers_only), ("cluster", cluster.main), ("cli", cli.main),
                        ("service", service.main), ("lsp", lsp.main), ("prove", prove.main),
                        ("determination", determination.main), ("record", batch.record_only)):
        if part in parts:
            for line in lines(quick):
                print(line)
