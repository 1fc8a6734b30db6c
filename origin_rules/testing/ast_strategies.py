"""Hypothesis strategies that generate valid rule-language ASTs.

In: options (which set names are in scope, how big). Out: strategies of
:mod:`origin_rules.model.ast` nodes, from HS codes up to whole modules, for property tests and for
generating rulebooks. Every node they produce is *printable*: ``fmt.format_module`` prints it
and ``parse`` reads it back as an equal AST (spans are left at ``NOWHERE``).

What "valid" means here:

* **Syntax**: everything the grammar can say is reachable (every criterion kind, filter,
  condition, ``de_minimis`` clause, alias, ``traced``, nested ``and``/``or``/``not``, quotes
  and backslashes in strings), and nothing the parser rejects or rewrites with an error
  (no keyword used as a name, no ``and``/``or`` with fewer than two operands).
* **Names**: a set is declared before it is used, and is used where its kind fits (HS sets
  in HS positions, country sets in country positions); set names are unique in a module;
  a scenario extends an agreement of the same module.
* **Codes and literals**: HS codes are real HS 2022 codes (``hs.nomenclature()``), ranges
  stay within one level and go upwards, countries are ISO 3166-1 codes, RVC methods and
  bases are the known ones, ``from`` is not after ``until``.
* **Rules**: in :func:`agreements`, each selector group covers its own HS chapter, so no two
  rules compete; a group is a single rule, a ``when`` variant followed by its fallback (as
  the seat-belt rules of docs/language.md), or dated phases that do not overlap and start on or
  after the agreement's ``effective`` date.

Building blocks are public too (``hs_codes``, ``hs_sets``, ``filters``, ``criteria``,
``rules``...): pass ``hs_names``/``country_names`` to let them refer to declared sets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, wraps

from hypothesis import strategies as st

from ..model import ast as A
from ..model.hs import HsCode, Level, nomenclature
from ..syntax.build import FACTS, FIGURES
from ..syntax.errors import KEYWORDS

#: Words that cannot be set names (keywords, aliases, ``traced``).
RESERVED = frozenset(KEYWORDS) | {"CC", "CTH", "CTSH", "traced"}
#: ISO 3166-1 alpha-2 codes of countries that sign trade agreements (a sample).
COUNTRIES = (
    "US", "MX", "CA", "CN", "JP", "KR", "VN", "MY", "SG", "AU", "NZ", "CL", "PE", "BN", "GB",
    "DE", "FR", "IT", "ES", "NL", "IN", "TH", "ID", "PH", "BR", "TR", "CH", "NO", "ZA", "TW",
)
END_USES = ("passenger_vehicle", "light_truck", "heavy_truck", "aircraft", "medical", "military")
#: Declared facts the generated rules test (the BOM strategies declare them, or leave them out).
GOOD_FACT, GOOD_WORDS = "good", ("body_stamping", "chassis_frame", "part")
PART_FACT, PART_WORDS = "part_of", ("brakes", "radiators")
NUMBER_FACT = "lvc"
KINDS = ("direct", "indirect", "accessory", "retail_packaging", "shipping_packing")
PROCESSES = ("cut and sewn", "spinning", "weaving", "assembly", "dyeing and printing", "smelting")
SET_NAMES = ("steel", "aluminium", "auto_parts", "textiles", "non_market", "partners", "batteries")
PRICE_BASES = ("fob", "ex_works", "transaction_value")


@lru_cache(maxsize=None)
def _codes(level: Level, chapter: str = "") -> tuple[HsCode, ...]:
    if chapter:
        return tuple(c for c in _codes(level) if c.digits.startswith(chapter))
    return tuple(sorted(nomenclature().codes(level)))


def _cached(build):
    """Memoise a strategy builder on its arguments (name collections become sorted tuples):
    building strategies is costly for hypothesis, drawing from a built one is not."""
    memo = lru_cache(maxsize=1024)(build)

    @wraps(build)
    def builder(*args, **kwargs):
        norm = lambda v: tuple(sorted(v)) if isinstance(v, (set, frozenset, list, tuple)) else v  # noqa: E731
        return memo(*(norm(a) for a in args), **{k: norm(v) for k, v in kwargs.items()})

    return builder


# ---- literals ----------------------------------------------------------------------------------


@_cached
def hs_codes(level: Level | None = None) -> st.SearchStrategy[HsCode]:
    """Real HS 2022 codes of ``level`` (any level if None); tariff items extend a subheading."""
    if level is None:
        return st.sampled_from([Level.CHAPTER, Level.HEADING, Level.SUBHEADING, Level.TARIFF_ITEM]).flatmap(hs_codes)
    if level is Level.TARIFF_ITEM:
        return st.builds(lambda sub, n: HsCode(f"{sub.digits}{n:02d}"),
                         st.sampled_from(_codes(Level.SUBHEADING)), st.integers(0, 99))
    return st.sampled_from(_codes(level))


@_cached
def hs_code_lits(level: Level | None = None) -> st.SearchStrategy[A.HsCodeLit]:
    return hs_codes(level).map(A.HsCodeLit)


@_cached
def hs_ranges(level: Level | None = None) -> st.SearchStrategy[A.HsRangeLit]:
    """``low..high`` of one level, ``low <= high``."""
    levels = st.just(level) if level else st.sampled_from([Level.CHAPTER, Level.HEADING, Level.SUBHEADING])
    pair = levels.flatmap(lambda lv: st.lists(hs_codes(lv), min_size=2, max_size=2))
    return pair.map(lambda p: A.HsRangeLit(A.HsCodeLit(min(p)), A.HsCodeLit(max(p))))


@_cached
def hs_sets(hs_names=(), max_items: int = 4) -> st.SearchStrategy[A.HsSetExpr]:
    """A comma-separated union of codes, ranges and (if given) names of HS sets."""
    items = [hs_code_lits(), hs_ranges()] + ([st.sampled_from(sorted(hs_names)).map(A.SetRef)] if hs_names else [])
    return st.lists(st.one_of(items), min_size=1, max_size=max_items).map(lambda xs: A.HsSetExpr(tuple(xs)))


@_cached
def word_lists(words, min_size: int = 1, max_size: int = 4) -> st.SearchStrategy[A.WordList]:
    return st.lists(st.sampled_from(words), min_size=min_size, max_size=max_size, unique=True).map(
        lambda ws: A.WordList(tuple(A.Word(w) for w in ws)))


@_cached
def country_sets(country_names=()) -> st.SearchStrategy:
    """``[CN, VN]``, ``parties`` or the name of a country set."""
    options = [word_lists(COUNTRIES), st.just(A.Parties())]
    if country_names:
        options.append(st.sampled_from(sorted(country_names)).map(A.SetRef))
    return st.one_of(options)


@_cached
def percents() -> st.SearchStrategy[A.Percent]:
    """``60%``, ``62.5%``, ``0.5%``... (exact decimals between 0 and 100)."""
    whole = st.integers(0, 100).map(Decimal)
    tenths = st.integers(0, 999).map(lambda n: Decimal(n).scaleb(-1))
    return st.one_of(whole, tenths).map(A.Percent)


def dates(start: date = date(2000, 1, 1), end: date = date(2040, 12, 31)) -> st.SearchStrategy[date]:
    return st.dates(start, end)


@_cached
def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Titles, citations, names: any one-line text, quotes and backslashes included."""
    chars = st.one_of(st.characters(exclude_categories=("Cc", "Cs")), st.sampled_from('"\\'))
    return st.text(chars, max_size=max_size)


