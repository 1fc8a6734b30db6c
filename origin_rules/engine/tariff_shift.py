"""The tariff-shift criterion and de minimis.

In: a :class:`~origin_rules.model.ast.Change` node and the program's de minimis policies.
Out: a criterion closure. Every non-originating direct material must be classified in one
of the sources and outside ``except``; originating materials, indirect materials,
accessories and retail packaging are not tested. A non-originating material without an HS
code fails. With ``except more than one of (A), (B), ...`` the non-originating materials
of the listed groups must also fall in one group at most; when they fall in two or more,
every non-originating material of every group used fails (the stricter reading: nothing
tells which group's materials would be the "extra" ones).
When the shift fails only because of some materials, de minimis may save it:
the failing materials together (value, or weight for a ``weight`` policy) must not exceed
the policy's share, and none may match the policy's ``exclude`` filter. De minimis never
changes VNM.
"""

from __future__ import annotations

from decimal import Decimal

from ..model import ast
from ..model.hs import HsCode, covers3
from . import measures as M
from .trace import Failure, Trace, tri_and, tri_or
from .view import declared_word

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def compile_change(compiler, node: ast.Change, text: str, source: str | None):
    layer = compiler.layer
    tests = []
    for s in node.sources:
        if isinstance(s, ast.AnyOther):
            tests.append(("any", int(s.level), s.level))
        elif isinstance(s, ast.Where):  # codes that admit only the materials declaring the fact
            tests.append(("set", compiler.hs(ast.HsSetExpr((s.item,), s.span)),
                          (s.fact, frozenset(w.text for w in s.values.words))))
        else:
            tests.append(("set", compiler.hs(ast.HsSetExpr((s,), s.span)), None))

    def in_source(n, where, part) -> tuple[bool | None, str | None]:
        """Whether a material is admitted by one named source (its codes, and its fact)."""
        r = covers3(n, part.hs)
        if r is False or where is None:
            return r, (f"{part.path}.hs" if r is None else None)
        value = declared_word(part.facts, where[0])
        if value is not None and value not in where[1]:
            return False, None  # the fact rules it out, whatever its finer code
        if r is None:
            return None, f"{part.path}.hs"
        if value is None:
            return None, f"{part.path}.facts.{where[0]}"
        return True, None
    excepted = compiler.hs(node.except_)
    excepted_text = compiler.texts.of(node.except_.span) if node.except_ is not None else ""
    sources_text = ", ".join(
        f"any other {s.level.word}" if isinstance(s, ast.AnyOther) else compiler.texts.of(s.span) for s in node.sources
    )

    any_levels = [n for kind, n, _ in tests if kind == "any"]
    # by levels only: the materials classified by the generated code the deciding path calls
    by_levels = compiler.classifier(node) if excepted is None and len(any_levels) == len(tests) else None
    groups = [(compiler.hs(g), _group_text(compiler, g)) for g in node.except_groups]
    memo_key = change_memo_key(node, excepted, [g for g, _ in groups])

    def judge(good_hs: HsCode, part) -> tuple[bool | None, str | tuple[str, str] | None]:
        """(passes?, what is missing if unknown: a field, or the fields when two are open) for one
        non-originating direct material."""
        hs = part.hs
        if hs is None:
            return False, None
        excluded = None
        if excepted is not None:
            excluded = covers3(excepted, hs)
            if excluded is True:
                return False, None
        passes, miss = sources_pass(good_hs, part)
        if passes is False:
            return False, None
        if excluded is None and excepted is not None:  # its own code may be excepted
            own = f"{part.path}.hs"
            return None, ((own, "product.hs") if passes is None and miss == "product.hs" else own)
        return passes, miss

    def sources_pass(good_hs: HsCode, part) -> tuple[bool | None, str | None]:
        hs = part.hs
        unknown = None
        for kind, n, where in tests:
            if kind == "any":
                # codes coarser than the level still settle it when they already differ
                k = min(n, len(good_hs.digits), len(hs.digits))
                if hs.digits[:k] != good_hs.digits[:k]:
                    return True, None
                if len(good_hs.digits) < n:
                    unknown = unknown or "product.hs"
                elif len(hs.digits) < n:
                    unknown = unknown or f"{part.path}.hs"
            else:
                r, miss = in_source(n, where, part)
                if r is True:
                    return True, None
                if r is None:
                    unknown = unknown or miss
        return (None, unknown) if unknown else (False, None)

    def reason(good_hs: HsCode | None, part) -> str:
        hs = part.hs
        if hs is None:
            return "non-originating and has no HS code, so no change of classification can be shown"
        if good_hs is None:
            return f"classified in {hs}; the good has no HS code to compare with"
        if excepted is not None and covers3(excepted, hs) is True:
            return f"classified in {hs}, which the rule excepts ({excepted_text})"
        own = ""
        for kind, n, level in tests:
            if kind == "any" and len(hs.digits) >= n and hs.digits[:n] == good_hs.digits[:n]:
                own = f"; it shares the good's {level.word} {good_hs.at(level)}"
                break
        return f"classified in {hs}, not a change from {sources_text}{own}"

    def classify(run, good) -> tuple[list, list, list]:
        """(failing parts, unknown parts, missing fields), the groups of ``except more than one
        of`` taken in; once per evaluation and criterion."""
        if not groups:
            return classify_shift(run, good)
        memo = run.memo.get(("groups",) + memo_key)
        if memo is None:
            memo = run.memo[("groups",) + memo_key] = _with_groups(run, groups, *classify_shift(run, good))
        return memo[:3]

    def classify_shift(run, good) -> tuple[list, list, list]:
        """(failing parts, unknown parts, for each unknown part the field that leaves it unknown,
        or a tuple of two: :func:`_why_entry`); once per evaluation and criterion."""
        memo = run.memo.get(memo_key)
        if memo is not None:
            return memo
        failing: list = []
        unknown: list = []
        missing: list = []
        if good.hs is None:  # a material without a code fails anyway; the others cannot be told
            for part in run.shift_parts():
                hs = part.hs
                if hs is None or (excepted is not None and covers3(excepted, hs) is True):
                    failing.append(part)  # fails whatever the good's code
                elif (excepted is None or covers3(excepted, hs) is False) and any(
                    kind == "set" and in_source(n, where, part)[0] is True for kind, n, where in tests
                ):
                    continue  # in a named source: passes whatever the good's code
                elif not any_levels and all(in_source(n, where, part)[0] is False for _, n, where in tests):
                    failing.append(part)  # in none of the named sources
                else:
                    unknown.append(part)
                    sourced = [m for kind, n, where in tests if kind == "set"
                               for r, m in [in_source(n, where, part)] if r is None and m]
                    missing.append(sourced[0] if not any_levels and sourced else good.field("hs"))
            memo = run.memo[memo_key] = (failing, unknown, missing)
            return memo
        if by_levels is not None:
            return by_levels(run, good)
        for part in run.shift_parts():
            ok, miss = judge(good.hs, part)
            if ok is False:
                failing.append(part)
            elif ok is None:
                unknown.append(part)
                missing.append(_good_field(good, miss))
        memo = run.memo[memo_key] = (failing, unknown, missing)
        return memo

    def run_fn(run) -> Trace:
        good = run.good
        t = Trace(None, text, source, layer)
        if good.hs is None:
            t.note = "the good has no HS code"
        failing, unknown, missing = classify(run, good)
        told = run.memo[("groups",) + memo_key][3] if groups else {}
        t.failures = [Failure(p.id, str(p.hs) if p.hs else None, told.get(p.id) or reason(good.hs, p)) for p in failing]
        if told.get(None):
            t.note = "; ".join(filter(None, [t.note, told[None]]))
        if not failing and not unknown:
            t.result = True
            return t
        t.materials = tuple(p.id for p in failing + unknown)
        saved, dm_trace = _de_minimis(run, failing, unknown, missing)
        t.result = tri_or([False if failing else None, saved])
        if dm_trace is not None:
            t.children.append(dm_trace)
        if t.result is None:  # with a material that surely fails, only de minimis is open
            t.missing = ([] if failing else _fields_of(missing)) + (dm_trace.missing if dm_trace else [])
        return t

    def fast_fn(run) -> bool | None:
        good = run.good
        failing, unknown, missing = classify(run, good)
        if not failing and not unknown:
            return True
        saved = de_minimis_fast(run, failing, unknown, missing)
        if saved is True:
            return True
        return False if failing and saved is False else None

    run_fn.fast = fast_fn
    return run_fn


