"""`make bench`: measured ratios, printed as a table (absolute times are noisy here).

1. Parse and check a generated rulebook of 5,000 rules (time; aim: under one second).
2. Evaluations per second of the compiled plan against a hand-written Python function
   implementing the same rule (docs/language.md's 8708.30 rule plus a China-content `require`)
   over the same 20-material BOM objects, measured in one run; the ratio is what counts.
3. How time per evaluation grows with the rulebook (10 vs 10,000 rules) and with the BOM
   (10 vs 1,000 materials).
4. The semantic diff of two 1,000-rule rulebooks differing in one rule (bench/diff.py).
5. Batch throughput against parsing the same JSON Lines with `json`, and peak memory for
   100,000 vs 1,000,000 records (bench/batch.py; --quick: 10,000 vs 100,000).
6. The command line as a user meets it (bench/cli.py): whole processes, median of 5 runs,
   of `--help` and of `evaluate` against the whole shipped rulebook with the rulebook cache
   warm and cold; and loading the shipped rulebook from the cache against parsing it.
7. Requests/s and p50/p99 latency of POST /evaluate over HTTP (bench/service.py; alone:
   python -m bench.service [--quick] [--requests N] [--concurrency C] [--runs R]).
8. The language server: diagnostics after an edit of a 2,000-line file, over stdio and in
   process (bench/lsp.py; alone: python -m bench.lsp [--edits N]).

Run: python -m bench [--quick] [--only check,engine,diff,batch,cli,service,lsp] (docs/performance.md)
"""

from __future__ import annotations

import sys

from . import batch, cli, diff, evaluation, lsp, service

PARTS = ("check", "engine", "diff", "batch", "cli", "service", "lsp")


def _parts(argv: list[str]) -> frozenset[str]:
    if "--only" not in argv or argv.index("--only") + 1 >= len(argv):
        return frozenset(PARTS)
    chosen = frozenset(argv[argv.index("--only") + 1].split(","))
    unknown = chosen - set(PARTS)
    if unknown:
        raise SystemExit(f"--only: unknown part(s) {', '.join(sorted(unknown))}; parts: {', '.join(PARTS)}")
    return chosen


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    parts = _parts(sys.argv)
    if parts & {"check", "engine"}:
        evaluation.main(quick=quick, parts=parts)
    if "diff" in parts:
        for line in diff.main(quick):
            print(line)
    if "batch" in parts:
        for line in batch.main(quick):
            print(line)
    if "cli" in parts:
        for line in cli.main(quick):
            print(line)
    if "service" in parts:
        for line in service.main(quick):
            print(line)
    if "lsp" in parts:
        for line in lsp.main(quick):
            print(line)
