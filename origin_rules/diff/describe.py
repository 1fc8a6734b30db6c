"""Changes in words: two normal criteria -> short sentences saying what changed.

In: normal nodes (:mod:`origin_rules.diff.normal`) for the old and the new side of one rule,
requirement or condition. Out: a list of phrases such as ``RVC (transaction value) 60% ->
65%``, ``exception 52.04..52.12 added``, ``alternative `change from any other subheading and
rvc(net_cost) >= 50%` removed``. Equal nodes give no phrase.

How: ``or`` and ``and`` are compared as multisets: operands present on both sides are
skipped, the remaining ones are paired by likeness (same kind of criterion, shared parts)
and described recursively; an operand left without a partner is *added* or *removed*. A
leaf criterion whose threshold, exceptions or sources moved is described by what moved;
anything else reads ``old -> new`` in the rule language.
"""

from __future__ import annotations

from .normal import (
    NAll, NAny, NChange, NCompare, NFact, NHsIn, NMaxNom, NNot, NOriginIn, NRvc, NSet, NSum, item_text,
    level_words, pct, text,
)

NAMES = {
    "transaction_value": "transaction value",
    "net_cost": "net cost",
    "build_down": "build-down",
    "build_up": "build-up",
    "focused_value": "focused value",
    "fob": "FOB",
    "ex_works": "ex-works",
    "total_cost": "total cost",
}


def q(node) -> str:
    """A node quoted for a sentence."""
    return f"`{text(node)}`"


def measure_words(m) -> str:
    """``RVC (transaction value)``, ``RVC (build-down, FOB)``, ``MaxNOM (ex-works)``, or the sum."""
    if isinstance(m, NRvc):
        parts = [NAMES.get(m.method, m.method)]
        if m.method not in ("transaction_value", "net_cost"):
            parts.append(NAMES.get(m.basis, m.basis))
        if m.focus is not None:
            parts.append(f"on {m.focus}")
        return f"RVC ({', '.join(parts)})"
    if isinstance(m, NMaxNom):
        return f"MaxNOM ({NAMES.get(m.basis, m.basis)})"
    return text(m)


def subtract(a: NSet | None, b: NSet | None) -> list[str]:
    """The codes of ``a`` that ``b`` does not cover, as printed items: ranges are cut where
    ``b`` has items of the same level; an item of ``a`` with finer items of ``b`` inside it
    reads ``51 (but not 51.06..51.13)``."""
    out: list[str] = []
    for lo, hi in (a.items if a is not None else ()):
        n = len(lo)
        pieces = [(int(lo), int(hi))]
        finer: list = []
        for blo, bhi in (b.items if b is not None else ()):
            if len(blo) == n:
                cut = []
                for x, y in pieces:
                    if int(bhi) < x or int(blo) > y:
                        cut.append((x, y))
                        continue
                    if x < int(blo):
                        cut.append((x, int(blo) - 1))
                    if int(bhi) < y:
                        cut.append((int(bhi) + 1, y))
                pieces = cut
            elif len(blo) < n:
                m = len(blo)
                pieces = [(x, y) for x, y in pieces
                          if not (blo <= str(x).zfill(n)[:m] and str(y).zfill(n)[:m] <= bhi)]
            else:
                finer.append((blo, bhi))
        for x, y in pieces:
            item = (str(x).zfill(n), str(y).zfill(n))
            inside = [f for f in finer if item[0] <= f[0][:n] <= item[1]]
            text_ = item_text(item)
            out.append(f"{text_} (but not {', '.join(item_text(f) for f in inside)})" if inside else text_)
    return out


def set_change(word: str, old: NSet | None, new: NSet | None) -> list[str]:
    """``exception 52.04..52.12 added`` / ``exceptions 51.06..51.13 -> 51.06..51.12``."""
    if old == new:
        return []
    added = subtract(new, old)
    removed = subtract(old, new)
    show = ", ".join
    if added and not removed:
        return [f"{word} {show(added)} added"]
    if removed and not added:
        return [f"{word} {show(removed)} removed"]
    if not added and not removed:
        return [f"{word}s {old} -> {new}"]
    return [f"{word} {show(removed)} removed", f"{word} {show(added)} added"]


def describe(old, new) -> list[str]:
    """What changed from ``old`` to ``new`` (normal nodes; either may be None: absent)."""
    if old == new:
        return []
    if old is None:
        return [f"{q(new)} added"]
    if new is None:
        return [f"{q(old)} removed"]
    for kind, word in ((NAny, "alternative"), (NAll, "condition")):
        if isinstance(old, kind) or isinstance(new, kind):
            a = old.ops if isinstance(old, kind) else (old,)
            b = new.ops if isinstance(new, kind) else (new,)
            return operands(a, b, word)
    if isinstance(old, NCompare) and isinstance(new, NCompare):
        return compare(old, new)
    if isinstance(old, NChange) and isinstance(new, NChange):
        return change(old, new)
    if isinstance(old, NNot) and isinstance(new, NNot):
        return [f"not: {p}" for p in describe(old.op, new.op)]
    return [f"{q(old)} -> {q(new)}"]


