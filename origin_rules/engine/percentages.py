"""RVC and MaxNOM criteria: ``rvc(method[, basis][, HS-SET]) >= N%``, ``max_nom(basis) <= N%``.

In: a comparison node whose measure is :class:`~origin_rules.model.ast.Rvc` or
:class:`~origin_rules.model.ast.MaxNom`. Out: a criterion closure. The comparison is exact and
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

from ..model import ast
from ..model.hs import covers3
from . import measures as M
from .codegen import compile_percentage_test
from .trace import Margin, Trace
from .view import per_view

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def compile_percentage(compiler, node: ast.Comparison, text: str, source: str | None):
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

    def amount_of(good) -> tuple[Decimal, Decimal | None, list[str]]:
        """The amount as an interval: (low, high or None when unbounded, missing fields).
        Values are never negative, so known values bound a sum with missing ones from below;
        a material that may or may not be focused counts in the high end only."""
        if method == "build_up":
            low, complete, missing = M.bounds(good.parts, True)
            return low, (low if complete else None), missing
        if focus is None:
            low, complete, missing = M.bounds(good.parts, False)
            return low, (low if complete else None), missing
        low = ZERO
        high: Decimal | None = ZERO
        missing: list[str] = []
        for p in good.parts:
            if p.originating:
                continue
            inside = covers3(focus, p.hs) if p.hs is not None else None
            if inside is False:
                continue
            if inside is None:
                missing.append(f"{p.path}.hs")
            if p.value is None:
                missing.append(f"{p.path}.value")
                high = None
                continue
            if inside:
                low += p.value
            if high is not None:
                high += p.value
        return low, high, missing

    # three-valued, exactly, over the amount's interval: the test the deciding functions inline
    judge = compile_percentage_test(op, direct, threshold)

    def run_fn(run) -> Trace:
        good = run.good
        t = Trace(None, text, source, layer)
        whole, missing = M.figure(good, basis)
        low, high, more = bounds(run)
        if high == low:  # exact (materials of unknown code are worth 0.00): what they lack cannot matter
            more = []
        missing = missing + more
        t.materials = M.non_originating_ids(good)
        if whole is not None:
            t.figures[basis] = whole
        if high == low and not more:
            t.figures[key] = low
            run.figures.setdefault(key, low)
        if whole is not None and whole == 0:
            t.note = f"`{good.figure_path(basis)}` is zero"
            missing.append(good.figure_path(basis))
            whole = None
        if whole is None:
            t.missing = missing
            return t
        t.result = judge(whole, low, high)
        if high != low or more:
            # not every figure is known; the result may still be decided by the bounds
            if t.result is None:
                t.missing = missing
            else:
                t.note = "decided whatever the missing values are"
            return t
        numerator = low if direct else whole - low
        diff = numerator * HUNDRED - threshold * whole
        shown = M.show(numerator, whole, threshold)
        t.figures[name] = shown
        run.figures.setdefault(basis, whole)
        run.figures.setdefault(name, shown)
        # The boundary amount of non-originating value: VNM may grow by `flip` and still meet a
        # floor on (whole - VNM) / whole, or a ceiling on VNM / whole. Not defined for build-up.
        if method == "build_up" or (op in ("<=", "<") and method != "max_nom") or (op in (">=", ">") and method == "max_nom"):
            flip = None
        elif method == "max_nom":
            flip = whole * threshold / HUNDRED - low
        else:
            flip = whole * (HUNDRED - threshold) / HUNDRED - low
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
        low, high, _ = bounds(run)
        return judge(whole, low, high)

    def bounds(run) -> tuple[Decimal, Decimal | None, list[str]]:
        """``amount_of`` the run's good; plain VNM once per run, shared by every criterion
        (``vnm_bounds``, as the generated code memoises it) and by the outcome's figures."""
        if method == "build_up" or focus is not None:
            return amount_of(run.good)
        found = run.memo.get("vnm_bounds")
        if found is None:
            found = run.memo["vnm_bounds"] = per_view(run.good, "vnm_bounds", amount_of)
        return found

    run_fn.fast = fast_fn
    return run_fn