@_cached
def names(max_size: int = 30) -> st.SearchStrategy[str]:
    """Names of agreements and scenarios: texts that are not blank."""
    return texts(max_size).filter(lambda t: t.strip())


@_cached
def set_names() -> st.SearchStrategy[str]:
    """Names usable for sets: domain words or identifiers, never a keyword."""
    made = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
    return st.one_of(st.sampled_from(SET_NAMES), made).filter(lambda n: n not in RESERVED)


# ---- boolean structure -------------------------------------------------------------------------------


def _boolean(atoms: st.SearchStrategy, max_leaves: int) -> st.SearchStrategy:
    def extend(inner):
        operands = st.lists(inner, min_size=2, max_size=3).map(tuple)
        return st.one_of(operands.map(A.And), operands.map(A.Or), inner.map(A.Not))

    return st.recursive(atoms, extend, max_leaves=max_leaves)


@_cached
def filters(country_names=(), hs_names=(), max_leaves: int = 4) -> st.SearchStrategy:
    """Material filters (inside ``value(...)``, ``weight(...)``, ``exclude``)."""
    atoms = st.one_of(
        st.booleans().map(A.IsOriginating),
        country_sets(country_names).map(A.OriginIn),
        hs_sets(hs_names, 3).map(A.HsIn),
        word_lists(KINDS).map(A.KindIn),
        word_lists(PART_WORDS).map(lambda w: A.FactIn(PART_FACT, w)),
        st.sampled_from(list(Level)).map(A.SameCode),
    )
    return _boolean(atoms, max_leaves)


