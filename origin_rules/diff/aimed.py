"""Hypothesis strategies for BOMs aimed at a rule: property tests of your own rule files.

In: a rulebook (a :class:`~origin_rules.rulebook.Rulebook`, paths, or ``{file: text}``), the
agreement or scenario to aim at, and optionally an HS code picking the rule. Out: strategies
of valid :class:`~origin_rules.model.bom.BOM` values whose product and materials sit where the
rule's verdict can turn:

* **HS codes** at the rule's selector (first, middle and last subheading of each code or
  range) and, with ``around=True``, just outside it; materials classified in the good's own
  subheading, a sibling subheading, another heading of its chapter, another chapter, and in
  and just around every set the rule names (exceptions, sources, ``hs in`` filters);
* **values** around each threshold: for ``rvc(net_cost) >= 50%`` on a net cost of 700,
  non-originating values of 349, 349.99, 350, 350.01, 351 (and the same for every RVC,
  MaxNOM, ``value``/``weight`` ceiling and de minimis share), for one material or as the
  total of a *main group* of non-originating materials sharing a code and an origin,
  mixed with arbitrary amounts and with materials drawn freely;
* **origins** in and out of the country sets the rule names (``origin in [CN]``), the
  parties, and countries outside them; production mostly in a party;
* **facts** the rule reads: end uses of its ``when`` conditions, processes of
  ``performed``, weights when a weight test applies, sub-assemblies when content is traced.

Everything shrinks toward a small BOM: few materials, the first codes and values of each
list, every field present. Typical use (see ``docs/property-testing.md``)::

    from hypothesis import given
    from origin_rules.diff.aimed import boms_aimed_at

    book = origin_rules.load("rules/")

    @given(boms_aimed_at(book, "USMCA", hs="8708.30"))
    def test_brakes_never_qualify_without_a_party(bom): ...

Lower level: :func:`aim_at` returns the :class:`Aim` (the lists above, as data you can read
or edit with ``dataclasses.replace``), and :func:`boms_for_aim` turns an aim into BOMs.
``origin-rules diff`` builds its aims with :func:`aim_from_nodes` from the normal forms of
:mod:`origin_rules.diff.normal`, adding the thresholds and codes an edit moved (``focus``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

from hypothesis import strategies as st

from ..model.bom import BOM
from . import normal as N
from .nodes import EXACT
from .codes import admits, codes_around, codes_at, inside, meets, related_codes
from ..model.hs import dotted

__all__ = [
    "Aim", "OUTSIDERS", "aim_at", "aim_from_nodes", "amounts_near", "amounts_of", "boms_aimed_at", "boms_for_aim",
    "codes_around", "codes_at", "material_codes_of", "merge_aims", "related_codes",
]

#: Countries used as origins and places of production outside most agreements' parties.
OUTSIDERS = ("CN", "JP", "DE", "KR", "VN", "IN")
KINDS_OTHER = ("indirect", "accessory", "retail_packaging", "shipping_packing")
CENT = Decimal("0.01")
FIGURES = ("transaction_value", "net_cost", "total_cost", "fob", "ex_works")


@dataclass(frozen=True)
class Aim:
    """What BOMs aimed at some rules are made of (every list most useful first).

    ``good_codes``: dotted HS codes for ``product.hs``; ``nearby_codes``: codes just outside
    the rules' selectors, drawn one time in five. ``material_codes``: codes the rules
    name, and neighbours, for materials (codes related to the good's own code are added per
    BOM); ``codes_by_good``: ``(good code, material codes)`` pairs that replace
    ``material_codes`` for that good (the codes its own rules name); ``focus_codes``:
    material codes drawn half the time for the main group of materials (the diff puts there
    the codes of the sets an edit changed). ``parties``: countries whose production counts. ``countries``: origins for
    materials. ``amounts``: ``(figure, percent)`` pairs: material values (or weights) near
    ``percent`` % of that product figure are drawn (``rvc(net_cost) >= 50%`` gives
    ``("net_cost", 50)``, the non-originating value at the threshold; ``value(...) <= 10%
    of transaction_value`` gives ``("transaction_value", 10)``; figure ``None``: a share of
    another sum, as in a weight ratio, drawn near ``percent`` of 100). ``focus``: amounts of
    the same form drawn half the time (the diff puts there the thresholds an edit moved, and
    the midpoints between old and new). ``end_uses``, ``processes``,
    ``kinds``: facts and material kinds the rules read. ``weight``: generate weights.
    ``parts``: generate each material's polymer content (none, half or all of its weight).
    ``traced``: generate sub-assemblies. ``imported``: generate ``product.imported_from``
    (missing, a party or an outsider: the rules read it). ``max_materials``: the longest list of materials
    (one or two materials are the most frequent)."""

    good_codes: tuple[str, ...]
    nearby_codes: tuple[str, ...] = ()
    material_codes: tuple[str, ...] = ()
    codes_by_good: tuple[tuple[str, tuple[str, ...]], ...] = ()
    focus_codes: tuple[str, ...] = ()
    parties: tuple[str, ...] = ("US", "MX", "CA")
    countries: tuple[str, ...] = ()
    amounts: tuple[tuple[str | None, Decimal], ...] = ()
    focus: tuple[tuple[str | None, Decimal], ...] = ()
    end_uses: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    weight: bool = False
    traced: bool = False
    max_materials: int = 5
    parts: bool = False
    imported: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)


def _unique(values) -> tuple:
    seen: dict = {}
    for v in values:
        if v is not None:
            seen.setdefault(v, None)
    return tuple(seen)


def merge_aims(*aims: Aim) -> Aim:
    """One aim covering all of ``aims`` (lists concatenated in order, duplicates dropped)."""
    aims = tuple(a for a in aims if a is not None)
    return Aim(
        good_codes=_unique(c for a in aims for c in a.good_codes),
        nearby_codes=_unique(c for a in aims for c in a.nearby_codes if c not in {g for b in aims for g in b.good_codes}),
        material_codes=_unique(c for a in aims for c in a.material_codes),
        codes_by_good=_unique(c for a in aims for c in a.codes_by_good),
        focus_codes=_unique(c for a in aims for c in a.focus_codes),
        parties=_unique(c for a in aims for c in a.parties),
        countries=_unique(c for a in aims for c in a.countries),
        amounts=_unique(s for a in aims for s in a.amounts),
        focus=_unique(s for a in aims for s in a.focus),
        end_uses=_unique(e for a in aims for e in a.end_uses),
        processes=_unique(p for a in aims for p in a.processes),
        kinds=_unique(k for a in aims for k in a.kinds),
        weight=any(a.weight for a in aims),
        traced=any(a.traced for a in aims),
        max_materials=max((a.max_materials for a in aims), default=5),
        parts=any(a.parts for a in aims),
    )


# ---- collecting what rules name ---------------------------------------------------------------------------


def material_codes_of(nodes) -> tuple[str, ...]:
    """Dotted codes in and just around every HS set under the normal ``nodes``."""
    out: list[str] = []
    for x in (x for n in nodes for x in N.walk(n)):
        if isinstance(x, N.NSet):
            for lo, hi in x.items:
                out += codes_at(lo, hi)
            for lo, hi in x.items:
                out += codes_around(lo, hi)
    return _unique(dotted(d) for d in out)


def aim_from_nodes(nodes, good_items=(), parties=("US", "MX", "CA"), around: bool = False, *, policies=(),
                   nodes_by_item: dict | None = None) -> Aim:
    """An aim from normal nodes (:mod:`origin_rules.diff.normal`): criteria, conditions,
    and de minimis policies; ``good_items`` are the selector items ``(low, high)`` digits
    where the product's code is drawn; ``around`` adds the codes just outside them.
    ``nodes_by_item`` (item -> the nodes of the rules of that item) gives each good code
    the material codes of its own rules (``Aim.codes_by_good``)."""
    good: list[str] = []
    nearby: list[str] = []
    for lo, hi in good_items:
        good += codes_at(lo, hi)
    if around:
        for lo, hi in good_items:
            nearby += codes_around(lo, hi)
    material: list[str] = []
    countries: list[str] = []
    amounts: list[tuple[str | None, Decimal]] = []
    end_uses: list[str] = []
    processes: list[str] = []
    kinds: list[str] = []
    weight = traced = parts = imported = False

    def add_set(s) -> None:
        for lo, hi in s.items:
            material.extend(codes_at(lo, hi))
        for lo, hi in s.items:
            material.extend(codes_around(lo, hi))

    every = [x for n in nodes for x in N.walk(n)]
    for p in policies:
        if good_items and not any(admits(p, item) for item in good_items):
            continue
        amounts.append((p.base, p.share))
        weight = weight or p.measure == "weight"
        every += list(N.walk(p.exclude))
    for x in every:
        if isinstance(x, N.NSet):
            add_set(x)
        elif isinstance(x, N.NCompare):
            amounts += amounts_of(x)
        elif isinstance(x, N.NSum):
            weight = weight or x.measure == "weight"
            traced = traced or x.traced
            parts = parts or x.part is not None
        elif isinstance(x, N.NFigure) and x.name == "weight":
            weight = True
        elif isinstance(x, N.NOriginIn):
            countries.extend(x.countries)
        elif isinstance(x, N.NFactIn) and x.fact in ("end_use", "produced_in", "imported_from"):
            (end_uses if x.fact == "end_use" else countries).extend(x.values)
            imported = imported or x.fact == "imported_from"
        elif isinstance(x, N.NPerformed):
            processes.append(x.process)
            countries.extend(x.where)
        elif isinstance(x, N.NKindIn):
            kinds.extend(x.kinds)
    good_codes = _unique(dotted(d) for d in good)
    by_good: dict[str, tuple[str, ...]] = {}
    for item, item_nodes in (nodes_by_item or {}).items():
        codes = material_codes_of(item_nodes)
        for d in codes_at(*item):
            by_good[dotted(d)] = _unique([*by_good.get(dotted(d), ()), *codes])
    return Aim(
        good_codes=good_codes,
        codes_by_good=tuple(by_good.items()),
        nearby_codes=tuple(c for c in _unique(dotted(d) for d in nearby) if c not in good_codes),
        material_codes=_unique(dotted(d) for d in material),
        parties=_unique(parties),
        countries=_unique([*countries, *OUTSIDERS, *parties]),
        amounts=_unique((f, N.share(s)) for f, s in amounts),
        end_uses=_unique(end_uses),
        processes=_unique(processes),
        kinds=_unique(kinds),
        weight=weight,
        traced=traced,
        parts=parts,
        imported=imported,
    )


def amounts_of(compare) -> list[tuple[str | None, Decimal]]:
    """The ``(figure, percent)`` amounts at which a comparison (a normal ``NCompare``) turns:
    ``rvc(net_cost) >= 50%`` -> ``("net_cost", 50)`` (non-originating value at the limit);
    ``value(F) <= 10% of transaction_value`` -> ``("transaction_value", 10)``; a share of
    another sum -> both sides of the ratio, of 100."""
    m = compare.measure
    if isinstance(m, N.NFact):
        return []  # a declared number: no amount of the BOM's materials moves it
    if isinstance(m, N.NSum):
        if isinstance(compare.base, N.NFigure):
            return [(compare.base.name, compare.share)]
        return [(None, compare.share), (None, EXACT.subtract(100, compare.share))]
    if isinstance(m, N.NRvc) and m.method != "build_up":
        return [(m.basis, EXACT.subtract(100, compare.share))]
    return [(m.basis, compare.share)]  # build_up: originating value; max_nom: non-originating


def _book(rulebook):
    from ..rulebook.book import Rulebook, load, loads

    if isinstance(rulebook, Rulebook):
        return rulebook
    if isinstance(rulebook, dict):
        return loads(rulebook)
    if isinstance(rulebook, str) and ("{" in rulebook or "\n" in rulebook):
        return loads(rulebook)  # the text of a rule file
    return load(rulebook)


def aim_at(rulebook, under: str, hs: str | None = None, *, around: bool = False) -> Aim:
    """The aim for the rules of ``under`` that cover ``hs`` (every rule when ``hs`` is None):
    their codes, thresholds, sets and facts, the requirements covering those codes, and the
    de minimis policies. ``rulebook``: a Rulebook, paths, ``{file: text}`` or a rule text."""
    book = _book(rulebook)
    book.plan(under)  # the same error as evaluation for an unknown name
    program = N.normalize(book.parsed.programs[under])
    if hs is None:
        items = good_items = sorted(program.rules)
    else:
        wanted = list(N.nset_of(hs).items)
        items = sorted(i for i in program.rules if any(meets(i, w) for w in wanted))
        # the rules' own codes where they lie inside what was asked (so that goods have a
        # rule), then the codes asked for
        within = [i for i in items if any(inside(i, w) for w in wanted)]
        good_items = _spread(within, 40) + [w for w in wanted if w not in within]
    nodes: list = []
    by_item: dict = {}
    for item in items:
        for e in program.rules[item]:
            nodes += [e.body, e.when]
            by_item.setdefault(item, []).append(e.body)
    for r in program.requires:
        if r.for_ is None or any(meets(i, f) for i in good_items for f in r.for_.items):
            nodes += [r.body, r.when]
    return aim_from_nodes(nodes, good_items, program.parties, around, policies=program.de_minimis,
                          nodes_by_item=by_item if len(items) > 1 else None)


def _spread(items: list, n: int) -> list:
    """At most ``n`` items, evenly spaced (deterministic)."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# ---- the BOM strategy ------------------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=_CENTS)


