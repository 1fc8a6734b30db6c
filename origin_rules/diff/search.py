"""Counterexample search: BOMs on which two sides of a diff disagree, shrunk to a minimum.

In: the two sides (:class:`~origin_rules.diff.impact.Side`), their normal programs, the
structural changes, a budget of examples per change, a seed and a date. Out: a
:class:`SearchResult`: for each change, the examples tried and the :class:`Finding` values
(a minimal BOM, the date, both verdicts with reasons); and the verdict of the comparison.

Ordering of verdicts: ``qualifies`` > ``insufficient_data`` > ``does_not_qualify`` =
``no_rule``. A BOM whose verdict falls from old to new is *stricter* evidence; one whose
verdict rises is *looser* evidence. The search prefers the most telling evidence of each
direction: *decisive* (``qualifies`` against ``does_not_qualify``/``no_rule``), then
*strong* (``qualifies`` against ``insufficient_data``), then *weak* (between
``insufficient_data`` and ``does_not_qualify``); a lesser grade is reported only when no
better one of that direction was found. The comparison is ``stricter`` (stricter evidence only),
``looser``, ``mixed`` (both), or ``equivalent``: no difference found in N examples, which is
never a proof.

How: for each change, hypothesis generates cases (a BOM aimed at the change with
:func:`origin_rules.diff.aimed.boms_for_aim`, and a date: the given one or a boundary of
the changed rule) and evaluates each under both sides with the fast ``Rulebook.verdict``.
It hunts stricter evidence with ``hypothesis.find`` (which shrinks what it finds), noting
every other difference it meets on the way, then hunts looser evidence the same way. The
hunts are seeded (``random=Random(seed)``) and use no example database; and hypothesis's
habit of drawing, now and then, constants found in the code loaded in the process (which
differs between the command line, a test session and a notebook) is turned off while the
search runs (:func:`fixed_constants`): a seed gives the same run wherever it is called from.
"""

from __future__ import annotations

import random
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

from ..model.bom import BOM
from .aimed import Aim, aim_from_nodes, amounts_of, boms_for_aim, material_codes_of
from .codes import admits, meets
from .impact import Side
from .nodes import EXACT
from .normal import NChange, NCompare, NormalProgram, NSet, walk
from .shrink import simplify
from .structural import Change

RANK = {"qualifies": 2, "insufficient_data": 1, "does_not_qualify": 0, "no_rule": 0}
MAX_GOOD_ITEMS = 40


def direction(old: str, new: str) -> str | None:
    """``stricter``, ``looser`` or None (no change in rank) for a pair of verdicts."""
    a, b = RANK[old], RANK[new]
    return "stricter" if b < a else "looser" if b > a else None


def strong(old: str, new: str) -> bool:
    return (old == "qualifies") != (new == "qualifies")


def grade(old: str, new: str) -> int:
    """How telling a difference is: 0 decisive (qualifies against does_not_qualify or
    no_rule), 1 strong (qualifies against insufficient_data), 2 weak (the rest)."""
    if not strong(old, new):
        return 2
    return 1 if "insufficient_data" in (old, new) else 0


@dataclass
class Finding:
    """A BOM (minimal when ``shrunk``) on which the sides disagree, as of ``as_of``."""

    change: str
    direction: str
    bom: BOM
    as_of: date
    old_verdict: str
    new_verdict: str
    old_reason: str = ""
    new_reason: str = ""
    shrunk: bool = True
    origin: str = "search"  # or "portfolio": a BOM of the portfolio, simplified

    @property
    def strong(self) -> bool:
        return strong(self.old_verdict, self.new_verdict)

    def to_dict(self) -> dict:
        import json

        return {
            "change": self.change, "direction": self.direction, "as_of": self.as_of.isoformat(),
            "old": {"verdict": self.old_verdict, "reason": self.old_reason},
            "new": {"verdict": self.new_verdict, "reason": self.new_reason},
            "evidence": ("decisive", "strong", "weak")[grade(self.old_verdict, self.new_verdict)],
            "shrunk": self.shrunk, "origin": self.origin, "bom": json.loads(self.bom.to_json()),
        }


