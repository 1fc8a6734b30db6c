"""The structural diff: two programs in normal form -> what was added, removed or changed.

In: two :class:`~origin_rules.diff.normal.NormalProgram` values (old and new; an agreement
and a scenario, or one agreement in two versions of a rulebook). Out: a
:class:`StructuralDiff`: the changes in meaning, each a :class:`Change` with its subject
(``8708.30 "Brakes..."``, ``requirement for 84, 85, 87``, ``de minimis (value ...)``) and the
phrases of :mod:`origin_rules.diff.describe`, sorted by HS selector then date; and the
wording changes (titles, citations) that do not change the meaning.

Rules are compared selector item by selector item (an item is a code or a range of the
selector, after normalization), so splitting a rule's selector into two rules with the same
body, or reordering rules, is no change. Items that changed the same way are reported
together as one selector. Within an item, rule entries are paired by date window and
``when`` condition, so a raised threshold reads as a change of that rule, not as a removed
rule plus an added one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..formatting.printer import quote
from .describe import describe, filter_change, set_change, sort_phrases
from .normal import (
    Item, NormalDeemed, NormalDeMinimis, NormalEntry, NormalFallback, NormalProgram, NormalRequire, NSet, item_text,
    pct, text,
)


@dataclass
class Change:
    """One change in meaning.

    ``kind``: ``rule_added``, ``rule_removed``, ``rule_changed``, ``rules_reordered``,
    ``require_added``, ``require_removed``, ``require_changed``, ``fallback_added``,
    ``fallback_removed``, ``fallback_changed``, ``deemed_added``,
    ``deemed_removed``, ``deemed_changed``, ``de_minimis_added``,
    ``de_minimis_removed``, ``de_minimis_changed``, ``parties_changed``, ``effective_changed``.
    ``old`` and ``new`` hold the normal entries involved (for the counterexample search);
    ``items`` the selector items of a rule change."""

    kind: str
    subject: str
    details: list[str]
    old: tuple = ()
    new: tuple = ()
    items: tuple[Item, ...] = ()
    old_source: str | None = None
    new_source: str | None = None
    order: tuple = field(default=(), repr=False)

    @property
    def summary(self) -> str:
        """One line: ``8708.30 "Brakes": RVC (transaction value) 60% -> 65%``."""
        joined = "; ".join(self.details)
        if self.kind.endswith("_added"):
            return f"{self.subject} added: {joined}" if joined else f"{self.subject} added"
        if self.kind.endswith("_removed"):
            return f"{self.subject} removed (was: {joined})" if joined else f"{self.subject} removed"
        return f"{self.subject}: {joined}" if joined else self.subject

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "details": list(self.details),
                "summary": self.summary, "old_source": self.old_source, "new_source": self.new_source}


@dataclass
class StructuralDiff:
    old: NormalProgram
    new: NormalProgram
    changes: list[Change]
    wording: list[str]

    @property
    def same_meaning(self) -> bool:
        return not self.changes


# ---- subjects -------------------------------------------------------------------------------------


def window_text(from_: date | None, until: date | None) -> str:
    if from_ and until:
        return f"from {from_.isoformat()} until {until.isoformat()}"
    if from_:
        return f"from {from_.isoformat()}"
    if until:
        return f"until {until.isoformat()}"
    return ""


def entry_subject(selector: str, e: NormalEntry) -> str:
    parts = [selector]
    if e.title:
        parts.append(quote(e.title))
    qualifiers = [q for q in (window_text(e.from_, e.until), f"when {text(e.when)}" if e.when is not None else "") if q]
    if qualifiers:
        parts.append(f"({', '.join(qualifiers)})")
    return " ".join(parts)


def _statement_subject(word: str, line, for_text: str) -> str:
    """A requirement, fallback or deeming in words: ``WORD "Title" for S [except S] [when C]
    [window]`` (``for_text`` when the line has no ``for``)."""
    parts = [word]
    if line.title:
        parts.append(quote(line.title))
    parts.append(f"for {line.for_}" if line.for_ is not None else for_text)
    if getattr(line, "except_", None) is not None:
        parts.append(f"except {line.except_}")
    if line.when is not None:
        parts.append(f"when {text(line.when)}")
    window = window_text(line.from_, line.until)
    if window:
        parts.append(window)
    return " ".join(parts)


def require_subject(r: NormalRequire) -> str:
    """``requirement "Title" for 84, 85 when ...``."""
    return _statement_subject("requirement", r, "for every good")


def fallback_subject(f: NormalFallback) -> str:
    """``fallback "Title" for 28.01..40.17 except 38.23 when ...``."""
    return _statement_subject("fallback", f, "for every good with a rule")


def deemed_subject(d: NormalDeemed) -> str:
    """``deemed originating "Title" for 8471.30, 8471.41 when imported_from in [CA, MX]``."""
    return _statement_subject("deemed originating", d, "")


def policy_subject(p: NormalDeMinimis) -> str:
    base = "weight" if p.base == "weight" else p.base
    parts = [f"{p.measure} {p.op} {pct(p.share)} of {base}"]
    if p.of_which is not None:
        parts.append(of_which_text(p.of_which))
    if p.for_ is not None:
        parts.append(f"for {p.for_}")
    if p.except_ is not None:
        parts.append(f"except {p.except_}")
    return f"de minimis ({' '.join(parts)})"


def of_which_text(of_which: tuple[str, str, Decimal, str] | None) -> str:
    if of_which is None:
        return "no sub-limit"
    flag, op, share, base = of_which
    return f"of which {flag} {op} {pct(share)} of {base}"


def _sort_key_items(items) -> tuple:
    first = min(items) if items else ("", "")
    return (first[0].ljust(10, "0"), len(first[0]))


# ---- rules ---------------------------------------------------------------------------------------------


def _pairs(old: list, new: list, matchers) -> list[tuple]:
    """Pair entries: exact matches are dropped, then pairs that each matcher accepts, in
    turn, then one leftover on each side; the rest are unpaired (added or removed)."""
    a, b = list(old), list(new)
    for x in list(a):
        if x in b:
            a.remove(x)
            b.remove(x)
    out: list[tuple] = []
    for accepts in matchers:
        for x in list(a):
            match = next((y for y in b if accepts(x, y)), None)
            if match is not None:
                out.append((x, match))
                a.remove(x)
                b.remove(match)
    if len(a) == 1 and len(b) == 1:
        out.append((a.pop(), b.pop()))
    out += [(x, None) for x in a] + [(None, y) for y in b]
    return out


def _overlap(x, y) -> bool:
    lo = max(x.from_ or date.min, y.from_ or date.min)
    hi = min(x.until or date.max, y.until or date.max)
    return lo <= hi


MATCHERS = [
    lambda x, y: (x.from_, x.until, x.when) == (y.from_, y.until, y.when),
    lambda x, y: x.when == y.when and _overlap(x, y),
    lambda x, y: (x.from_, x.until) == (y.from_, y.until),
]


def pair_details(x, y) -> list[str]:
    """What changed between two paired rule entries or requirements: window, condition, body."""
    details: list[str] = []
    if (x.from_, x.until) != (y.from_, y.until):
        details.append(f"in force {window_text(x.from_, x.until) or 'always'} -> "
                       f"{window_text(y.from_, y.until) or 'always'}")
    if x.when != y.when:
        details.append(f"applies {'when ' + text(x.when) if x.when is not None else 'always'} -> "
                       f"{'when ' + text(y.when) if y.when is not None else 'always'}")
    details += describe(x.body, y.body)
    return sort_phrases(details)


def entry_changes(selector: str, items: tuple[Item, ...], old: tuple, new: tuple) -> list[Change]:
    """Changes between the entries of one selector (a group of items that changed alike)."""
    out: list[Change] = []
    pairs = _pairs(list(old), list(new), MATCHERS)
    if not pairs:  # the same entries in another order: `when` variants reordered
        out.append(Change("rules_reordered", selector,
                          ["order of the rules changed (the first rule whose `when` holds applies)"],
                          old, new, items, old[0].source if old else None, new[0].source if new else None))
    for x, y in pairs:
        if x is None:
            out.append(Change("rule_added", entry_subject(selector, y), [text(y.body)],
                              (), (y,), items, None, y.source))
        elif y is None:
            out.append(Change("rule_removed", entry_subject(selector, x), [text(x.body)],
                              (x,), (), items, x.source, None))
        else:
            out.append(Change("rule_changed", entry_subject(selector, x), pair_details(x, y),
                              (x,), (y,), items, x.source, y.source))
    for c in out:
        c.order = (_sort_key_items(items), min((e.from_ or date.min) for e in (c.old + c.new)) if (c.old or c.new) else date.min)
    return out


def rule_changes(old: NormalProgram, new: NormalProgram) -> tuple[list[Change], list[str]]:
    groups: dict[tuple, list[Item]] = {}
    wording: list[str] = []
    for item in sorted(set(old.rules) | set(new.rules)):
        o, n = old.rules.get(item, ()), new.rules.get(item, ())
        if o == n:
            for x, y in zip(o, n):
                label = entry_subject(item_text(item), x)
                if x.title != y.title:
                    wording.append(f'{label}: title "{x.title or ""}" -> "{y.title or ""}"')
                if x.cites != y.cites:
                    wording.append(f"{label}: citation {'; '.join(x.cites) or '(none)'} -> {'; '.join(y.cites) or '(none)'}")
            continue
        groups.setdefault((o, n), []).append(item)
    changes: list[Change] = []
    removed_only = {k: v for k, v in groups.items() if k[0] and not k[1]}
    added_only = {k: v for k, v in groups.items() if k[1] and not k[0]}
    moved: set = set()
    for rk, ritems in removed_only.items():  # a selector that changed: same titles on both sides
        titles = [e.title for e in rk[0]]
        for ak, aitems in added_only.items():
            if ak in moved or not any(titles) or [e.title for e in ak[1]] != titles:
                continue
            moved.update({rk, ak})
            before, after = _selector(ritems), _selector(aitems)
            details = [f"selector {before} -> {after}"]
            for x, y in _pairs(list(rk[0]), list(ak[1]), MATCHERS):
                if x is not None and y is not None:
                    details += pair_details(x, y)
                elif x is None:
                    details.append(f"rule added: {text(y.body)}")
                else:
                    details.append(f"rule removed (was: {text(x.body)})")
            change = Change("rule_changed", entry_subject(before, rk[0][0]), details, rk[0], ak[1],
                            tuple(ritems) + tuple(aitems), rk[0][0].source, ak[1][0].source)
            change.order = (_sort_key_items(ritems), rk[0][0].from_ or date.min)
            changes.append(change)
            break
    for (o, n), items in groups.items():
        if (o, n) in moved:
            continue
        changes.extend(entry_changes(_selector(items), tuple(items), o, n))
    return changes, wording


def _selector(items: list[Item]) -> str:
    return str(NSet(tuple(sorted(items, key=lambda i: (i[0], len(i[0]))))))


# ---- requirements and de minimis -----------------------------------------------------------------------


def require_changes(old: NormalProgram, new: NormalProgram) -> tuple[list[Change], list[str]]:
    matchers = [
        lambda x, y: (x.for_, x.when) == (y.for_, y.when),
        lambda x, y: x.for_ == y.for_,
        lambda x, y: x.title is not None and x.title == y.title,
    ]
    changes: list[Change] = []
    wording: list[str] = []
    for x, y in _pairs(list(old.requires), list(new.requires), matchers):
        if x is None:
            changes.append(Change("require_added", require_subject(y), [text(y.body)],
                                  (), (y,), (), None, y.source))
        elif y is None:
            changes.append(Change("require_removed", require_subject(x), [text(x.body)],
                                  (x,), (), (), x.source, None))
        else:
            details = set_change("covered code", x.for_, y.for_) if (x.for_ and y.for_) else (
                [f"now for {y.for_ or 'every good'} (was {x.for_ or 'every good'})"] if x.for_ != y.for_ else [])
            details = sort_phrases(details + pair_details(x, y))
            changes.append(Change("require_changed", require_subject(x), sort_phrases(details),
                                  (x,), (y,), (), x.source, y.source))
    for x, y in zip(old.requires, new.requires):
        if x == y and x.title != y.title:
            wording.append(f'{require_subject(x)}: title "{x.title or ""}" -> "{y.title or ""}"')
    return changes, wording


def fallback_changes(old: NormalProgram, new: NormalProgram) -> tuple[list[Change], list[str]]:
    """Fallbacks added, removed or changed: codes covered, exceptions, condition, dates and
    body. Fallbacks are alternatives (any one that holds originates the good; the first in
    file order is the one reported), so their order is wording, not meaning."""
    matchers = [
        lambda x, y: (x.for_, x.except_, x.when) == (y.for_, y.except_, y.when),
        lambda x, y: x.title is not None and x.title == y.title,
        lambda x, y: x.for_ == y.for_,
    ]
    changes: list[Change] = []
    for x, y in _pairs(list(old.fallbacks), list(new.fallbacks), matchers):
        if x is None:
            changes.append(Change("fallback_added", fallback_subject(y), [text(y.body)], (), (y,), (), None, y.source))
        elif y is None:
            changes.append(Change("fallback_removed", fallback_subject(x), [text(x.body)], (x,), (), (), x.source, None))
        else:
            details = []
            for word, a, b in (("covered code", x.for_, y.for_), ("exception", x.except_, y.except_)):
                if a != b:
                    details += set_change(word, a, b) if (a and b) else [f"{word}s {a or 'none'} -> {b or 'none'}"]
            details = sort_phrases(details + pair_details(x, y))
            changes.append(Change("fallback_changed", fallback_subject(x), details, (x,), (y,), (), x.source, y.source))
    wording: list[str] = []
    if not changes:
        for x, y in zip(old.fallbacks, new.fallbacks):
            if x != y:
                wording.append("fallbacks: their order changed (the first that holds is the one reported)")
                break
            if x.title != y.title:
                wording.append(f'{fallback_subject(x)}: title "{x.title or ""}" -> "{y.title or ""}"')
    return sorted(changes, key=lambda c: (c.subject, c.summary)), wording


def deemed_changes(old: NormalProgram, new: NormalProgram) -> list[Change]:
    """Deemings (``deemed originating``) added, removed or changed: their codes, exceptions,
    condition and dates."""
    matchers = [
        lambda x, y: x.when == y.when and x.for_ == y.for_,
        lambda x, y: x.when == y.when,
        lambda x, y: x.title is not None and x.title == y.title,
    ]
    changes: list[Change] = []
    for x, y in _pairs(list(old.deemed), list(new.deemed), matchers):
        if x is None:
            changes.append(Change("deemed_added", deemed_subject(y), [], (), (y,), (), None, y.source))
        elif y is None:
            changes.append(Change("deemed_removed", deemed_subject(x), [], (x,), (), (), x.source, None))
        else:
            details = set_change("deemed code", x.for_, y.for_)
            if x.except_ != y.except_:
                details += set_change("exception", x.except_, y.except_) if (x.except_ and y.except_) else [
                    f"exceptions {x.except_ or 'none'} -> {y.except_ or 'none'}"]
            if (x.from_, x.until) != (y.from_, y.until):
                details.append(f"in force {window_text(x.from_, x.until) or 'always'} -> "
                               f"{window_text(y.from_, y.until) or 'always'}")
            if x.when != y.when:
                details.append(f"applies {'when ' + text(x.when) if x.when is not None else 'always'} -> "
                               f"{'when ' + text(y.when) if y.when is not None else 'always'}")
            changes.append(Change("deemed_changed", deemed_subject(x), sort_phrases(details),
                                  (x,), (y,), (), x.source, y.source))
    return sorted(changes, key=lambda c: (c.subject, c.summary))


def policy_changes(old: NormalProgram, new: NormalProgram) -> list[Change]:
    matchers = [
        lambda x, y: (x.measure, x.base, x.for_, x.except_) == (y.measure, y.base, y.for_, y.except_),
        lambda x, y: (x.measure, x.base) == (y.measure, y.base),
        lambda x, y: x.measure == y.measure,
    ]
    changes: list[Change] = []
    for x, y in _pairs(list(old.de_minimis), list(new.de_minimis), matchers):
        if x is None:
            changes.append(Change("de_minimis_added", policy_subject(y), [_exclude(y)] if y.exclude is not None else [], (), (y,), (), None, y.source))
        elif y is None:
            changes.append(Change("de_minimis_removed", policy_subject(x), [], (x,), (), (), x.source, None))
        else:
            details: list[str] = []
            if (x.op, x.share, x.base) != (y.op, y.share, y.base):
                details.append(f"{x.op} {pct(x.share)} of {x.base} -> {y.op} {pct(y.share)} of {y.base}")
            if x.for_ != y.for_:
                details.append(f"now for {y.for_ or 'every good'} (was {x.for_ or 'every good'})")
            details += set_change("excepted code", x.except_, y.except_) if x.except_ and y.except_ else (
                [f"now excepts {y.except_}" if y.except_ else f"no longer excepts {x.except_}"] if x.except_ != y.except_ else [])
            details += filter_change(x.exclude, y.exclude)
            if x.of_which != y.of_which:
                details.append(f"{of_which_text(x.of_which)} -> {of_which_text(y.of_which)}")
            if x.measure != y.measure:
                details.append(f"measured by {x.measure} -> {y.measure}")
            changes.append(Change("de_minimis_changed", policy_subject(x), details, (x,), (y,), (), x.source, y.source))
    return changes


def _exclude(p: NormalDeMinimis) -> str:
    return f"excluding {text(p.exclude)}"


# ---- the whole diff ---------------------------------------------------------------------------------------


def structural_diff(old: NormalProgram, new: NormalProgram) -> StructuralDiff:
    """Every change in meaning between two programs, in words, sorted by selector and date."""
    changes: list[Change] = []
    if old.parties != new.parties:
        gained = sorted(set(new.parties) - set(old.parties))
        lost = sorted(set(old.parties) - set(new.parties))
        extra = ([f"{', '.join(gained)} added"] if gained else []) + ([f"{', '.join(lost)} removed"] if lost else [])
        detail = f"[{', '.join(old.parties)}] -> [{', '.join(new.parties)}]" + (f" ({'; '.join(extra)})" if extra else "")
        changes.append(Change("parties_changed", "parties", [detail]))
    if old.effective != new.effective:
        before = old.effective.isoformat() if old.effective else "always"
        after = new.effective.isoformat() if new.effective else "always"
        changes.append(Change("effective_changed", "in force", [f"from {before} -> from {after}"]))
    rules, wording = rule_changes(old, new)
    if old.program.cites != new.program.cites:
        wording.insert(0, f"citation of {new.name}: {'; '.join(old.program.cites) or '(none)'} -> "
                          f"{'; '.join(new.program.cites) or '(none)'}")
    rules.sort(key=lambda c: c.order)
    requires, req_wording = require_changes(old, new)
    requires.sort(key=lambda c: (c.subject, c.summary))
    policies = policy_changes(old, new)
    deemed = deemed_changes(old, new)
    fallbacks, fb_wording = fallback_changes(old, new)
    return StructuralDiff(old, new, changes + policies + deemed + rules + requires + fallbacks,
                          wording + req_wording + fb_wording)


__all__ = ["Change", "StructuralDiff", "structural_diff"]
