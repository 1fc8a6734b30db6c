"""Benchmark of `origin-rules diff --prove` on the shipped USMCA rulebook.

In: ``quick`` (fewer rules), ``n`` (rules sampled), ``seed``. Out: lines for the ``make bench``
table: for N RVC thresholds of shipped USMCA rules (sampled with a seeded random generator
among every ``rvc(...) >= P%`` of the section files), the threshold is raised by 5 points in
a copy of the rulebook and the two versions are proven against each other (z3, 8
materials); the time of each proof (the structural diff and the encoding included, the
loading of the rulebooks not) as the maximum and the median, and the answers. The acceptance
bound is 10 s for each. Alone: ``python -m bench.prove [--n N] [--seed S]``.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

from origin_rules.diff.compare import Side, compare
from origin_rules.rulebook.book import loads

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "usmca"
AS_OF = date(2026, 7, 1)
THRESHOLD = re.compile(r"rvc\([^)]*\) >= (\d+(?:\.\d+)?)%")


def _texts() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted(RULES.glob("*.roo"))}


def sites(texts: dict[str, str]) -> list[tuple[str, int, str]]:
    """Every RVC threshold of a product-specific rule: (file, offset, percent)."""
    return [(name, m.start(1), m.group(1)) for name, text in texts.items() if "section-" in name
            for m in THRESHOLD.finditer(text)]


def run(n: int = 20, seed: int = 0) -> dict:
    texts = _texts()
    old = loads(texts)
    chosen = random.Random(seed).sample(sites(texts), n)
    times, answers = [], Counter()
    for name, at, percent in chosen:
        raised = min(Decimal(percent) + 5, Decimal(100))
        text = texts[name]
        edited = {**texts, name: text[:at] + f"{raised}" + text[at + len(percent):]}
        new = loads(edited)
        t0 = time.perf_counter()
        result = compare(Side(old, "USMCA", "old"), Side(new, "USMCA", "new"), on=AS_OF, run_search=False,
                         run_proof=True, timeout=60)
        times.append(time.perf_counter() - t0)
        answers[result.verdict] += 1
    return {"n": n, "max": max(times), "median": statistics.median(times), "answers": dict(answers)}


def main(quick: bool = False) -> list[str]:
    r = run(5 if quick else 20)
    answers = ", ".join(f"{k} {v}" for k, v in sorted(r["answers"].items()))
    return [f"prove: a threshold raised on {r['n']} sampled USMCA rules, each proven against the original: "
            f"max {r['max']:.2f} s, median {r['median']:.2f} s (bound: 10 s) -> {answers}"]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.prove", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    r = run(args.n, args.seed)
    print(f"{r['n']} rules: max {r['max']:.2f} s, median {r['median']:.2f} s, answers {r['answers']}")
