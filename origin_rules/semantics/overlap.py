"""Rules that compete for one HS code: an indexed search, not a comparison of every pair.

In: the rules of one agreement or scenario program (after scenario replacement), in order,
each with the code intervals its selector covers (a selector item ``87.03`` is the interval
``8703..8703`` at heading level; ``61.01..61.17`` is ``6101..6117``).
Out: diagnostics for two rules of one level that cover a common code and that neither
``when`` nor dates separate: ROO106 (no dates), ROO107 (their date ranges overlap), ROO108
(a rule without ``when`` comes before another rule for the same code, which can then never
apply).

The search sorts the intervals of each level by their low end and sweeps them with a heap
of the intervals still open. Only the pairs that can be reported are looked at (for each
rule, the first earlier one it competes with and the first later one it shadows), found by
a sweep over bundles of equal intervals, so n copies of one rule cost O(n log n), not n²; in
general the cost is O(n log n) plus, at each interval, the number of distinct intervals
still open.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from ..model import ast
from ..model.diagnostics import Diagnostic, error
from ..model.hs import HsCode, dotted


@dataclass(frozen=True, slots=True)
class Covered:
    """An interval of codes a selector item covers: ``low``..``high`` digits of one length."""

    low: str
    high: str
    span: ast.Span


@dataclass(slots=True)
class RuleEntry:
    """A rule of a program, in program order, with the intervals its selector covers."""

    rule: ast.Rule
    items: list[Covered]


def selector_text(expr: ast.HsSetExpr) -> str:
    parts = []
    for item in expr.items:
        if isinstance(item, ast.HsCodeLit):
            parts.append(str(item.code))
        elif isinstance(item, ast.HsRangeLit):
            parts.append(f"{item.low.code}..{item.high.code}")
        else:
            parts.append(item.name)
    return ", ".join(parts)


def dates_text(rule: ast.Rule) -> str:
    parts = []
    if rule.from_ is not None:
        parts.append(f"from {rule.from_}")
    if rule.until is not None:
        parts.append(f"until {rule.until}")
    return " ".join(parts) or "no dates"


def _bounds(rule: ast.Rule, effective: date | None) -> tuple[date, date] | None:
    """The days a rule can apply: from its ``from`` (at the earliest the effective date) to
    its ``until``; ``None`` when that is no day at all."""
    low = max(rule.from_ or date.min, effective or date.min)
    high = rule.until or date.max
    return None if high < low else (low, high)


def _where(span: ast.Span, here: ast.Span) -> str:
    return f"line {span.line}" if span.file == here.file else f"{span.file}:{span.line}"


def _describe(rule: ast.Rule) -> str:
    title = f' "{rule.title}"' if rule.title else ""
    return f"`rule {selector_text(rule.selector)}{title}`"


def _pairs(entries: list[RuleEntry], effective: date | None = None
           ) -> dict[tuple[int, int], tuple[str, ast.Span, ast.Span]]:
    """The pairs of rules (earlier, later) that :func:`find_overlaps` can report, each with
    the first code they share at one level and the spans of the two selector items that cover
    it: for each rule, the first earlier rule it competes with (ROO106/ROO107) and, for a rule
    without ``when``, the first later rule with ``when`` it shadows (ROO108); the other pairs
    that share a code are never reported, and are not looked at. (Looking at every pair made
    n copies of one rule cost n²/2: 42 s for 4,000.)

    Which code and spans a pair gets is what a sweep over every pair gives: the intervals of
    each level sorted by their low end, swept with a heap of those still open, the pair taken
    at the first interval that finds the other rule's open, with the first such interval of
    the other in the heap's order."""
    wanted = _wanted(entries, effective)
    by_length: dict[int, list[tuple[str, str, int, ast.Span]]] = {}
    for index, entry in enumerate(entries):
        for c in entry.items:
            by_length.setdefault(len(c.low), []).append((c.low, c.high, index, c.span))
    found: dict[tuple[int, int], tuple[str, ast.Span, ast.Span]] = {}
    for intervals in by_length.values():
        intervals.sort(key=lambda t: (t[0], t[1]))
        active: list[tuple[str, int, int, ast.Span]] = []  # heap by high end
        open_spans: dict[int, dict[ast.Span, int]] = {}  # rule -> the spans of its open intervals
        for seq, (low, high, index, span) in enumerate(intervals):
            while active and active[0][0] < low:
                _, _, gone, gone_span = heapq.heappop(active)
                spans = open_spans[gone]
                spans[gone_span] -= 1
                if not spans[gone_span]:
                    del spans[gone_span]
            partners = wanted.get(index)
            if partners:
                if len(partners) < len(active):
                    for other in partners:
                        key = (other, index) if other < index else (index, other)
                        spans = open_spans.get(other)
                        if key in found or not spans:
                            continue
                        if len(spans) == 1:
                            other_span = next(iter(spans))
                        else:  # the other rule's first open interval in the heap's order
                            other_span = next(s for _, _, o, s in active if o == other)
                        first, second = (other_span, span) if other < index else (span, other_span)
                        found[key] = (low, first, second)
                else:
                    for _, _, other, other_span in active:
                        if other == index or other not in partners:
                            continue
                        key = (other, index) if other < index else (index, other)
                        if key not in found:
                            first, second = (other_span, span) if other < index else (span, other_span)
                            found[key] = (low, first, second)
            heapq.heappush(active, (high, seq, index, span))
            spans = open_spans.setdefault(index, {})
            spans[span] = spans.get(span, 0) + 1
    return found