_CENTS = Context(prec=EXACT.prec)  # (rounds to cents only: the default context keeps 28 digits)


def amounts_near(amounts, figures: dict[str, Decimal | None]) -> tuple[Decimal, ...]:
    """Amounts at and next to each ``(figure, percent)`` of ``amounts``: percent x figure /
    100, +-0.01 and +-1 (a figure of None stands for 100); 0 first."""
    return _amounts_near(tuple(amounts), tuple(sorted(figures.items(), key=lambda kv: str(kv[0]))))


@lru_cache(maxsize=1024)
def _amounts_near(amounts: tuple, figure_items: tuple) -> tuple[Decimal, ...]:
    figures = dict(figure_items)
    out: set[Decimal] = {Decimal(0)}
    for figure, percent in amounts:
        base = figures.get(figure) if figure else Decimal(100)
        if base is None:
            continue
        at = _money(EXACT.divide(EXACT.multiply(base, percent), 100))
        for delta in (Decimal(0), CENT, -CENT, Decimal(1), Decimal(-1)):
            near = EXACT.add(at, delta)
            if near >= 0:
                out.add(near)
    return tuple(sorted(out))


@lru_cache(maxsize=None)
def _pick(options: tuple) -> st.SearchStrategy:
    return st.sampled_from(options)