def change_memo_key(node: ast.Change, excepted, groups) -> tuple:
    """The key under which a run memoises a shift's classification of the materials: the
    same for every criterion (explaining or deciding) that classifies them alike."""
    key = ("change", tuple(map(str, node.sources)), str(excepted))
    return key + tuple(str(g) for g in groups) if groups else key


def _group_text(compiler, group: ast.HsSetExpr) -> str:
    """A listed group as the explanation names it: its text, with the codes of set names."""
    text = compiler.texts.of(group.span) or f"({group})"
    if any(isinstance(item, ast.SetRef) for item in group.items):
        text = f"{text[:-1]}: {compiler.hs(group)})" if text.endswith(")") else f"{text}: {compiler.hs(group)}"
    return text


def _with_groups(run, groups, failing, unknown, missing) -> tuple[list, list, list, dict]:
    """Add to the shift's (failing, unknown, missing) the materials that ``except more than one
    of`` makes fail: when materials of two or more listed groups are used, every material of
    every group used. Also returns reasons by material id, and under ``None`` a note naming
    the groups used (or perhaps used) and their materials."""
    used = []  # (text, parts surely in the group, parts perhaps in it)
    for codes, text in groups:
        sure, maybe = [], []
        for part in run.shift_parts():
            if part.hs is None:
                continue  # fails anyway, in no group
            r = covers3(codes, part.hs)
            if r is True:
                sure.append(part)
            elif r is None:
                maybe.append(part)
        if sure or maybe:
            used.append((text, sure, maybe))
    surely_used = [u for u in used if u[1]]
    if len(used) <= 1:
        return failing, unknown, missing, {}

    def listing(entries) -> str:
        return "; ".join(f"{text} {', '.join(p.id for p in sure + maybe)}" for text, sure, maybe in entries)

    told: dict = {}
    if len(surely_used) >= 2:
        add_failing = [p for _, sure, _ in surely_used for p in sure]
        add_unknown = [(p, f"{p.path}.hs") for _, _, maybe in used for p in maybe]
        summary = f"materials of {len(surely_used)} of the listed groups: {listing(surely_used)}"
        if len(used) > len(surely_used):
            summary += f"; perhaps also {listing([u for u in used if not u[1]])}"
        told[None] = summary
    else:  # one group surely used at most, a second perhaps: every material of them may fail
        add_failing = []
        first_maybe = next(p for _, _, maybe in used for p in maybe)
        add_unknown = [(p, f"{first_maybe.path}.hs") for _, sure, _ in used for p in sure]
        add_unknown += [(p, f"{p.path}.hs") for _, _, maybe in used for p in maybe]
        told[None] = f"materials of perhaps {len(used)} of the listed groups: {listing(used)}"
    out_failing = list(failing)
    seen = {id(p) for p in failing}
    for p in add_failing:  # (one that fails the change anyway keeps its own reason)
        if id(p) not in seen:
            seen.add(id(p))
            out_failing.append(p)
            told[p.id] = f"classified in {p.hs}, in a listed group; {told[None]}"
    out_unknown, out_missing = [], []
    for p, m in list(zip(unknown, missing)) + add_unknown:
        if id(p) not in seen:
            seen.add(id(p))
            out_unknown.append(p)
            out_missing.append(m)
    return out_failing, out_unknown, out_missing, told