@dataclass
class ChangeSearch:
    change: Change
    examples: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return classify({f.direction for f in self.findings})


@dataclass
class SearchResult:
    seed: int
    budget: int
    per_change: list[ChangeSearch] = field(default_factory=list)
    portfolio: list[Finding] = field(default_factory=list)

    @property
    def examples(self) -> int:
        return sum(c.examples for c in self.per_change)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.per_change for f in c.findings] + self.portfolio

    @property
    def verdict(self) -> str:
        return classify({f.direction for f in self.findings})

    @property
    def text(self) -> str:
        if self.verdict == "equivalent":
            return f"equivalent (no difference found in {self.examples} examples)"
        return self.verdict

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict, "text": self.text, "proven": False, "examples": self.examples,
            "seed": self.seed, "examples_per_hunt": self.budget,
            "changes": [{"change": c.change.summary, "examples": c.examples, "verdict": c.verdict,
                         "findings": [f.to_dict() for f in c.findings]} for c in self.per_change],
            "portfolio_findings": [f.to_dict() for f in self.portfolio],
        }


def classify(directions: set[str]) -> str:
    if {"stricter", "looser"} <= directions:
        return "mixed"
    if "stricter" in directions:
        return "stricter"
    if "looser" in directions:
        return "looser"
    return "equivalent"


# ---- aiming at a change ------------------------------------------------------------------------


