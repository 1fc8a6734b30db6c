"""Plausibility of a BOM: input that validates but cannot be right, or should be looked at.

In: a validated :class:`~origin_rules.model.bom.BOM` (and, for the reader's check, whether the
input had a ``materials`` key), or a BOM and the agreement it is evaluated under.
Out: :class:`Finding` values, each with a code (``docs/errors.md``, "BOM input"), a
message, the field path it is about and a severity:

- ``error`` (``BOM0xx``): the input cannot be right (an HS code that does not exist in HS
  2022, a product code coarser than a subheading, no materials list). The BOM readers refuse the BOM (exit 2 in the CLI);
  a BOM built in Python and evaluated directly carries these as warnings of its determination.
- ``warning`` (``BOM1xx``): possible but rare enough that an analyst must confirm it (a code
  deleted in HS 2022, materials worth more than the product's price or cost, a material
  declared originating whose origin is not a party). Shown with the determination; ``--strict``
  turns them into exit 2.

Nothing here guesses data: a missing figure is never a finding (the evaluator reports it as
``insufficient_data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Sequence

from .bom import BOM, Material, Product
from .hs import HsCode, nomenclature

__all__ = ["DELETED", "Finding", "TITLES", "check_bom", "check_under", "originating_under"]

Severity = Literal["error", "warning"]

TITLES: dict[str, str] = {
    "BOM001": "HS code not in HS 2022",
    "BOM002": "product code coarser than a subheading",
    "BOM003": "no materials list",
    "BOM101": "HS code deleted in HS 2022",
    "BOM102": "materials worth more than the product's price",
    "BOM103": "materials weigh more than the product",
    "BOM104": "originating material from outside the agreement's parties",
    "BOM105": "originating status names an unknown agreement",
    "BOM106": "negative regional value content",
    "BOM107": "materials cost more than the product's net or total cost",
    "BOM108": "supplier certification not valid on the determination date",
    "BOM109": "supplier certification for another agreement",
}

# HS 2017 codes deleted by the HS 2022 amendments (WCO Recommendation of 28 June 2019;
# WCO correlation table HS 2017-HS 2022), each with where its goods went. Only entries
# whose successors are certain are listed; any other code missing from HS 2022 is unknown.
DELETED: dict[str, tuple[tuple[str, ...], str]] = {
    "8469": (("8472.90",), "typewriters were moved to heading 84.72 (office machines), subheading 8472.90"),
    "846900": (("8472.90",), "typewriters were moved to heading 84.72 (office machines), subheading 8472.90"),
    "852580": (("8525.81", "8525.82", "8525.83", "8525.89"),
               "television and digital cameras were split into 8525.81 to 8525.89"),
    "940510": (("9405.11", "9405.19"), "split by whether the fittings are designed for LED light sources"),
    "940520": (("9405.21", "9405.29"), "split by whether the lamps are designed for LED light sources"),
    "940530": (("9405.31", "9405.39"), "split by whether the lighting strings are designed for LED light sources"),
    "940540": (("9405.41", "9405.42", "9405.49"), "split into photovoltaic, LED and other luminaires"),
    "940560": (("9405.61", "9405.69"), "split by whether the signs are designed for LED light sources"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One plausibility finding: ``code`` (``BOM001``), ``message``, field ``path``, ``severity``."""

    code: str
    message: str
    path: str
    severity: Severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


# ---------------------------------------------------------------------------- HS codes


_CODE_MEMO: dict[tuple[str, bool], tuple[tuple[str, str, Severity], ...]] = {}
_CODE_MEMO_SIZE = 65_536
#: The material codes of ``_CODE_MEMO`` without findings (cleared with it).
_SOUND: set[str] = set()


def _code_findings(text: str | None, path: str, *, product: bool) -> list[Finding]:
    """The findings on an HS code: worked out once per code (and whether it is the
    product's), then given the field path of each place it is met."""
    if not text:
        return []
    found = _CODE_MEMO.get((text, product))
    if found is None:
        if len(_CODE_MEMO) >= _CODE_MEMO_SIZE:
            _CODE_MEMO.clear()
            _SOUND.clear()
        found = _CODE_MEMO[(text, product)] = tuple(
            (f.code, f.message, f.severity) for f in _work_out_code_findings(text, "", product=product))
        if not found and not product:
            _SOUND.add(text)
    return [Finding(code, message, path, severity) for code, message, severity in found]