def _de_minimis(run, failing, unknown, why=()) -> tuple[bool | None, Trace | None]:
    """``why``: for each material in ``unknown``, the field whose absence leaves it unknown (or
    two, :func:`_why_entry`)."""
    policies = run.de_minimis()
    if not policies:
        return False, None
    traces = []
    outcomes = []
    for policy, applies in policies:
        result, info = policy_result(run, policy, failing, unknown, why=why)
        if applies is None:  # the good's code is too coarse to tell whether the line applies
            result = tri_and([None, result])
            if result is None:  # (a line that would not save the good anyway needs no finer code)
                info.setdefault("missing", []).append(run.good.field("hs"))
        outcomes.append(result)
        t = Trace(result, policy.text, policy.source, policy.layer, materials=tuple(p.id for p in failing + unknown))
        t.note = info.get("note")
        t.missing = info.get("missing", [])
        t.figures.update(info.get("figures", {}))
        traces.append(t)
    result = tri_or(outcomes)
    if len(traces) == 1:
        return result, traces[0]
    top = Trace(result, "de minimis", None, None, children=traces)
    top.missing = [m for tr in traces if tr.result is None for m in tr.missing]
    return result, top


def de_minimis_fast(run, failing, unknown, why=()) -> bool | None:
    """The same decision as ``_de_minimis`` without building explanations: each line's
    ``forgives`` (generated by ``engine.codegen.compile_policy``)."""
    policies = run.de_minimis()
    if not policies:
        return False
    if len(policies) == 1:
        policy, applies = policies[0]
        result = policy.forgives(run, failing, unknown, why)
        return result if applies is True else tri_and([applies, result])
    return tri_or(tri_and([a, p.forgives(run, failing, unknown, why)]) for p, a in policies)


