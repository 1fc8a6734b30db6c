"""Evaluate a good under a plan: the order of USMCA Art. 4.2 and docs/language.md.

In: a :class:`~origin_rules.engine.plan.Plan`, a :class:`~origin_rules.engine.view.Good`
and a date. Out: an :class:`Outcome`: verdict, origin criterion, the rule applied, exact
figures, margins, the explanation trace, missing fields and failed materials.

Order: the agreement must be in force; sub-assemblies are determined first (roll-up); a
good produced outside the parties does not qualify; it originates when wholly obtained, or
when every material is originating, or when its product-specific rule holds; and every
requirement that covers it must hold in every case. Three-valued throughout: an unknown
that matters makes the verdict ``insufficient_data`` and names the missing fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import product
from typing import Any, NamedTuple
from datetime import date
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, getcontext, setcontext

from .criteria import Run, always
from .plan import CompiledDeemed, CompiledFallback, CompiledRequire, CompiledRule, Plan
from .select import select
from .trace import Failure, Margin, Trace, tri_and, tri_not, tri_or
from .view import Good, for_evaluation, good_of_part, per_view
from . import measures as M

# Decisions use additions, subtractions and multiplications only (and divisions by 100), and
# an inexact result raises instead of rounding silently. The precision is a bound, not a
# cost: an amount has at most 81 significant digits (the BOM readers' sensible size), a
# converted one at most 162 (model.currency), a rule's threshold at most 81 (ROO022); a sum
# of 10^6 amounts adds 6 digits, and a comparison multiplies a threshold by a sum: 500
# digits hold every such product exactly. (60 did not: a BOM of 40-digit amounts with 40
# decimal places, which the readers take, ended in decimal.Inexact.)
EXACT = Context(prec=500, traps=[Inexact, InvalidOperation, DivisionByZero])
VERDICT = {True: "qualifies", False: "does_not_qualify", None: "insufficient_data"}
PRODUCT_FIGURES = ("transaction_value", "net_cost", "total_cost", "fob", "ex_works")


@dataclass(slots=True)
class Outcome:
    good: Good
    agreement: str
    as_of: date
    verdict: str
    criterion: str | None
    rule: CompiledRule | None
    figures: dict[str, Decimal]
    margins: list[Margin]
    trace: Trace
    missing: list[str]
    failures: list[Failure]
    digest: str
    layer_of_rule: str | None = None
    notes: list[str] = field(default_factory=list)
    chain: tuple[str, ...] = ()  # the program and its bases; the last is the agreement
    # what the evaluator applied to the good, each with its trace (coverage and explanations
    # read these, by identity, instead of selecting again or matching trace texts)
    applied: list[tuple[CompiledRule, Trace]] = field(default_factory=list)
    requirements: list[tuple[CompiledRequire, Trace]] = field(default_factory=list)
    fallbacks: list[tuple[CompiledFallback, Trace]] = field(default_factory=list)
    deemed: list[tuple[CompiledDeemed, Trace]] = field(default_factory=list)


def _exactly(fn, *args):
    """Call ``fn`` under the EXACT decimal context (set, not copied: this is the hot path)."""
    previous = getcontext()
    setcontext(EXACT)
    try:
        return fn(*args)
    finally:
        setcontext(previous)


def evaluate(plan: Plan, good: Good, as_of: date) -> Outcome:
    return _exactly(_evaluate, plan, for_evaluation(good), as_of)


def _rule_trace(rule: CompiledRule, run: Run) -> Trace:
    node = rule.node
    title = f' "{node.title}"' if node.title else ""
    children = [c(run) for c in rule.criteria]
    t = Trace(tri_and(c.result for c in children), f"rule {rule.selector_text}{title}", node.span.where, rule.layer, children=children)
    t.kind = "rule"
    cites = node.cites
    if cites:
        t.note = "; ".join(cites)
    return t


#: Whether the traces of a good's rules, requirements and fallbacks are shared between the
#: agreement and its scenarios (``_shared``); off only to compare with the unshared evaluation
#: (tests, benches).
SHARE_RULE_TRACES = True

#: The rule traces kept for the last good evaluated: ``(good, {key: entry})``. One good only:
#: its names are evaluated one after the other (``batch``, ``evaluate`` under every applicable
#: agreement), and traces kept for more goods would only load the collector.
_KEPT: tuple = (None, {})


class _Kept(NamedTuple):
    """What :func:`_shared` keeps of an item's traces for the last good: the objects the key
    names by id (held, so that no id is reused while kept), the de minimis lines of the plan
    that made them and whether they were read, and what the run took from them."""

    node: object
    scope: object
    lines: tuple
    lines_key: tuple
    read_de_minimis: bool
    made: Any
    figures: dict
    margins: list


def _rule_traces(rules: list[CompiledRule], run: Run) -> list[Trace]:
    """The traces of the rules that apply (:func:`_shared`)."""
    return [_shared(rule, run, _rule_trace) for rule in rules]


def _lines_traces(item: CompiledRequire | CompiledFallback, run: Run) -> list[Trace]:
    return [c(run) for c in item.criteria]


def _shared(item: CompiledRule | CompiledRequire | CompiledFallback, run: Run, make: Callable) -> Any:
    """``make(item, run)``: the trace of a rule, or the traces of the lines of a requirement
    or fallback, worked out once per good for an agreement and the scenarios that inherit
    the item unchanged.

    A scenario that only adds requirements (a China content cap) evaluates its base's rules,
    requirements and fallbacks again on the same good: the same line (the same AST node,
    names looked up in the same program's scope, the same parties) and the same date give
    the same traces, unless they read the plan's de minimis lines (``Run.de_minimis``: a
    material failed a tariff shift), which a scenario may replace: then only a plan with the
    same lines for the good's code takes them. So the traces, with the figures and margins
    they add to the run, are kept for the last good evaluated under that key (the entry
    holds the objects the key names, so an id is never reused while kept), and the next
    evaluation of the good under another plan takes them. Traces are never changed once
    made (the evaluation builds its own nodes around them). Only the cached view of a BOM
    without sub-assemblies is shared (``for_evaluation`` copies the others for each
    evaluation, as their materials' origin depends on the plan); a BOM whose materials are
    declared originating per agreement has one view for the names under which they resolve
    alike (``Rulebook._by_agreement``), another for the others."""
    global _KEPT
    good = run.good
    if not SHARE_RULE_TRACES or good.memo.get("nested") is not False:
        return make(item, run)
    last, kept = _KEPT
    if last is not good:
        kept = {}
        _KEPT = (good, kept)
    lines, lines_key = run.plan.de_minimis_key(good.hs)
    compiler = item.compiler
    scope = compiler.program
    # ids: the entry holds the objects they name, so none is reused while it is kept
    key = (id(item.node), id(scope), compiler.parties, item.layer, item.is_scenario, run.as_of)
    entries = kept.get(key)
    if entries is None:
        entries = kept[key] = []
    hit = None
    for entry in entries:
        if not entry.read_de_minimis or entry.lines_key == lines_key:
            hit = entry
            break
    if hit is None:
        figures, margins, read = run.figures, run.margins, run.read_de_minimis
        run.figures, run.margins, run.read_de_minimis = {}, [], False
        try:
            made = make(item, run)
            hit = _Kept(item.node, scope, lines, lines_key, run.read_de_minimis, made, run.figures, run.margins)
            entries.append(hit)
        finally:
            run.figures, run.margins = figures, margins
            run.read_de_minimis = read or run.read_de_minimis
    if hit.figures:
        setdefault = run.figures.setdefault
        for name, value in hit.figures.items():  # as the item's own `setdefault`s: earlier figures win
            setdefault(name, value)
    if hit.margins:
        run.margins.extend(hit.margins)
    return hit.made


def _subassemblies(plan: Plan, good: Good, as_of: date) -> list[Trace]:
    """Determine each sub-assembly under the same plan; it counts as originating when it
    qualifies. One whose own verdict is insufficient_data is tried both ways later."""
    nodes = []
    for part in good.subassemblies:
        sub = _evaluate(plan, good_of_part(part, good), as_of)
        part.sub = sub
        part.originating = sub.verdict == "qualifies"
        if sub.verdict == "insufficient_data":
            how = "its origin is undetermined, so the verdict is worked out both ways"
        else:
            how = f"counted as {'originating' if part.originating else 'non-originating'}"
        nodes.append(Trace(
            True,
            f"sub-assembly `{part.id}` ({part.hs or 'no HS code'}) {sub.verdict.replace('_', ' ')}: {how}",
            None, None, materials=(part.id,), sub=sub,
        ))
    return nodes


MAX_UNDETERMINED = 8  # sub-assemblies tried both ways (2^8 combinations); beyond, undecided


def _evaluate(plan: Plan, good: Good, as_of: date) -> Outcome:
    out = _evaluate_ordinary(plan, good, as_of)
    if out.criterion != "agreement_not_in_force":
        _deem(plan, good, as_of, out)
    return out


def _deemings(plan: Plan, good: Good, as_of: date) -> tuple[bool | None, list[tuple[CompiledDeemed, Trace]]]:
    """The deemings (``deemed originating``, GN11(p)) that may admit the product: whether
    one deems it originating, and each with its node. A sub-assembly is never imported:
    deemings apply to the product only."""
    if good.prefix != "product":
        return False, []
    nodes: list[tuple[CompiledDeemed, Trace]] = []
    for d, covered in plan.deemed_for(good.hs, as_of):
        result, miss = _applies(d, covered, good, as_of)
        node = Trace(result, f"notwithstanding the other provisions, {d.text}", d.node.span.where, d.layer)
        if d.node.cites:
            node.note = "; ".join(d.node.cites)
        node.missing = _lacking(covered, miss, good)
        node.kind = "deemed"
        nodes.append((d, node))
    return tri_or([n.result for _, n in nodes]), nodes


def _deem(plan: Plan, good: Good, as_of: date, out: Outcome) -> None:
    """Apply the deemings to the ordinary outcome: one that holds makes the good qualify
    whatever the rules say; one that may hold leaves a good the rules do not qualify
    undecided (naming what it lacks, e.g. product.imported_from)."""
    deemed, nodes = _deemings(plan, good, as_of)
    if not nodes:
        return
    out.deemed = nodes
    root = out.trace
    root.children[0:0] = [n for _, n in nodes]
    if deemed is True:
        out.verdict, out.criterion = "qualifies", "deemed_originating"
        root.result = True
        out.missing, out.failures = [], []
    elif deemed is None and out.verdict != "qualifies":
        missing = dict.fromkeys(out.missing if out.verdict == "insufficient_data" else [])
        for _, n in nodes:
            if n.result is None:
                missing.update(dict.fromkeys(n.missing))
        out.verdict, out.criterion = "insufficient_data", None
        root.result = None
        out.missing = sorted(missing)


def _evaluate_ordinary(plan: Plan, good: Good, as_of: date) -> Outcome:
    if not plan.in_force(as_of):
        hs_text = str(good.hs) if good.hs else "no HS code"
        root = Trace(False, f"`{good.id}` ({hs_text}) under {plan.name} as of {as_of.isoformat()}", None, None)
        root.children.append(Trace(False, f"{plan.name} is in force from {plan.effective.isoformat()}", None, None))
        return Outcome(good, plan.name, as_of, "does_not_qualify", "agreement_not_in_force", None, {}, [], root,
                       [], [], plan.digest, chain=plan.program.chain)
    sub_nodes = _subassemblies(plan, good, as_of)
    doubtful = [p for p in good.subassemblies if p.sub.verdict == "insufficient_data"]
    if not doubtful:
        return _evaluate_good(plan, good, as_of, sub_nodes)
    outcomes = [_evaluate_good(plan, good, as_of, sub_nodes) for _ in _each_assumption(doubtful)]
    first = outcomes[0]  # every undetermined sub-assembly counted as non-originating
    if len({o.verdict for o in outcomes}) == 1 and len(doubtful) <= MAX_UNDETERMINED:
        if first.verdict == "insufficient_data":  # undecided in every world: what each one lacks
            first.missing = sorted(dict.fromkeys(m for o in outcomes for m in o.missing))
        first.trace.children.insert(len(sub_nodes), Trace(
            True, "the verdict is the same whether the undetermined sub-assemblies originate or not", None, None))
        return first
    first.verdict = "insufficient_data"
    first.trace.result = None
    missing = dict.fromkeys(first.missing)
    for part in doubtful:
        missing.update(dict.fromkeys(part.sub.missing))
    for other in outcomes[1:]:  # a world the sub-assemblies' origin may lead to, itself undecided
        if other.verdict == "insufficient_data":
            missing.update(dict.fromkeys(other.missing))
    first.missing = sorted(missing)
    first.trace.children.insert(len(sub_nodes), Trace(
        None, "the verdict depends on whether the undetermined sub-assemblies originate", None, None,
        materials=tuple(p.id for p in doubtful)))
    return first


def _assumptions(n: int) -> list[tuple[bool, ...]]:
    """Every combination for up to MAX_UNDETERMINED sub-assemblies; for more, only the
    pessimistic one (the caller then leaves the verdict undecided)."""
    if n <= MAX_UNDETERMINED:
        return list(product((False, True), repeat=n))
    return [(False,) * n]


def _each_assumption(doubtful: list) -> Iterator[None]:
    """Count the undetermined sub-assemblies as originating or not, one combination of
    :func:`_assumptions` at each step (both paths evaluate the good at each); afterwards,
    as non-originating again."""
    try:
        for flags in _assumptions(len(doubtful)):
            for part, flag in zip(doubtful, flags):
                part.originating = flag
            yield
    finally:
        for part in doubtful:
            part.originating = False


def _lacking(covered: bool | None, miss: str | None, good: Good) -> list[str]:
    """The fields whose absence leaves open whether a requirement, fallback or deeming
    applies (:func:`_applies`): the good's code when it is too coarse to tell whether the
    ``for`` covers it, and the field its ``when`` lacks; both when both are open (either
    could settle it)."""
    missing = [good.field("hs")] if covered is None else []
    if miss is not None:
        missing.append(miss)
    return missing


def _applies(item, covered: bool | None, good: Good, as_of: date) -> tuple[bool | None, str | None]:
    """Whether a requirement, fallback or deeming that covers the good's code (``covered``:
    ``None`` when the code is too coarse to tell) applies to it, with its ``when``; and the
    field whose absence leaves the ``when`` unknown. The one test of both paths."""
    when, miss = item.when(good, as_of)
    return (when if covered is True else tri_and([covered, when])), miss


def _evaluate_good(plan: Plan, good: Good, as_of: date, sub_nodes: list[Trace]) -> Outcome:
    hs_text = str(good.hs) if good.hs else "no HS code"
    root = Trace(None, f"`{good.id}` ({hs_text}) under {plan.name} as of {as_of.isoformat()}", None, None)
    root.children.extend(sub_nodes)
    out = Outcome(good, plan.name, as_of, "insufficient_data", None, None, {}, [], root, [], [], plan.digest,
                  chain=plan.program.chain)
    run = Run(good, plan, as_of)

    # territory (Art. 4.2: production in the territory of one or more parties)
    if good.produced_in is None:
        fields = [good.field("produced_in")] if good.prefix == "product" else [good.field("origin"), "product.produced_in"]
        territory = Trace(None, "produced in the territory of the parties", None, None, missing=fields)
    else:
        inside = good.produced_in in plan.parties
        territory = Trace(inside, f"produced in {good.produced_in}, {'a party' if inside else 'not a party'} to {plan.name}", None, None)
    root.children.append(territory)
    if territory.result is False:
        root.result = False
        out.verdict, out.criterion = "does_not_qualify", "not_produced_in_territory"
        _finish(out, run)
        return out

    # requirements that hold in every case
    required: list[bool | None] = []
    required_nodes: list[Trace] = []
    worlds: list[Trace] = []  # the rules that could apply, when more than one could (or maybe none)
    for req, covered in plan.requires_for(good.hs, as_of):
        applies, miss = _applies(req, covered, good, as_of)
        if applies is False:  # not evaluated: its figures are not the good's
            continue
        kids = list(_shared(req, run, _lines_traces))
        body = tri_and(k.result for k in kids)
        result = tri_or([tri_not(applies), body])
        if applies is None and body is False:  # only whether it applies is open: its lines are decided
            kids = [Trace(False, "its lines do not hold", None, None, children=kids)]
        node = Trace(result, req.text, req.node.span.where, req.layer, children=kids)
        if applies is None:
            node.missing = _lacking(covered, miss, good) or [good.field("hs")]
            node.note = "whether this requirement applies depends on missing facts"
        node.kind = "require"
        required.append(result)
        required_nodes.append(node)
        root.children.append(node)
        out.requirements.append((req, node))

    # Art. 4.2 (a) wholly obtained, (c) only originating materials, (b) the PSR (each node
    # made only when it is the one shown)
    materials = good.parts
    only_orig = bool(materials) and not M.non_originating_ids(good)
    origin = tri_or([good.wholly_obtained, only_orig])
    psr: bool | None = False
    if good.wholly_obtained:
        root.children.append(Trace(good.wholly_obtained, "wholly obtained or produced", None, None))
        out.criterion = "wholly_obtained"
    elif only_orig:
        root.children.append(Trace(True, "every material is originating", None, None, materials=()))
        out.criterion = "all_materials_originating"
    else:
        rules: list[CompiledRule] = []
        facts: list[str] = []
        fallback: bool | None = False
        fallback_nodes: list[Trace] = []
        if good.hs is None:
            psr_trace = Trace(None, "product-specific rule", None, None, missing=[good.field("hs")])
            root.children.append(psr_trace)
            psr = None
        else:
            chosen = select(plan, good, as_of)
            rules, facts, settled = chosen.rules, chosen.facts, chosen.settled
            coarse_node = None
            if chosen.finer is not None:
                finer = chosen.finer
                shown = ", ".join(finer[:6]) + (f" and {len(finer) - 6} more" if len(finer) > 6 else "")
                coarse_node = Trace(
                    None,
                    f"the code {good.hs} is coarser than the rules: {shown} "
                    f"{'has its' if len(finer) == 1 else 'have their'} own rule; a finer code of the good decides which applies",
                    None, None, missing=[good.field("hs")])
                root.children.append(coarse_node)
            if rules and not settled:
                out.notes.append("open")
            if not rules:
                root.children.append(Trace(False, f"no rule of {plan.name} covers {good.hs}", None, None))
                psr = False
                out.verdict = "no_rule"
            else:
                psr_start = len(root.children)
                traces = _rule_traces(rules, run)
                out.applied = list(zip(rules, traces))
                if len(traces) > 1 or not settled:
                    worlds = traces
                results = {t.result for t in traces}
                if results != {True}:  # a fallback may still make it originate
                    fallback, tried = _fallbacks(plan, good, as_of, run)
                    out.fallbacks = tried
                    fallback_nodes = [node for _, node in tried]
                out.rule = rules[0]
                out.layer_of_rule = rules[0].layer
                if len(traces) == 1:
                    psr = traces[0].result
                    root.children.append(traces[0])
                elif len(results) == 1:
                    psr = traces[0].result
                    node = Trace(psr, f"{len(traces)} rules could apply and all agree", None, None, children=traces)
                    node.note = f"depends on {', '.join(facts)}"
                    root.children.append(node)
                else:
                    psr = None
                    # the facts that pick the rule matter only if the verdict differs between rules
                    finals = {tri_and([territory.result, tri_or([t.result, fallback]), *required]) for t in traces}
                    node = Trace(None, f"{len(traces)} rules could apply and they disagree", None, None, children=traces,
                                 missing=facts if len(finals) > 1 or not settled else [])
                    root.children.append(node)
                    if coarse_node is not None and len(finals) == 1 and settled:
                        coarse_node.missing = []
                if not settled:  # with the missing facts, no rule might apply: a verdict of no_rule
                    # ... which does not qualify either: when no rule that could apply holds,
                    # the good does not qualify whichever applies
                    none_holds = all(tri_or([t.result, fallback]) is False for t in traces)
                    psr = False if none_holds else None
                    root.children.append(Trace(None, "with the missing facts, no rule might apply either", None, None,
                                               missing=[] if none_holds else facts))
            if coarse_node is not None and rules and settled and len({t.result for t in traces}) == 1:
                coarse_node.result = True  # every rule that could apply agrees: the code is fine-grained enough
                coarse_node.missing = []
        out.criterion = "product_specific_rule"
        if fallback_nodes and "open" in out.notes:  # with maybe no rule at all, no fallback applies either
            root.children.extend(fallback_nodes)
        elif fallback_nodes:
            if psr is not True and fallback is True:
                out.criterion = "fallback"
            psr = tri_or([psr, fallback])
            # the rule and the fallbacks under one node: what one of them lacks is not
            # missing when another decides
            psr_nodes = root.children[psr_start:]
            del root.children[psr_start:]
            root.children.append(Trace(psr, "the product-specific rule, or else a fallback of the agreement", None,
                                       None, children=psr_nodes + fallback_nodes))
        origin = tri_or([origin, psr])

    final = tri_and([territory.result, origin, *required])
    if "open" in out.notes and origin is not True and final is not False:
        # one world has no rule (verdict no_rule), the others a rule's verdict; when none of
        # them qualifies, the good does not qualify whichever it is
        final = None
    root.result = final
    if out.verdict == "no_rule":  # docs/language.md: no rule covers the code, and it does not qualify without one
        root.result = False
        out.criterion = None
    else:
        out.verdict = VERDICT[final]
    _finish(out, run)
    if out.verdict == "insufficient_data" and worlds:
        out.missing = _missing_over_worlds(territory, required_nodes, worlds, facts, settled,
                                           fallback, fallback_nodes)
    return out


def _fallbacks(plan: Plan, good: Good, as_of: date, run: Run) -> tuple[bool | None, list[tuple[CompiledFallback, Trace]]]:
    """The agreement's fallbacks that cover the good (GN11(n), GN11(b)(iv)): whether one
    holds, and each that may apply with its node."""
    nodes: list[tuple[CompiledFallback, Trace]] = []
    for fb, covered in plan.fallbacks_for(good.hs, as_of):
        applies, miss = _applies(fb, covered, good, as_of)
        if applies is False:
            continue
        kids = list(_shared(fb, run, _lines_traces))
        node = Trace(tri_and([applies, *(k.result for k in kids)]), f"otherwise, {fb.text}", fb.node.span.where,
                     fb.layer, children=kids)
        if fb.node.cites:
            node.note = "; ".join(fb.node.cites)
        if applies is None:
            node.missing = _lacking(covered, miss, good) or [good.field("hs")]
        node.kind = "fallback"
        nodes.append((fb, node))
    return tri_or([n.result for _, n in nodes]), nodes


def _missing_over_worlds(territory: Trace, required_nodes: list[Trace], worlds: list[Trace],
                         facts: list[str], settled: bool, fallback: bool | None,
                         fallback_nodes: list[Trace]) -> list[str]:
    """Several rules could apply (or maybe none): each is a world with its own verdict. The
    facts that pick the rule are missing when the worlds' verdicts differ; the fields a
    world lacks are missing when that world is itself undecided."""
    def verdict(w: Trace) -> bool | None:
        return tri_and([territory.result, tri_or([w.result, fallback]), *(n.result for n in required_nodes)])

    verdicts = {verdict(w) for w in worlds}
    seen: dict[str, None] = {}
    if len(verdicts) > 1 or not settled:
        seen.update(dict.fromkeys(facts))
    for w in worlds:
        if verdict(w) is None:
            # a fallback that holds makes what the rule lacks irrelevant (and the reverse)
            origin = (w, *fallback_nodes) if tri_or([w.result, fallback]) is None else ()
            for node in (territory, *required_nodes, *origin):
                _collect_missing(node, seen)
    return sorted(seen)


def _vnm_vom(good: Good) -> tuple[Decimal | None, Decimal | None]:
    return M.vnm(good)[0], M.vom(good)[0]


def _finish(out: Outcome, run: Run) -> None:
    good = out.good
    figures: dict[str, Decimal] = {}
    for name in PRODUCT_FIGURES:
        if good.figures.get(name) is not None:
            figures[name] = good.figures[name]
    bounds = run.memo.get("vnm_bounds")  # (low, exact value or None, missing), when a criterion needed it
    if good.memo.get("nested") is False:  # the same for every plan (``view.per_view``)
        vnm, vom = per_view(good, "vnm_vom", _vnm_vom)
    else:
        vnm = bounds[1] if bounds is not None else M.vnm(good)[0]
        vom, _ = M.vom(good)
    if vnm is not None:
        figures["vnm"] = vnm
    if vom is not None:
        figures["vom"] = vom
    for name, value in run.figures.items():
        figures.setdefault(name, value)
    out.figures = figures
    out.margins = run.margins
    if out.verdict == "insufficient_data":
        seen: dict[str, None] = {}
        _collect_missing(out.trace, seen)
        out.missing = sorted(seen)
    failures: dict[str, Failure] = {}
    stack = [out.trace]  # Trace.walk's order (depth first, children in order), without a generator
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        if node.failures:
            for f in node.failures:
                failures.setdefault(f.id, f)
        if node.children:
            extend(reversed(node.children))
    out.failures = list(failures.values())


def _collect_missing(node: Trace, seen: dict) -> None:
    """Missing fields of unknown nodes; a decided node's unknown children did not matter."""
    if node.result is not None:
        return
    for m in node.missing:
        seen.setdefault(m, None)
    for child in node.children:
        _collect_missing(child, seen)
    if node.sub is not None and node.sub.verdict == "insufficient_data":
        for m in node.sub.missing:
            seen.setdefault(m, None)


