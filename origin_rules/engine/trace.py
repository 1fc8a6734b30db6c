"""Evaluation traces and three-valued logic.

In: results of criteria as they are evaluated. Out: :class:`Trace` nodes (the explanation
tree, rendered later by ``engine.explain`` and ``engine.output``) and :class:`Margin` records
(headroom to a threshold). Results are ``True``, ``False`` or ``None`` (unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

Tri = bool | None


def tri_and(values) -> Tri:
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


def tri_or(values) -> Tri:
    unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            unknown = True
    return None if unknown else False


def tri_not(value: Tri) -> Tri:
    return None if value is None else not value


@dataclass(slots=True)
class Margin:
    """How far a figure is from its threshold, and what would flip the outcome."""

    criterion: str
    source: str | None
    figure: str
    value: Decimal
    threshold: Decimal
    comparison: str
    margin: Decimal  # in points (percentages) or in the measure's unit; positive = room left
    flip_value: Decimal | None  # non-originating value whose addition (or removal) flips it
    holds: bool
    unit: str = "%"  # "%" for percentage figures, "value" or "kg" for sums


@dataclass(slots=True)
class Failure:
    """A material that failed a tariff shift, and why."""

    id: str
    hs: str | None
    reason: str


class Trace:
    """One step of the explanation: what was tested, its result, and what decided it."""

    __slots__ = ("result", "text", "source", "layer", "figures", "materials", "children", "sub",
                 "margin", "failures", "note", "missing", "kind")

    def __init__(self, result: Tri, text: str, source: str | None = None, layer: str | None = None,
                 figures: dict | None = None, materials: tuple[str, ...] = (), children: list | None = None,
                 sub: object | None = None, missing: list[str] | None = None):
        self.result = result
        self.text = text
        self.source = source
        self.layer = layer
        self.figures = {} if figures is None else figures
        self.materials = materials
        self.children = [] if children is None else children
        self.sub = sub  # a sub-assembly's Outcome
        self.margin: Margin | None = None
        self.failures: list[Failure] = []
        self.note: str | None = None
        self.missing = [] if missing is None else missing  # fields that left this node unknown
        self.kind: str | None = None  # "rule", "require" or "fallback" for the rule-file items applied

    def walk(self):
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))
