"""Hypothesis strategies for bills of materials, in general or aimed at a rulebook.

In: options (which HS codes, countries, end uses and processes to draw from; how many
materials; whether data may be missing; whether sub-assemblies may appear), or the text of
a rulebook. Out: strategies of validated :class:`~origin_rules.model.bom.BOM` values, for property
tests of the evaluator and of your own rule files::

    import origin_rules
    from hypothesis import given
    from origin_rules.testing.bom_strategies import boms_for, dates_for

    book = origin_rules.load(["rules/"])

    @given(boms_for(book), dates_for(book))
    def test_never_crashes(bom, as_of):
        book.evaluate(bom, under="USMCA", as_of=as_of)

* :func:`boms`: BOMs in general. HS codes are real HS 2022 codes (``hs.nomenclature()``)
  at every level a BOM may use (chapter to tariff item); money is an exact decimal with two
  places; ``originating`` is true, false or unknown; any optional field may be missing;
  materials have every kind; sub-assemblies nest to ``max_depth``.
* :func:`boms_for`: BOMs aimed at the rules of a rulebook (its text, ``{file: text}``, or a
  loaded :class:`~origin_rules.Rulebook`): product codes at and under the
  rules' selectors, material codes at, around and inside the codes the rules name (tariff
  shift sources and exceptions, ``hs in`` sets, de minimis ``for``/``except``), origins in
  and out of the country sets, the end uses and processes the rules test, and values placed
  exactly on the thresholds (or one cent off) often.
* :func:`dates_for`: evaluation dates at and around every date the rulebook names.
* :func:`shuffled`: the same BOM with its materials (at every level) in another order.

Every strategy shrinks towards small, complete BOMs.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Mapping

from hypothesis import strategies as st

from ..model import ast
from ..model.bom import BOM
from .ast_strategies import GOOD_FACT, GOOD_WORDS, NUMBER_FACT, PART_FACT, PART_WORDS
from ..model.hs import Level, dotted, nomenclature

__all__ = [
    "COUNTRIES", "END_USES", "PROCESSES", "Pools", "boms", "boms_for", "dates_for", "money",
    "pools_for", "shuffled", "hs_code_texts",
]

#: Countries drawn by default: parties of the shipped agreements and frequent suppliers.
COUNTRIES = ("US", "MX", "CA", "CN", "JP", "VN", "DE", "GB", "KR", "IN")
END_USES = ("passenger_vehicle", "light_truck", "heavy_truck", "aftermarket")
PROCESSES = ("cut and sewn", "assembly", "heat treatment")
KINDS = ("direct", "indirect", "accessory", "retail_packaging", "shipping_packing")
CENT = Decimal("0.01")


# ---- HS codes ------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _all_codes(level: int) -> tuple[str, ...]:
    return tuple(sorted(c.digits for c in nomenclature().codes(Level(level))))


@lru_cache(maxsize=None)
def _children(digits: str) -> tuple[str, ...]:
    if len(digits) >= 6:
        return ()
    same = _all_codes(len(digits) + 2)
    return same[bisect.bisect_left(same, digits): bisect.bisect_left(same, digits + "~")]


@lru_cache(maxsize=None)
def _subheadings_under(digits: str) -> tuple[str, ...]:
    """The HS 2022 subheadings under a chapter or heading (itself if a subheading)."""
    if len(digits) >= 6:
        return (digits[:6],)
    return tuple(d for d in _all_codes(6) if d.startswith(digits))


def _in_range(low: str, high: str) -> tuple[str, ...]:
    if len(low) > 6:
        return (low, high)
    same = _all_codes(len(low))
    return same[bisect.bisect_left(same, low): bisect.bisect_right(same, high)]


def hs_code_texts(levels: Iterable[int] = (2, 4, 6, 8), chapters: Iterable[str] | None = None) -> st.SearchStrategy[str]:
    """Dotted HS 2022 codes (``87``, ``87.08``, ``8708.30``, ``8708.30.10``) of the given levels."""
    chapters = tuple(chapters) if chapters is not None else None

    def pick(level: int) -> st.SearchStrategy[str]:
        base = 6 if level > 6 else level
        codes = _all_codes(base)
        if chapters is not None:
            codes = tuple(c for c in codes if c[:2] in chapters) or codes
        strategy = st.sampled_from(codes)
        if level > 6:
            strategy = st.tuples(strategy, st.sampled_from(("00", "10", "50", "90"))).map("".join)
        return strategy.map(dotted)

    return st.sampled_from(tuple(levels)).flatmap(pick)


@lru_cache(maxsize=None)
def _position(digits: str) -> int:
    same = _all_codes(len(digits))
    i = bisect.bisect_left(same, digits)
    return i if i < len(same) and same[i] == digits else -1


@lru_cache(maxsize=4096)
def _neighbours(digits: str) -> list[str]:
    """A code, its parents, a few children and siblings, and a tariff item under it."""
    out = [digits]
    for n in (2, 4, 6):
        if len(digits) > n:
            out.append(digits[:n])
    kids = _children(digits) if len(digits) <= 4 else ()
    out.extend(kids[:2] + kids[-1:])
    if len(digits) in (2, 4, 6):
        same = _all_codes(len(digits))
        i = _position(digits)
        if i >= 0:
            out.extend(same[max(0, i - 1): i] + same[i + 1: i + 2])
    if len(digits) == 6:
        out.append(digits + "90")
    seen: dict[str, None] = {}
    for code in out:
        seen.setdefault(code, None)
    return list(seen)


# ---- pools ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pools:
    """What a BOM is drawn from. ``product_codes`` and ``material_codes`` are digit strings."""

    product_codes: tuple[str, ...]
    material_codes: tuple[str, ...]
    countries: tuple[str, ...] = COUNTRIES
    parties: tuple[str, ...] = ("US", "MX", "CA")
    end_uses: tuple[str, ...] = END_USES
    processes: tuple[str, ...] = PROCESSES
    shares: tuple[Decimal, ...] = (Decimal(10), Decimal(50), Decimal(60))
    weights: bool = True


@lru_cache(maxsize=None)
def _child_fields(kind: type) -> tuple[str, ...]:
    """The fields of an AST node type that may hold other nodes."""
    if not dataclasses.is_dataclass(kind):
        return ()
    return tuple(f.name for f in dataclasses.fields(kind) if f.name not in ("span", "text", "name", "digits"))


def _walk(node: Any):
    """Every AST node under ``node`` (dataclasses, tuples)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple):
            stack.extend(n)
            continue
        names = _child_fields(type(n))
        if names:
            yield n
            stack.extend(getattr(n, name) for name in names)


