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
6. Requests/s and p50/p99 latency of POST /evaluate over HTTP (bench/service.py; alone:
   python -m bench.service [--quick] [--requests N] [--concurrency C] [--runs R]).

Run: python -m bench [--quick]
"""

from __future__ import annotations

import sys

from . import batch, diff, evaluation, service

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    evaluation.main(quick=quick)
    for line in diff.main(quick):
        print(line)
    for line in batch.main(quick):
        print(line)
    for line in service.main(quick):
        print(line)