@lru_cache(maxsize=None)
def _upto(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n)


def _one(draw, options) -> object:
    """One of ``options`` (a tuple); shrinks toward the first."""
    return options[0] if len(options) == 1 else draw(_pick(tuple(options)))


def _flag(draw, chance: int) -> bool:
    """True once in ``chance`` draws; shrinks toward False."""
    return draw(_upto(chance - 1)) == chance - 1


#: How many materials a BOM has, most likely first (1, then 2...; shrinks toward one).
COUNTS = (1, 2, 1, 3, 2, 0, 4, 5, 1, 2)
RATIOS = (Decimal("0.85"), Decimal(1), Decimal("0.7"), Decimal("0.5"), Decimal("1.1"))
TVS = (Decimal(1000), Decimal(10000), Decimal(100))


@st.composite
def _bom(draw, aim: Aim) -> BOM:
    """A BOM: the product, a *main group* of non-originating materials sharing one code and
    origin whose values add up to an amount near a threshold, and other materials drawn
    freely. Every choice shrinks toward the first of its list, toward fewer materials and
    toward nothing unusual."""
    near = aim.nearby_codes and _flag(draw, 8)
    hs = _one(draw, aim.nearby_codes if near else aim.good_codes)
    # what is unusual about the product, in one draw: 0..27 nothing; 28..32 a missing
    # figure; 33, 34 production outside the parties; 35 wholly obtained
    odd = draw(_upto(35))
    outside = _unique(c for c in aim.countries if c not in aim.parties) or OUTSIDERS
    produced_in = _one(draw, outside) if odd in (33, 34) else _one(draw, aim.parties)
    tv = _one(draw, TVS)
    figures: dict[str, Decimal | None] = {"transaction_value": tv, "fob": tv, "ex_works": tv}
    figures["net_cost"] = _money(tv * _one(draw, RATIOS))
    figures["total_cost"] = figures["net_cost"] + _money(tv / 10)
    if aim.weight:
        figures["weight"] = _one(draw, (Decimal(100), Decimal(10), Decimal(1000)))
    values = amounts_near(aim.amounts, figures)
    focus = amounts_near(aim.focus, figures) if aim.focus else ()
    weights = amounts_near(aim.amounts, {"weight": figures.get("weight")}) if aim.weight else ()
    if 28 <= odd < 33:
        figures[FIGURES[odd - 28]] = None
    codes = _unique([*related_codes(hs), *_by_good(aim.codes_by_good).get(hs, aim.material_codes)])
    origins = _unique([*aim.countries, *aim.parties])
    # the main group: code, origin, and the total its values add up to
    main_code = _one(draw, aim.focus_codes) if aim.focus_codes and draw(_upto(1)) == 0 else _one(draw, codes)
    main_origin = _one(draw, origins)
    total = _amount(draw, values, focus, tv)
    materials: list[dict] = []
    group: list[dict] = []
    counts = tuple(c for c in COUNTS if c <= aim.max_materials) or (0,)
    for i in range(_one(draw, counts)):
        if draw(_upto(2)) < 2:
            m = {"id": "M", "hs": main_code, "origin": main_origin, "originating": False,
                 "value": str(_amount(draw, values, focus, tv))}
            if aim.weight:
                m["weight_kg"] = str(_one(draw, weights) if weights else Decimal(1))
                _polymer(draw, m, aim)
            group.append(m)
        else:
            m = _material(draw, aim, codes, origins, values, tv, weights)
            if aim.traced and _flag(draw, 3):
                _subassembly(draw, m, aim, codes, origins, values, tv, weights)
        m["id"] = f"M{i + 1}"
        for k, sub in enumerate(m.get("materials", ())):
            sub["id"] = f"M{i + 1}.{k + 1}"
        materials.append(m)
    if group and draw(_upto(3)) < 3:  # three times in four the group adds up to `total`
        others = sum((Decimal(m["value"]) for m in materials if m not in group and _counts(m)), Decimal(0))
        rest = sum((Decimal(m["value"]) for m in group[1:]), Decimal(0))
        group[0]["value"] = str(max(total - others - rest, Decimal(0)))
    product: dict = {"id": "PRODUCT", "hs": hs, "produced_in": produced_in, "currency": "USD"}
    for name in FIGURES:
        if figures[name] is not None:
            product[name] = str(figures[name])
    if figures.get("weight") is not None:
        product["weight_kg"] = str(figures["weight"])
    if aim.end_uses:
        end_use = _one(draw, (None, *aim.end_uses, "other"))
        if end_use is not None:
            product["end_use"] = end_use
    if aim.processes:
        # one process most of the time (0..3), two (4) or none (5); performed in a party
        # three times in four
        count = {4: 2, 5: 0}.get(draw(_upto(5)), 1)
        processes = [{"name": _one(draw, aim.processes),
                      "country": _one(draw, outside) if _flag(draw, 4) else _one(draw, aim.parties)}
                     for _ in range(count)]
        if processes:
            product["processes"] = processes
    if odd == 35:
        product["wholly_obtained"] = True
    if aim.imported:  # shipped from where it is produced, another party, an outsider, or not said
        shipped = draw(_upto(3))
        if shipped < 3:
            product["imported_from"] = (produced_in, _one(draw, aim.parties), _one(draw, outside))[shipped]
    return BOM.model_validate({"product": product, "materials": materials})


