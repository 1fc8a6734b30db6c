"""RVC and MaxNOM criteria: ``rvc(method[, basis][, HS-SET]) >= N%``, ``max_nom(basis) <= N%``.

In: a comparison node whose measure is :class:`~origin_rules.ast.Rvc` or
:class:`~origin_rules.ast.MaxNom`. Out: a criterion closure. The figure is an exact fraction
compared unrounded with the threshold; the trace records the figures it used, and a
:class:`~origin_rules.engine.trace.Margin` says how much more non-originating value would
flip the outcome (the boundary amount: exceeding it flips a holding criterion).

  transaction_value   (TV - VNM) / TV x 100          net_cost   (NC - VNM) / NC x 100
  build_down, B       (B - VNM) / B x 100            build_up, B   VOM / B x 100
  focused_value, B, S (B - VNM of materials in S) / B x 100
  max_nom(B)          VNM / B x 100 (a ceiling)
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from .. import ast
from . import measures as M
from .trace import Margin, Trace

HUNDRED = Decimal(100)


def _cmp(op: str, value: Fraction, threshold: Fraction) -> bool:
    if op == ">=":
        return value >= threshold
    if op == "<=":
        return value <= threshold
    if op == ">":
        return value > threshold
    return value < threshold


def compile_percentage(compiler, node: ast.Comparison, text: str, source: str | None):
    measure = node.measure
    op = node.op
    threshold = node.share.value
    t_frac = Fraction(threshold)
    layer = compiler.layer
    if isinstance(measure, ast.MaxNom):
        method, basis, focus, name = "max_nom", measure.basis, None, f"max_nom_{measure.basis}"
    else:
        method = measure.method
        basis = measure.basis or (method if method in ("transaction_value", "net_cost") else "fob")
        focus = compiler.hs(measure.focus)
        name = f"rvc_{method}" if method in ("transaction_value", "net_cost") else f"rvc_{method}_{basis}"
    if focus is not None:
        from .criteria import covers3

    def run_fn(run) -> Trace:
        good = run.good
        t = Trace(None, text, source, layer)
        whole, missing = M.figure(good, basis)
        if method == "build_up":
            amount, more = M.vom(good)
        elif focus is not None:
            focused = []
            for p in good.parts:
                if p.originating:
                    continue
                inside = covers3(focus, p.hs) if p.hs is not None else None
                if inside is None:
                    missing.append(f"{p.path}.hs")
                if inside is not False:
                    focused.append(p)
            amount, more = M.vnm(good, tuple(focused))
        else:
            amount, more = M.vnm(good)
        missing = missing + more
        if whole is not None:
            t.figures[basis] = whole
        if amount is not None:
            key = "vom" if method == "build_up" else ("fvnm" if focus is not None else "vnm")
            t.figures[key] = amount
            run.figures.setdefault(key, amount)
        if whole is not None and whole == 0:
            t.note = f"`{good.figure_path(basis)}` is zero"
            missing.append(good.figure_path(basis))
            whole = None
        if whole is None or amount is None:
            t.missing = missing
            t.materials = tuple(p.id for p in good.parts if not p.originating)
            return t
        if method == "max_nom" or method == "build_up":
            value = M.percent(amount, whole)
        else:
            value = M.percent(whole - amount, whole)
        t.result = _cmp(op, value, t_frac)
        shown = M.show(value, threshold)
        t.figures[name] = shown
        run.figures.setdefault(basis, whole)
        run.figures.setdefault(name, shown)
        # how much more non-originating value would flip it (the boundary amount)
        if method == "build_up":
            flip = None
        elif method == "max_nom":
            flip = whole * threshold / HUNDRED - amount
        else:
            flip = whole * (HUNDRED - threshold) / HUNDRED - amount
            if op in ("<=", "<"):
                flip = -flip
        if flip is not None and op in ("<=", "<") and method != "max_nom":
            flip = None
        margin = (value - t_frac) if op in (">=", ">") else (t_frac - value)
        t.margin = Margin(
            text, source, name, shown, threshold, op, M.to_decimal(margin, 2) if margin else Decimal("0.00"),
            flip, bool(t.result), "%",
        )
        run.margins.append(t.margin)
        t.materials = tuple(p.id for p in good.parts if not p.originating)
        return t

    return run_fn