# ---- deciding without explaining -------------------------------------------------------------


def decide(plan: Plan, good: Good, as_of: date) -> str:
    """The verdict alone, by the same rules as ``evaluate`` but short-circuited and without
    traces, figures for display or margins: for batches and benchmarks. The test suite
    checks that it always agrees with ``evaluate``."""
    previous = getcontext()  # (``_exactly`` inlined: this is the verdict's whole path)
    setcontext(EXACT)
    try:
        return _decide(plan, for_evaluation(good), as_of)
    finally:
        setcontext(previous)


def _decide(plan: Plan, good: Good, as_of: date) -> str:
    if not plan.in_force(as_of):
        return "does_not_qualify"
    verdict = _decide_ordinary(plan, good, as_of) if good.subassemblies else _decide_good(plan, good, as_of)
    if good.prefix == "product" and plan.deemed and verdict != "qualifies":
        deemed = tri_or([_applies(d, covered, good, as_of)[0] for d, covered in plan.deemed_for(good.hs, as_of)])
        if deemed is True:
            return "qualifies"
        if deemed is None:
            return "insufficient_data"
    return verdict


def _decide_ordinary(plan: Plan, good: Good, as_of: date) -> str:
    if not plan.in_force(as_of):
        return "does_not_qualify"
    doubtful = []
    for part in good.subassemblies:
        part.sub = None
        verdict = _decide(plan, good_of_part(part, good), as_of)
        part.originating = verdict == "qualifies"
        if verdict == "insufficient_data":
            doubtful.append(part)
    if not doubtful:
        return _decide_good(plan, good, as_of)
    verdicts = {_decide_good(plan, good, as_of) for _ in _each_assumption(doubtful)}
    return verdicts.pop() if len(verdicts) == 1 and len(doubtful) <= MAX_UNDETERMINED else "insufficient_data"