def policy_result(run, policy, failing, unknown, explain: bool = True, why=()) -> tuple[bool | None, dict]:
    """Whether one de minimis policy forgives the failing (and possibly failing) materials:
    its share (:func:`_within_share`) and, if the line has one, its sub-limit
    (``of which elastomeric <= 7%``, :func:`_within_sub_limit`). A sub-limit surely
    exceeded refuses whatever else is unknown; one that cannot be exceeded asks nothing."""
    if policy.base_name == "component_weight":
        failing, unknown, why = _of_the_component(failing, unknown, why)
        if not failing and not unknown:  # every failing material is outside the component
            return True, {"note": "the materials that fail the shift are outside the component that "
                                  "determines the classification: disregarded" if explain else None}
    result, info = _within_share(run, policy, failing, unknown, explain, why)
    sub = policy.node.of_which
    if sub is None or result is False:
        return result, info
    sub_result, sub_info = _within_sub_limit(run, policy, sub, failing, unknown, explain, why)
    figures = {**info.get("figures", {}), **sub_info.get("figures", {})}
    if sub_result is False:
        return False, {"figures": figures, "note": sub_info.get("note")}
    notes = "; ".join(filter(None, [info.get("note"), sub_info.get("note")])) or None
    missing = info.get("missing", []) if result is None else []
    missing = missing + (sub_info.get("missing", []) if sub_result is None else [])
    out = {"figures": figures, "note": notes}
    if missing:
        out["missing"] = missing
    return tri_and([result, sub_result]), out


def _over_the_good(good, base_name: str, share: ast.Percent, low: Decimal) -> bool:
    """Whether ``low`` is surely over the share of the classifying component's weight when
    the BOM does not give that weight: the component weighs at most the good, so over the
    share of the good's weight is over the share of the component's."""
    if base_name != "component_weight":
        return False
    whole = good.figures.get("weight")
    return whole is not None and low * HUNDRED > share.value * whole


def _of_the_component(failing, unknown, why) -> tuple[list, list, list]:
    """For a line measured on the classifying component: the materials it weighs. A
    material declared outside the component (``in_component: false``) is disregarded (the
    product-specific rule applies to the component only; SOR/2020-155 s. 5(9)); a failing
    material that does not declare it may be weighed, so it joins the possibly failing ones,
    its missing field named."""
    sure, maybe, reasons = [], [], []
    for p in failing:
        inside = p.source.in_component
        if inside is True:
            sure.append(p)
        elif inside is None:
            maybe.append(p)
            reasons.append(f"{p.path}.in_component")
    for i, p in enumerate(unknown):
        if p.source.in_component is not False:
            maybe.append(p)
            reasons.append(_why_entry(why, i, p))
    return sure, maybe, reasons


