"""RVC and MaxNOM criteria: ``rvc(method[, basis][, HS-SET]) >= N%``, ``max_nom(basis) <= N%``.

In: a comparison node whose measure is :class:`~origin_rules.ast.Rvc` or
:class:`~origin_rules.ast.MaxNom`. Out: a criterion closure. The comparison is exact and
unrounded, by cross-multiplication in Decimal arithmetic (``(TV - VNM) x 100 >= t x TV``);
the trace records the figures used, and a :class:`~origin_rules.engine.trace.Margin` says
how much more non-originating value would flip the outcome (the boundary amount: going
beyond it flips a holding criterion; for a failing one, the reduction that would meet it).

  transaction_value   (TV - VNM) / TV x 100          net_cost   (NC - VNM) / NC x 100
  build_down, B       (B - VNM) / B x 100            build_up, B   VOM / B x 100
  focused_value, B, S (B - VNM of materials in S) / B x 100
  max_nom(B)          VNM / B x 100 (a ceiling)
"""

from __future__ import annotations

from decimal import Decimal

from .. import ast
from . import measures as M
from .trace import Margin, Trace

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def compile_percentage(compiler, node: ast.Comparison, text: str, source: str | None):
    from .criteria import covers3

    measure = node.measure
    op = node.op
    threshold = node.share.value
    layer = compiler.layer
    if isinstance(measure, ast.MaxNom):
        method, basis, focus, name = "max_nom", measure.basis, None, f"max_nom_{measure.basis}"
    else:
        method = measure.method
        basis = measure.basis or (method if method in ("transaction_value", "net_cost") else "fob")
        focus = compiler.hs(measure.focus)
        name = f"rvc_{method}" if method in ("transaction_value", "net_cost") else f"rvc_{method}_{basis}"
    key = "vom" if method == "build_up" else ("fvnm" if focus is not None else "vnm")
    direct = method in ("max_nom", "build_up")  # the percentage is amount / whole, not (whole - amount) / whole

    def amount_of(run, good, missing):
        if method == "build_up":
            return M.vom(good)
        if focus is None:
            return run.vnm()
        focused = []
        for p in good.parts:
            if p.originating:
                continue
            inside = covers3(focus, p.hs) if p.hs is not None else None
            if inside is None:
                missing.append(f"{p.path}.hs")
            if inside is not False:
                focused.append(p)
        return M.vnm(good, tuple(focused))

    def run_fn(run) -> Trace:
        good = run.good
        t = Trace(None, text, source, layer)
        whole, missing = M.figure(good, basis)
        amount, more = amount_of(run, good, missing)
        missing += more
        if whole is not None:
            t.figures[basis] = whole
        if amount is not None:
            t.figures[key] = amount
            run.figures.setdefault(key, amount)
        if whole is not None and whole == 0:
            t.note = f"`{good.figure_path(basis)}` is zero"
            missing.append(good.figure_path(basis))
            whole = None
        t.materials = tuple(p.id for p in good.parts if not p.originating)
        if whole is None or amount is None:
            t.missing = missing
            return t
        numerator = amount if direct else whole - amount
        diff = numerator * HUNDRED - threshold * whole  # sign of (percentage - threshold), exact
        if op == ">=":
            t.result = diff >= 0
        elif op == "<=":
            t.result = diff <= 0
        elif op == ">":
            t.result = diff > 0
        else:
            t.result = diff < 0
        shown = M.show(numerator, whole, threshold)
        t.figures[name] = shown
        run.figures.setdefault(basis, whole)
        run.figures.setdefault(name, shown)
        # The boundary amount of non-originating value: VNM may grow by `flip` and still meet a
        # floor on (whole - VNM) / whole, or a ceiling on VNM / whole. Not defined for build-up.
        if method == "build_up" or (op in ("<=", "<") and method != "max_nom") or (op in (">=", ">") and method == "max_nom"):
            flip = None
        elif method == "max_nom":
            flip = whole * threshold / HUNDRED - amount
        else:
            flip = whole * (HUNDRED - threshold) / HUNDRED - amount
        room = diff if op in (">=", ">") else -diff
        margin = M.show(room, whole * HUNDRED, ZERO) if room else Decimal("0.00")
        t.margin = Margin(text, source, name, shown, threshold, op, margin, flip, bool(t.result), "%")
        run.margins.append(t.margin)
        return t

    def fast_fn(run) -> bool | None:
        good = run.good
        whole = good.figures.get(basis)
        if not whole:
            return None
        if method == "build_up" or focus is not None:
            amount = amount_of(run, good, [])[0]
        else:
            amount = run.vnm_value()
        if amount is None:
            return None
        diff = (amount if direct else whole - amount) * HUNDRED - threshold * whole
        if op == ">=":
            return diff >= 0
        if op == "<=":
            return diff <= 0
        return diff > 0 if op == ">" else diff < 0

    run_fn.fast = fast_fn
    return run_fn