def _fast_fallbacks(plan: Plan, good: Good, as_of: date, run: Run) -> bool | None:
    results = []
    for fb, covered in plan.fallbacks_for(good.hs, as_of):
        applies = _applies(fb, covered, good, as_of)[0]
        if applies is False:
            continue
        results.append(tri_and([applies, fb.decide(run)]))
        if results[-1] is True:
            return True
    return tri_or(results)


def _decide_good(plan: Plan, good: Good, as_of: date) -> str:
    if good.produced_in is None:
        territory = None
    elif good.produced_in in plan.parties:
        territory = True
    else:
        return "does_not_qualify"
    run = Run(good, plan, as_of)
    required: list[bool | None] = []  # the requirements that do not surely hold
    for req, covered in plan.requires_for(good.hs, as_of):
        applies = True if covered is True and req.when is always else _applies(req, covered, good, as_of)[0]
        if applies is False:
            continue
        body = req.decide(run)
        if body is True:
            continue
        if body is False and applies is True:
            # a requirement that surely fails: the good does not qualify, unless no rule
            # covers its code at all (the verdict no_rule, as ``evaluate`` gives it)
            if good.wholly_obtained or good.hs is None or (good.parts and not run.non_originating()):
                return "does_not_qualify"
            return "does_not_qualify" if select(plan, good, as_of).rules else "no_rule"
        required.append(tri_or([tri_not(applies), body]))
    if good.wholly_obtained or (good.parts and not run.non_originating()):
        origin: bool | None = True
    elif good.hs is None:
        origin = None
    else:
        chosen = select(plan, good, as_of)
        rules, settled = chosen.rules, chosen.settled
        if not rules:
            return "no_rule"
        if len(rules) == 1 and settled:  # the common case: one rule surely applies
            origin = rules[0].decide(run)
            if origin is not True:
                origin = tri_or([origin, _fast_fallbacks(plan, good, as_of, run)])
        else:
            results = {r.decide(run) for r in rules}
            if results != {True}:
                fallback = _fast_fallbacks(plan, good, as_of, run)
                results = {tri_or([r, fallback]) for r in results}
            if not settled:  # maybe no rule applies (no_rule): decided only when no rule that could apply holds
                return "does_not_qualify" if results == {False} or tri_and([territory, *required]) is False \
                    else "insufficient_data"
            if len(results) > 1:  # the rules disagree: decided only if the verdict is the same for each
                finals = {tri_and([territory, r, *required]) for r in results}
                return VERDICT[finals.pop()] if len(finals) == 1 else "insufficient_data"
            origin = results.pop()
    if territory is True and origin is True and not required:
        return "qualifies"
    return VERDICT[tri_and([territory, origin, *required])]