@dataclass(slots=True)
class _Bundle:
    """The open intervals of one level that are one interval (``low``..``high``): their rules
    by kind (dates, with or without ``when``), in program order, and what later rules offered
    ranges of them (resolved when the bundle closes)."""

    high: str
    members: dict[tuple, list[int]]
    offers: list[tuple[tuple, str, int, int, int]]  # (kind, "competes" | "shadows", rule, from, to)


def _wanted(entries: list[RuleEntry], effective: date | None) -> dict[int, set[int]]:
    """For each rule, the rules it is paired with in :func:`_pairs`: the first earlier rule
    without ``when`` it shares a code and a day with (both without ``when``), and the first
    later rule with ``when`` it shares a code and a day with (it without ``when``).

    A sweep like :func:`_pairs`'s, over bundles of equal intervals instead of intervals: n
    copies of one rule are one bundle, in which the first earlier copy is its first member and
    the later ones a range of members, offered the rule at once and resolved when the bundle
    closes. Its cost is the number of intervals times the bundles (of distinct intervals) open
    at each, plus a logarithm."""
    kinds: dict[int, tuple] = {}
    for index, entry in enumerate(entries):
        bounds = _bounds(entry.rule, effective)
        if bounds is not None:  # a rule that never applies is paired with none
            kinds[index] = (bounds, entry.rule.when is None)
    competes: dict[int, int] = {}  # rule -> the first earlier rule it competes with
    shadows: dict[int, int] = {}  # rule without `when` -> the first later rule with `when` it shadows

    def offer(best: dict[int, int], rule: int, other: int) -> None:
        if other < best.get(rule, len(entries)):
            best[rule] = other

    def close(bundle: _Bundle) -> None:
        for kind, members in bundle.members.items():
            for which, best in (("competes", competes), ("shadows", shadows)):
                offers = sorted((o[2], o[3], o[4]) for o in bundle.offers if o[0] == kind and o[1] == which)
                if not offers:
                    continue
                after = list(range(len(members) + 1))  # the next member not yet given its first offer

                def next_open(i: int) -> int:
                    while after[i] != i:
                        after[i] = after[after[i]]
                        i = after[i]
                    return i

                for rule, start, stop in offers:  # smallest rule first: each member takes the first
                    i = next_open(start)
                    while i < stop:
                        offer(best, members[i], rule)
                        after[i] = i + 1
                        i = next_open(i + 1)

    meet = lambda a, b: not (a[0] > b[1] or b[0] > a[1])  # noqa: E731 (two date ranges share a day)
    by_length: dict[int, list[tuple[str, str, int]]] = {}
    for index, entry in enumerate(entries):
        if index in kinds:
            for c in entry.items:
                by_length.setdefault(len(c.low), []).append((c.low, c.high, index))
    for intervals in by_length.values():
        intervals.sort(key=lambda t: (t[0], t[1]))
        active: list[tuple[str, int, _Bundle]] = []  # heap by high end
        last: tuple[str, str, _Bundle] | None = None
        for low, high, index in intervals:
            while active and active[0][0] < low:
                close(heapq.heappop(active)[2])
            days, plain = kinds[index]
            for _, _, bundle in active:
                for kind, members in bundle.members.items():
                    if not meet(days, kind[0]):
                        continue
                    if plain and kind[1]:  # both without `when`: they compete
                        if members[0] < index:
                            offer(competes, index, members[0])
                        start = bisect.bisect_right(members, index)
                        if start < len(members):
                            bundle.offers.append((kind, "competes", index, start, len(members)))
                    elif plain:  # this rule shadows the first later one with `when`
                        start = bisect.bisect_right(members, index)
                        if start < len(members):
                            offer(shadows, index, members[start])
                    elif kind[1]:  # the earlier ones without `when` shadow this one
                        stop = bisect.bisect_left(members, index)
                        if stop:
                            bundle.offers.append((kind, "shadows", index, 0, stop))
            if last is not None and last[0] == low and last[1] == high:
                bundle = last[2]
            else:
                bundle = _Bundle(high, {}, [])
                heapq.heappush(active, (high, id(bundle), bundle))
                last = (low, high, bundle)
            bundle.members.setdefault(kinds[index], []).append(index)
        for _, _, bundle in active:
            close(bundle)
    wanted: dict[int, set[int]] = {}
    for best in (competes, shadows):
        for rule, other in best.items():
            wanted.setdefault(rule, set()).add(other)
            wanted.setdefault(other, set()).add(rule)
    return wanted