@_cached
def conditions(country_names=(), max_leaves: int = 3) -> st.SearchStrategy:
    """``when`` conditions on facts of the good (``end_use``, ``produced_in``,
    ``imported_from``, a declared fact)."""
    end_use = word_lists(END_USES).map(lambda w: A.FactIn("end_use", w))
    produced = country_sets(country_names).map(lambda c: A.FactIn("produced_in", c))
    imported = country_sets(country_names).map(lambda c: A.FactIn("imported_from", c))
    declared = word_lists(GOOD_WORDS).map(lambda w: A.FactIn(GOOD_FACT, w))
    assert set(FACTS) == {"end_use", "produced_in", "imported_from"}
    return _boolean(st.one_of(end_use, produced, imported, declared), max_leaves)


# ---- criteria ---------------------------------------------------------------------------------------------


@_cached
@st.composite
def changes(draw, hs_names=()) -> A.Change:
    """``change from SOURCES [except SET] [except more than one of (SET), (SET)...]`` or its
    aliases ``CC``/``CTH``/``CTSH``."""
    any_other = st.sampled_from(list(Level)).map(A.AnyOther)
    item = st.one_of([hs_code_lits(), hs_ranges()] + ([st.sampled_from(sorted(hs_names)).map(A.SetRef)] if hs_names else []))
    where = st.builds(lambda i, w: A.Where(i, PART_FACT, w), item, word_lists(PART_WORDS))
    sources = tuple(draw(st.lists(st.one_of(any_other, item, where), min_size=1, max_size=3)))
    except_ = draw(st.none() | hs_sets(hs_names, 3))
    alias = None
    if len(sources) == 1 and isinstance(sources[0], A.AnyOther) and sources[0].level is not Level.TARIFF_ITEM:
        alias = draw(st.sampled_from([None, {2: "CC", 4: "CTH", 6: "CTSH"}[int(sources[0].level)]]))
    groups = ()
    if draw(st.integers(0, 3)) == 0:  # ``except more than one of (SET), (SET)...``
        groups = tuple(draw(st.lists(hs_sets(hs_names, 2), min_size=2, max_size=3)))
    return A.Change(sources, except_, alias, except_groups=groups)


@_cached
def sums(country_names=(), hs_names=()) -> st.SearchStrategy[A.Sum]:
    """``value(FILTER[, traced])`` / ``weight(...)``; the filter may be left out."""
    return st.builds(A.Sum, st.sampled_from(["value", "weight"]),
                     st.none() | filters(country_names, hs_names), st.booleans())


@_cached
def part_sums(country_names=(), hs_names=()) -> st.SearchStrategy[A.Sum]:
    """``weight(polymer[ of FILTER][, traced])``: the declared polymer content of materials."""
    return st.builds(lambda f, traced: A.Sum("weight", f, traced, part="polymer"),
                     st.none() | filters(country_names, hs_names), st.booleans())


@_cached
@st.composite
def rvcs(draw, hs_names=()) -> A.Rvc:
    """``rvc(transaction_value)``, ``rvc(build_down, fob)``, ``rvc(focused_value, fob, 94.03)``..."""
    method = draw(st.sampled_from(["transaction_value", "net_cost", "build_down", "build_up", "focused_value"]))
    if method in ("transaction_value", "net_cost"):
        return A.Rvc(method)
    basis = draw(st.sampled_from(PRICE_BASES))
    focus = draw(hs_sets(hs_names, 3)) if method == "focused_value" else None
    return A.Rvc(method, basis, focus)


