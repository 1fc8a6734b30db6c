"""Figures of a good: VNM, VOM, RVC by each method, MaxNOM, sums of filtered materials.

In: a :class:`~origin_rules.engine.view.Good` (its parts already marked originating or not).
Out: exact values: sums as ``Decimal``, percentages as ``Fraction`` (never rounded before a
comparison), each with the field paths that were missing when it could not be computed.
Display rounding lives in :func:`show`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .view import Good, Part

HUNDRED = Decimal(100)

#: RVC method -> (figure used as the denominator, name of the figure in a determination).
RVC_BASIS = {
    "transaction_value": "transaction_value",
    "net_cost": "net_cost",
}


def vnm(good: Good, parts: tuple[Part, ...] | None = None) -> tuple[Decimal | None, list[str]]:
    """Value of non-originating materials (materials of undetermined origin included)."""
    total = Decimal(0)
    missing = []
    for part in good.parts if parts is None else parts:
        if part.originating:
            continue
        if part.value is None:
            missing.append(f"{part.path}.value")
        else:
            total += part.value
    return (None if missing else total), missing


def vom(good: Good) -> tuple[Decimal | None, list[str]]:
    total = Decimal(0)
    missing = []
    for part in good.parts:
        if not part.originating:
            continue
        if part.value is None:
            missing.append(f"{part.path}.value")
        else:
            total += part.value
    return (None if missing else total), missing


def figure(good: Good, name: str) -> tuple[Decimal | None, list[str]]:
    value = good.figures.get(name)
    if value is None:
        return None, [good.figure_path(name)]
    return value, []


def percent(part: Decimal, whole: Decimal) -> Fraction:
    return Fraction(part) * 100 / Fraction(whole)


def to_decimal(value: Fraction, places: int = 2) -> Decimal:
    """A fraction rounded half-up to ``places`` decimals, for display only."""
    q = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(q, rounding=ROUND_HALF_UP)


def show(value: Fraction, threshold: Decimal | None = None, places: int = 2) -> Decimal:
    """Display a percentage; use more decimals when rounding would hide the comparison
    (59.996% against 60% shows as 59.996, not 60.00)."""
    shown = to_decimal(value, places)
    if threshold is None:
        return shown
    exact_side = (value > Fraction(threshold)) - (value < Fraction(threshold))
    while places < 12:
        shown_side = (shown > threshold) - (shown < threshold)
        if shown_side == exact_side:
            return shown
        places += 1
        shown = to_decimal(value, places)
    return shown


def traced_leaves(parts: tuple[Part, ...]) -> list[Part]:
    """Look through sub-assemblies down to the purchased materials."""
    out: list[Part] = []
    stack = list(reversed(parts))
    while stack:
        part = stack.pop()
        if part.parts:
            stack.extend(reversed(part.parts))
        else:
            out.append(part)
    return out


def money(value: Decimal) -> str:
    """Amounts as written, with at least two decimals: 10 -> 10.00, 12.345 -> 12.345."""
    if value == value.to_integral_value() or -value.as_tuple().exponent < 2:
        return str(value.quantize(Decimal("0.01")))
    return format(value.normalize(), "f")
