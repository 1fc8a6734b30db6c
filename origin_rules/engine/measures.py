"""Figures of a good: VNM, VOM, RVC by each method, MaxNOM, sums of filtered materials.

In: a :class:`~origin_rules.engine.view.Good` (its parts already marked originating or not).
Out: exact ``Decimal`` sums, each with the field paths that were missing when it could not
be computed. Percentages are never computed for a decision: criteria compare by
cross-multiplication (``(TV - VNM) x 100 >= t x TV``), exact in Decimal arithmetic; display
rounding lives in :func:`show`.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation

from ..model.determination import decimal_text
from .view import Good, Part, per_view

HUNDRED = Decimal(100)
ZERO = Decimal(0)
ONE = Decimal(1)

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


def non_originating_ids(good: Good) -> tuple[str, ...]:
    """The ids of the good's materials not originating (once per view: ``view.per_view``)."""
    return per_view(good, "non_originating_ids", _non_originating_ids)


def _non_originating_ids(good: Good) -> tuple[str, ...]:
    return tuple([p.id for p in good.parts if not p.originating])


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


def bounds(parts, originating: bool) -> tuple[Decimal, bool, list[str]]:
    """(sum of the known values, whether every value is known, missing fields) of the
    parts that are (``originating=True``) or are not originating. Values are never
    negative, so the known sum is a lower bound of the whole."""
    total = Decimal(0)
    missing = []
    for part in parts:
        if part.originating is not originating:
            continue
        if part.value is None:
            missing.append(f"{part.path}.value")
        else:
            total += part.value
    return total, not missing, missing


#: What a sum weighs of each material -> the BOM field it reads.
AMOUNT_FIELDS = {"value": "value", "weight": "weight_kg", "polymer_weight": "polymer_weight_kg"}


def amount_kind(measure: str, part: str | None) -> str:
    """``value``, ``weight`` or ``polymer_weight``: what ``value(...)``/``weight(...)``/
    ``weight(polymer of ...)`` adds up of each material."""
    return measure if part is None else f"{part}_weight"


def amount(part: Part, kind: str) -> tuple[Decimal, Decimal | None]:
    """The amount of one material as an exact interval (low, high or None when unbounded).
    A declared amount is exact; a missing one is some amount of at least 0. A missing part
    weight lies between 0 and the material's weight (unbounded when that is missing too):
    it is never guessed."""
    if kind == "value":
        v = part.value
    elif kind == "weight":
        v = part.weight
    else:
        v = part.polymer_weight
        if v is None:
            return ZERO, part.weight
    return (ZERO, None) if v is None else (v, v)