@_cached
@st.composite
def comparisons(draw, country_names=(), hs_names=()) -> A.Comparison:
    """An RVC floor, a ``max_nom`` ceiling, or ``value(...) OP N% of BASE``."""
    kind = draw(st.sampled_from(["rvc", "max_nom", "sum", "fact", "part"]))
    if kind == "part":  # kilograms against kilograms (ROO125): a weight figure or a weight sum
        weights = sums(country_names, hs_names).filter(lambda x: x.measure == "weight")
        measure = draw(part_sums(country_names, hs_names) | weights)
        base = draw(st.sampled_from(_WEIGHT_FIGURES).map(A.Figure) | part_sums(country_names, hs_names)
                    | (weights if measure.part is not None else st.nothing()))
        return A.Comparison(measure, draw(st.sampled_from([">=", "<=", ">", "<"])), draw(percents()), base)
    if kind == "fact":
        return A.Comparison(A.FactValue(NUMBER_FACT), draw(st.sampled_from([">=", "<=", ">", "<"])), draw(percents()))
    if kind == "rvc":
        return A.Comparison(draw(rvcs(hs_names)), draw(st.sampled_from([">=", ">"])), draw(percents()))
    if kind == "max_nom":
        return A.Comparison(A.MaxNom(draw(st.sampled_from(PRICE_BASES))), "<=", draw(percents()))
    base = draw(st.one_of(st.sampled_from(FIGURES).map(A.Figure), sums(country_names, hs_names)))
    return A.Comparison(draw(sums(country_names, hs_names)), draw(st.sampled_from([">=", "<=", ">", "<"])),
                        draw(percents()), base)


@_cached
def criteria(country_names=(), hs_names=(), max_leaves: int = 5) -> st.SearchStrategy:
    """One body line of a rule: every criterion kind, combined with ``and``/``or``/``not``."""
    atoms = st.one_of(
        changes(hs_names),
        comparisons(country_names, hs_names),
        st.builds(A.Performed, st.sampled_from(PROCESSES) | texts(20), country_sets(country_names)),
        st.just(A.WhollyObtained()),
    )
    return _boolean(atoms, max_leaves)


@_cached
def body_lines(country_names=(), hs_names=(), max_lines: int = 3) -> st.SearchStrategy[tuple]:
    """The lines of a rule or requirement body: criteria and the odd ``cite``."""
    line = st.one_of(criteria(country_names, hs_names), criteria(country_names, hs_names),
                     texts().map(A.Cite))
    return st.lists(line, min_size=1, max_size=max_lines).map(tuple)


# ---- declarations -------------------------------------------------------------------------------------------


@st.composite
def set_decls(draw, name: str, kind: str | None = None, hs_names=()) -> A.SetDecl:
    """``set NAME = [..]`` (``kind="countries"``) or ``set NAME = 72, 73`` (``kind="hs"``)."""
    kind = kind or draw(st.sampled_from(["countries", "hs"]))
    value = draw(word_lists(COUNTRIES, 0) if kind == "countries" else hs_sets(hs_names))
    return A.SetDecl(name, value)


@_cached
def de_minimis_lines(country_names=(), hs_names=()) -> st.SearchStrategy[A.DeMinimis]:
    """``de_minimis value|weight <= N% [of BASE [of which elastomeric <= M% [of BASE]]]
    [for S] [except S] [exclude F]`` (a sub-limit only after a written base, as the grammar
    reads it)."""
    base = st.none() | st.sampled_from(FIGURES).map(A.Figure) | sums(country_names, hs_names)
    maybe_set = st.none() | hs_sets(hs_names, 3)
    line = st.builds(A.DeMinimis, st.sampled_from(["value", "weight"]), percents(), base,
                     maybe_set, maybe_set, st.none() | filters(country_names, hs_names))
    sub = st.builds(A.SubLimit, st.just("elastomeric"), percents(), st.none() | st.sampled_from(FIGURES).map(A.Figure))
    return st.tuples(line, st.none() | sub).map(_same_measure)


_WEIGHT_FIGURES = ("weight", "component_weight")


def _same_measure(pair: tuple[A.DeMinimis, A.SubLimit | None]) -> A.DeMinimis:
    """A line the checker accepts (ROO124): its ``component_weight`` base only on a weight
    line, its sub-limit only after a written base and of a figure of the line's measure."""
    line, sub = pair
    weighs = line.measure == "weight"
    if isinstance(line.base, A.Figure) and line.base.name == "component_weight" and not weighs:
        line = replace(line, base=A.Figure("transaction_value"))
    if sub is None or line.base is None:
        return line
    if isinstance(sub.base, A.Figure) and (sub.base.name in _WEIGHT_FIGURES) != weighs:
        sub = replace(sub, base=A.Figure("weight" if weighs else "transaction_value"))
    return replace(line, of_which=sub)