Rulebookish = Any  # rule text, {file name: text}, or a loaded origin_rules.Rulebook


def _key(rulebook: Rulebookish):
    """A hashable key for a rulebook given as text, texts by file, or a loaded Rulebook."""
    if isinstance(rulebook, str):
        return rulebook
    if isinstance(rulebook, Mapping):
        return tuple(sorted(rulebook.items()))
    return ("rulebook", id(rulebook), rulebook)


@lru_cache(maxsize=64)
def _modules_of(key) -> tuple[ast.Module, ...]:
    if isinstance(key, tuple) and key and key[0] == "rulebook":
        return tuple(key[2].parsed.modules)
    from ..syntax.parser import parse

    texts = {"rules.roo": key} if isinstance(key, str) else dict(key)
    modules = []
    for name, text in texts.items():
        module, _ = parse(text, name)
        if module is not None:
            modules.append(module)
    return tuple(modules)


def _modules(rulebook: Rulebookish) -> tuple[ast.Module, ...]:
    return _modules_of(_key(rulebook))


def pools_for(rulebook: Rulebookish) -> Pools:
    """Collect what a rulebook's rules test: from its text, ``{file: text}``, or a loaded
    :class:`~origin_rules.Rulebook` (no parsing again)."""
    return _pools_for(_key(rulebook))