def _barring(policy) -> list[tuple]:
    """The tests that keep a failing material from being forgiven by a line: its
    ``exclude`` filter."""
    return [(policy.exclude, "excluded from de minimis")] if policy.exclude is not None else []


def _within_share(run, policy, failing, unknown, explain: bool = True, why=()) -> tuple[bool | None, dict]:
    """Whether the failing (and possibly failing) materials are within the line's share.

    First the amounts: failing materials over the limit can never be forgiven, whatever
    else is unknown. Then the exclusions (``exclude``; outside the classifying component
    for a line on ``component_weight``): a failing material barred can never be forgiven;
    one that may be barred leaves the result unknown. The share test itself is the one the
    generated ``forgives`` inlines (``policy.share_test``, ``codegen.compile_share_test``)."""
    good = run.good
    node = policy.node
    attr = "value" if node.measure == "value" else "weight"
    field = "value" if attr == "value" else "weight_kg"
    base, base_missing = M.figure(good, policy.base_name)
    low = ZERO
    missing = []
    for p in failing:
        amount = p.value if attr == "value" else p.weight
        if amount is None:
            missing.append(f"{p.path}.{field}")
        else:
            low += amount
    high = low
    for p in unknown:
        amount = p.value if attr == "value" else p.weight
        if amount is None:
            missing.append(f"{p.path}.{field}")
        else:
            high += amount
    excluded = None
    tests = _barring(policy)
    for test, label in tests:
        blocked = [p.id for p in failing if test(p)[0] is True]
        if blocked:
            return False, {"note": f"{label}: {', '.join(blocked)}"}
    if tests:
        excluded = []
        for test, _ in tests:
            fail_states = [test(p) for p in failing]
            maybe_states = [test(p) for p in unknown]
            excluded += [m for r, m in fail_states + maybe_states if r is None and m]
            excluded += [f for i, (p, (r, _)) in enumerate(zip(unknown, maybe_states)) if r is True
                         for f in _whys(why, i, p)]
    if high == ZERO and not missing and (base is None or policy.base_name == "component_weight"):
        # the materials that fail (or may) amount to nothing: within any share of a base not
        # given, which is at least 0 (docs/language.md, bases), as of the component's weight
        return (None, {"missing": excluded}) if excluded else (True, {})
    if base is None and _over_the_good(good, policy.base_name, node.share, low):
        return False, {"note": f"the materials that fail the shift total {M.money(low)}, more than "
                               f"{node.share.value}% of the good's weight, so of {policy.base_name}" if explain else None}
    if base is None:  # the codes of the materials that may fail matter only if their amounts add something
        maybe = [f for i, p in enumerate(unknown) for f in _whys(why, i, p)] if high != low or missing else []
        return None, {"missing": base_missing + missing + maybe + (excluded or [])}
    # the share test of the generated ``forgives`` (``codegen.compile_share_test``)
    result, limit = policy.share_test(base, low, high, bool(missing))
    share = f"{node.share.value}% of {policy.base_name}"
    figures = {f"non_qualifying_{attr}": low, "de_minimis_limit": limit} if explain else {}
    if result is False:
        note = f"the materials that fail the shift total {M.money(low)}, more than {share} ({M.money(limit)})" if explain else None
        return False, {"figures": figures, "note": note}
    if excluded:
        return None, {"figures": figures, "missing": excluded + missing,
                      "note": "cannot tell whether every material that fails may be forgiven by this line"}
    if result is True:
        note = f"the materials that fail the shift total {M.money(low)}, within {share} ({M.money(limit)})" if explain else None
        return True, {"figures": figures, "note": note}
    return None, {"figures": figures, "missing": missing or [f for i, p in enumerate(unknown) for f in _whys(why, i, p)]}