@st.composite
def _period(draw, after: date | None):
    start = draw(st.none() | dates(after or date(2000, 1, 1)))
    until = draw(st.none() | dates(start or after or date(2000, 1, 1)))
    return start, until


def titles(selector: A.HsSetExpr | None = None) -> st.SearchStrategy[str | None]:
    """No title, the HS description of the selector's first code, or any text."""
    options = [st.none(), texts()]
    first = selector.items[0] if selector is not None and selector.items else None
    code = first.low if isinstance(first, A.HsRangeLit) else first
    if isinstance(code, A.HsCodeLit) and nomenclature().description(code.code):
        options.append(st.just(nomenclature().description(code.code)))
    return st.one_of(options)


@st.composite
def rules(draw, selector=None, country_names=(), hs_names=(), effective: date | None = None) -> A.Rule:
    """A rule (any selector if none is given), with optional dates and ``when``."""
    selector = selector or draw(hs_sets(max_items=3))
    start, until = draw(_period(effective))
    when = draw(st.none() | conditions(country_names))
    return A.Rule(selector, draw(titles(selector)), start, until, when, draw(body_lines(country_names, hs_names)))


@st.composite
def requires(draw, country_names=(), hs_names=(), effective: date | None = None) -> A.Require:
    """``require ["title"] [for SET] [from D] [until D] [when COND] { ... }``."""
    start, until = draw(_period(effective))
    return A.Require(draw(st.none() | hs_sets(hs_names, 3)), draw(st.none() | texts()), start, until,
                     draw(st.none() | conditions(country_names)), draw(body_lines(country_names, hs_names)))


@st.composite
def selectors(draw, chapter: HsCode) -> A.HsSetExpr:
    """A selector inside one chapter: the chapter, a heading, a subheading or a range of headings."""
    headings, subs = _codes(Level.HEADING, chapter.digits), _codes(Level.SUBHEADING, chapter.digits)
    choice = draw(st.sampled_from(["chapter", "heading", "subheading", "range"]))
    if choice == "heading" and headings:
        return A.HsSetExpr((A.HsCodeLit(headings[draw(st.integers(0, len(headings) - 1))]),))
    if choice == "subheading" and subs:
        return A.HsSetExpr((A.HsCodeLit(subs[draw(st.integers(0, len(subs) - 1))]),))
    if choice == "range" and len(headings) > 1:
        i, j = sorted(draw(st.lists(st.integers(0, len(headings) - 1), min_size=2, max_size=2, unique=True)))
        return A.HsSetExpr((A.HsRangeLit(A.HsCodeLit(headings[i]), A.HsCodeLit(headings[j])),))
    return A.HsSetExpr((A.HsCodeLit(chapter),))


@st.composite
def rule_groups(draw, chapter: HsCode, country_names=(), hs_names=(), effective: date | None = None) -> list:
    """The rules of one selector: one rule, a ``when`` variant and its fallback, or dated phases."""
    selector = draw(selectors(chapter))
    lines = body_lines(country_names, hs_names)
    shape = draw(st.sampled_from(["single", "when", "phases"]))
    if shape == "when":
        first = A.Rule(selector, draw(titles(selector)), None, None, draw(conditions(country_names)), draw(lines))
        return [first, A.Rule(selector, draw(titles(selector)), None, None, None, draw(lines))]
    if shape == "phases":
        day = effective or date(2020, 7, 1)
        cuts = sorted(draw(st.lists(st.integers(1, 3650), min_size=1, max_size=3, unique=True)))
        bounds = [day + timedelta(days=n) for n in cuts]
        starts, ends = [None] + [b + timedelta(days=1) for b in bounds], bounds + [None]
        return [A.Rule(selector, draw(titles(selector)), s, u, None, draw(lines)) for s, u in zip(starts, ends)]
    return [A.Rule(selector, draw(titles(selector)), None, None, None, draw(lines))]


@st.composite
def _declared_sets(draw, names: list[str], hs_names=(), country_names=()):
    """Set declarations for ``names``; returns (decls, hs names, country names) in scope after."""
    hs_names, country_names, decls = set(hs_names), set(country_names), []
    for name in names:
        decl = draw(set_decls(name, hs_names=hs_names))
        (country_names if isinstance(decl.value, A.WordList) else hs_names).add(name)
        decls.append(decl)
    return decls, hs_names, country_names


