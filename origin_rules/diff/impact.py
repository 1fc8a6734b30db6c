"""Portfolio impact: which of a company's BOMs change verdict between two sides of a diff.

In: the two sides (:class:`Side`: a loaded rulebook and the agreement or scenario name in
it), BOM records (:func:`origin_rules.files.boms.read_boms`), and the date of the
determinations. Out: an :class:`Impact`: every BOM whose verdict differs, with the verdict
and the one-line reason from each side (:func:`origin_rules.rulebook.explain.one_line_reason`), and
counts: how many were evaluated, lost qualification, gained it, changed otherwise (between
``does_not_qualify``, ``insufficient_data`` and ``no_rule``), and could not be read.

Verdicts come from the fast ``Rulebook.verdict``; only the BOMs that flip are evaluated
again with explanations, for their reasons.

A name of one side only (an agreement or scenario removed or added between two versions of a
rulebook): :func:`one_sided_impact` lists the BOMs that lose (or get) a verdict under it, with
no verdict (``None``) on the other side: those that qualify or lack data there. No verdict
ranks with ``does_not_qualify`` and ``no_rule`` (a good outside every agreement originates
under none), so a BOM that does not qualify under the name changes nothing that matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Iterator

from ..model.bom import BOM
from ..rulebook.explain import one_line_reason
from ..rulebook.book import Rulebook


@dataclass(frozen=True)
class Side:
    """One side of a comparison: an agreement or scenario of a loaded rulebook.
    ``label`` names it for people (``USMCA (rules/usmca.roo)``); ``paths`` are the rule
    files or folders it was loaded from (for the commands the report suggests)."""

    book: Rulebook
    name: str
    label: str
    paths: tuple[str, ...] = ()

    def verdict(self, bom: BOM, on: date) -> str:
        return self.book.verdict(bom, self.name, on)

    def reason(self, bom: BOM, on: date) -> tuple[str, str]:
        """(verdict, one-line reason; empty when it qualifies), from a full evaluation."""
        det = self.book.evaluate(bom, self.name, on)
        return det.verdict, one_line_reason(det)

    def subassemblies(self, bom: BOM, on: date) -> dict[str, str]:
        """The verdict of each sub-assembly of the BOM (roll-up), by material id."""
        det = self.book.evaluate(bom, self.name, on)
        if det.explanation is None:
            return {}
        return {node.materials[0]: node.sub_determination.verdict for node in det.explanation.children
                if node.sub_determination is not None and node.materials}


@dataclass(frozen=True)
class Flip:
    """A BOM whose verdict differs between the sides."""

    source: str
    product_id: str
    hs: str | None
    old_verdict: str | None  # None: the name is not on this side (removed or added)
    new_verdict: str | None
    old_reason: str
    new_reason: str
    bom: BOM | None = field(default=None, compare=False, repr=False)

    @property
    def direction(self) -> str:
        """``lost`` (qualified before, not now), ``gained``, or ``other``."""
        if self.old_verdict == "qualifies":
            return "lost"
        if self.new_verdict == "qualifies":
            return "gained"
        return "other"

    def to_dict(self) -> dict:
        return {
            "source": self.source, "product_id": self.product_id, "hs": self.hs,
            "direction": self.direction,
            "old": {"verdict": self.old_verdict, "reason": self.old_reason},
            "new": {"verdict": self.new_verdict, "reason": self.new_reason},
        }


@dataclass
class Impact:
    as_of: date
    evaluated: int = 0
    flips: list[Flip] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, direction: str) -> int:
        return sum(1 for f in self.flips if f.direction == direction)

    @property
    def summary(self) -> str:
        n = len(self.flips)
        text = (f"{n} of {self.evaluated} BOM{'s' if self.evaluated != 1 else ''} change verdict: "
                f"{self.count('lost')} lose qualification, {self.count('gained')} gain it, "
                f"{self.count('other')} change otherwise")
        if self.errors:
            text += f"; {len(self.errors)} could not be read"
        return text

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "evaluated": self.evaluated, "changed": len(self.flips),
            "lost": self.count("lost"), "gained": self.count("gained"), "other": self.count("other"),
            "unchanged": self.evaluated - len(self.flips), "errors": list(self.errors),
            "flips": [f.to_dict() for f in self.flips],
        }


def _subassembly_note(before: dict[str, str], after: dict[str, str]) -> str:
    """``; sub-assembly `HEAD-1`: qualifies -> does_not_qualify`` for each that changed."""
    moved = [f"sub-assembly `{k}`: {before[k]} -> {after[k]}" for k in before if k in after and before[k] != after[k]]
    return "".join(f"; {m}" for m in moved)


def _readable(impact: Impact, records: Iterable) -> Iterator:
    """The records that hold a BOM, counted as evaluated; the others' errors kept in ``impact``."""
    for record in records:
        if isinstance(record, Exception):
            impact.errors.append(str(record))
        elif not record.ok:
            impact.errors.append(str(record.error))
        else:
            impact.evaluated += 1
            yield record


def portfolio_impact(old: Side, new: Side, records: Iterable, on: date) -> Impact:
    """Evaluate every readable BOM under both sides; keep those whose verdict changes.
    ``records`` yields :class:`~origin_rules.files.boms.BomRecord` values or exceptions (a file
    that could not be read), as :func:`origin_rules.cli.common.read_records` does."""
    impact = Impact(on)
    for record in _readable(impact, records):
        bom = record.bom
        before, after = old.verdict(bom, on), new.verdict(bom, on)
        if before == after:
            continue
        ov, old_reason = old.reason(bom, on)
        nv, new_reason = new.reason(bom, on)
        new_reason += _subassembly_note(old.subassemblies(bom, on), new.subassemblies(bom, on))
        where = record.source if not record.position else f"{record.source}#{record.position}"
        impact.flips.append(Flip(where, bom.product.id, bom.product.hs, ov, nv, old_reason, new_reason, bom))
    return impact


def one_sided_impact(side: Side, records: Iterable, on: date, removed: bool, absent: str = "") -> Impact:
    """The BOMs whose verdict under a name of one side only is lost (``removed``: the name is
    in the old rulebook only) or new (added): every readable BOM that qualifies or has
    ``insufficient_data`` under ``side``, with ``None`` as the verdict of the side without the
    name and ``absent`` as its reason (``Other` is not in new.roo``)."""
    impact = Impact(on)
    for record in _readable(impact, records):
        bom = record.bom
        if side.verdict(bom, on) not in ("qualifies", "insufficient_data"):
            continue
        verdict, reason = side.reason(bom, on)
        where = record.source if not record.position else f"{record.source}#{record.position}"
        pair = (verdict, None, reason, absent) if removed else (None, verdict, absent, reason)
        impact.flips.append(Flip(where, bom.product.id, bom.product.hs, *pair, bom))
    return impact
