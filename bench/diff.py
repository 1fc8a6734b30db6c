"""Benchmark of `origin-rules diff`: two 1,000-rule rulebooks that differ in one rule.

In: ``quick`` (fewer examples per hunt). Out: lines for the ``make bench`` table: the time to
load both rulebooks, to diff them structurally, and to search the one changed rule for
counterexamples (the acceptance bound is under a minute), with the verdict found.

The rulebooks come from :mod:`bench.generate` (the 8708.30 rule of docs/language.md among
generated rules over real HS codes); the new one raises 8708.30's transaction-value
threshold from 60% to 65%, so the right verdict is ``stricter``.
"""

from __future__ import annotations

import time
from datetime import date

from origin_rules.diff.compare import Side, compare
from origin_rules.rulebook.book import loads

from .generate import rulebook

AS_OF = date(2026, 1, 1)


def books(n_rules: int = 1000):
    """(old, new) rulebooks of ``n_rules`` rules; new raises one threshold."""
    old = rulebook(n_rules)
    new = old.replace("rvc(transaction_value) >= 60%\n", "rvc(transaction_value) >= 65%\n", 1)
    assert new != old
    return loads({"old.roo": old}), loads({"new.roo": new})


def run(n_rules: int = 1000, examples: int = 200, seed: int = 0) -> dict:
    """Time each stage of one diff; returns the figures and the verdict."""
    t0 = time.perf_counter()
    old, new = books(n_rules)
    t1 = time.perf_counter()
    structural = compare(Side(old, "Bench", "old"), Side(new, "Bench", "new"), on=AS_OF, run_search=False)
    t2 = time.perf_counter()
    searched = compare(Side(old, "Bench", "old"), Side(new, "Bench", "new"), on=AS_OF, examples=examples, seed=seed)
    t3 = time.perf_counter()
    return {
        "rules": n_rules, "load": t1 - t0, "structural": t2 - t1, "search": t3 - t2,
        "changes": len(structural.structural.changes), "examples": searched.search.examples,
        "verdict": searched.verdict,
    }


def main(quick: bool = False) -> list[str]:
    r = run(1000, examples=100 if quick else 200)
    return [
        f"diff: load two {r['rules']:,}-rule rulebooks: {r['load']:.2f} s",
        f"diff: structural diff ({r['changes']} change): {r['structural']:.2f} s",
        f"diff: counterexample search ({r['examples']} examples): {r['search']:.2f} s "
        f"(bound: 60 s) -> {r['verdict']}",
    ]


if __name__ == "__main__":
    print("\n".join(main()))
