"""One comparison end to end: two sides -> structural diff, portfolio impact, search.

In: two :class:`~origin_rules.diff.impact.Side` values (an agreement or scenario in a loaded
rulebook, old and new), optionally BOM records, a date, a budget of examples per change and
a seed. Out: a :class:`Comparison` holding the
:class:`~origin_rules.diff.structural.StructuralDiff`, the
:class:`~origin_rules.diff.impact.Impact` (when BOMs were given) and the
:class:`~origin_rules.diff.search.SearchResult` (unless the search is turned off, or there
is no change in meaning to search).

The verdict of a comparison is the search's (``stricter``, ``looser``, ``mixed``,
``equivalent``); portfolio flips count as evidence too (a BOM of the portfolio that loses
qualification is stricter evidence). When the normal forms are identical the verdict is
``equivalent`` with no search: the edit changed layout, order or wording only.

A name of one side only (:class:`OneSided`, from :func:`one_sided`: two versions of a
rulebook compared name by name, and an agreement or scenario removed or added) is not
compared, but it counts: goods that had a verdict under a removed name have none, which can
only take qualification away (stricter evidence); an added name can only give it (looser
evidence). Its ``impact`` lists the BOMs that lose (get) a verdict under it.

    from origin_rules.diff.compare import Side, compare
    book = origin_rules.load("rules/")
    result = compare(Side(book, "USMCA", "USMCA"), Side(book, "USMCA review 2026: combined", "..."))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from .impact import Impact, Side, one_sided_impact, portfolio_impact
from .normal import NormalProgram, normalize
from .prove import Proof, prove
from .search import SearchResult, classify, direction, from_portfolio, search
from .structural import StructuralDiff, structural_diff

__all__ = ["Comparison", "OneSided", "Side", "compare", "normal_of", "one_sided"]


@dataclass
class Comparison:
    old: Side
    new: Side
    structural: StructuralDiff
    impact: Impact | None = None
    search: SearchResult | None = None
    proof: Proof | None = None

    @property
    def directions(self) -> set[str]:
        found: set[str] = set()
        if self.search is not None:
            found |= {f.direction for f in self.search.findings}
        if self.proof is not None:
            found |= self.proof.directions
        if self.impact is not None:
            found |= {d for f in self.impact.flips if (d := direction(f.old_verdict, f.new_verdict))}
        return found

    @property
    def verdict(self) -> str:
        found = self.directions
        if self.proof is None:
            return classify(found)
        # a proof's words: `both` for a counterexample each way; `unknown` when it could not
        # settle a direction it found no counterexample for
        if {"stricter", "looser"} <= found:
            return "both"
        if self.proof.verdict == "unknown":
            return "unknown"
        return classify(found)

    @property
    def verdict_text(self) -> str:
        v = self.verdict
        if self.proof is not None and v == self.proof.verdict:
            return self.proof.text
        if v != "equivalent":
            return v
        if self.structural.same_meaning:
            return "equivalent (no change in meaning: the normalized rules are identical)"
        if self.search is None:
            return "not searched (run without --no-search to look for differences)"
        return self.search.text


_NORMAL: dict[tuple[int, str], NormalProgram] = {}


def normal_of(side: Side) -> NormalProgram:
    """The normal form of a side's program (cached per rulebook object and name)."""
    key = (id(side.book), side.name)
    found = _NORMAL.get(key)
    if found is None or found.program is not side.book.parsed.programs[side.name]:
        found = _NORMAL[key] = normalize(side.book.parsed.programs[side.name])
    return found


def _same_program(old: Side, new: Side) -> bool:
    """Whether both sides are the same agreement or scenario of the same rule texts, file by
    file in one order (so the same program, whatever folder each was loaded from)."""
    if old.name != new.name:
        return False
    a, b = old.book.parsed.sources, new.book.parsed.sources
    return len(a) == len(b) and all(x == y for x, y in zip(a.values(), b.values()))


def compare(old: Side, new: Side, *, boms: Iterable | None = None, on: date | None = None,
            examples: int = 200, seed: int = 0, run_search: bool = True, run_proof: bool = False,
            materials: int = 8, timeout: float = 60.0) -> Comparison:
    """Diff two sides; evaluate ``boms`` (BOM records) under both; search for counterexamples,
    or with ``run_proof`` prove the sides equivalent or find counterexamples with z3
    (:mod:`origin_rules.diff.prove`: up to ``materials`` materials, ``timeout`` seconds)."""
    on = on or date.today()
    old.book.plan(old.name)
    new.book.plan(new.name)
    old_n = normal_of(old)
    # the same agreement of the same rule texts in the same order (a branch that leaves the
    # rules alone, checked out in another folder): the same program, so the same normal form;
    # only the files' names, which the normal form does not hold, differ
    new_n = old_n if _same_program(old, new) else normal_of(new)
    result = Comparison(old, new, structural_diff(old_n, new_n))
    if boms is not None:
        result.impact = portfolio_impact(old, new, boms, on)
    if run_proof and result.structural.changes:
        result.proof = prove(result.structural.changes, old, new, old_n, new_n, on=on, materials=materials,
                             timeout=timeout)
    elif run_search and result.structural.changes:
        result.search = search(result.structural.changes, old, new, old_n, new_n, budget=examples, seed=seed, on=on)
        if result.impact is not None:
            from_portfolio(result.search, result.impact.flips, old, new, on)
    return result


@dataclass
class OneSided:
    """An agreement or scenario in one of the two rulebooks only: ``removed`` (in the old one,
    ``side``) or added (in the new one). ``other``: the paths of the rulebook without it."""

    side: Side
    removed: bool
    other: tuple[str, ...] = ()
    impact: Impact | None = None

    @property
    def word(self) -> str:
        return "removed" if self.removed else "added"

    @property
    def direction(self) -> str:
        """``stricter`` for a removed name (its goods lose their verdict), ``looser`` for an
        added one (goods get one): whatever the BOMs, never the other way."""
        return "stricter" if self.removed else "looser"

    @property
    def verdict_text(self) -> str:
        if self.removed:
            return "stricter (removed: goods that had a verdict under it have none)"
        return "looser (added: goods that had no verdict under it have one)"


def one_sided(side: Side, removed: bool, other: tuple[str, ...] = (), *, boms: Iterable | None = None,
              on: date | None = None) -> OneSided:
    """A name of one side only, with the BOMs (records) that lose or get a verdict under it."""
    result = OneSided(side, removed, other)
    if boms is not None:
        where = " ".join(other) or ("the new rules" if removed else "the old rules")
        result.impact = one_sided_impact(side, boms, on or date.today(), removed, f"`{side.name}` is not in {where}")
    return result