def _work_out_code_findings(text: str, path: str, *, product: bool) -> list[Finding]:
    code = HsCode(text.replace(".", ""))
    out: list[Finding] = []
    key = code.digits if len(code.digits) <= 6 else code.digits[:6]
    deleted = DELETED.get(key) or DELETED.get(code.digits[:4])
    if product and len(code.digits) < 6 and deleted is None:
        level = "a chapter" if len(code.digits) == 2 else "a heading"
        out.append(Finding("BOM002", f"`{text}` is {level}: a product needs its 6-digit HS subheading"
                           f"{_example_under(code)} to find its rule", path, "error"))
    if deleted is not None:
        successors, why = deleted
        out.append(Finding("BOM101", f"`{text}` was deleted in HS 2022: {why}; classify it as "
                           f"{' or '.join(f'`{s}`' for s in successors)}", path, "warning"))
    elif not nomenclature().exists(code):
        out.append(Finding("BOM001", f"`{text}` is not an HS 2022 code{_nearest_hint(code)}", path, "error"))
    return out


def _example_under(code: HsCode) -> str:
    table = nomenclature()
    found = [code]
    while found and len(found[0].digits) < 6:
        found = [c for parent in found[:3] for c in table.children(parent)]
    return f" (such as `{found[0]}`)" if found else ""


def _nearest_hint(code: HsCode) -> str:
    table = nomenclature()
    for cut in (4, 2):
        parent = HsCode(code.digits[:cut])
        if len(code.digits) > cut and table.exists(parent):
            children = [str(c) for c in table.children(parent)]
            if children:
                level = "heading" if cut == 4 else "chapter"
                more = ", ..." if len(children) > 8 else ""
                return f"; {level} {parent} has {', '.join(children[:8])}{more}"
    return ""


# ---------------------------------------------------------------------------- figures

_COSTS = ("net_cost", "total_cost")
_PRICES = ("transaction_value", "fob", "ex_works")


def _figure_findings(owner: Product | Material, materials: Sequence[Material], prefix: str) -> list[Finding]:
    out: list[Finding] = []
    total = weight = Decimal(0)  # the values and weights of the materials counted, summed in order
    valued = weighed = False  # whether any has a value, a weight
    for m in materials:
        if m.kind == "shipping_packing":
            continue
        if m.value is not None:
            total += m.value
            valued = True
        if m.weight_kg is not None:
            weight += m.weight_kg
            weighed = True
    if valued:
        for name in _COSTS:
            figure = getattr(owner, name)
            if figure is not None and total > figure:
                out.append(Finding("BOM107", f"the materials are worth {total} in all, more than the {name.replace('_', ' ')} "
                                   f"of {figure}, which includes them: check the values and the currency",
                                   f"{prefix}.{name}", "warning"))
        for name in _PRICES:
            figure = getattr(owner, name)
            if figure is not None and total > figure:
                out.append(Finding("BOM102", f"the materials are worth {total} in all, more than the "
                                   f"{name.replace('_', ' ')} of {figure}: a sale below the cost of its materials "
                                   "(any RVC on this price is negative); check the values and the currency",
                                   f"{prefix}.{name}", "warning"))
                break
    product_weight = owner.weight_kg
    if weighed and product_weight is not None and weight > product_weight:
        out.append(Finding("BOM103", f"the materials weigh {weight} kg in all, more than the "
                           f"{product_weight} kg of the good: fine if the difference is waste, otherwise check the weights",
                           f"{prefix}.weight_kg", "warning"))
    return out


# ---------------------------------------------------------------------------- the whole BOM


#: The last BOM object checked with ``has_materials_key`` left to the BOM, and its findings:
#: a batch checks each BOM as it reads it and again when it judges it (a BOM is immutable,
#: and the entry holds it, so its id is not reused while kept).
_LAST: tuple[Any, tuple[Finding, ...]] = (None, ())


def check_bom(bom: BOM, *, has_materials_key: bool | None = None) -> list[Finding]:
    """Every agreement-independent finding on a BOM, errors first, in field order (a new
    list on each call).

    ``has_materials_key``: whether the input named ``materials`` (``None``: as pydantic
    recorded it, i.e. whether the field was set when the BOM was built)."""
    global _LAST
    if has_materials_key is None:
        last, found = _LAST
        if last is bom:
            return list(found)
        found = tuple(_check_bom(bom, "materials" in bom.model_fields_set))
        _LAST = (bom, found)
        return list(found)
    return _check_bom(bom, has_materials_key)


