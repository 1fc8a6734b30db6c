"""Rule selection: which product-specific rules apply to a good on a date.

In: a :class:`~origin_rules.engine.plan.Plan`, a :class:`~origin_rules.engine.view.Good` and
a date. Out: a :class:`Selection`: the rules to evaluate, in order, the facts that would
pick among them, and whether some rule surely applies.

This is the one selection step: the evaluator (both the explaining and the verdict-only
path) and :meth:`~origin_rules.rulebook.book.Rulebook.rules_for` call it; coverage and
explanations read the rules the evaluator applied from its
:class:`~origin_rules.engine.evaluate.Outcome`, never by selecting again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .plan import CompiledRule, Plan
from .view import Good


@dataclass(slots=True)
class Selection:
    """The rules that apply, or could apply when facts are missing."""

    rules: list[CompiledRule] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # the fields whose values would pick the rule
    settled: bool = False  # some rule surely applies (False: with the missing facts, maybe none does)
    finer: list[str] | None = None  # the good's code is coarser than these codes' own rules


def select(plan: Plan, good: Good, as_of: date) -> Selection:
    """The rule whose `when` holds, or every rule that could apply when facts are missing.

    A code coarser than some rule (``8708.99`` where tariff item ``8708.99.06`` has a rule of
    its own, ``87`` where the rules are by subheading) never silently takes the looser rule:
    every rule that could apply to one of the finer codes is a candidate, and the good's
    code is a missing fact.

    A selection that depends on the code and the date only (a code no finer rule splits, whose
    first rule has no `when`) is remembered by the plan and shared: callers read it, never
    change it."""
    assert good.hs is not None
    key = (good.hs.digits, as_of)
    found = plan.selections.get(key)
    if found is not None:
        return found
    coarse = plan.candidate_groups(good.hs, as_of)
    if coarse is None:
        rules = plan.rules_for(good.hs, as_of)
        found = select_in(rules, good, as_of)
        if not rules or rules[0].node.when is None:  # the good's facts cannot change it
            plan.remember_selection(key, found)
        return found
    groups, finer = coarse
    out = Selection(facts=[good.field("hs")], settled=True, finer=finer)
    taken: set[int] = set()  # the rules' ids: a rule is one object (comparing them by value compared their ASTs)
    for group in groups:
        found = select_in(group, good, as_of)
        for rule in found.rules:
            if id(rule) not in taken:
                taken.add(id(rule))
                out.rules.append(rule)
        out.facts.extend(f for f in found.facts if f not in out.facts)
        out.settled = out.settled and found.settled
    out.rules.sort(key=lambda r: r.order)
    return out


def select_in(rules: list[CompiledRule], good: Good, as_of: date | None = None) -> Selection:
    """Among rules of one code, in order: the first whose `when` holds, with every earlier
    one whose `when` is unknown."""
    possible: list[CompiledRule] = []
    facts: list[str] = []
    for rule in rules:  # on the verdict path: plain lists, one Selection at the end
        result, miss = rule.when(good, as_of)
        if result is True:
            possible.append(rule)
            return Selection(possible, facts, True)
        if result is None:
            possible.append(rule)
            if miss and miss not in facts:
                facts.append(miss)
    return Selection(possible, facts, False)
