"""The evaluator's view of a good: a BOM (or a sub-assembly of one) ready for rules.

In: a validated :class:`~origin_rules.model.bom.BOM` or one of its sub-assembly materials.
Out: :class:`Good` and :class:`Part` values with HS codes parsed, field paths attached (so
missing data can be named: ``product.net_cost``, ``materials[2].value``), and the material
kinds applied (indirect materials count as originating; packing for shipment is dropped).
Whether a sub-assembly is originating is decided by the evaluator and set on its ``Part``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ..model.bom import BOM, FACT_NO, FACT_YES, Material
from ..model.hs import HsCode

FIGURE_FIELDS = {
    "transaction_value": "transaction_value",
    "net_cost": "net_cost",
    "total_cost": "total_cost",
    "fob": "fob",
    "ex_works": "ex_works",
    "weight": "weight_kg",
    "component_weight": "component_weight_kg",
}


_CODES: dict[str, HsCode] = {}


def _code(text: str | None) -> HsCode | None:
    if not text:
        return None
    code = _CODES.get(text)
    if code is None:
        code = _CODES[text] = HsCode(text.replace(".", ""))
    return code


@dataclass(slots=True, eq=False)
class Part:
    """One material line of a good, as the rules see it."""

    id: str
    path: str  # field path of the line: materials[1] or materials[1].materials[0]
    hs: HsCode | None
    origin: str | None  # ISO code; None when missing or "unknown"
    declared: bool | None  # `originating` as declared by the BOM
    value: Decimal | None
    weight: Decimal | None
    kind: str
    source: Material
    originating: bool = False  # after kinds and roll-up
    parts: tuple["Part", ...] = ()  # a sub-assembly's own materials
    sub: object | None = None  # the sub-assembly's determination (engine Outcome)
    facts: dict = field(default_factory=dict)  # declared facts (name -> bom.DeclaredFact)
    within: HsCode | None = None  # the code of the good this material goes into
    polymer_weight: Decimal | None = None  # declared weight of its polymer content (<= weight)

    @property
    def is_subassembly(self) -> bool:
        return bool(self.parts)

    @property
    def for_tariff_shift(self) -> bool:
        return self.kind == "direct"


@dataclass(slots=True, eq=False)
class Good:
    """The product (or a sub-assembly treated as a product) with its figures and facts."""

    id: str
    prefix: str  # "product" or the sub-assembly's path
    hs: HsCode | None
    produced_in: str | None
    figures: dict[str, Decimal | None]
    end_use: str | None
    processes: tuple[tuple[str, str | None], ...]
    wholly_obtained: bool
    parts: tuple[Part, ...]
    description: str | None = None
    hs_text: str | None = None
    facts: dict = field(default_factory=dict)  # declared facts (name -> bom.DeclaredFact)
    memo: dict = field(default_factory=dict)
    imported_from: str | None = None  # the product only (a sub-assembly is not imported)

    @property
    def subassemblies(self) -> list[Part]:
        found = self.memo.get("subassemblies")
        if found is None:
            # an indirect material counts as originating whatever it is made of
            found = self.memo["subassemblies"] = [p for p in self.parts if p.parts and p.kind != "indirect"]
        return found

    def field(self, name: str) -> str:
        """The BOM field a value of this good is read from: a sub-assembly's country of
        production is its ``origin`` (a material has no ``produced_in``)."""
        if name == "produced_in" and self.prefix != "product":
            name = "origin"
        return f"{self.prefix}.{name}"

    def figure_path(self, figure: str) -> str:
        return self.field(FIGURE_FIELDS[figure])


def _part(material: Material, path: str, within: HsCode | None = None) -> Part | None:
    """The view of one material line (None for packing for shipment, which rules never see).

    On every evaluation of a BOM not seen before (a batch's distinct BOMs): the fields are
    read once each and the ``Part`` is made with positional values."""
    kind = material.kind
    if kind == "shipping_packing":
        return None
    origin = material.origin
    if not origin or origin == "unknown":
        origin = None
    own = _code(material.hs)
    subs = material.materials
    declared = material.originating
    return Part(
        material.id,  # id
        path,  # path
        own,  # hs
        origin,  # origin
        declared,  # declared
        material.value,  # value
        material.weight_kg,  # weight
        kind,  # kind
        material,  # source
        kind == "indirect" or declared is True,  # originating
        _parts(subs, f"{path}.materials", own) if subs else (),  # parts
        None,  # sub
        # (``Material.all_facts()``, written out for a line without declared facts: nearly all)
        material.all_facts() if material.facts else {"provided_as_part": FACT_YES if material.provided_as_part else FACT_NO},
        within,  # within
        material.polymer_weight_kg,  # polymer_weight
    )


def _parts(materials, prefix: str, within: HsCode | None = None) -> tuple[Part, ...]:
    """The views of a list of material lines (:func:`_part`), in order."""
    paths = _paths(prefix, len(materials))
    out = []
    for i, m in enumerate(materials):
        part = _part(m, paths[i], within)
        if part is not None:
            out.append(part)
    return tuple(out)


#: The field paths of the lines of the top-level ``materials`` list, by index (other lists'
#: paths are made as they are met). A tuple, replaced whole when a longer one is needed, so
#: that threads evaluating at once (the service) never see it half made.
_TOP_PATHS: tuple[str, ...] = ()
_MAX_TOP_PATHS = 4096


def _paths(prefix: str, n: int) -> Sequence[str]:
    global _TOP_PATHS
    if prefix != "materials" or n > _MAX_TOP_PATHS:
        return [f"{prefix}[{i}]" for i in range(n)]
    paths = _TOP_PATHS
    if len(paths) < n:
        paths = _TOP_PATHS = tuple(f"materials[{i}]" for i in range(min(_MAX_TOP_PATHS, max(n, 2 * len(paths)))))
    return paths


#: How many of the last BOM objects the per-BOM memos keep (this view cache, and the
#: rulebook's in ``rulebook.book``). A few: one BOM's evaluations under each agreement and
#: scenario (``evaluate`` without ``--under``, a batch, a diff's old and new rules) follow one
#: another. More only hold memory: with 256, a batch of 600 BOMs of 1,000 materials peaked at
#: 461 MB in one worker (122 MB with 4) and took a tenth longer, its BOMs freed long after
#: their memory had left the processor's caches (docs/performance.md, ninth round).
RECENT_BOMS = 4

_CACHE: "OrderedDict[int, tuple[BOM, Good]]" = OrderedDict()
_CACHE_SIZE = RECENT_BOMS


def good_of_bom(bom: BOM) -> Good:
    """The view of a BOM, cached for the last few BOM objects (a BOM is immutable; the
    cache holds the BOM itself, so its id cannot be reused while cached). Per-evaluation
    state (whether a sub-assembly is originating) lives on copies (:func:`for_evaluation`)."""
    key = id(bom)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is bom:
        try:
            _CACHE.move_to_end(key)
        except KeyError:  # another thread (the service's) dropped it meanwhile: it was still the view
            pass
        return hit[1]
    good = _build(bom)
    _CACHE[key] = (bom, good)
    if len(_CACHE) > _CACHE_SIZE:
        try:
            _CACHE.popitem(last=False)
        except KeyError:  # emptied by another thread meanwhile
            pass
    return good


def _own_part(part: Part) -> Part:
    if not part.parts:
        return part  # evaluation writes only into sub-assemblies (originating, sub)
    return replace(part, parts=tuple(_own_part(c) for c in part.parts), sub=None)


def per_view(good: Good, key: str, make: Callable[[Good], Any]) -> Any:
    """``make(good)`` (never None), worked out once per view for a view without
    sub-assemblies: :func:`for_evaluation` returns it as it is and nothing marks its parts,
    so every plan's evaluation reads the same parts. Worked out each time for the others."""
    memo = good.memo
    if memo.get("nested") is not False:
        return make(good)
    found = memo.get(key)
    if found is None:
        found = memo[key] = make(good)
    return found


def for_evaluation(good: Good) -> Good:
    """The good as one evaluation may mark it: its sub-assemblies (at every depth) are copies,
    so the evaluation's per-run state (whether a sub-assembly originates, its outcome) is
    never written into the cached view or into another evaluation's. A good without
    sub-assemblies is returned as it is (nothing of it is written)."""
    nested = good.memo.get("nested")
    if nested is None:
        nested = good.memo["nested"] = any(p.parts for p in good.parts)
    if not nested:
        return good
    return replace(good, parts=tuple(_own_part(p) for p in good.parts), memo={})


def _build(bom: BOM) -> Good:
    p = bom.product
    return Good(
        id=p.id,
        prefix="product",
        hs=_code(p.hs),
        produced_in=p.produced_in,
        figures={
            "transaction_value": p.transaction_value,
            "net_cost": p.net_cost,
            "total_cost": p.total_cost,
            "fob": p.fob,
            "ex_works": p.ex_works,
            "weight": p.weight_kg,
            "component_weight": p.component_weight_kg,
        },
        end_use=p.end_use,
        processes=tuple((pr.name, pr.country) for pr in p.processes),
        wholly_obtained=p.wholly_obtained,
        parts=_parts(bom.materials, "materials", _code(p.hs)),
        description=p.description,
        hs_text=p.hs,
        facts=p.all_facts(),
        imported_from=p.imported_from,
    )


def good_of_part(part: Part, parent: Good) -> Good:
    """A sub-assembly as a good: its own figures; produced where its origin says."""
    m = part.source
    return Good(
        id=part.id,
        prefix=part.path,
        hs=part.hs,
        produced_in=part.origin or parent.produced_in,
        figures={
            "transaction_value": m.transaction_value,
            "net_cost": m.net_cost,
            "total_cost": m.total_cost,
            "fob": m.fob,
            "ex_works": m.ex_works,
            "weight": m.weight_kg,
            "component_weight": m.component_weight_kg,
        },
        end_use=m.end_use if m.end_use is not None else parent.end_use,
        processes=tuple((pr.name, pr.country) for pr in m.processes),
        wholly_obtained=m.wholly_obtained,
        parts=part.parts,
        description=m.description,
        hs_text=m.hs,
        facts=m.own_facts(),
    )


def declared_word(facts: dict, name: str, as_of=None) -> str | None:
    """The word a BOM declares for a fact, in force on ``as_of``; None when missing (not
    declared, outside its evidence period, or a number)."""
    fact = facts.get(name)
    if fact is None or not fact.in_force(as_of) or not isinstance(fact.value, str):
        return None
    return fact.value


def same_code(part, n: int) -> tuple[bool | None, str | None]:
    """Whether a material is classified in its good's own code at ``n`` digits, or the field
    whose absence leaves it open (the material's code, or the good's)."""
    if part.hs is None:
        return None, f"{part.path}.hs"
    good = part.within
    if good is None:  # both codes are needed: the material's first when it is too coarse anyway
        if len(part.hs.digits) < n:
            return None, f"{part.path}.hs"
        return None, (part.path.rsplit(".materials[", 1)[0] if ".materials[" in part.path else "product") + ".hs"
    a, b = part.hs.digits, good.digits
    k = min(n, len(a), len(b))
    if a[:k] != b[:k]:
        return False, None
    if len(a) >= n and len(b) >= n:
        return True, None
    if len(a) < n:
        return None, f"{part.path}.hs"
    return None, (part.path.rsplit(".materials[", 1)[0] if ".materials[" in part.path else "product") + ".hs"
