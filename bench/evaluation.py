"""The benchmarks themselves; see bench/__main__.py for what is measured and why.

Each comparison runs its contenders in many short interleaved rounds in one process and
reports the best (least disturbed) round of each, and their ratio: on a shared machine the
minimum is the most repeatable estimate of the cost itself. Times are CPU time
(``time.process_time``): the process's own work, not the neighbours'.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import origin_rules
from origin_rules.model.bom import BOM
from origin_rules.rulebook.sources import parse_texts

from origin_rules.engine import evaluate as engine
from origin_rules.engine.output import to_determination

from .generate import bom, rulebook

AS_OF = date(2026, 1, 1)
PARTIES = frozenset({"US", "MX", "CA"})


def hand_written(b: BOM) -> tuple[str, Decimal, Decimal | None, Decimal | None]:
    """docs/language.md's 8708.30 rule plus the China-content require, written by hand.

    Returns (verdict, vnm, rvc_tv, rvc_nc); the engine must agree (checked before timing)."""
    p = b.product
    if p.produced_in not in PARTIES:
        return "does_not_qualify", Decimal(0), None, None
    tv, nc = p.transaction_value, p.net_cost
    own_heading, own_sub = p.hs[:5], p.hs
    vnm = Decimal(0)
    china = Decimal(0)
    fail_cth = Decimal(0)
    fail_ctsh = Decimal(0)
    all_orig = True
    for m in b.materials:
        if m.originating:
            continue
        all_orig = False
        vnm += m.value
        if m.origin == "CN":
            china += m.value
        if m.hs[:5] == own_heading:
            fail_cth += m.value
        if m.hs == own_sub:
            fail_ctsh += m.value
    require = china * 10 <= tv
    if all_orig:
        return ("qualifies" if require else "does_not_qualify"), vnm, None, None
    limit = tv / 10
    cth = fail_cth <= limit
    ctsh = fail_ctsh <= limit
    rvc_tv = (tv - vnm) * 100 / tv
    rvc_nc = (nc - vnm) * 100 / nc
    psr = cth or (ctsh and rvc_tv >= 60) or (ctsh and rvc_nc >= 50)
    return ("qualifies" if psr and require else "does_not_qualify"), vnm, rvc_tv, rvc_nc


def _per_call(fn, arg, repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn(arg)
    return (time.process_time() - start) / repeat


def compare(contenders: dict, arg_of: dict, repeat: int, rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(_per_call(fn, arg_of[name], repeat))
    return {name: min(s) for name, s in samples.items()}


def bench_check(quick: bool) -> list[str]:
    """Parse + check of 5,000 rules; beside it, in the same rounds, the same with Lark's own
    lexer and parser loop (the parser's fast loop off) and Python's ``compile`` of a Python
    text of the same size, a floor no parser written in Python gets under. CPU time (one
    thread: the wall time of an idle machine), the best round of each."""
    from origin_rules.syntax import parser

    text = rulebook(5000)
    python = "\n".join(f"x{i} = ({i} + {i} * 2, [{i}, 'a'], {{'k': {i}}})" for i in range(len(text) // 40))
    fast_loop = parser._fast

    def lark_only() -> object:
        parser._fast = lambda: None
        try:
            return parse_texts({"bench-5000.roo": text})
        finally:
            parser._fast = fast_loop

    times: dict[str, list[float]] = {"parse + check": [], "with Lark's loop": [], "compile": []}
    parse_texts({"bench-warm.roo": rulebook(10)})
    for _ in range(1 if quick else 3):
        for name, run in (("parse + check", lambda: parse_texts({"bench-5000.roo": text})), ("with Lark's loop", lark_only),
                          ("compile", lambda: compile(python, "bench.py", "exec"))):
            start = time.process_time()
            result = run()
            times[name].append(time.process_time() - start)
            if name == "parse + check":
                errors = [d for d in result.diagnostics if d.is_error]
            del result  # a rulebook of an earlier round kept alive lengthens the collector's passes in the next
    best = {name: min(t) for name, t in times.items()}
    ours, lark, python_compile = best["parse + check"], best["with Lark's loop"], best["compile"]
    return [
        f"parse + check, 5,000 rules ({len(text) // 1024} KiB): {ours:.2f} s CPU (target <= 0.5 s; {len(errors)} errors);"
        f" with Lark's own loop {lark:.2f} s ({lark / ours:.2f}x);"
        f" {ours / python_compile:.1f}x Python's compile of {len(python) // 1024} KiB of Python",
    ]


@contextmanager
def unshared():
    """The engine without its rule traces kept for the last good (engine/evaluate.py,
    ``_rule_traces``): a bench that evaluates one BOM object again and again would otherwise
    time the reuse of its traces, not the evaluation. Timed on their own where it says so."""
    previous = engine.SHARE_RULE_TRACES
    engine.SHARE_RULE_TRACES = False
    try:
        yield
    finally:
        engine.SHARE_RULE_TRACES = previous


def bench_engine(quick: bool) -> list[str]:
    book = origin_rules.loads({"bench.roo": rulebook(10)})
    b20 = bom(20)  # Chinese content over 10%: the requirement fails (decided before the rule)
    with unshared():
        lines = _bench_engine(quick, book, b20)
    repeat, rounds = (100, 10) if quick else (200, 40)
    t = compare({"reused": lambda b: book.outcome(b, "Bench", AS_OF)}, {"reused": b20}, repeat, rounds)
    lines.append(f"  explained again on the same BOM object, its rule traces reused (as a scenario inheriting the"
                 f" rule takes them): {t['reused'] * 1e6:.1f} µs")
    return lines


def _bench_engine(quick: bool, book, b20) -> list[str]:
    lines = []
    r20 = bom(20, china=False)  # no Chinese content: the rule itself decides
    verdict_run = lambda b: book.verdict(b, "Bench", AS_OF)  # noqa: E731
    plan_run = lambda b: book.outcome(b, "Bench", AS_OF)  # noqa: E731
    full_run = lambda b: book.evaluate(b, "Bench", AS_OF)  # noqa: E731
    # agree before timing
    for seed in range(30):
        for b in (bom(20, seed=seed), bom(20, seed=seed, china=False)):
            verdict, vnm, _, _ = hand_written(b)
            out = book.outcome(b, "Bench", AS_OF)
            assert out.verdict == verdict, (seed, out.verdict, verdict)
            assert out.figures["vnm"] == vnm
            assert book.verdict(b, "Bench", AS_OF) == verdict
    repeat, rounds = (100, 10) if quick else (200, 40)
    t = compare(
        {"hand-written": hand_written, "compiled plan: verdict": verdict_run,
         "hand-written, rule decides": hand_written, "verdict, rule decides": verdict_run,
         "compiled plan: explained": plan_run, "explained + Determination": full_run},
        {"hand-written": b20, "compiled plan: verdict": b20, "hand-written, rule decides": r20,
         "verdict, rule decides": r20, "compiled plan: explained": b20, "explained + Determination": b20},
        repeat, rounds,
    )
    base = t["hand-written"]
    lines.append("20-material BOM, 8708.30 rule + China-content require (CPU time, best round, per evaluation):")
    for name, sec in t.items():
        lines.append(f"  {name:<27} {sec * 1e6:8.1f} µs  {1 / sec:10.0f}/s  ratio {sec / base:5.2f}x")
    verdict_ratio = t["compiled plan: verdict"] / base
    rule_ratio = t["verdict, rule decides"] / t["hand-written, rule decides"]
    lines.append(f"  verdict path / hand-written: {verdict_ratio:.2f}x (requirement fails), "
                 f"{rule_ratio:.2f}x (the rule decides); target <= 1.5x")
    lines.append(f"  full determination / verdict path: {t['explained + Determination'] / t['compiled plan: verdict']:.1f}x"
                 f" (target <= 4x); explained outcome / verdict path: "
                 f"{t['compiled plan: explained'] / t['compiled plan: verdict']:.1f}x")
    lines.append("  'explained' also builds the explanation tree, figures and headroom; '+ Determination' the")
    lines.append("  JSON model (pydantic), the plausibility findings and plain texts")
    from .determination import best_rounds  # (it imports this module)

    parts = best_rounds({
        "explaining evaluation": (plan_run, [b20]),
        "model build": (lambda o: to_determination(o, plain=True), [book.outcome(b20, "Bench", AS_OF)]),
        "checks": (lambda b: book.findings(b, "Bench"), [b20]),
    }, repeat, rounds)
    verdict = t["compiled plan: verdict"]
    lines.append("  the full determination's parts / verdict path: "
                 + ", ".join(f"{name} {sec / verdict:.1f}x" for name, sec in parts.items())
                 + " (bench/determination.py: python -m bench --only determination)")

    big = origin_rules.loads({"bench-10000.roo": rulebook(10_000)})
    t = compare(
        {"10 rules": verdict_run, "10,000 rules": lambda b: big.verdict(b, "Bench", AS_OF)},
        {"10 rules": r20, "10,000 rules": r20},
        repeat, rounds,
    )
    lines.append(
        f"rulebook size (the rule decides): 10 rules {t['10 rules'] * 1e6:.1f} µs, 10,000 rules {t['10,000 rules'] * 1e6:.1f} µs"
        f"  ratio {t['10,000 rules'] / t['10 rules']:.2f}x (target <= 1.1x)"
    )
    b10, b1000 = bom(10, china=False), bom(1000, china=False)
    t = compare({"10": verdict_run, "1000": verdict_run}, {"10": b10, "1000": b1000}, max(repeat // 20, 20), rounds)
    lines.append(
        f"BOM size (the rule decides): 10 materials {t['10'] * 1e6:.1f} µs, 1,000 materials {t['1000'] * 1e6:.1f} µs"
        f"  ratio {t['1000'] / t['10']:.1f}x for 100x materials (linear: about 100x or less)"
    )
    return lines


def main(quick: bool = False, parts: frozenset[str] = frozenset({"check", "engine"})) -> None:
    print("origin-rules benchmarks" + (" (quick)" if quick else ""))
    for line in (bench_check(quick) if "check" in parts else []) + (bench_engine(quick) if "engine" in parts else []):
        print(line)