@lru_cache(maxsize=64)
def _pools_for(key) -> Pools:
    modules = _modules_of(key)
    selectors: list[str] = []
    named: list[str] = []
    countries: dict[str, None] = {}
    parties: dict[str, None] = {}
    end_uses: dict[str, None] = {}
    processes: dict[str, None] = {}
    shares: dict[Decimal, None] = {}

    def codes_of(expr: ast.HsSetExpr, into: list[str]) -> None:
        for item in expr.items:
            if isinstance(item, ast.HsCodeLit):
                into.append(item.code.digits)
            elif isinstance(item, ast.HsRangeLit):
                into.extend([item.low.code.digits, item.high.code.digits])
                inside = _in_range(item.low.code.digits, item.high.code.digits)
                if inside:
                    into.append(inside[len(inside) // 2])

    for module in modules:
        for node in _walk(module.items):
            if isinstance(node, ast.Rule):
                codes_of(node.selector, selectors)
            elif isinstance(node, ast.HsSetExpr):
                codes_of(node, named)
            elif isinstance(node, ast.HsCodeLit):
                named.append(node.code.digits)
            elif isinstance(node, ast.PartiesDecl):
                if not parties:  # the first agreement's parties: where goods are made
                    for w in node.countries.words:
                        parties.setdefault(w.text, None)
                for w in node.countries.words:
                    countries.setdefault(w.text, None)
            elif isinstance(node, ast.FactIn) and node.fact == "end_use" and isinstance(node.values, ast.WordList):
                for w in node.values.words:
                    end_uses.setdefault(w.text, None)
            elif isinstance(node, ast.WordList):
                for w in node.words:
                    if len(w.text) == 2 and w.text.isupper():
                        countries.setdefault(w.text, None)
                    elif w.text.islower() and w.text not in KINDS:
                        end_uses.setdefault(w.text, None)
            elif isinstance(node, ast.Performed):
                processes.setdefault(node.process, None)
            elif isinstance(node, ast.Percent):
                shares.setdefault(node.value, None)

    product: dict[str, None] = {}
    for digits in selectors:
        subs = _subheadings_under(digits)
        for code in (subs[:2] + subs[-1:] if subs else (digits,)):
            product.setdefault(code, None)
        if len(digits) >= 6:
            product.setdefault(digits, None)
    material: dict[str, None] = {}
    for digits in selectors + named:
        for code in _neighbours(digits):
            material.setdefault(code, None)
    for digits in list(product)[:12]:
        for code in _neighbours(digits)[:4]:
            material.setdefault(code, None)
    all_countries = tuple(dict.fromkeys([*parties, *countries, "CN", "US", "MX"]))
    share_list = list(shares) or [Decimal(10), Decimal(60)]
    return Pools(
        product_codes=tuple(product) or _all_codes(6)[:50],
        material_codes=tuple(material) or _all_codes(6)[:50],
        countries=all_countries,
        parties=tuple(parties) or ("US", "MX", "CA"),
        end_uses=tuple(end_uses) + ("aftermarket",),
        processes=tuple(processes) or PROCESSES,
        shares=tuple(share_list) + tuple(Decimal(100) - s for s in share_list),
    )


# ---- values ----------------------------------------------------------------------------------


def money(min_value: Decimal | int = 0, max_value: Decimal | int = 10_000) -> st.SearchStrategy[Decimal]:
    """Exact amounts with two decimal places (from whole cents)."""
    return _money(int(Decimal(min_value) * 100), int(Decimal(max_value) * 100))


@lru_cache(maxsize=None)
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _one_of(options) -> st.SearchStrategy:
    return _sampled(tuple(options))


@lru_cache(maxsize=None)
def _sampled(options: tuple) -> st.SearchStrategy:
    return st.sampled_from(options)


@lru_cache(maxsize=None)
def _money(lo_cents: int, hi_cents: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo_cents, hi_cents).map(lambda cents: (Decimal(cents) / 100).quantize(CENT))


_WEIGHTS = st.integers(0, 50_000).map(lambda g: (Decimal(g) / 1000).quantize(Decimal("0.001")))


def _maybe(draw, strategy: st.SearchStrategy, allow_missing: bool, p_missing: int = 8):
    """A draw of ``strategy`` or, about one time in ``p_missing``, None (never when shrunk)."""
    if allow_missing and draw(_ints(0, p_missing - 1)) == 1:
        return None
    return draw(strategy)


# ---- the BOM itself ------------------------------------------------------------------------------


@dataclass
class _Options:
    pools: Pools
    max_materials: int
    max_depth: int
    missing: bool
    kinds: bool
    subassemblies: bool
    target: bool
    product_levels: tuple[int, ...] = (6,)
    ids: list[int] = field(default_factory=list)


def _code_text(draw, codes: tuple[str, ...], allow_missing: bool) -> str | None:
    if allow_missing and draw(_ints(0, 19)) == 1:
        return None
    return dotted(draw(_one_of(codes)))


def _origin(draw, opts: _Options) -> tuple[str | None, bool | None]:
    origin = draw(_one_of(opts.pools.countries))
    if opts.missing and draw(_ints(0, 9)) == 1:
        origin = draw(_one_of((None, "unknown")))
    if opts.missing:
        originating = draw(_one_of((True, False, False, None)))
    else:
        originating = draw(_ints(0, 1)) == 1
    return origin, originating


def _processes(draw, opts: _Options) -> list[dict]:
    if not draw(_ints(0, 1)) == 1:
        return []
    out = []
    for _ in range(draw(_ints(1, 2))):
        name = draw(_one_of(opts.pools.processes))
        if draw(_ints(0, 5)) == 1:
            name = "  " + name.upper() + " "
        country = draw(_one_of(opts.pools.parties + opts.pools.countries[:3]))
        if opts.missing and draw(_ints(0, 7)) == 1:
            country = None
        out.append({"name": name, "country": country} if country else {"name": name})
    return out


def _material(draw, opts: _Options, depth: int) -> dict:
    opts.ids.append(len(opts.ids))
    m: dict[str, Any] = {"id": f"M{len(opts.ids)}"}
    hs = _code_text(draw, opts.pools.material_codes, opts.missing)
    if hs is not None:
        m["hs"] = hs
    origin, originating = _origin(draw, opts)
    if origin is not None:
        m["origin"] = origin
    if originating is not None:
        m["originating"] = originating
    value = _maybe(draw, money(0, 2_000), opts.missing, 12)
    if value is not None:
        m["value"] = value
    if opts.pools.weights:
        weight = _maybe(draw, _WEIGHTS, opts.missing, 4)
        if weight is not None:
            m["weight_kg"] = weight
        # its polymer content (`weight(polymer of ...)`): none, all of it, a share, or undeclared
        share = draw(_one_of((None, None, Decimal(0), Decimal(1), Decimal("0.5"), Decimal("0.75"))))
        if share is not None and (weight is not None or opts.missing):
            polymer = (weight if weight is not None else draw(_WEIGHTS)) * share
            m["polymer_weight_kg"] = polymer.quantize(Decimal("0.0001"))
        # the textile de minimis flags: in the classifying component, elastomeric (or undeclared)
        for flag in ("in_component", "elastomeric"):
            said = draw(_ints(0, 3 if opts.missing else 1))
            if said < 2:
                m[flag] = said == 1
    if opts.kinds and draw(_ints(0, 3)) == 1:
        m["kind"] = draw(_one_of(KINDS))
    if opts.subassemblies and depth < opts.max_depth and draw(_ints(0, 5)) == 1:
        m["materials"] = [_material(draw, opts, depth + 1) for _ in range(draw(_ints(1, 3)))]
        for name in ("transaction_value", "net_cost", "fob", "ex_works"):
            if draw(_ints(0, 1)) == 1:
                m[name] = draw(money(0, 3_000))
        if draw(_ints(0, 9)) == 1:
            m["wholly_obtained"] = True
        procs = _processes(draw, opts)
        if procs:
            m["processes"] = procs
        if draw(_ints(0, 4)) == 1:
            m["end_use"] = draw(_one_of(opts.pools.end_uses))
    if draw(_ints(0, 2)) == 1:  # a declared fact of the material, tested by filters
        m["facts"] = {PART_FACT: draw(_one_of(PART_WORDS + ("seats",)))}
    return m


def _figures(draw, opts: _Options) -> dict[str, Decimal]:
    if draw(_ints(0, 1)) == 1:
        tv = Decimal(draw(_ints(1, 100)) * 100).quantize(CENT)
    else:
        tv = draw(money(0, 10_000))
    figures: dict[str, Decimal] = {"transaction_value": tv}
    for name in ("net_cost", "total_cost", "fob", "ex_works"):
        figures[name] = draw(_one_of((tv, tv * Decimal("0.85"), tv * Decimal("0.9"), tv * Decimal("1.1")))).quantize(CENT)
    if opts.missing:
        for name in list(figures):
            if draw(_ints(0, 7)) == 1:
                del figures[name]
    return figures


def _aim(draw, opts: _Options, product: dict, materials: list[dict]) -> None:
    """Place the declared non-originating value (or weight) exactly on a threshold, or a cent off."""
    candidates = [m for m in materials if m.get("originating") is not True and "materials" not in m
                  and m.get("kind", "direct") not in ("indirect", "shipping_packing")]
    if not candidates:
        return
    share = draw(_one_of(opts.pools.shares))
    offset = draw(_one_of((Decimal(0), Decimal(0), CENT, -CENT)))
    chosen = candidates[draw(_ints(0, len(candidates) - 1))]
    if draw(_ints(0, 3)) > 0 or not opts.pools.weights:
        base_name = draw(_one_of(("transaction_value", "transaction_value", "net_cost", "fob", "ex_works")))
        base = product.get(base_name)
        if base is None:
            return
        others = sum((m.get("value") or Decimal(0)) for m in candidates if m is not chosen)
        value = (base * share / 100 + offset - others).quantize(CENT)
        if value >= 0:
            chosen["value"] = value
    else:
        weight = product.get(draw(_one_of(("weight_kg", "weight_kg", "component_weight_kg"))))
        if weight is None:
            return
        others = sum((m.get("weight_kg") or Decimal(0)) for m in candidates if m is not chosen)
        amount = weight * share / 100 + offset - others
        if amount >= 0:
            chosen["weight_kg"] = amount
            if chosen.get("polymer_weight_kg") is not None and chosen["polymer_weight_kg"] > amount:
                chosen["polymer_weight_kg"] = amount  # a part weighs at most its whole


def _bom(opts: _Options) -> st.SearchStrategy[BOM]:
    return st.composite(lambda draw: _draw_bom(draw, opts))()


def _draw_bom(draw, opts: _Options) -> BOM:
    opts.ids.clear()
    pools = opts.pools
    product: dict[str, Any] = {"id": "P1"}
    hs = draw(_one_of(pools.product_codes))
    level = draw(_one_of(opts.product_levels))
    if level < len(hs):
        hs = hs[:level]
    elif level > len(hs) == 6:
        hs = hs + "10"
    if not (opts.missing and draw(_ints(0, 24)) == 1):
        product["hs"] = dotted(hs)
    where = draw(_one_of(pools.parties * 4 + pools.countries))
    if not (opts.missing and draw(_ints(0, 14)) == 1):
        product["produced_in"] = where
    shipped = draw(_ints(0, 3))  # imported from where it is produced, another country, or not said
    if shipped == 2:
        product["imported_from"] = where
    elif shipped < 2 or not opts.missing:
        product["imported_from"] = draw(_one_of(pools.parties * 2 + pools.countries))
    product.update(_figures(draw, opts))
    if pools.weights and draw(_ints(0, 2)) > 0:
        product["weight_kg"] = Decimal(draw(_ints(1, 200)) * 10)
        if draw(_ints(0, 2)) > 0:  # the classifying component: part of the good, or all of it
            product["component_weight_kg"] = product["weight_kg"] * draw(_one_of((Decimal(1), Decimal("0.8"), Decimal("0.5"))))
    if draw(_ints(0, 19)) == 1:
        product["wholly_obtained"] = True
    if not (opts.missing and draw(_ints(0, 1)) == 1):
        product["end_use"] = draw(_one_of(pools.end_uses))
    facts: dict = {}
    if not (opts.missing and draw(_ints(0, 2)) == 1):
        facts[GOOD_FACT] = draw(_one_of(GOOD_WORDS + ("other",)))
    if not (opts.missing and draw(_ints(0, 2)) == 1):
        number = Decimal(draw(_ints(0, 100)))
        if draw(_ints(0, 2)) == 1:  # with an evidence period, which may not cover the date
            year = draw(_ints(2018, 2030))
            facts[NUMBER_FACT] = {"value": number, "from": date(year, 1, 1), "until": date(year, 12, 31)}
        else:
            facts[NUMBER_FACT] = number
    if facts:
        product["facts"] = facts
    procs = _processes(draw, opts)
    if procs:
        product["processes"] = procs
    materials = [_material(draw, opts, 1) for _ in range(draw(_ints(0, opts.max_materials)))]
    if opts.target and draw(_ints(0, 2)) > 0:
        _aim(draw, opts, product, materials)
    return BOM.model_validate({"product": product, "materials": materials})


def boms(
    *,
    hs_codes: Iterable[str] | None = None,
    chapters: Iterable[str] | None = None,
    countries: Iterable[str] = COUNTRIES,
    parties: Iterable[str] = ("US", "MX", "CA"),
    end_uses: Iterable[str] = END_USES,
    processes: Iterable[str] = PROCESSES,
    max_materials: int = 6,
    max_depth: int = 2,
    missing: bool = True,
    kinds: bool = True,
    subassemblies: bool = True,
    product_levels: Iterable[int] = (6, 6, 6, 4, 8),
) -> st.SearchStrategy[BOM]:
    """BOMs in general.

    ``hs_codes`` (dotted or not) restricts every code to those given and their neighbours;
    ``chapters`` restricts codes to some chapters. ``missing=False`` gives complete BOMs
    (every value, figure, origin and ``originating`` flag present); ``kinds=False`` only
    direct materials; ``subassemblies=False`` a single level. ``product_levels`` are the
    numbers of digits of the product's code (a subheading by default, now and then a heading
    or a tariff item).
    """
    if hs_codes is not None:
        digits = [c.replace(".", "") for c in hs_codes]
        product = tuple(dict.fromkeys(d for c in digits for d in _subheadings_under(c)[:3] or (c,)))
        material = tuple(dict.fromkeys(n for c in digits for n in _neighbours(c)))
    else:
        chapter_list = tuple(chapters) if chapters is not None else None
        subs = _all_codes(6)
        if chapter_list is not None:
            subs = tuple(c for c in subs if c[:2] in chapter_list) or subs
        product = subs
        material = subs + tuple(c for c in _all_codes(4) if chapter_list is None or c[:2] in chapter_list) \
            + tuple(c for c in _all_codes(2) if chapter_list is None or c in chapter_list)
    pools = Pools(product, material, tuple(countries), tuple(parties), tuple(end_uses), tuple(processes))
    return _bom(_Options(pools, max_materials, max_depth, missing, kinds, subassemblies, target=False,
                         product_levels=tuple(product_levels)))


def boms_for(
    rulebook: Rulebookish,
    *,
    max_materials: int = 6,
    max_depth: int = 2,
    missing: bool = True,
    kinds: bool = True,
    subassemblies: bool = True,
    product_levels: Iterable[int] = (6, 6, 6, 6, 4, 8),
) -> st.SearchStrategy[BOM]:
    """BOMs aimed at the rules of a rulebook (its text, ``{file name: text}``, or a loaded
    :class:`~origin_rules.Rulebook`).

    Codes come from :func:`pools_for`; about two BOMs in three have their declared
    non-originating value (or weight) placed exactly on one of the rulebook's percentages of
    a product figure, or one cent either side. Options as for :func:`boms`.
    """
    pools = pools_for(rulebook)
    return _bom(_Options(pools, max_materials, max_depth, missing, kinds, subassemblies, target=True,
                         product_levels=tuple(product_levels)))


def dates_for(rulebook: Rulebookish) -> st.SearchStrategy[date]:
    """Dates at, and a day either side of, every date the rulebook names (plus 2030-01-01)."""
    return _dates_for(_key(rulebook))


@lru_cache(maxsize=64)
def _dates_for(key) -> st.SearchStrategy[date]:
    days: dict[date, None] = {date(2030, 1, 1): None}
    for module in _modules_of(key):
        for node in _walk(module.items):
            if isinstance(node, (ast.Rule, ast.Require)):
                found = (node.from_, node.until)
            elif isinstance(node, ast.Effective):
                found = (node.on,)
            else:
                continue
            for value in found:
                if value is not None:
                    for d in (value - timedelta(days=1), value, value + timedelta(days=1)):
                        days.setdefault(d, None)
    # half of the time the far future, when every open-ended rule is in force
    return st.sampled_from(sorted(days) + [date(2030, 1, 1)] * len(days))


def shuffled(bom: BOM) -> st.SearchStrategy[tuple[BOM, dict[str, str]]]:
    """The BOM with materials reordered at every level, and the map of old field paths to new
    (``materials[0]`` -> ``materials[2]``), so that missing fields can be compared."""

    @st.composite
    def build(draw):
        mapping: dict[str, str] = {}

        def reorder(materials, old_prefix: str, new_prefix: str) -> list[dict]:
            order = draw(st.permutations(range(len(materials)))) if materials else []
            out = []
            for new_index, old_index in enumerate(order):
                m = materials[old_index]
                old, new = f"{old_prefix}[{old_index}]", f"{new_prefix}[{new_index}]"
                mapping[old] = new
                data = m.model_dump(exclude_defaults=True, exclude={"materials"})
                if m.materials:
                    data["materials"] = reorder(m.materials, old + ".materials", new + ".materials")
                out.append(data)
            return out

        materials = reorder(bom.materials, "materials", "materials")
        product = bom.product.model_dump(exclude_defaults=True)
        return BOM.model_validate({"product": product, "materials": materials}), mapping

    return build()