def _spread(items: list, n: int) -> list:
    """At most ``n`` items, evenly spaced (deterministic)."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _has_shift(body) -> bool:
    return any(isinstance(x, NChange) for x in walk(body))


def aim_for_change(change: Change, old: NormalProgram, new: NormalProgram) -> Aim:
    """What BOMs aimed at one change are made of: the codes of the changed rule (or of the
    goods a changed requirement, policy or party list reaches) and everything the rules that
    apply to those codes name, on both sides."""
    programs = (old, new)
    if change.items:
        good = list(change.items)
    elif change.kind.startswith("require"):
        # the goods a requirement can turn: those with a rule (or the whole `for` set)
        ruled = sorted(set(old.rules) | set(new.rules))
        sets = [r.for_ for r in change.old + change.new]
        if all(s is not None for s in sets):
            inside = [i for i in ruled if any(meets(i, f) for s in sets for f in s.items)]
            good = _spread(inside, MAX_GOOD_ITEMS) + sorted({f for s in sets for f in s.items})
        else:
            good = _spread(ruled, MAX_GOOD_ITEMS)
    elif change.kind.startswith("deemed"):
        # the goods a deeming can turn: its `for` codes (and the rules' goods among them)
        ruled = sorted(set(old.rules) | set(new.rules))
        sets = [d.for_ for d in change.old + change.new]
        inside = [i for i in ruled if any(meets(i, f) for s in sets for f in s.items)]
        good = _spread(inside, MAX_GOOD_ITEMS) + sorted({f for s in sets for f in s.items})
    elif change.kind.startswith("de_minimis"):
        shifting = sorted({i for p in programs for i, es in p.rules.items() if any(_has_shift(e.body) for e in es)})
        policies = change.old + change.new
        good = _spread([i for i in shifting if any(admits(p, i) for p in policies)] or shifting, MAX_GOOD_ITEMS)
    else:
        good = _spread(sorted(set(old.rules) | set(new.rules)), MAX_GOOD_ITEMS)
    changed: list = []
    for e in change.old + change.new:
        changed += [getattr(e, "body", None), getattr(e, "when", None), getattr(e, "exclude", None)]
    nodes = list(changed)
    by_item: dict = {}
    for p in programs:
        for item in good:
            for e in p.rules.get(item, ()):
                nodes += [e.body, e.when]
                by_item.setdefault(item, list(changed)).append(e.body)
        for r in p.requires:
            if r.for_ is None or any(meets(i, f) for i in good for f in r.for_.items):
                nodes += [r.body, r.when]
    parties = tuple(dict.fromkeys([*old.parties, *new.parties]))
    aim = aim_from_nodes([n for n in nodes if n is not None], good, parties, around=True,
                         policies=[*old.de_minimis, *new.de_minimis],
                         nodes_by_item={i: [n for n in ns if n is not None] for i, ns in by_item.items()} if len(good) > 1 else None)
    return replace(aim, focus=focus_of(change), focus_codes=focus_codes_of(change))


def focus_codes_of(change: Change) -> tuple[str, ...]:
    """Material codes in and around the HS set items found on one side of a change only
    (an added exception, a new source, a changed `hs in` filter)."""
    def items(entries) -> Counter:
        found: Counter = Counter()
        for e in entries:
            for part in (getattr(e, "body", None), getattr(e, "exclude", None)):
                for x in walk(part):
                    if isinstance(x, NSet):
                        found.update(x.items)
        return found

    before, after = items(change.old), items(change.new)
    moved = list((before - after) + (after - before))
    return material_codes_of([NSet(tuple(moved))]) if moved else ()


def focus_of(change: Change) -> tuple:
    """The amounts an edit moved: every threshold found on one side only, and the midpoint
    between an old and a new threshold of the same measure (``60% -> 65%``: 62.5%)."""
    def comparisons(entries) -> list:
        out = []
        for e in entries:
            for part in (getattr(e, "body", None), getattr(e, "exclude", None)):
                out += [x for x in walk(part) if isinstance(x, NCompare)]
        return out

    before, after = comparisons(change.old), comparisons(change.new)
    gone = [c for c in before if c not in after]
    came = [c for c in after if c not in before]
    amounts = [a for c in gone + came for a in amounts_of(c)]
    for a in gone:
        for b in came:
            if a.measure == b.measure and a.base == b.base:
                for (fa, pa), (fb, pb) in zip(amounts_of(a), amounts_of(b)):
                    if fa == fb:
                        amounts.append((fa, EXACT.divide(EXACT.add(pa, pb), 2)))
    policies = [(p, q) for p in change.old for q in change.new if hasattr(p, "share") and hasattr(q, "share")]
    for p, q in policies:
        if p.share != q.share:
            amounts += [(p.base, p.share), (q.base, q.share), (q.base, EXACT.divide(EXACT.add(p.share, q.share), 2))]
    return tuple(dict.fromkeys(amounts))


def dates_for_change(change: Change, old: NormalProgram, new: NormalProgram, on: date) -> tuple[date, ...]:
    """The date of the comparison first, then the boundaries of the changed windows (and the
    effective dates, when they changed or when ``on`` is before them)."""
    out = [on]
    for e in change.old + change.new:
        start, end = getattr(e, "from_", None), getattr(e, "until", None)
        if start:
            out += [start, start - timedelta(days=1)]
        if end:
            out += [end, end + timedelta(days=1)]
    for d in (old.effective, new.effective):
        if d and (change.kind == "effective_changed" or on < d):
            out += [d, d - timedelta(days=1)]
    return tuple(dict.fromkeys(out))[:9]


# ---- hunting ---------------------------------------------------------------------------------------------


def _settings(budget: int) -> settings:
    return settings(
        max_examples=budget, database=None, deadline=None, derandomize=False,
        phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet, report_multiple_bugs=False,
    )


class _Hunt:
    """Runs ``find`` with a predicate on the verdict pair, counting generated examples and
    remembering the first example of every (direction, strength) met on the way."""

    def __init__(self, old: Side, new: Side, strategy, seed: int, budget: int):
        self.old, self.new, self.strategy, self.seed, self.budget = old, new, strategy, seed, budget
        self.examples = 0
        self.seen: dict[tuple[str, int], tuple] = {}

    def verdicts(self, case) -> tuple[str, str]:
        bom, on = case
        return self.old.verdict(bom, on), self.new.verdict(bom, on)

    def run(self, wanted: str, want: int):
        """The minimal case of the wanted direction and grade, or None; examples counted
        until it is found (or the budget, when it is not)."""
        found_at: list[int] = []
        counter = [0]

        def condition(case) -> bool:
            counter[0] += 1
            a, b = self.verdicts(case)
            d = direction(a, b)
            if d is None:
                return False
            self.seen.setdefault((d, grade(a, b)), case)
            hit = d == wanted and grade(a, b) == want
            if hit and not found_at:
                found_at.append(counter[0])
            return hit

        try:
            case = find(self.strategy, condition, settings=_settings(self.budget), random=random.Random(self.seed))
        except (NoSuchExample, Unsatisfiable):
            case = None
        self.examples += found_at[0] if found_at else min(counter[0], self.budget)
        return case


def search_change(change: Change, old: Side, new: Side, old_n: NormalProgram, new_n: NormalProgram,
                  budget: int, seed: int, on: date) -> ChangeSearch:
    """Hunt stricter then looser evidence for one change (see the module docstring)."""
    aim = aim_for_change(change, old_n, new_n)
    result = ChangeSearch(change)
    if not aim.good_codes:
        return result
    dates = dates_for_change(change, old_n, new_n, on)
    strategy = st.tuples(boms_for_aim(aim), st.sampled_from(dates))
    hunt = _Hunt(old, new, strategy, seed, budget)
    for wanted in ("stricter", "looser"):
        case, shrunk = hunt.run(wanted, 0), True
        for want in (1, 2):
            if case is None and (wanted, want) in hunt.seen:
                case = hunt.run(wanted, want)
                if case is None:
                    case, shrunk = hunt.seen[(wanted, want)], False
        if case is None:
            continue
        bom, day = case
        bom = simplify(bom, _same_kind(hunt.verdicts, day, *hunt.verdicts(case)))
        ov, o_reason = old.reason(bom, day)
        nv, n_reason = new.reason(bom, day)
        result.findings.append(Finding(change.summary, wanted, bom, day, ov, nv, o_reason, n_reason, shrunk))
    result.examples = hunt.examples
    return result


def _same_kind(judge, day: date, old_verdict: str, new_verdict: str):
    """A predicate: does a BOM (as of ``day``) show a difference of the same direction and
    grade as the pair given? ``judge`` maps ``(bom, day)`` to the two verdicts."""
    kind = (direction(old_verdict, new_verdict), grade(old_verdict, new_verdict))

    def same(bom: BOM) -> bool:
        a, b = judge((bom, day))
        return (direction(a, b), grade(a, b)) == kind

    return same


def from_portfolio(result: SearchResult, flips, old: Side, new: Side, on: date) -> None:
    """For each direction the search did not find but a BOM of the portfolio shows, add that
    BOM, simplified (:func:`origin_rules.diff.shrink.simplify`), as a finding."""
    found = {f.direction for f in result.findings}
    for flip in flips:
        d = direction(flip.old_verdict, flip.new_verdict)
        if d is None or d in found or flip.bom is None:
            continue
        judge = lambda case: (old.verdict(case[0], case[1]), new.verdict(case[0], case[1]))  # noqa: E731
        bom = simplify(flip.bom, _same_kind(judge, on, flip.old_verdict, flip.new_verdict), renumber=False)
        ov, o_reason = old.reason(bom, on)
        nv, n_reason = new.reason(bom, on)
        result.portfolio.append(Finding(f"portfolio BOM {flip.product_id} [{flip.source}]", d, bom, on,
                                        ov, nv, o_reason, n_reason, True, "portfolio"))
        found.add(d)


@contextmanager
def fixed_constants():
    """While inside, hypothesis draws no constants from the modules loaded in the process
    (an internal of hypothesis's provider; if it moves, this does nothing)."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        original = providers._get_local_constants
        cache = providers.CONSTANTS_CACHE
    except (ImportError, AttributeError):  # pragma: no cover - another hypothesis
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


def search(changes: list[Change], old: Side, new: Side, old_n: NormalProgram, new_n: NormalProgram,
           *, budget: int = 200, seed: int = 0, on: date | None = None) -> SearchResult:
    """Search every change; see the module docstring for the verdict."""
    on = on or date.today()
    result = SearchResult(seed, budget)
    with fixed_constants():
        for change in changes:
            result.per_change.append(search_change(change, old, new, old_n, new_n, budget, seed, on))
    return result
