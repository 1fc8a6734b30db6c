"""Materials priced in another currency than the product, converted exactly.

In: a validated :class:`~origin_rules.model.bom.BOM` (its ``rates``, and ``currency`` on
materials) and optionally rates from elsewhere (``--rates FILE``: :func:`with_rates`).
Out: a :class:`Converted`: the BOM with every money field of every material in the
product's currency (each one exact multiplication by the declared rate, never rounded), the
conversions made (:class:`Conversion`, shown in the explanation) and the money fields that
could not be converted, each with the rate it lacks (``rates[EUR->USD]``, or
``product.currency`` when the product's currency is not given): those fields are left
out, so a verdict that needs them is ``insufficient_data`` naming the rate, never a guess.

A material without ``currency`` is in the product's currency. A rate converts one way
only (``from`` -> ``to``): its inverse would need a division, which is not exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Iterable, Sequence

from .bom import BOM, Material, Rate

__all__ = ["MONEY_FIELDS", "Conversion", "Converted", "convert", "needs_conversion", "rate_name", "with_rates"]

#: The money fields of a material (a sub-assembly's own figures among them).
MONEY_FIELDS = ("value", "transaction_value", "net_cost", "total_cost", "fob", "ex_works")

# Values and rates have at most 81 significant digits (the BOM's sensible size): a product
# of two fits in 200, and an inexact one would raise rather than round.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])


@dataclass(frozen=True, slots=True)
class Conversion:
    """One money field converted: ``amount`` in ``rate.base`` times ``rate.rate`` is ``result``."""

    path: str  # materials[0].value
    id: str
    amount: Decimal
    rate: Rate
    result: Decimal

    def describe(self) -> str:
        return (f"{self.id}: {self.path.rsplit('.', 1)[-1]} {self.amount:f} {self.rate.base} x "
                f"{self.rate.rate:f} = {self.result:f} {self.rate.quote} ({self.rate.describe()})")


@dataclass(frozen=True, slots=True)
class Converted:
    bom: BOM
    conversions: tuple[Conversion, ...]
    missing: dict[str, str]  # field path left out -> what it lacks (rates[EUR->USD], product.currency)


def rate_name(base: str, quote: str) -> str:
    """How a missing rate is named among the missing fields: ``rates[EUR->USD]``."""
    return f"rates[{base}->{quote}]"


def needs_conversion(materials: Sequence[Material], currency: str | None) -> bool:
    """Whether any material, at any depth, is priced in another currency than ``currency``."""
    return any((m.currency is not None and m.currency != currency)
               or (m.materials and needs_conversion(m.materials, currency)) for m in materials)


def with_rates(bom: BOM, rates: Iterable[Rate]) -> BOM:
    """The BOM with ``rates`` added (``--rates FILE``); a pair the BOM declares itself keeps
    the BOM's rate."""
    own = {(r.base, r.quote) for r in bom.rates}
    extra = tuple(r for r in rates if (r.base, r.quote) not in own)
    return bom.model_copy(update={"rates": bom.rates + extra}) if extra else bom


def _material(material: Material, path: str, currency: str | None, rates: dict[tuple[str, str], Rate],
              conversions: list[Conversion], missing: dict[str, str]) -> Material:
    update: dict = {}
    if material.materials:
        update["materials"] = tuple(_material(m, f"{path}.materials[{i}]", currency, rates, conversions, missing)
                                    for i, m in enumerate(material.materials))
    if material.currency is not None and material.currency != currency:
        rate = rates.get((material.currency, currency)) if currency is not None else None
        lacks = "product.currency" if currency is None else rate_name(material.currency, currency)
        for name in MONEY_FIELDS:
            amount = getattr(material, name)
            if amount is None:
                continue
            where = f"{path}.{name}"
            if rate is None:
                missing[where] = lacks
                update[name] = None
            else:
                result = _EXACT.multiply(amount, rate.rate)
                conversions.append(Conversion(where, material.id, amount, rate, result))
                update[name] = result
        if rate is not None:
            update["currency"] = None
    return material.model_copy(update=update) if update else material


def convert(bom: BOM) -> Converted:
    """Every material's money in the product's currency, at the BOM's ``rates``."""
    currency = bom.product.currency
    if not needs_conversion(bom.materials, currency):
        return Converted(bom, (), {})
    rates = {(r.base, r.quote): r for r in bom.rates}
    conversions: list[Conversion] = []
    missing: dict[str, str] = {}
    materials = tuple(_material(m, f"materials[{i}]", currency, rates, conversions, missing)
                      for i, m in enumerate(bom.materials))
    return Converted(bom.model_copy(update={"materials": materials}), tuple(conversions), missing)
