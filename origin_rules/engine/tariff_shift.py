"""The tariff-shift criterion and de minimis.

In: a :class:`~origin_rules.ast.Change` node and the program's de minimis policies.
Out: a criterion closure. Every non-originating direct material must be classified in one
of the sources and outside ``except``; originating materials, indirect materials,
accessories and retail packaging are not tested. A non-originating material without an HS
code fails. When the shift fails only because of some materials, de minimis may save it:
the failing materials together (value, or weight for a ``weight`` policy) must not exceed
the policy's share, and none may match the policy's ``exclude`` filter. De minimis never
changes VNM.
"""

from __future__ import annotations

from decimal import Decimal

from .. import ast
from ..hs import HsCode
from . import measures as M
from .trace import Failure, Trace, tri_or


def compile_change(compiler, node: ast.Change, text: str, source: str | None):
    from .criteria import covers3

    layer = compiler.layer
    tests = []
    for s in node.sources:
        if isinstance(s, ast.AnyOther):
            tests.append(("any", int(s.level), s.level))
        else:
            tests.append(("set", compiler.hs(ast.HsSetExpr((s,), s.span)), None))
    excepted = compiler.hs(node.except_)
    excepted_text = compiler.texts.of(node.except_.span) if node.except_ is not None else ""
    sources_text = ", ".join(
        f"any other {s.level.word}" if isinstance(s, ast.AnyOther) else compiler.texts.of(s.span) for s in node.sources
    )

    def judge(good_hs: HsCode | None, part) -> tuple[bool | None, str | None, str | None]:
        """(passes?, reason if not, missing field if unknown)."""
        hs = part.hs
        if hs is None:
            return False, "non-originating and has no HS code, so no change of classification can be shown", None
        if excepted is not None:
            inside = covers3(excepted, hs)
            if inside is True:
                return False, f"classified in {hs}, which the rule excepts ({excepted_text})", None
            if inside is None:
                return None, None, f"{part.path}.hs"
        results = []
        missing = None
        for kind, n, level in tests:
            if kind == "any":
                if good_hs is None or len(good_hs.digits) < n:
                    results.append(None)
                    missing = missing or "product.hs"
                elif len(hs.digits) < n:
                    results.append(None)
                    missing = missing or f"{part.path}.hs"
                else:
                    results.append(hs.digits[:n] != good_hs.digits[:n])
            else:
                r = covers3(n, hs)
                results.append(r)
                if r is None:
                    missing = missing or f"{part.path}.hs"
        r = tri_or(results)
        if r is False:
            own = ""
            for kind, n, level in tests:
                if kind == "any" and good_hs is not None and hs.digits[:n] == good_hs.digits[:n]:
                    own = f"; it shares the good's {level.word} {good_hs.at(level)}"
                    break
            return False, f"classified in {hs}, not a change from {sources_text}{own}", None
        return r, None, (missing if r is None else None)

    def run_fn(run) -> Trace:
        good = run.good
        t = Trace(None, text, source, layer)
        failing = []
        unknown = []
        missing = []
        if good.hs is None:
            t.missing = [good.field("hs")]
            t.note = "the good has no HS code"
            return t
        for part in good.parts:
            if part.originating or part.kind != "direct":
                continue
            ok, reason, miss = judge(good.hs, part)
            if ok is False:
                failing.append(part)
                t.failures.append(Failure(part.id, str(part.hs) if part.hs else None, reason))
            elif ok is None:
                unknown.append(part)
                missing.append(miss)
        t.materials = tuple(p.id for p in failing + unknown)
        shift = False if failing else (None if unknown else True)
        if shift is True:
            t.result = True
            return t
        saved, dm_trace = _de_minimis(run, failing, unknown)
        t.result = tri_or([shift, saved])
        if dm_trace is not None:
            t.children.append(dm_trace)
        if t.result is None:
            t.missing = missing + (dm_trace.missing if dm_trace else [])
        return t

    return run_fn


def _de_minimis(run, failing, unknown) -> tuple[bool | None, Trace | None]:
    policies = run.plan.de_minimis_for(run.good.hs)
    if not policies:
        return False, None
    outcomes = []
    traces = []
    for policy in policies:
        outcomes.append(_one_policy(run, policy, failing, unknown, traces))
    result = tri_or(outcomes)
    if len(traces) == 1:
        return result, traces[0]
    top = Trace(result, "de minimis", None, None, children=traces)
    top.missing = [m for tr in traces for m in tr.missing]
    return result, top


def _one_policy(run, policy, failing, unknown, traces) -> bool | None:
    good = run.good
    node = policy.node
    t = Trace(None, policy.text, policy.source, policy.layer, materials=tuple(p.id for p in failing + unknown))
    traces.append(t)
    # exclusions: a failing material matching `exclude` can never be forgiven
    if policy.exclude is not None:
        states = [policy.exclude(p) for p in failing + unknown]
        if any(r is True for r, _ in states[: len(failing)]):
            blocked = [p.id for p, (r, _) in zip(failing, states) if r is True]
            t.result = False
            t.note = f"excluded from de minimis: {', '.join(blocked)}"
            return False
        if any(r is None for r, _ in states):
            t.missing = [m for r, m in states if r is None and m]
            t.note = "cannot tell whether every failing material is excluded from de minimis"
            return None
    attr = "value" if node.measure == "value" else "weight"
    field = "value" if attr == "value" else "weight_kg"
    base, base_missing = M.figure(good, policy.base_name)
    if base is None:
        t.missing = base_missing
        return None
    limit = base * node.share.value / Decimal(100)
    low = Decimal(0)
    missing = []
    for p in failing:
        amount = getattr(p, attr)
        if amount is None:
            missing.append(f"{p.path}.{field}")
        else:
            low += amount
    high = low
    for p in unknown:
        amount = getattr(p, attr)
        if amount is None:
            missing.append(f"{p.path}.{field}")
        else:
            high += amount
    t.figures[f"non_qualifying_{attr}"] = low
    t.figures["de_minimis_limit"] = limit
    if missing:
        if low > limit:
            t.result = False
            return False
        t.missing = missing
        return None
    if high <= limit:
        t.result = True
        t.note = f"the materials that fail the shift total {M.money(low)}, within {node.share.value}% of {policy.base_name} ({M.money(limit)})"
        return True
    if low > limit:
        t.result = False
        t.note = f"the materials that fail the shift total {M.money(low)}, more than {node.share.value}% of {policy.base_name} ({M.money(limit)})"
        return False
    t.missing = [f"{p.path}.hs" for p in unknown]
    return None