def _check_bom(bom: BOM, has_materials_key: bool) -> list[Finding]:
    out: list[Finding] = []
    product = bom.product
    if not has_materials_key and not product.wholly_obtained:
        out.append(Finding("BOM003", "no `materials` list: list the materials, write `materials: []` for a good "
                           "made without any, or `wholly_obtained: true` on the product", "materials", "error"))
    out.extend(_code_findings(product.hs, "product.hs", product=True))
    out.extend(_figure_findings(product, bom.materials, "product"))
    if any(material.materials for material in bom.materials):
        for path, material in sorted(bom.walk(), key=lambda item: _path_key(item[0])):
            out.extend(_code_findings(material.hs, f"{path}.hs", product=False))
            if material.materials:
                out.extend(_figure_findings(material, material.materials, path))
    else:  # no sub-assemblies: the materials in order are the walk in field order
        sound = _SOUND
        for index, material in enumerate(bom.materials):
            text = material.hs
            if text and text not in sound:  # a code already known to be sound needs no path
                out.extend(_code_findings(text, f"materials[{index}].hs", product=False))
    return sorted(out, key=lambda f: (not f.is_error,)) if out else out


def _path_key(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in path.replace("]", "").replace("[", ".").split(".")]


# ---------------------------------------------------------------------------- per agreement


def originating_under(material: Material, chain: Sequence[str]) -> bool | None:
    """The material's declared originating status under an agreement or scenario whose
    chain of names (the scenario first, its base agreement last) is ``chain``.

    ``true``/``false``/``null`` hold under every agreement. A list names the agreements it
    originates under (``[USMCA]``): listed -> true, not listed -> false. A mapping gives a
    status per agreement (``{USMCA: true, CPTPP: false}``); a name it does not give is
    unknown. A scenario takes what is declared for it, else for the agreement it builds on.
    Names are matched without regard to case."""
    declared = material.originating
    if declared is None or isinstance(declared, bool):
        return declared
    lowered = [name.lower() for name in chain]
    if isinstance(declared, tuple):
        names = {n.lower() for n in declared}
        return any(n in names for n in lowered)
    by_name = {k.lower(): v for k, v in declared.items()}
    for name in lowered:
        if name in by_name:
            return by_name[name]
    return None


_NOT_PRODUCED = ("indirect", "shipping_packing")


def check_under(bom: BOM, name: str, chain: Sequence[str], parties: frozenset[str], known: Sequence[str]) -> list[Finding]:
    """Findings that depend on the agreement: per-agreement originating status naming an
    agreement the rulebook does not have (BOM105, first), and originating materials from
    non-parties (BOM104). One walk over the materials, in the order of ``BOM.walk``; a field
    path is made only for a finding."""
    unknown: list[Finding] = []
    foreign: list[Finding] = []
    lowered: set[str] | None = None
    stack: list[tuple[str, tuple[Material, ...]]] = [("materials", bom.materials)]
    while stack:
        prefix, items = stack.pop()
        for index, material in enumerate(items):
            if material.materials:
                stack.append((f"{prefix}[{index}].materials", material.materials))
            declared = material.originating
            if declared is None or declared is False:
                continue  # neither names an agreement nor is declared originating
            if declared is not True:  # a list or a mapping of agreement names
                if lowered is None:
                    lowered = {k.lower() for k in known}
                for agreement in dict.fromkeys(declared):
                    if agreement.lower() not in lowered:
                        unknown.append(Finding("BOM105", f"`originating` names `{agreement}`, which is no agreement or "
                                               f"scenario of the rules used; known: {', '.join(known)}",
                                               f"{prefix}[{index}].originating", "warning"))
            origin = material.origin
            if (not parties or origin is None or origin == "unknown" or origin in parties
                    or material.kind in _NOT_PRODUCED):
                continue
            if originating_under(material, chain) is True:
                foreign.append(Finding("BOM104", f"declared originating under {name} but its origin {origin} is not a "
                                       f"party ({', '.join(sorted(parties))}): possible when marking rules give a "
                                       "non-party origin to an originating good, but rare: confirm it",
                                       f"{prefix}[{index}].originating", "warning"))
    return unknown + foreign


def negative_rvc(figures: dict[str, str]) -> list[Finding]:
    """A regional value content below zero: the non-originating materials are worth more
    than the figure it is measured on."""
    out = []
    for name, value in figures.items():
        if name.startswith("rvc") and value.startswith("-"):
            out.append(Finding("BOM106", f"{name.replace('_', ' ')} is {value}%: the non-originating materials are "
                               "worth more than the figure it is measured on; check the values and the currency",
                               "product", "warning"))
    return out