def find_overlaps(
    entries: list[RuleEntry],
    reported: set,
    effective: date | None = None,
    clause: Callable[[ast.Rule, str], ast.Span] | None = None,
) -> list[Diagnostic]:
    """Diagnose competing rules; ``reported`` holds keys already reported by another program
    (a base agreement's rules reappear in each of its scenarios). A rule is reported at most
    once as competing with an earlier one (ROO106/ROO107), and a rule without ``when`` at most
    once as shadowing a later one (ROO108). ``clause(rule, "from")`` gives the span of a date
    clause, for ROO107 to point at."""
    out: list[Diagnostic] = []
    for (i, j), (digits, span_i, span_j) in sorted(_pairs(entries, effective).items()):
        a, b = entries[i].rule, entries[j].rule
        bounds_a, bounds_b = _bounds(a, effective), _bounds(b, effective)
        if bounds_a is None or bounds_b is None:
            continue  # a rule that never applies is reported as ROO117 or ROO118
        if bounds_a[0] > bounds_b[1] or bounds_b[0] > bounds_a[1]:
            continue
        code = dotted(digits)
        if a.when is None and b.when is not None:
            key = ("ROO108", id(a))
            if key not in reported:
                reported.add(key)
                out.append(error(
                    "ROO108",
                    f"this rule has no `when` but is not the last rule for `{code}`: "
                    f"{_describe(b)} at {_where(span_j, span_i)} comes after it and can never apply",
                    span_i,
                    "the rule without `when` is the fallback: move it after the rules with `when`",
                ))
            continue
        if a.when is not None or b.when is not None:
            continue
        key = ("competes", id(b))
        if key in reported:
            continue
        reported.add(key)
        if clause is not None and (b.from_ is not None or b.until is not None):
            span_j = clause(b, "from" if b.from_ is not None else "until")
        out.append(_competing(a, b, code, span_i, span_j, effective))
    return out


def _competing(a: ast.Rule, b: ast.Rule, code: str, span_a: ast.Span, span_b: ast.Span,
               effective: date | None) -> Diagnostic:
    """ROO106 (no dates anywhere) or ROO107 (dates that overlap), at the later rule."""
    if not any(d is not None for d in (a.from_, a.until, b.from_, b.until)):
        level = HsCode(code.replace(".", "")).level.word
        return error(
            "ROO106",
            f"`{code}` is covered by two rules at {level} level: this one and "
            f"{_describe(a)} at {_where(span_a, span_b)}",
            span_b,
            "keep one, narrow a selector, tell them apart with `when` (the rule without "
            "`when` last), or give them dates that do not overlap",
        )
    return error(
        "ROO107",
        f"the dates of this rule ({dates_text(b)}) overlap those of {_describe(a)} at "
        f"{_where(span_a, span_b)} ({dates_text(a)}) for `{code}`",
        span_b,
        _date_fix(a, b, effective),
    )


def _date_fix(a: ast.Rule, b: ast.Rule, effective: date | None) -> str:
    """Suggest a ``from`` or an ``until`` that makes the two date ranges meet without overlap
    (``b`` is the rule the diagnostic points at)."""
    start = lambda r: max(r.from_ or date.min, effective or date.min)  # noqa: E731
    first, second = (a, b) if start(a) <= start(b) else (b, a)
    name = lambda r: "this rule" if r is b else _describe(r)  # noqa: E731
    if first.until is not None and first.until < date.max:
        day = first.until + timedelta(days=1)
        return f"start {name(second)} the day after the other ends: `from {day}` (both dates are inclusive)"
    if second.from_ is not None and start(first) < second.from_:
        day = second.from_ - timedelta(days=1)
        return f"end {name(first)} the day before the other starts: `until {day}` (both dates are inclusive)"
    return "give the rules date ranges that do not overlap (`from` and `until` are both inclusive)"
