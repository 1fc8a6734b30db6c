"""HS codes at, around and related to a selector, and how selector items meet.

In: selector items as digit strings (``("6101", "6117")`` for ``61.01..61.17``) or a dotted
code. Out: real HS 2022 codes (from ``hs.nomenclature()``) for generated BOMs:
:func:`codes_at` (the first, middle and last subheading of an item), :func:`codes_around`
(the subheadings just outside it), :func:`related_codes` (material codes every tariff shift
tells apart for a good), and the item relations :func:`meets`, :func:`inside` and
:func:`admits` (whether a de minimis policy may apply to some good of an item). Used by
:mod:`origin_rules.diff.aimed` and :mod:`origin_rules.diff.search`.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

from ..model.hs import HsCode, Level, dotted, nomenclature

@lru_cache(maxsize=1)
def _subheadings() -> tuple[str, ...]:
    return tuple(sorted(c.digits for c in nomenclature().codes(Level.SUBHEADING)))


def _span(lo: str, hi: str) -> tuple[int, int]:
    """Indexes [i, j) of the subheadings whose prefix of len(lo) lies in [lo, hi]."""
    subs = _subheadings()
    n = len(lo)
    i = bisect.bisect_left(subs, lo[:6].ljust(6, "0")) if n < 6 else bisect.bisect_left(subs, lo[:6])
    j = bisect.bisect_right(subs, hi[:6].ljust(6, "9")) if n < 6 else bisect.bisect_right(subs, hi[:6])
    return i, j


def codes_at(lo: str, hi: str) -> list[str]:
    """Digits of real codes inside the item [lo, hi]: its first, middle and last subheading
    (tariff items as written)."""
    if len(lo) >= 6:
        return list(dict.fromkeys([lo, hi]))
    i, j = _span(lo, hi)
    subs = _subheadings()
    if i >= j:
        return []
    return list(dict.fromkeys([subs[i], subs[(i + j - 1) // 2], subs[j - 1]]))


def codes_around(lo: str, hi: str) -> list[str]:
    """Digits of the real subheadings just before and just after the item [lo, hi]."""
    subs = _subheadings()
    if len(lo) >= 6:
        i = bisect.bisect_left(subs, lo[:6])
        j = bisect.bisect_right(subs, hi[:6])
    else:
        i, j = _span(lo, hi)
    out = []
    if i > 0:
        out.append(subs[i - 1])
    if j < len(subs):
        out.append(subs[j])
    return out


@lru_cache(maxsize=4096)
def related_codes(good: str) -> tuple[str, ...]:
    """Dotted codes for materials of a good, the ones every tariff shift tells apart: another
    chapter (first: it passes every shift, so minimal BOMs use it), another heading of the
    good's chapter, a sibling subheading of its heading, and its own code."""
    digits = HsCode.parse(good).digits
    sub = digits[:6]
    subs = _subheadings()
    out = []
    other = [s for s in subs if s[:2] != sub[:2]]
    if other:
        out.append(other[bisect.bisect_right(other, sub) % len(other)])
    chapter = [s for s in subs[slice(*_span(sub[:2], sub[:2]))] if s[:4] != sub[:4]]
    if chapter:
        out.append(chapter[0])
    heading = [s for s in subs[slice(*_span(sub[:4], sub[:4]))] if s != sub]
    if heading:
        out.append(heading[0])
    out.append(sub)
    if len(digits) > 6:
        out.append(digits)
    return tuple(dotted(d) for d in dict.fromkeys(out))


def admits(policy, item) -> bool:
    """Whether a de minimis policy may apply to some good of the item ``(low, high)``."""
    if policy.for_ is not None and not any(meets(item, f) for f in policy.for_.items):
        return False
    if policy.except_ is not None and any(inside(item, e) for e in policy.except_.items):
        return False
    return True


def inside(a, b) -> bool:
    """Whether every code of item ``a`` lies in item ``b`` (b no finer than a)."""
    n = len(b[0])
    return len(a[0]) >= n and b[0] <= a[0][:n] and a[1][:n] <= b[1]


def meets(a, b) -> bool:
    """Whether two items (digit ranges, any levels) share a code."""
    n = min(len(a[0]), len(b[0]))
    return a[0][:n] <= b[1][:n] and b[0][:n] <= a[1][:n]