def region(part: Part, left: str, right: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """The pairs (left amount, right amount) one material may have, as the vertices and the
    rays of a polyhedron (a linear function is bounded below over it iff it is not negative
    on any ray, and then its least value is at a vertex). For the same amount on both
    sides the pair is (a, a); for a material's weight W and its polymer content P the
    region is 0 <= P <= W with what is declared fixed."""
    if left == right:
        lo, hi = amount(part, left)
        if hi is None:
            return [(lo, lo)], [(ONE, ONE)]
        return [(lo, lo), (hi, hi)], []
    if {left, right} != {"weight", "polymer_weight"}:
        raise ValueError(f"no joint region of {left} and {right}")
    w, p = part.weight, part.polymer_weight
    if w is not None and p is not None:
        vertices, rays = [(w, p)], []
    elif w is not None:
        vertices, rays = [(w, ZERO), (w, w)], []
    elif p is not None:
        vertices, rays = [(p, p)], [(ONE, ZERO)]
    else:
        vertices, rays = [(ZERO, ZERO)], [(ONE, ZERO), (ONE, ONE)]
    if left == "polymer_weight":  # the pairs above are (weight, polymer)
        return [(b, a) for a, b in vertices], [(b, a) for a, b in rays]
    return vertices, rays


def figure(good: Good, name: str) -> tuple[Decimal | None, list[str]]:
    value = good.figures.get(name)
    if value is None:
        return None, [good.figure_path(name)]
    return value, []


DISPLAY = Context(prec=40, rounding=ROUND_HALF_UP)
#: For what :data:`DISPLAY` cannot hold: a percentage of more than 40 digits (a VNM far above
#: its base), and the exact side of a comparison (products of amounts of up to 81 digits).
WIDE = Context(prec=500, rounding=ROUND_HALF_UP)
QUANTUM = {n: Decimal(1).scaleb(-n) for n in range(0, 13)}
MAX_PLACES = 12
#: The places of an amount that flips a test when it is not exact (a division): beyond any
#: currency's, rounded up so that "more than it" holds.
FLIP_QUANTUM = Decimal(1).scaleb(-MAX_PLACES)


def percent_of(numerator: Decimal, whole: Decimal, places: int = 2, rounding: str | None = None) -> Decimal:
    """numerator / whole x 100, rounded half-up (or by ``rounding``) to ``places`` decimals:
    for display only. Decisions never use this: they compare exactly by cross-multiplication."""
    try:
        return DISPLAY.divide(DISPLAY.multiply(numerator, HUNDRED), whole).quantize(
            QUANTUM[places], rounding=rounding, context=DISPLAY)
    except InvalidOperation:  # more digits than DISPLAY holds
        return WIDE.divide(WIDE.multiply(numerator, HUNDRED), whole).quantize(QUANTUM[places], rounding=rounding,
                                                                               context=WIDE)


def show(numerator: Decimal, whole: Decimal, threshold: Decimal, places: int = 2) -> Decimal:
    """Display numerator/whole as a percentage next to a threshold; use more decimals when
    rounding would hide the comparison (59.996% against 60% shows as 59.996, not 60.00). A
    percentage within 10^-12 of its threshold is cut at 12 places toward the side it is on
    (69.9999999999999% against 70% shows as 69.999999999999, never as 70.000000000000); one
    equal to it shows as the threshold."""
    exact = WIDE.subtract(WIDE.multiply(numerator, HUNDRED), WIDE.multiply(threshold, whole))  # same sign as (percentage - threshold)
    exact_side = (exact > 0) - (exact < 0)
    shown = percent_of(numerator, whole, places)
    while places < MAX_PLACES:
        if ((shown > threshold) - (shown < threshold)) == exact_side:
            return shown
        places += 1
        shown = percent_of(numerator, whole, places)
    if ((shown > threshold) - (shown < threshold)) == exact_side:
        return shown
    if exact_side == 0:
        return threshold
    exactly = WIDE.divide(WIDE.multiply(numerator, HUNDRED), whole)
    return exactly.quantize(QUANTUM[MAX_PLACES], rounding=ROUND_FLOOR if exact_side < 0 else ROUND_CEILING, context=WIDE)


def margin_texts(margin) -> tuple[str, str, str]:
    """A margin's value, threshold and margin as a determination and a batch record show
    them: amounts of value as money (two decimals at least: the same whether the BOM wrote
    ``100`` or ``"100.00"``), percentages and weights exactly."""
    if margin.unit == "value":
        return money(margin.value), money(margin.threshold), money(margin.margin)
    return decimal_text(margin.value), decimal_text(margin.threshold), decimal_text(margin.margin)


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
    """Amounts with at least two decimals, exactly: 10 -> 10.00, 390.5 -> 390.50,
    12.345 -> 12.345, 12.3450 -> 12.345; any size (1E+40 -> 1 and 40 zeros, .00).
    NaN and infinities raise ValueError: they are no amount."""
    text = decimal_text(value)
    point = text.find(".")
    if point < 0:
        return text + ".00"
    if len(text) - point > 3:  # more than two decimals: only the trailing zeros go
        text = text.rstrip("0")
    return text + "0" * (3 - (len(text) - point))