def _within_sub_limit(run, policy, sub, failing, unknown, explain: bool = True, why=()) -> tuple[bool | None, dict]:
    """``of which elastomeric <= 7% [of BASE]``: of the materials the line forgives, those
    the BOM flags (``materials[i].elastomeric``) total at most the share of the base (the
    line's own base when the sub-limit names none), in the line's measure.

    Bounds: the flagged failing materials are surely counted (one the line cannot forgive
    makes it refuse anyway); the failing materials whose flag is not declared and the
    possibly failing ones flagged or not declared may be. Over the limit with the sure
    ones: refused. Within it with all of them: no question asked. Else unknown, naming
    the flags (and codes) that would tell."""
    good = run.good
    attr = "value" if policy.node.measure == "value" else "weight"
    field = "value" if attr == "value" else "weight_kg"
    base_name = sub.base.name if isinstance(sub.base, ast.Figure) else policy.base_name
    base, base_missing = M.figure(good, base_name)
    low, high, missing, open_fields = ZERO, ZERO, [], []
    for i, p in enumerate(failing + unknown):
        flagged = getattr(p.source, sub.flag)
        if flagged is False:
            continue
        sure = flagged is True and i < len(failing)
        if not sure:
            open_fields += [f"{p.path}.{sub.flag}"] if flagged is None else _whys(why, i - len(failing), p)
        amount = p.value if attr == "value" else p.weight
        if amount is None:
            missing.append(f"{p.path}.{field}")
            continue
        if sure:
            low += amount
        high += amount
    if not missing and high == ZERO:
        return True, {}  # what may be counted weighs nothing: the sub-limit cannot be exceeded
    if base is None and _over_the_good(good, base_name, sub.share, low):
        return False, {"note": f"the {sub.flag} materials that fail the shift total {M.money(low)}, more than "
                               f"{sub.share.value}% of the good's weight, so of {base_name}" if explain else None}
    if base is None:
        return None, {"missing": base_missing + missing + (open_fields if high != low or missing else [])}
    limit = base * sub.share.value / HUNDRED
    share = f"{sub.share.value}% of {base_name}"
    figures = {f"{sub.flag}_{attr}": low, f"{sub.flag}_limit": limit} if explain else {}
    if low > limit:
        note = f"the {sub.flag} materials that fail the shift total {M.money(low)}, more than {share} ({M.money(limit)})" if explain else None
        return False, {"figures": figures, "note": note}
    if missing:
        return None, {"figures": figures, "missing": missing + open_fields}
    if high <= limit:
        note = f"the {sub.flag} materials that fail the shift total {M.money(low)}, within {share} ({M.money(limit)})" if explain else None
        return True, {"figures": figures, "note": note}
    return None, {"figures": figures, "missing": open_fields}


def _why_entry(why, i: int, part) -> str | tuple[str, ...]:
    """What leaves a material's shift unknown, as the shift gives it (``why[i]``): its own
    code, or the good's, or both (a tuple: the material's code may be excepted and the
    good's code is too coarse to compare with)."""
    return why[i] if i < len(why) and why[i] else f"{part.path}.hs"


def _fields(entry: str | tuple[str, ...]) -> tuple[str, ...]:
    """The field or fields of one ``why`` entry (:func:`_why_entry`)."""
    return entry if isinstance(entry, tuple) else (entry,)


def _whys(why, i: int, part) -> list[str]:
    """The fields of :func:`_why_entry`, as a list."""
    return list(_fields(_why_entry(why, i, part)))


def _fields_of(why) -> list[str]:
    """The fields of a shift's ``why`` entries, in order (an entry may name two)."""
    return [f for entry in why for f in _fields(entry)]


def _good_field(good, miss):
    """A shift's missing field(s) with ``product.hs`` named as the good's own code field (a
    sub-assembly's is its material line's)."""
    named = tuple(good.field("hs") if m == "product.hs" else m for m in _fields(miss))
    return named if isinstance(miss, tuple) else named[0]