@lru_cache(maxsize=64)
def _by_good(pairs: tuple) -> dict:
    return dict(pairs)


def _counts(m: dict) -> bool:
    """Whether a material line counts as non-originating value."""
    return (m.get("originating") is not True and "value" in m and "materials" not in m
            and m.get("kind") not in ("indirect", "shipping_packing"))


def _amount(draw, values, focus, tv: Decimal) -> Decimal:
    """An amount: near a focused threshold (three times in four when there are some), near
    any threshold, or any amount up to ``tv``."""
    if focus:
        k = draw(_upto(len(focus) + len(focus) // 3))
        if k < len(focus):
            return focus[k]
    k = draw(_upto(len(values) + len(values) // 3))
    return values[k] if k < len(values) else Decimal(draw(_upto(int(tv) * 100))) / 100


def _subassembly(draw, m: dict, aim: Aim, codes, origins, values, tv, weights) -> None:
    """Turn a material line into a sub-assembly of one to three materials of its own."""
    inner = []
    for k in range(1 + draw(_upto(2))):
        sub = _material(draw, aim, codes, origins, values, tv, weights)
        sub["id"] = f"M.{k + 1}"
        inner.append(sub)
    total = sum((Decimal(x["value"]) for x in inner if "value" in x), Decimal(0))
    worth = str(max(total * 2, Decimal(1)))
    m.update(materials=inner, hs=_one(draw, _unique([*aim.good_codes, *codes])),
             origin=_one(draw, aim.parties), value=worth, transaction_value=worth, net_cost=worth)
    m.pop("originating", None)


def _material(draw, aim: Aim, codes, origins, values, tv: Decimal, weights) -> dict:
    """One free material line: code, origin, originating, value (near a threshold, or any)."""
    # what is unusual, in one draw: 0..35 nothing; 36 no HS code, 37 no value, 38 origin
    # status unknown, 39 another kind than direct
    odd = draw(_upto(39))
    originating = None if odd == 38 else _one(draw, (True, False))
    out: dict = {"id": "M"}
    if odd != 36:
        out["hs"] = _one(draw, codes)
    out["origin"] = _one(draw, aim.parties if originating else origins)
    out["originating"] = originating
    if odd != 37:
        out["value"] = str(_amount(draw, values, (), tv))
    if aim.weight:
        out["weight_kg"] = str(_one(draw, weights) if weights else Decimal(1))
        _polymer(draw, out, aim)
    if odd == 39:
        out["kind"] = _one(draw, _unique([*aim.kinds, *KINDS_OTHER]))
    return out


def _polymer(draw, m: dict, aim: Aim) -> None:
    """The polymer content of a material with a weight, when a rule weighs it: none, half,
    all of the weight, or not declared."""
    if aim.parts:
        share = _one(draw, (None, Decimal(0), Decimal("0.5"), Decimal(1)))
        if share is not None:
            m["polymer_weight_kg"] = str(Decimal(m["weight_kg"]) * share)


def boms_for_aim(aim: Aim) -> st.SearchStrategy[BOM]:
    """Valid BOMs built from an aim (see the module docstring for how they are made)."""
    if not aim.good_codes:
        raise ValueError("an aim needs at least one good code")
    if aim.max_materials < 0:
        raise ValueError("max_materials must be 0 or more")
    return _bom(aim)


def boms_aimed_at(rulebook, under: str, hs: str | None = None, *, around: bool = False,
                  max_materials: int = 5) -> st.SearchStrategy[BOM]:
    """BOMs aimed at the rules of ``under`` covering ``hs`` (all rules when None).

    ``around=True`` also draws product codes just outside the rule's selector (the goods a
    rule must not reach). ``max_materials`` bounds the materials of one BOM."""
    from dataclasses import replace

    return boms_for_aim(replace(aim_at(rulebook, under, hs, around=around), max_materials=max_materials))
