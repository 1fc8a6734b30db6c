"""Rules that compete for one HS code: an indexed search, not a comparison of every pair.

In: the rules of one agreement or scenario program (after scenario replacement), in order,
each with the code intervals its selector covers (a selector item ``87.03`` is the interval
``8703..8703`` at heading level; ``61.01..61.17`` is ``6101..6117``).
Out: diagnostics for two rules of one level that cover a common code and that neither
``when`` nor dates separate: ROO106 (no dates), ROO107 (their date ranges overlap), ROO108
(a rule without ``when`` comes before another rule for the same code, which can then never
apply).

The search sorts the intervals of each level by their low end and sweeps them with a heap
of the intervals still open, so its cost is O(n log n) plus the number of overlapping pairs,
which in a sound rulebook is small (the phases of one rule, the cases of one ``when``).
"""

from __future__ import annotations

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


def _pairs(entries: list[RuleEntry]) -> dict[tuple[int, int], tuple[str, ast.Span, ast.Span]]:
    """Every pair of rules (earlier, later) sharing a code at one level, with the first such
    code and the spans of the two selector items that cover it."""
    by_length: dict[int, list[tuple[str, str, int, ast.Span]]] = {}
    for index, entry in enumerate(entries):
        for c in entry.items:
            by_length.setdefault(len(c.low), []).append((c.low, c.high, index, c.span))
    found: dict[tuple[int, int], tuple[str, ast.Span, ast.Span]] = {}
    for intervals in by_length.values():
        intervals.sort(key=lambda t: (t[0], t[1]))
        active: list[tuple[str, int, int, ast.Span]] = []  # heap by high end
        for seq, (low, high, index, span) in enumerate(intervals):
            while active and active[0][0] < low:
                heapq.heappop(active)
            for _, _, other, other_span in active:
                if other == index:
                    continue
                key = (other, index) if other < index else (index, other)
                if key not in found:
                    first, second = (other_span, span) if other < index else (span, other_span)
                    found[key] = (low, first, second)
            heapq.heappush(active, (high, seq, index, span))
    return found


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
    for (i, j), (digits, span_i, span_j) in sorted(_pairs(entries).items()):
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
