"""Hypothesis strategies for rule files, generated as ``.roo`` text.

In: options (which HS chapters, how many rule groups and scenarios, whether ``not`` may
appear, ...). Out: strategies of rule-file text that parses and passes
``origin-rules check`` with no error, for differential and property tests of the evaluator:

    from hypothesis import given
    from origin_rules.testing.rulebook_strategies import rulebooks
    from origin_rules.testing.bom_strategies import boms_for

    @given(st.data())
    def test_something(data):
        text = data.draw(rulebooks())
        book = origin_rules.loads({"rules.roo": text})
        bom = data.draw(boms_for(text))
        ...

What a generated rulebook holds: file-level sets; one agreement (parties, optionally
``effective``, ``hs_version``, ``cite``, sets of HS codes, countries and end uses, de minimis
lines with ``for``/``except``/``exclude``, ``value`` and ``weight``, requirements, rule
groups); and up to ``max_scenarios`` scenarios, each extending the agreement or the
previous scenario, adding sets and requirements, replacing the de minimis policy, replacing a
base rule group (same selector) or adding new ones, and sometimes changing ``effective`` or
``parties``. Rules use every criterion kind: tariff shifts (every ``any other`` level, HS
sets and ranges, aliases, ``except``), every RVC method, ``max_nom``, ``value``/``weight``
sums with filters (``traced`` too) compared with product figures or other sums,
``performed``, ``wholly_obtained``, ``and``/``or``/``not``. A rule group covers one selector
(its codes at one or two levels, never overlapping another group of the same level) as a
single rule, ``when`` variants with or without a fallback, or dated phases (with gaps
sometimes), so rules of several levels compete for a code only by specificity.

``monotone=True`` leaves out everything that can get harder when a material becomes
originating: no ``not``, no lower bound on a sum that counts non-originating materials, no
upper bound on one that counts originating materials, no such sum as a base.
``atom_weights`` tilts the mix of criterion kinds (e.g. mostly thresholds).

Smaller pieces are public too: :func:`criteria_texts` (one criterion) and
:func:`require_texts` (one requirement block), written with literals only so that they can
be added to any rule file. Every criterion sits on a line of its own, indented by four
spaces, and every ``de_minimis`` line on one line, so tests can edit the text line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from hypothesis import strategies as st

from ..model.hs import Level, dotted, nomenclature

__all__ = ["ATOM_WEIGHTS", "CHAPTERS", "TIMELINE", "criteria_texts", "require_texts", "rulebooks"]

#: Chapters drawn by default: codes with several headings and subheadings, used in the examples.
CHAPTERS = ("39", "61", "72", "73", "84", "85", "87", "94")
PARTIES = ("US", "MX", "CA", "JP", "VN", "DE")
OTHERS = ("CN", "IN", "KR", "BR")
END_USES = ("passenger_vehicle", "light_truck", "heavy_truck")
PROCESSES = ("cut and sewn", "assembly", "heat treatment")
FLOORS = ("30", "40", "45", "50", "55", "60", "62.5", "65", "70", "75")
CEILINGS = ("5", "7", "10", "12.5", "20", "40", "50")
TIMELINE = tuple(date.fromisoformat(d) for d in (
    "2020-07-01", "2021-06-30", "2022-01-01", "2022-07-01", "2023-06-30", "2024-01-01", "2025-07-01",
))
#: How often each kind of criterion is drawn by default.
ATOM_WEIGHTS = {"change": 3, "rvc": 2, "sum": 1, "performed": 1, "wholly": 1, "fact": 1}
#: Declared facts of the good and of materials (the BOM strategies declare them, or not).
GOOD_WORDS = ("body_stamping", "chassis_frame", "part")
PART_WORDS = ("brakes", "radiators")
HS_SET_NAMES = ("steel", "parts", "plastics", "textiles", "machines")
COUNTRY_SET_NAMES = ("non_market", "partners", "suppliers")
USE_SET_NAMES = ("vehicles", "trucks")


@lru_cache(maxsize=None)
def _codes(level: int, chapter: str) -> tuple[str, ...]:
    return tuple(sorted(c.digits for c in nomenclature().codes(Level(level)) if c.digits.startswith(chapter)))


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return len(a[0]) == len(b[0]) and not (a[1] < b[0] or b[1] < a[0])


# ---- the generator's state ---------------------------------------------------------------------


@dataclass
class Scope:
    """Names a line may use, and what the generator promised (monotone, no not...)."""

    hs_sets: list[str] = field(default_factory=list)
    country_sets: list[str] = field(default_factory=list)
    use_sets: list[str] = field(default_factory=list)
    monotone: bool = False
    chapters: tuple[str, ...] = CHAPTERS
    neighbours: tuple[str, ...] = ("72", "73", "84", "85")
    atoms: tuple[str, ...] = ("change", "change", "change", "rvc", "rvc", "sum", "performed", "wholly", "fact")

    def child(self) -> "Scope":
        return Scope(list(self.hs_sets), list(self.country_sets), list(self.use_sets), self.monotone,
                     self.chapters, self.neighbours, self.atoms)


@dataclass
class Group:
    """A selector and the rules written for it."""

    selector: str
    items: list[tuple[str, str]]


@lru_cache(maxsize=None)
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _one_of(options) -> st.SearchStrategy:
    """``sampled_from`` of a sequence of strings, dates or numbers (strategies cached)."""
    return _sampled(tuple(options))


@lru_cache(maxsize=None)
def _sampled(options: tuple) -> st.SearchStrategy:
    return st.sampled_from(options)


@lru_cache(maxsize=None)
def _subsets(options: tuple, low: int, high: int) -> st.SearchStrategy[list]:
    return st.lists(st.sampled_from(options), min_size=low, max_size=high, unique=True)


def _pct(text: str) -> str:
    return f"{text}%"


# ---- HS codes and sets ---------------------------------------------------------------------------


def _code(draw, scope: Scope, levels=(2, 4, 6), material: bool = False) -> str:
    chapters = scope.chapters + (scope.neighbours if material else ())
    chapter = draw(_one_of(chapters))
    level = draw(_one_of(levels))
    if level == 2:
        return chapter
    codes = _codes(min(level, 6), chapter)
    if not codes:
        return chapter
    digits = draw(_one_of(codes))
    if level == 8:
        digits += draw(_one_of(("10", "90")))
    return dotted(digits)


def _range(draw, scope: Scope, material: bool = False) -> str:
    chapters = scope.chapters + (scope.neighbours if material else ())
    chapter = draw(_one_of(chapters))
    level = draw(_one_of((2, 4, 6)))
    if level == 2:
        pool = tuple(c for c in sorted(set(chapters)))
    else:
        pool = _codes(level, chapter)
    if len(pool) < 2:
        return dotted(pool[0]) if pool else chapter
    i = draw(_ints(0, len(pool) - 2))
    j = draw(_ints(i + 1, min(len(pool) - 1, i + 6)))
    return f"{dotted(pool[i])}..{dotted(pool[j])}"


def _hs_set(draw, scope: Scope, material: bool = True, names: bool = True) -> str:
    items = []
    for _ in range(draw(_ints(1, 3))):
        choice = draw(_ints(0, 5))
        if choice == 0 and names and scope.hs_sets:
            items.append(draw(_one_of(scope.hs_sets)))
        elif choice == 1:
            items.append(_range(draw, scope, material))
        else:
            items.append(_code(draw, scope, (2, 4, 4, 6, 6, 8), material))
    return ", ".join(dict.fromkeys(items))


def _countries(draw, scope: Scope, parties: bool = True) -> str:
    choice = draw(_ints(0, 3))
    if choice == 0 and parties:
        return "parties"
    if choice == 1 and scope.country_sets:
        return draw(_one_of(scope.country_sets))
    words = draw(_subsets(PARTIES + OTHERS, 1, 3))
    return "[" + ", ".join(words) + "]"


# ---- filters and conditions ----------------------------------------------------------------------


def _filter(draw, scope: Scope, want: str | None = None, depth: int = 2) -> tuple[str, str]:
    """(text, dependence on originating status: none | up | down | mixed).

    ``want``: the dependence the caller can accept (``up``: matches more when materials
    become originating, or none; ``down``; ``none``); None accepts anything."""
    allowed_atoms = ["origin", "hs", "kind", "part_of", "same"]
    if want in (None, "up"):
        allowed_atoms.append("originating")
    if want in (None, "down"):
        allowed_atoms.append("non_originating")
    compound = depth > 0 and draw(_ints(0, 3)) == 1
    if compound:
        op = draw(_one_of(("and", "or", "not") if want is None and not scope.monotone else ("and", "or")))
        if op == "not":
            text, dep = _filter(draw, scope, None, depth - 1)
            return f"not ({text})", {"up": "down", "down": "up"}.get(dep, dep)
        a, da = _filter(draw, scope, want, depth - 1)
        b, db = _filter(draw, scope, want, depth - 1)
        deps = {da, db} - {"none"}
        dep = "none" if not deps else (deps.pop() if len(deps) == 1 else "mixed")
        return f"({a}) {op} ({b})", dep
    atom = draw(_one_of(allowed_atoms))
    if atom == "originating":
        return "originating", "up"
    if atom == "non_originating":
        return "non_originating", "down"
    if atom == "origin":
        return f"origin in {_countries(draw, scope)}", "none"
    if atom == "hs":
        return f"hs in {_hs_set(draw, scope)}", "none"
    if atom == "same":
        return f"same {draw(_one_of(('chapter', 'heading', 'subheading', 'tariff item')))}", "none"
    if atom == "part_of":
        return f"part_of in [{', '.join(draw(_subsets(PART_WORDS, 1, 2)))}]", "none"
    kinds = draw(_subsets(("direct", "indirect", "accessory", "retail_packaging"), 1, 2))
    return f"kind in [{', '.join(kinds)}]", "none"


def _condition(draw, scope: Scope, depth: int = 1) -> str:
    if depth > 0 and draw(_ints(0, 4)) == 1:
        op = draw(_one_of(("and", "or", "not")))
        if op == "not":
            return f"not ({_condition(draw, scope, depth - 1)})"
        return f"({_condition(draw, scope, depth - 1)}) {op} ({_condition(draw, scope, depth - 1)})"
    if draw(_ints(0, 3)) == 1:
        return f"{draw(_one_of(('produced_in', 'produced_in', 'imported_from')))} in {_countries(draw, scope)}"
    if draw(_ints(0, 4)) == 1:
        return f"good in [{', '.join(draw(_subsets(GOOD_WORDS, 1, 2)))}]"
    if scope.use_sets and draw(_ints(0, 3)) == 1:
        return f"end_use in {draw(_one_of(scope.use_sets))}"
    words = draw(_subsets(END_USES, 1, 2))
    return f"end_use in [{', '.join(words)}]"


# ---- criteria ------------------------------------------------------------------------------------


def _change(draw, scope: Scope) -> str:
    if draw(_ints(0, 4)) == 1:
        head = draw(_one_of(("CC", "CTH", "CTSH")))
    else:
        sources = []
        for _ in range(draw(_ints(1, 2))):
            kind = draw(_ints(0, 4))
            if kind <= 1:
                sources.append("any other " + draw(_one_of(("chapter", "heading", "heading", "subheading", "tariff item"))))
            elif kind == 2 and scope.hs_sets:
                sources.append(draw(_one_of(scope.hs_sets)))
            elif kind == 3:
                sources.append(_range(draw, scope, material=True))
            elif draw(_ints(0, 2)) == 1:  # codes that admit only the materials declaring a fact
                code = _code(draw, scope, (2, 4, 6, 8), material=True)
                sources.append(f"{code} where part_of in [{', '.join(draw(_subsets(PART_WORDS, 1, 2)))}]")
            else:
                sources.append(_code(draw, scope, (2, 4, 6, 8), material=True))
        head = "change from " + ", ".join(dict.fromkeys(sources))
    if draw(_ints(0, 1)) == 1:
        head += " except " + _hs_set(draw, scope)
    if draw(_ints(0, 3)) == 1:  # GN11 "except from more than one of (A) ..., (B) ..."
        groups = [_hs_set(draw, scope) for _ in range(draw(_ints(2, 3)))]
        head += " except more than one of " + ", ".join(f"({g})" for g in groups)
    return head


def _rvc(draw, scope: Scope) -> str:
    kind = draw(_one_of(("tv", "nc", "nc", "down", "up", "focused", "max_nom")))
    floor = draw(_one_of((">=", ">=", ">=", ">")))
    share = draw(_one_of(FLOORS))
    if kind == "tv":
        return f"rvc(transaction_value) {floor} {_pct(share)}"
    if kind == "nc":
        return f"rvc(net_cost) {floor} {_pct(share)}"
    if kind == "down":
        basis = draw(_one_of(("fob", "ex_works", "transaction_value")))
        return f"rvc(build_down, {basis}) {floor} {_pct(share)}"
    if kind == "up":
        return f"rvc(build_up, fob) {floor} {_pct(draw(_one_of(CEILINGS[2:] + FLOORS[:3])))}"
    if kind == "focused":
        return f"rvc(focused_value, fob, {_hs_set(draw, scope)}) {floor} {_pct(share)}"
    ceiling = draw(_one_of(("<=", "<=", "<")))
    basis = draw(_one_of(("ex_works", "fob")))
    return f"max_nom({basis}) {ceiling} {_pct(draw(_one_of(('40', '45', '50', '60', '70'))))}"


def _sum_comparison(draw, scope: Scope) -> str:
    measure = draw(_one_of(("value", "value", "weight")))
    floor = draw(_ints(0, 1)) == 1
    op = draw(_one_of((">=", ">") if floor else ("<=", "<")))
    want = None if not scope.monotone else ("up" if floor else "down")
    traced = ", traced" if draw(_ints(0, 4)) == 1 else ""
    if draw(_ints(0, 5)) == 1:
        inner, dep = "", "none"
    else:
        inner, dep = _filter(draw, scope, want)
    if scope.monotone and dep == "mixed":
        inner = "hs in " + _hs_set(draw, scope)
    share = draw(_one_of(FLOORS[:4] + CEILINGS[1:]))
    # a weight of the materials' polymer content (`weight(polymer of F)`), on either side
    part = "polymer" if measure == "weight" and draw(_ints(0, 2)) == 1 else None
    if draw(_ints(0, 2)) == 1:
        base_filter, _ = _filter(draw, scope, "none" if scope.monotone else None, depth=1)
        base_part = "polymer" if measure == "weight" and draw(_ints(0, 1)) == 1 else None
        base = f"{measure}({_of_part(base_part, base_filter)})"
    elif measure == "weight":
        base = "weight"
    else:
        base = draw(_one_of(("transaction_value", "net_cost", "total_cost", "fob", "ex_works")))
    return f"{measure}({_of_part(part, inner)}{traced}) {op} {_pct(share)} of {base}"


def _of_part(part: str | None, inner: str) -> str:
    """``polymer of F``, ``polymer`` (all materials), or the filter alone."""
    if part is None:
        return inner
    return f"{part} of {inner}" if inner else part


def _atom(draw, scope: Scope) -> str:
    kind = draw(_one_of(scope.atoms))
    if kind == "change":
        return _change(draw, scope)
    if kind == "rvc":
        return _rvc(draw, scope)
    if kind == "sum":
        return _sum_comparison(draw, scope)
    if kind == "performed":
        return f'performed "{draw(_one_of(PROCESSES))}" in {_countries(draw, scope)}'
    if kind == "fact":
        return f"fact(lvc) {draw(_one_of(('>=', '>', '<=', '<')))} {_pct(draw(_one_of(FLOORS)))}"
    return "wholly_obtained"


def _criterion(draw, scope: Scope, depth: int = 2) -> str:
    if depth > 0 and draw(_ints(0, 2)) == 1:
        ops = ("and", "or", "or") if scope.monotone else ("and", "or", "or", "not")
        op = draw(_one_of(ops))
        if op == "not":
            return f"not ({_criterion(draw, scope, depth - 1)})"
        parts = [_criterion(draw, scope, depth - 1) for _ in range(draw(_ints(2, 3)))]
        return f" {op} ".join(f"({p})" for p in parts)
    return _atom(draw, scope)


def criteria_texts(*, monotone: bool = False, chapters: tuple[str, ...] = CHAPTERS,
                   atom_weights: dict[str, int] | None = None, depth: int = 2) -> st.SearchStrategy[str]:
    """One criterion as text, using literals only (no set names), e.g. to add as an
    alternative to a line of an existing rule. ``depth`` 0 gives a single atom."""
    scope = Scope(monotone=monotone, chapters=chapters, atoms=_atoms(atom_weights))
    return st.composite(lambda draw: _criterion(draw, scope, depth))()


def _atoms(weights: dict[str, int] | None) -> tuple[str, ...]:
    merged = {**ATOM_WEIGHTS, **(weights or {})}
    # heaviest first: hypothesis draws (and shrinks towards) the first option most
    return tuple(kind for kind, n in sorted(merged.items(), key=lambda kv: -kv[1]) for _ in range(n)) or ("change",)


def require_texts(*, monotone: bool = False, chapters: tuple[str, ...] = CHAPTERS,
                  effective: date | None = None) -> st.SearchStrategy[str]:
    """One ``require [for S] [from D] [until D] [when C] { ... }`` block as text (indented by
    two spaces), using literals only; its dates are on or after ``effective``."""
    scope = Scope(monotone=monotone, chapters=chapters)
    return st.composite(lambda draw: "\n".join(_require(draw, scope, effective)))()


def _lines(draw, scope: Scope, indent: str = "    ") -> list[str]:
    out = []
    if draw(_ints(0, 4)) == 1:
        out.append(f'{indent}cite "Annex, note {draw(_ints(1, 9))}"')
    for _ in range(draw(_ints(1, 2))):
        out.append(indent + _criterion(draw, scope))
    return out


# ---- declarations ------------------------------------------------------------------------------------


def _date_after(draw, after: date | None) -> date | None:
    pool = [d for d in TIMELINE if after is None or d >= after]
    return draw(_one_of(pool)) if pool else None


def _de_minimis(draw, scope: Scope, unconditioned: set[str]) -> str | None:
    measure = draw(_one_of(("value", "value", "weight")))
    line = f"de_minimis {measure} <= {_pct(draw(_one_of(('5', '7', '10', '15'))))}"
    if measure == "value":
        base = draw(_one_of(("transaction_value", "transaction_value", "total_cost", None)))
    else:
        base = draw(_one_of(("weight", "component_weight", None)))
    if base:
        line += f" of {base}"
        if draw(_ints(0, 2)) == 1:  # a sub-limit (`of which elastomeric`), of a base of the same measure
            bases = (None, "weight", "component_weight") if measure == "weight" else (None, "transaction_value")
            sub_base = draw(_one_of(bases))
            line += f" of which elastomeric <= {_pct(draw(_one_of(('3', '5', '7'))))}" + (f" of {sub_base}" if sub_base else "")
    has_for = draw(_ints(0, 1)) == 1
    if has_for:
        line += f" for {_hs_set(draw, scope, material=False)}"
    elif measure in unconditioned:
        return None
    else:
        unconditioned.add(measure)
    if draw(_ints(0, 2)) == 1:
        line += f" except {_hs_set(draw, scope, material=False)}"
    if draw(_ints(0, 2)) == 1:
        text, _ = _filter(draw, scope, None if not scope.monotone else "none", depth=1)
        line += f" exclude {text}"
    return line


def _require(draw, scope: Scope, effective: date | None) -> list[str]:
    head = "require"
    if draw(_ints(0, 3)) == 1:
        head += f' "requirement {draw(_ints(1, 99))}"'
    if draw(_ints(0, 3)) > 0:
        head += f" for {_hs_set(draw, scope, material=False)}"
    if draw(_ints(0, 3)) == 1:
        start = _date_after(draw, effective)
        if start is not None:
            head += f" from {start}"
            effective = start
    if draw(_ints(0, 4)) == 1:
        end = _date_after(draw, effective)
        if end is not None:
            head += f" until {end}"
    if draw(_ints(0, 3)) == 1:
        head += f" when {_condition(draw, scope)}"
    return [f"  {head} {{", *_lines(draw, scope), "  }"]


def _fallback(draw, scope: Scope, effective: date | None) -> list[str]:
    head = "fallback"
    if draw(_ints(0, 3)) == 1:
        head += f' "fallback {draw(_ints(1, 99))}"'
    if draw(_ints(0, 3)) > 0:
        head += f" for {_hs_set(draw, scope, material=False)}"
    if draw(_ints(0, 2)) == 1:
        head += f" except {_hs_set(draw, scope, material=False)}"
    if draw(_ints(0, 4)) == 1:
        start = _date_after(draw, effective)
        if start is not None:
            head += f" from {start}"
    if draw(_ints(0, 3)) == 1:
        head += f" when {_condition(draw, scope)}"
    return [f"  {head} {{", *_lines(draw, scope), "  }"]


def _deemed(draw, scope: Scope, effective: date | None) -> list[str]:
    """``deemed originating [TITLE] for S [except S] [from D] [when C] { cite ... }``."""
    head = "deemed originating"
    if draw(_ints(0, 3)) == 1:
        head += f' "deemed {draw(_ints(1, 99))}"'
    head += f" for {_hs_set(draw, scope, material=False)}"
    if draw(_ints(0, 3)) == 1:
        head += f" except {_hs_set(draw, scope, material=False)}"
    if draw(_ints(0, 4)) == 1:
        start = _date_after(draw, effective)
        if start is not None:
            head += f" from {start}"
    if draw(_ints(0, 3)) > 0:
        head += f" when imported_from in {_countries(draw, scope)}"
    elif draw(_ints(0, 1)) == 1:
        head += f" when {_condition(draw, scope)}"
    cite = ['    cite "deemed"'] if draw(_ints(0, 1)) == 1 else []
    return [f"  {head} {{", *cite, "  }"]


def _selector(draw, scope: Scope, taken: list[tuple[str, str]]) -> Group | None:
    for _ in range(6):
        items: list[tuple[str, str]] = []
        texts: list[str] = []
        for _ in range(draw(_one_of((1, 1, 1, 2)))):
            if draw(_ints(0, 3)) == 1:
                text = _range(draw, scope)
                ends = [t.replace(".", "") for t in text.split("..")]
                low, high = ends[0], ends[-1]
            else:
                text = _code(draw, scope, (2, 4, 4, 6, 6, 6, 8))
                low = high = text.replace(".", "")
            if len(low) != len(high):
                continue
            items.append((low, high))
            texts.append(text)
        clash = any(_overlap(a, b) for a in items for b in taken) or any(
            _overlap(a, b) for i, a in enumerate(items) for b in items[i + 1:]
        )
        if items and not clash:
            return Group(", ".join(texts), items)
    return None


def _group_rules(draw, scope: Scope, group: Group, effective: date | None) -> list[str]:
    """The rules of one selector: phases (dated, maybe with gaps), each a single rule or
    ``when`` variants with or without a fallback."""
    cuts: list[date] = []
    if draw(_ints(0, 3)) == 1:
        pool = [d for d in TIMELINE if effective is None or d > effective]
        cuts = sorted(draw(_subsets(tuple(pool), 1, 2))) if pool else []
    spans: list[tuple[date | None, date | None]] = []
    start: date | None = None
    if cuts and draw(_ints(0, 3)) == 1 and effective is not None:
        start = effective + timedelta(days=draw(_one_of((0, 10))))
    for cut in cuts:
        spans.append((start, cut))
        start = cut + timedelta(days=draw(_one_of((1, 1, 1, 30))))  # 30: a gap
    spans.append((start, None))
    out: list[str] = []
    for lo, hi in spans:
        dates = (f" from {lo}" if lo else "") + (f" until {hi}" if hi else "")
        variants = draw(_ints(0, 2)) if draw(_ints(0, 2)) == 1 else 0
        fallback = variants == 0 or draw(_ints(0, 3)) > 0
        for i in range(variants):
            title = f' "variant {i + 1}"' if draw(_ints(0, 1)) == 1 else ""
            out += [f"  rule {group.selector}{title}{dates} when {_condition(draw, scope)} {{", *_lines(draw, scope), "  }"]
        if fallback:
            title = f' "{group.selector}"' if draw(_ints(0, 1)) == 1 else ""
            out += [f"  rule {group.selector}{title}{dates} {{", *_lines(draw, scope), "  }"]
    return out


def _sets(draw, scope: Scope, names_taken: set[str], indent: str, shadow: list[str] = (), uses: bool = True) -> list[str]:
    out = []
    here: set[str] = set()
    for _ in range(draw(_ints(0, 2))):
        pool = [n for n in HS_SET_NAMES if n not in names_taken] + [n for n in shadow if n not in here]
        if not pool:
            break
        name = draw(_one_of(pool))
        names_taken.add(name)
        here.add(name)
        out.append(f"{indent}set {name} = {_hs_set(draw, scope, names=False)}")
        if name not in scope.hs_sets:
            scope.hs_sets.append(name)
    if draw(_ints(0, 1)) == 1:
        pool = [n for n in COUNTRY_SET_NAMES if n not in names_taken]
        if pool:
            name = draw(_one_of(pool))
            names_taken.add(name)
            words = draw(_subsets(PARTIES + OTHERS, 1, 3))
            out.append(f"{indent}set {name} = [{', '.join(words)}]")
            scope.country_sets.append(name)
    if uses and draw(_ints(0, 2)) == 1:
        pool = [n for n in USE_SET_NAMES if n not in names_taken]
        if pool:
            name = draw(_one_of(pool))
            names_taken.add(name)
            words = draw(_subsets(END_USES, 1, 2))
            out.append(f"{indent}set {name} = [{', '.join(words)}]")
            scope.use_sets.append(name)
    return out


def _body(draw, scope: Scope, effective: date | None, groups: list[Group], taken: list[tuple[str, str]],
          max_groups: int, replace_from: list[Group] = ()) -> list[str]:
    out: list[str] = []
    unconditioned: set[str] = set()
    for _ in range(draw(_ints(0, 2))):
        line = _de_minimis(draw, scope, unconditioned)
        if line:
            out.append("  " + line)
    for _ in range(draw(_ints(0, 2))):
        out += _require(draw, scope, effective)
    if replace_from and draw(_ints(0, 1)) == 1:
        group = replace_from[draw(_ints(0, len(replace_from) - 1))]
        out += _group_rules(draw, scope, group, effective)
    for _ in range(draw(_ints(0 if replace_from else 1, max_groups))):
        group = _selector(draw, scope, taken)
        if group is None:
            continue
        taken.extend(group.items)
        groups.append(group)
        out += _group_rules(draw, scope, group, effective)
    for _ in range(draw(_ints(0, 1))):
        out += _fallback(draw, scope, effective)
    if not scope.monotone:  # a deeming makes a good qualify whatever its materials
        for _ in range(draw(_ints(0, 1))):
            out += _deemed(draw, scope, effective)
    return out


@st.composite
def rulebooks(
    draw,
    *,
    chapters: tuple[str, ...] | None = None,
    max_groups: int = 4,
    max_scenarios: int = 2,
    monotone: bool = False,
    shadowing: bool = False,
    atom_weights: dict[str, int] | None = None,
) -> str:
    """The text of a rule file with one agreement and up to ``max_scenarios`` scenarios.

    ``chapters``: the HS chapters the rules are about (default: one or two of
    :data:`CHAPTERS`). ``monotone``: see the module docstring. ``shadowing``: let a scenario
    declare a set with the name of one of its base's sets. ``atom_weights``: how often each
    kind of criterion is drawn, by name (``change``, ``rvc`` (RVC and MaxNOM), ``sum``
    (value/weight comparisons), ``performed``, ``wholly``); default
    :data:`ATOM_WEIGHTS`; 0 leaves a kind out.
    """
    if chapters is None:
        chapters = tuple(draw(_subsets(CHAPTERS, 1, 2)))
    neighbours = tuple(draw(_subsets(("72", "73", "39", "40", "84", "85", "87", "94"), 1, 3)))
    scope = Scope(monotone=monotone, chapters=chapters, neighbours=neighbours, atoms=_atoms(atom_weights))
    lines: list[str] = ["# generated by origin_rules.testing.rulebook_strategies"]
    file_names: set[str] = set()
    lines += _sets(draw, scope, file_names, "")

    parties = draw(_subsets(PARTIES, 2, 4))
    effective = draw(_one_of((None, TIMELINE[0], TIMELINE[2])))
    lines.append('agreement "Pact" {')
    lines.append(f"  parties = [{', '.join(parties)}]")
    if effective:
        lines.append(f"  effective = {effective}")
    if draw(_ints(0, 1)) == 1:
        lines.append("  hs_version = 2022")
    if draw(_ints(0, 1)) == 1:
        lines.append('  cite "Pact, Chapter 4"')
    agreement_scope = scope.child()
    names = set(file_names)
    lines += _sets(draw, agreement_scope, names, "  ")
    groups: list[Group] = []
    taken: list[tuple[str, str]] = []
    lines += _body(draw, agreement_scope, effective, groups, taken, max_groups)
    lines.append("}")

    bases = [("Pact", agreement_scope, effective, list(groups), set(names))]
    for i in range(draw(_ints(0, max_scenarios))):
        base_name, base_scope, base_effective, base_groups, base_names = bases[draw(_ints(0, len(bases) - 1))]
        name = f"Pact review {i + 1}"
        own_scope = base_scope.child()
        own_effective = base_effective
        out = [f'scenario "{name}" extends "{base_name}" {{']
        if draw(_ints(0, 5)) == 1:
            own_effective = _date_after(draw, base_effective)
            if own_effective:
                out.append(f"  effective = {own_effective}")
        if draw(_ints(0, 4)) == 1:
            more = draw(_subsets(PARTIES + OTHERS, 1, 4))
            out.append(f"  parties = [{', '.join(more)}]")
        own_names = set(base_names)
        shadow = [n for n in base_scope.hs_sets if n in base_names] if shadowing else []
        out += _sets(draw, own_scope, own_names, "  ", shadow, uses=False)
        own_groups = list(base_groups)
        own_taken = [item for g in base_groups for item in g.items]
        out += _body(draw, own_scope, own_effective, own_groups, own_taken, max(1, max_groups // 2), base_groups)
        out.append("}")
        lines += out
        bases.append((name, own_scope, own_effective, own_groups, own_names))
    text = "\n".join(lines) + "\n"
    # a set of end uses that no `when` uses would be read as a set of countries: drop it
    for name in USE_SET_NAMES:
        if len(re.findall(rf"\b{name}\b", text)) == 1:
            text = re.sub(rf"(?m)^ *set {name} = \[[^\]]*\]\n", "", text)
    return text