def operands(a: tuple, b: tuple, word: str) -> list[str]:
    """Multiset difference of operands, leftovers paired by likeness and described."""
    left_a = list(a)
    left_b = list(b)
    for x in list(left_a):
        if x in left_b:
            left_a.remove(x)
            left_b.remove(x)
    out: list[str] = []
    for x, y in pair(left_a, left_b):
        if x is None:
            out.append(f"{word} {q(y)} added")
        elif y is None:
            out.append(f"{word} {q(x)} removed")
        else:
            out.extend(describe(x, y))
    return out


def pair(a: list, b: list) -> list[tuple]:
    """Pair old and new operands by likeness (greedy, best first); the rest stay alone."""
    scored = sorted(
        ((likeness(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)),
        key=lambda s: (-s[0], s[1], s[2]),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[tuple] = []
    for score, i, j in scored:
        if score <= 0 or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j))
    out: list[tuple] = []
    for i, j in sorted(pairs):
        out.append((a[i], b[j]))
    out += [(x, None) for i, x in enumerate(a) if i not in used_a]
    out += [(None, y) for j, y in enumerate(b) if j not in used_b]
    return out


def slot(n) -> tuple:
    """What kind of criterion a node is, for pairing (values left out)."""
    if isinstance(n, NCompare):
        m = n.measure
        what = ((m.method, m.basis) if isinstance(m, NRvc) else ("max_nom",) if isinstance(m, NMaxNom)
                else ("fact", m.name) if isinstance(m, NFact) else (m.measure, m.traced, m.part))
        return ("compare", what, n.op in (">=", ">"))
    return (type(n).__name__,)


def atoms(n) -> list:
    return list(n.ops) if isinstance(n, (NAll, NAny)) else [n]


def likeness(x, y) -> float:
    """How alike two operands are: shared atoms count 1, atoms of the same kind 0.5."""
    ax, ay = atoms(x), atoms(y)
    score = 0.0
    rest_y = list(ay)
    rest_x = []
    for atom in ax:
        if atom in rest_y:
            rest_y.remove(atom)
            score += 1
        else:
            rest_x.append(atom)
    slots = [slot(atom) for atom in rest_y]
    for atom in rest_x:
        s = slot(atom)
        if s in slots:
            slots.remove(s)
            score += 0.5
    if type(x) is not type(y) and isinstance(x, (NAll, NAny)) and isinstance(y, (NAll, NAny)):
        score -= 0.25
    return score


def compare(old: NCompare, new: NCompare) -> list[str]:
    same_measure = old.measure == new.measure and old.base == new.base
    if same_measure and old.op == new.op:
        base = f" of {text(new.base)}" if new.base is not None else ""
        if isinstance(new.measure, NSum):
            return [f"`{text(new.measure)} {new.op} ...{base}`: {pct(old.share)} -> {pct(new.share)}"]
        return [f"{measure_words(new.measure)} {pct(old.share)} -> {pct(new.share)}{base}"]
    if old.op == new.op and old.share == new.share and old.base == new.base:
        return [f"{q(old.measure)} -> {q(new.measure)} in {q(new)}"]
    return [f"{q(old)} -> {q(new)}"]


def change(old: NChange, new: NChange) -> list[str]:
    out: list[str] = []
    if old.levels != new.levels:
        before = ", ".join(level_words(old.levels)) or "no `any other` source"
        after = ", ".join(level_words(new.levels)) or "no `any other` source"
        out.append(f"change from {before} -> change from {after}")
    gained = subtract(new.sources, old.sources)
    lost = subtract(old.sources, new.sources)
    if gained:
        out.append("now also from " + ", ".join(gained))
    if lost:
        out.append("no longer from " + ", ".join(lost))
    out += set_change("exception", old.except_, new.except_)
    if old.groups != new.groups:  # `except more than one of (A), (B)`: said whole
        def said(groups) -> str:
            return "more than one of " + ", ".join(f"({g})" for g in groups) if groups else "none"
        out.append(f"groups excepted together: {said(old.groups)} -> {said(new.groups)}")
    return out or [f"{q(old)} -> {q(new)}"]


def filter_change(old, new) -> list[str]:
    """Phrases for a material filter (de minimis ``exclude``)."""
    if old == new:
        return []
    if old is None:
        return [f"now excludes {text(new)}"]
    if new is None:
        return [f"no longer excludes {text(old)}"]
    if isinstance(old, NOriginIn) and isinstance(new, NOriginIn):
        gained = sorted(set(new.countries) - set(old.countries))
        lost = sorted(set(old.countries) - set(new.countries))
        out = []
        if gained:
            out.append(f"now also excludes origin in [{', '.join(gained)}]")
        if lost:
            out.append(f"no longer excludes origin in [{', '.join(lost)}]")
        return out
    if isinstance(old, NHsIn) and isinstance(new, NHsIn):
        return set_change("excluded code", old.hs, new.hs)
    return [f"exclusion {q(old)} -> {q(new)}"]


def sort_phrases(phrases: list[str]) -> list[str]:
    """Phrases in a stable order (as found; duplicates dropped)."""
    seen: dict[str, None] = {}
    for p in phrases:
        seen.setdefault(p, None)
    return list(seen)


__all__ = ["describe", "filter_change", "measure_words", "set_change", "sort_phrases", "subtract"]
