"""A full determination against the verdict path (issue 14: target <= 4x).

``Rulebook.evaluate`` gives the explained determination (the pydantic model of docs/bom.md, with
the plausibility warnings); ``Rulebook.verdict`` the verdict alone. On bench/evaluation.py's
20-material BOM, in CPU time (``time.process_time``: on a shared machine the wall clock counts
the neighbours too), the best of interleaved rounds, each part as a ratio to the verdict path:

* the explaining evaluation (``Rulebook.outcome``: trace, figures, margins; engine/evaluate.py),
* the model build (``to_determination`` of one outcome, texts made plain),
* the checks (``Rulebook.findings``; ``check_bom`` is remembered per BOM object, so also
  the check itself, as for a BOM not seen before: ``plausibility._check_bom``),
* the full determination, on one BOM object and on 300 distinct BOMs in turn: then no per-BOM
  memo helps either side (the verdict path runs over the same BOMs) and both build the BOM's
  view (engine/view.py) each time, which is most of that verdict's time: a ratio of a
  different case, not the target's.

``--against REF`` (a git revision, e.g. ``main``) runs the verdict and the full determination
through the public API only, in subprocesses, alternately on this tree and on ``git archive
REF``: the before/after of one run.

Run: python -m bench.determination [--quick] [--against REF]; also ``python -m bench --only determination``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import origin_rules
from origin_rules.engine.output import to_determination
from origin_rules.model.plausibility import _check_bom

from .evaluation import AS_OF
from .generate import bom, rulebook

ROOT = Path(__file__).resolve().parent.parent


def _cpu_per_call(fn, args: list, repeat: int) -> float:
    """CPU seconds per call of ``fn`` over ``args`` in turn, ``repeat`` calls."""
    count = len(args)
    start = time.process_time()
    for i in range(repeat):
        fn(args[i % count])
    return (time.process_time() - start) / repeat


def best_rounds(contenders: dict[str, tuple], repeat: int, rounds: int) -> dict[str, float]:
    """The best round of each contender (``name: (fn, args)``), the rounds interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (fn, args) in contenders.items():
            samples[name].append(_cpu_per_call(fn, args, repeat))
    return {name: min(s) for name, s in samples.items()}


def breakdown(quick: bool) -> dict[str, float]:
    """CPU seconds per call of each part (see the module's docstring), the engine's rule traces
    not kept between calls (``unshared``: one BOM object is evaluated again and again)."""
    from .evaluation import unshared

    with unshared():
        return _breakdown(quick)


def _breakdown(quick: bool) -> dict[str, float]:
    book = origin_rules.loads({"bench.roo": rulebook(10)})
    one = bom(20)
    many = [bom(20, seed=seed) for seed in range(300)]
    out = book.outcome(one, "Bench", AS_OF)
    assert to_determination(out, plain=True) == book.evaluate(one, "Bench", AS_OF)  # no warnings on this BOM
    repeat, rounds = (300, 5) if quick else (1000, 15)
    return best_rounds({
        "verdict": (lambda b: book.verdict(b, "Bench", AS_OF), [one]),
        "explaining evaluation": (lambda b: book.outcome(b, "Bench", AS_OF), [one]),
        "model build": (lambda o: to_determination(o, plain=True), [out]),
        "checks": (lambda b: book.findings(b, "Bench"), [one]),
        "check_bom, BOM not seen before": (lambda b: _check_bom(b, True), [one]),
        "full determination": (lambda b: book.evaluate(b, "Bench", AS_OF), [one]),
        "verdict, 300 BOMs": (lambda b: book.verdict(b, "Bench", AS_OF), many),
        "full determination, 300 BOMs": (lambda b: book.evaluate(b, "Bench", AS_OF), many),
    }, repeat, rounds)


def lines_of(t: dict[str, float]) -> list[str]:
    verdict = t["verdict"]
    lines = ["full determination vs the verdict path, 20-material BOM (CPU time, best round, per call):"]
    for name, sec in t.items():
        base = t["verdict, 300 BOMs"] if name.endswith("300 BOMs") else verdict
        lines.append(f"  {name:<31} {sec * 1e6:8.1f} µs  {sec / base:6.1f}x the verdict")
    parts = t["explaining evaluation"] + t["model build"] + t["checks"]
    lines.append(f"  full / verdict: {t['full determination'] / verdict:.1f}x on one BOM object (target <= 4x), "
                 f"{t['full determination, 300 BOMs'] / t['verdict, 300 BOMs']:.1f}x over 300 BOMs (each view built anew); "
                 f"the parts add up to {parts / t['full determination']:.0%} of the full determination")
    return lines


#: The measure ``--against`` runs in each tree: the public API and bench/generate.py only.
_SCRIPT = """
import json, sys, time
import origin_rules
from datetime import date
from bench.generate import bom, rulebook
book = origin_rules.loads({"bench.roo": rulebook(10)})
b, on = bom(20), date(2026, 1, 1)
repeat, rounds = int(sys.argv[1]), int(sys.argv[2])
best = {}
for _ in range(rounds):
    for name, fn in (("verdict", book.verdict), ("full", book.evaluate)):
        start = time.process_time()
        for _ in range(repeat):
            fn(b, "Bench", on)
        best[name] = min(best.get(name, 1e9), (time.process_time() - start) / repeat)
print(json.dumps({**best, "tree": origin_rules.__file__}))
"""


def against(ref: str, quick: bool) -> list[str]:
    """This tree against ``git archive ref``, subprocesses alternating, the best of each."""
    repeat, rounds, runs = (200, 3, 2) if quick else (500, 5, 4)
    with tempfile.TemporaryDirectory(prefix="bench-determination-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {ref: Path(tmp), "this tree": ROOT}
        best: dict[str, dict[str, float]] = {name: {} for name in trees}
        for _ in range(runs):
            for name, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": str(tree)}
                done = subprocess.run([sys.executable, "-c", _SCRIPT, str(repeat), str(rounds)], cwd=tree, env=env,
                                      check=True, capture_output=True, text=True)
                found = json.loads(done.stdout.strip().splitlines()[-1])
                assert found["tree"].startswith(str(tree)), (found["tree"], tree)  # not the installed package
                for key in ("verdict", "full"):
                    best[name][key] = min(best[name].get(key, 1e9), found[key])
    lines = [f"full determination, this tree against {ref} (subprocesses alternating, CPU time, best of each):"]
    for name, t in best.items():
        lines.append(f"  {name:<10} verdict {t['verdict'] * 1e6:7.1f} µs, full determination {t['full'] * 1e6:7.1f} µs: "
                     f"{t['full'] / t['verdict']:.1f}x")
    lines.append(f"  full determination: {best[ref]['full'] / best['this tree']['full']:.2f}x faster than {ref}")
    return lines


def main(quick: bool = False, ref: str | None = None) -> list[str]:
    lines = lines_of(breakdown(quick))
    return lines + (against(ref, quick) if ref else [])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.determination", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--against", metavar="REF", help="also measure this tree against a git revision (e.g. main)")
    args = parser.parse_args()
    for line in main(args.quick, args.against):
        print(line)