@st.composite
def agreements(draw, name: str | None = None, hs_names=(), country_names=(), taken=(),
               max_rules: int = 4, shuffle: bool = False) -> A.Agreement:
    """An agreement: header lines, sets, ``de_minimis`` lines and rule groups.

    ``taken``: set names already used in the module (new sets get other names). With
    ``shuffle``, members come in any order (still printable; names may be used before
    their declaration).
    """
    name = name or draw(names())
    effective = draw(st.none() | dates())
    header: list = [A.PartiesDecl(draw(word_lists(COUNTRIES, 1, 4)))]
    header += [A.Effective(effective)] if effective else []
    header += [A.HsVersion(2022)] if draw(st.booleans()) else []
    header += [A.Cite(c) for c in draw(st.lists(texts(), max_size=2))]
    new = draw(st.lists(set_names().filter(lambda n: n not in taken), max_size=3, unique=True))
    sets, hs_names, country_names = draw(_declared_sets(new, hs_names, country_names))
    dms = draw(st.lists(de_minimis_lines(country_names, hs_names), max_size=2, unique_by=lambda d: d.measure))
    chapters = draw(st.lists(hs_codes(Level.CHAPTER), min_size=0, max_size=max_rules, unique=True))
    body = [r for ch in chapters for r in draw(rule_groups(ch, country_names, hs_names, effective))]
    members = header + sets + dms + body
    if shuffle:
        members = draw(st.permutations(members))
        members += draw(st.lists(requires(country_names, hs_names, effective), max_size=1))
    return A.Agreement(name, tuple(members))


@st.composite
def scenarios(draw, base: str, name: str | None = None, hs_names=(), country_names=(), taken=(),
              max_rules: int = 2, effective: date | None = None, chapters_used=()) -> A.Scenario:
    """A scenario extending ``base`` (in effect from ``effective``): its own sets,
    requirements, ``de_minimis`` lines and rules for chapters not in ``chapters_used``
    (the chapters the base already has rules for, so that no two rules compete)."""
    new = draw(st.lists(set_names().filter(lambda n: n not in taken), max_size=2, unique=True))
    sets, hs_names, country_names = draw(_declared_sets(new, hs_names, country_names))
    reqs = draw(st.lists(requires(country_names, hs_names, effective), max_size=2))
    dms = draw(st.lists(de_minimis_lines(country_names, hs_names), max_size=2, unique_by=lambda d: d.measure))
    fresh = hs_codes(Level.CHAPTER).filter(lambda c: c.digits not in chapters_used)
    chapters = draw(st.lists(fresh, max_size=max_rules, unique=True))
    body = [r for ch in chapters for r in draw(rule_groups(ch, country_names, hs_names, effective))]
    return A.Scenario(name or draw(names()), base, tuple(sets + reqs + dms + body))


def _chapter(rule: A.Rule) -> str:
    first = rule.selector.items[0]
    return (first.low if isinstance(first, A.HsRangeLit) else first).code.digits[:2]


@st.composite
def modules(draw, max_agreements: int = 2, max_scenarios: int = 1, shuffle: bool = False) -> A.Module:
    """A whole file: top-level sets, agreements, and scenarios extending those agreements."""
    top = draw(st.lists(set_names(), max_size=2, unique=True))
    sets, hs_names, country_names = draw(_declared_sets(top))
    taken = set(top)
    count = draw(st.integers(0, max_agreements))
    used = draw(st.lists(names(), min_size=count + max_scenarios, max_size=count + max_scenarios, unique=True))
    items: list = list(sets)
    effective, chapters = {}, {}  # along each chain of scenarios
    for name in used[:count]:
        agreement = draw(agreements(name, hs_names, country_names, frozenset(taken), shuffle=shuffle))
        taken |= {s.name for s in agreement.sets}
        effective[name] = agreement.effective
        chapters[name] = {_chapter(r) for r in agreement.rules}
        items.append(agreement)
    for name in used[count:count + draw(st.integers(0, max_scenarios))] if count else ():
        base = draw(st.sampled_from(items[len(sets):])).name
        scenario = draw(scenarios(base, name, hs_names, country_names, frozenset(taken),
                                  effective=effective[base], chapters_used=frozenset(chapters[base])))
        taken |= {s.name for s in scenario.sets}
        effective[name] = effective[base]
        chapters[name] = chapters[base] | {_chapter(r) for r in scenario.rules}
        items.append(scenario)
    return A.Module(tuple(items))
