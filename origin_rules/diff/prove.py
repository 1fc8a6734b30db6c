"""`diff --prove`: decide with an SMT solver (z3) whether two sides decide every BOM the same.

In: the structural changes of a comparison, the two sides
(:class:`~origin_rules.diff.impact.Side`) and their normal programs, the date, a bound on
the number of materials and a time budget. Out: a :class:`Proof`: ``equivalent`` (proven
for every BOM of the class below), ``stricter`` / ``looser`` / ``both`` with one
counterexample BOM per direction that the engine has confirmed, or ``unknown`` with the
reason (a construct the encoding does not cover, or the time budget).

**The BOMs the proof is about.** A product of a code the changed rules (or requirement,
de minimis line, deeming, party list...) reach, with every fact given: where it is
produced and imported from, its end use and the declared facts the rules read (a word the
rules name, or another word), the yes/no flags, wholly obtained or not, the processes the
rules name (and where), and the figures (transaction value, net cost, total cost, FOB, ex
works, weight: positive). Up to ``materials`` materials, each with a code at the finest
level the rules use, an origin (a country the rules name, a party, or another country),
originating or not, a kind (direct, indirect, accessory, retail packaging), a value and a
weight (at least 0). Amounts are exact rationals (z3's real arithmetic: no floats); a
counterexample's amounts are scaled to whole numbers, which keeps every comparison (each is
homogeneous: ``(TV - VNM) x 100 >= t x TV``). Dates: the date of the comparison and the
boundaries of the changed date windows, as the search uses them.

Not in the class, so not proven: BOMs with a missing fact (whose verdict may be
``insufficient_data``), sub-assemblies, material facts other than ``provided_as_part``,
codes coarser than the rules, facts with evidence periods, supplier certifications and
currencies. A rule that needs one of those to be told apart (``traced`` sums,
``where`` sources, ``of component_weight`` and ``of which`` de minimis lines, ...) is not
encoded: the answer is ``unknown`` naming it, never a wrong ``equivalent``.

**How.** HS codes are symbolic choices among representatives: the code space is cut at
every end of every HS set the affected rules name and at the good's own chapter, heading,
subheading and tariff item, and one real code is taken from each piece; every test the
rules make of a code (a set, a change of chapter/heading/subheading, ``same``) is constant
on a piece, so the choice is exact. The good's code is enumerated (every subheading of the
changed selector, split further where finer rules or lines apply); goods whose rules,
lines and pieces are the same are checked once. Countries, end uses and fact words are
symbolic choices among the ones the rules name plus one more; the verdict of each side is
encoded as the engine decides it (docs/language.md) in this class, where it is
``qualifies`` or not. The solver looks for a BOM that one side qualifies and the other not;
each one it finds is rebuilt as a BOM, evaluated by the engine under both sides (it is
shown only when the engine agrees), then shrunk (fewest materials first, then the search's
shrinking pass).

z3 is imported only when a proof runs (the command line starts without it).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd

from ..model import ast
from ..model.bom import BOM, FLAG_FACTS, BomError, bom_from_data
from ..model.hs import HsCode, Level, covers_digits, dotted, nomenclature
from .impact import Side
from .nodes import EXACT
from .normal import (
    NAll, NAny, NChange, NCompare, NFact, NFactIn, NFigure, NHsIn, NKindIn, NMaxNom, NNot, NOriginating, NOriginIn,
    NPerformed, NRvc, NSame, NSet, NSum, NWhollyObtained, NormalProgram, Normalizer, nset, text, walk,
)
from .search import Finding, dates_for_change, direction, grade
from .shrink import simplify
from .structural import Change

__all__ = ["Proof", "Unsupported", "prove"]

KINDS = ("direct", "indirect", "accessory", "retail_packaging")  # shipping packing is left out of a good
FIGURES = ("transaction_value", "net_cost", "total_cost", "fob", "ex_works", "weight", "component_weight")
FIGURE_FIELDS = {"weight": "weight_kg", "component_weight": "component_weight_kg"}
OUTSIDERS = ("JP", "KR", "DE", "BR", "IN", "VN", "TH", "GB", "FR", "IT", "ZA", "AU")
OTHER_PROCESS = "other processing"


class Unsupported(Exception):
    """A construct (or a case) the encoding does not cover exactly: the answer is unknown."""


class OutOfTime(Exception):
    pass


# ---- the answer --------------------------------------------------------------------------------


@dataclass
class Proof:
    verdict: str  # equivalent | stricter | looser | both | unknown
    materials: int
    goods: int = 0  # goods (codes with their rules) checked
    dates: tuple[date, ...] = ()
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0
    queries: int = 0

    @property
    def directions(self) -> set[str]:
        return {f.direction for f in self.findings}

    @property
    def text(self) -> str:
        bound = f"for BOMs of up to {self.materials} materials with every fact given"
        if self.verdict == "equivalent":
            return f"equivalent (proven {bound})"
        if self.verdict == "unknown":
            found = f"; found {', '.join(sorted(self.directions))}" if self.findings else ""
            return f"unknown ({self.reason}{found})"
        if self.verdict == "both":
            return "both (a counterexample each way)"
        other = "looser" if self.verdict == "stricter" else "stricter"
        return f"{self.verdict} (never {other}: proven {bound})"

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict, "text": self.text, "proven": self.verdict != "unknown",
            "materials": self.materials, "goods": self.goods, "dates": [d.isoformat() for d in self.dates],
            "reason": self.reason or None, "missing_facts": "excluded",
            "findings": [f.to_dict() for f in self.findings],
        }


# ---- HS codes: the pieces of the code space ---------------------------------------------------------


@lru_cache(maxsize=1)
def _subheadings() -> tuple[str, ...]:
    return tuple(sorted(c.digits for c in nomenclature().codes(Level.SUBHEADING)))


def _valid_at_least(lo: int, hi: int, n: int) -> str | None:
    """The least code of ``n`` digits in [lo, hi) whose subheading exists in HS 2022."""
    text_lo = str(lo).zfill(n)
    subs = _subheadings()
    i = bisect_left(subs, text_lo[:6])
    if i < len(subs) and subs[i] == text_lo[:6]:
        return text_lo
    if i >= len(subs):
        return None
    candidate = subs[i].ljust(n, "0")
    return candidate if int(candidate) < hi else None


def _pieces(bounds: set[int], lo: int, hi: int, n: int) -> list[str]:
    """One real code of ``n`` digits from each piece of [lo, hi) cut at ``bounds``."""
    cuts = sorted({lo, hi, *(b for b in bounds if lo < b < hi)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        code = _valid_at_least(a, b, n)
        if code is not None:
            out.append(code)
    return out


def _span(item: tuple[str, str], n: int) -> tuple[int, int]:
    lo, hi = item
    return int(lo.ljust(n, "0")), int(hi.ljust(n, "9")) + 1


def material_codes(good: str, sets: list[NSet], n: int) -> list[str]:
    """Representatives of the material codes for a good: the pieces of the code space cut
    at the ends of every set item and at the good's own chapter, heading, subheading and
    tariff item."""
    bounds: set[int] = set()
    for s in sets:
        for item in s.items:
            bounds.update(_span(item, n))
    for k in (2, 4, 6, 8, 10):
        if k <= len(good):
            bounds.update(_span((good[:k], good[:k]), n))
    return _pieces(bounds, 0, 10 ** n, n)


def good_codes(items, finer: list[tuple[str, str]]) -> list[str]:
    """The goods to check for selector items: every HS 2022 subheading they hold (a finer
    item: its own pieces), each cut further at the ends of the finer items (tariff items of
    rules and lines) that lie under it."""
    out: list[str] = []
    subs = _subheadings()
    for item in items:
        lo, hi = item
        if len(lo) > 6:
            n = max([len(lo)] + [len(f[0]) for f in finer])
            a, b = _span(item, n)
            bounds = {x for f in finer for x in _span(f, n)}
            out += _pieces(bounds, a, b, n)
            continue
        i = bisect_left(subs, lo.ljust(6, "0"))
        while i < len(subs) and subs[i][: len(lo)] <= hi:
            sub = subs[i]
            under = [f for f in finer if len(f[0]) > 6 and f[0][:6] <= sub <= f[1][:6]]
            if not under:
                out.append(sub)
            else:
                n = max(len(f[0]) for f in under)
                a, b = _span((sub, sub), n)
                out += _pieces({x for f in under for x in _span(f, n)}, a, b, n)
            i += 1
    return list(dict.fromkeys(out))


# ---- what applies to a good, per side -------------------------------------------------------------------


class _Normal(Normalizer):
    """Normal nodes in the scope of the layer that wrote a line, ``parties`` being those of the
    program evaluated (as the engine compiles them)."""

    def __init__(self, scope, parties):
        super().__init__(scope)
        self.parties = parties

    def countries(self, expr) -> tuple[str, ...]:
        if isinstance(expr, ast.Parties):
            return tuple(sorted(self.parties))
        return super().countries(expr)


@dataclass
class Applies:
    """What one side applies to a good of one code on one date, as normal nodes."""

    in_force: bool
    parties: frozenset[str]
    rules: list[tuple[object, object]]  # (when or None, body), in the order they are tried
    requires: list[tuple[object, object]]
    fallbacks: list[tuple[object, object]]
    deemed: list[object]  # conditions (None: always)
    # (measure, share, base, exclude, sub-limit: (flag, share, base) or None)
    policies: list[tuple[str, Decimal, str, object, tuple | None]]

    def content(self) -> tuple:
        """What the verdict depends on (normal nodes compare by meaning)."""
        return (self.in_force, tuple(sorted(self.parties)), tuple(self.rules), tuple(self.requires),
                tuple(self.fallbacks), tuple(self.deemed), tuple(self.policies))

    def nodes(self):
        for when, body in self.rules + self.requires + self.fallbacks:
            yield when
            yield body
        yield from self.deemed
        for *_, exclude, _ in self.policies:
            yield exclude


class SideRules:
    def __init__(self, side: Side):
        self.plan = side.book.plan(side.name)
        self.parties = frozenset(self.plan.parties)
        program = self.plan.program
        self._placed = {}
        # the placed line (its scope for set names) of each compiled requirement, fallback,
        # deeming and policy: the plan compiles them in the program's order
        for compiled, placed in ((self.plan.requires, program.requires), (self.plan.fallbacks, program.fallbacks),
                                 (self.plan.deemed, program.deemed), (self.plan.policies, program.de_minimis)):
            for c, p in zip(compiled, placed):
                self._placed[id(c)] = p
        self._rule_placed = list(program.rules)
        self._memo: dict = {}

    def _normal(self, placed) -> _Normal:
        return _Normal(placed.scope or self.plan.program, self.parties)

    def _node(self, key, placed, fn):
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = fn(self._normal(placed))
        return found

    def _lines(self, found, what: str, good: str) -> list[tuple[object, object]]:
        """(condition or None, body) as normal nodes, for the requirements or fallbacks that
        cover the good (``found``: the plan's ``requires_for``/``fallbacks_for``)."""
        out = []
        for line, covered in found:
            if covered is not True:
                raise Unsupported(f"the good's code {dotted(good)} is coarser than {what}'s `for`")
            placed = self._placed[id(line)]
            when = None if line.node.when is None else self._node(
                ("w", id(line)), placed, lambda n, line=line: n.node(line.node.when))
            out.append((when, self._node(("b", id(line)), placed, lambda n, line=line: n.body(line.node.criteria))))
        return out

    def applies(self, good: str, on: date) -> Applies:
        plan = self.plan
        hs = HsCode(good)
        if plan.candidate_groups(hs, on) is not None:
            raise Unsupported(f"the good's code {dotted(good)} is coarser than some rule")
        rules = []
        for r in plan.rules_for(hs, on):
            placed = self._rule_placed[r.order]
            when = None if r.node.when is None else self._node(("w", id(r)), placed, lambda n: n.node(r.node.when))
            body = self._node(("b", id(r)), placed, lambda n: n.body(r.node.criteria))
            rules.append((when, body))
        requires = self._lines(plan.requires_for(hs, on), "a requirement", good)
        fallbacks = self._lines(plan.fallbacks_for(hs, on), "a fallback", good)
        deemed = []
        for dd, covered in plan.deemed_for(hs, on):
            if covered is not True:
                raise Unsupported(f"the good's code {dotted(good)} is coarser than a deeming's `for`")
            placed = self._placed[id(dd)]
            deemed.append(None if dd.node.when is None else self._node(("w", id(dd)), placed, lambda n: n.node(dd.node.when)))
        policies = []
        for p, admitted in plan.de_minimis_for(hs):
            if admitted is not True:
                raise Unsupported(f"the good's code {dotted(good)} is coarser than a de minimis line's `for`")
            sub = p.node.of_which
            if sub is not None:
                sub_base = sub.base.name if isinstance(sub.base, ast.Figure) else p.base_name
                if sub.flag != "elastomeric":
                    raise Unsupported(f"a de minimis sub-limit `of which {sub.flag}` of {sub_base}")
                sub = (sub.flag, sub.share.value, sub_base)
            placed = self._placed[id(p)]
            exclude = None if p.node.exclude is None else self._node(("x", id(p)), placed, lambda n: n.node(p.node.exclude))
            policies.append((p.node.measure, p.node.share.value, p.base_name, exclude, sub))
        return Applies(plan.in_force(on), self.parties, rules, requires, fallbacks, deemed, policies)


# ---- the encoding -----------------------------------------------------------------------------------------


class Vocab:
    """Values of one symbolic choice (countries, end uses, a fact's words): the ones the
    rules name, in the order met, and one other (added when the encoding is done)."""

    def __init__(self, seed=(), others=("other",)):
        self.values: list[str] = list(dict.fromkeys(seed))
        self.others = others

    def index(self, value: str) -> int:
        if value not in self.values:
            self.values.append(value)
        return self.values.index(value)

    def close(self) -> None:
        spares = (*self.others, *(f"{self.others[0]}_{k}" for k in range(1, len(self.values) + 2)))
        self.values.append(next(o for o in spares if o not in self.values))


class Encoder:
    """The symbolic BOM for one good and one date, and each side's verdict over it."""

    def __init__(self, z3, good: str, sides: list[Applies]):
        self.z3 = z3
        self.good = good
        self.sides = sides
        nodes = self.nodes = [x for a in sides for n in a.nodes() for x in walk(n)]
        self._check(nodes)
        found = [x for x in nodes if isinstance(x, NSet)]
        found += [codes for x in nodes if isinstance(x, NChange) for codes, _, _ in x.where]
        sets = self.sets = list(dict.fromkeys(found))
        levels = [lv for x in nodes if isinstance(x, NChange) for lv in x.levels]
        levels += [x.digits for x in nodes if isinstance(x, NSame)]
        if any(lv > len(good) for lv in levels):
            raise Unsupported(f"a change of tariff item for a good given at {len(good)} digits")
        width = max([len(good)] + [len(i[0]) for s in sets for i in s.items] + levels)
        self.codes = material_codes(good, sets, width)

    def signature(self) -> tuple:
        """Goods whose rules and lines (on both sides) and pieces of the code space are the
        same are one case: the encoding reads a material's code only through the sets it is
        tested against and its relation to the good's code."""
        features = tuple(tuple(covers_digits(s.items, c) for s in self.sets)
                         + tuple(_same(c, self.good, n) for n in (2, 4, 6, 8, 10)) for c in self.codes)
        return (tuple(a.content() for a in self.sides), features, len(self.good))

    def build(self, materials: int) -> "Encoder":
        """The symbolic BOM and both verdicts over it."""
        z3, nodes, sides = self.z3, self.nodes, self.sides
        self.count = materials
        Z = z3
        self.countries = Vocab(sorted(set().union(*(a.parties for a in sides))), OUTSIDERS)
        self.end_uses = Vocab()
        self.words: dict[str, Vocab] = {}
        self.material_words: dict[str, Vocab] = {}
        self.material_vars: dict[str, list] = {}
        self.numbers: dict[str, object] = {}
        self.processes: dict[str, list] = {}
        self.uses = set()
        performed: dict[str, set] = {}
        for x in nodes:
            if isinstance(x, NPerformed):
                performed.setdefault(x.process, set()).add(x.where)
        decimals = [max(0, -x.share.as_tuple().exponent) for x in nodes if isinstance(x, NCompare) and isinstance(x.measure, NFact)]
        self.fact_scale = 10 ** (max(decimals, default=0) + 1)
        self.produced_in = Z.Int("produced_in")
        self.imported_from = Z.Int("imported_from")
        self.end_use = Z.Int("end_use")
        self.wholly = Z.Bool("wholly_obtained")
        self.flags = {f: Z.Bool(f) for f in FLAG_FACTS}
        self.figures = {f: Z.Real(f) for f in FIGURES}
        for name, wheres in performed.items():
            self.processes[name] = [(Z.Bool(f"done_{name}_{k}"), Z.Int(f"at_{name}_{k}")) for k in range(len(wheres))]
        self.present = [Z.Bool(f"m{i}") for i in range(materials)]
        self.code = [Z.Int(f"m{i}_hs") for i in range(materials)]
        self.origin = [Z.Int(f"m{i}_origin") for i in range(materials)]
        self.declared = [Z.Bool(f"m{i}_originating") for i in range(materials)]
        self.value = [Z.Real(f"m{i}_value") for i in range(materials)]
        self.weight = [Z.Real(f"m{i}_weight") for i in range(materials)]
        self.kind = [Z.Int(f"m{i}_kind") for i in range(materials)]
        self.part = [Z.Bool(f"m{i}_provided_as_part") for i in range(materials)]
        self.elastomeric = [Z.Bool(f"m{i}_elastomeric") for i in range(materials)]
        self.in_component = [Z.Bool(f"m{i}_in_component") for i in range(materials)]
        self._code_memo: dict = {}
        self.verdicts = [self.verdict(a) for a in sides]
        self.countries.close()
        self.end_uses.close()
        for v in [*self.words.values(), *self.material_words.values()]:
            v.close()
        self.domain = self._domain()
        return self

    # -- checks and domain

    def _check(self, nodes) -> None:
        for x in nodes:
            if isinstance(x, NSum):
                if x.traced:
                    raise Unsupported("a `traced` sum (sub-assemblies are not in the proof's BOMs)")
                if x.part is not None:
                    raise Unsupported(f"a sum of the {x.part} weight")
            if isinstance(x, NCompare) and isinstance(x.measure, NSum) and x.base is None:
                raise Unsupported("a sum compared without a base")

    def _domain(self) -> list:
        Z = self.z3
        n_c = len(self.countries.values)
        out = [0 <= self.produced_in, self.produced_in < n_c, 0 <= self.imported_from, self.imported_from < n_c,
               0 <= self.end_use, self.end_use < len(self.end_uses.values)]
        out += [f > 0 for f in self.figures.values()]
        for name, var in self.numbers.items():
            out.append(var >= 0)
        for name, var in self._word_vars.items():
            out += [0 <= var, var < len(self.words[name].values)]
        for name, variables in self.material_vars.items():
            out += [z for var in variables for z in (0 <= var, var < len(self.material_words[name].values))]
        for entries in self.processes.values():
            out += [Z.And(0 <= at, at < n_c) for _, at in entries]
        for i in range(self.count):
            out += [0 <= self.code[i], self.code[i] < len(self.codes), 0 <= self.origin[i], self.origin[i] < n_c,
                    self.value[i] >= 0, self.weight[i] >= 0, 0 <= self.kind[i], self.kind[i] < len(KINDS)]
            if i:
                out.append(Z.Implies(self.present[i], self.present[i - 1]))
        return out

    def variables(self) -> list[tuple[object, str, int]]:
        """Every variable of the symbolic BOM: (variable, ``bool``/``choice``/``amount``/
        ``number``, the number of choices). For tests that try given BOMs of the class."""
        n_c = len(self.countries.values)
        out = [(self.produced_in, "choice", n_c), (self.imported_from, "choice", n_c),
               (self.end_use, "choice", len(self.end_uses.values)), (self.wholly, "bool", 2)]
        out += [(v, "bool", 2) for v in self.flags.values()]
        out += [(v, "amount", 0) for v in self.figures.values()]
        out += [(v, "number", 0) for v in self.numbers.values()]
        out += [(v, "choice", len(self.words[k].values)) for k, v in self._word_vars.items()]
        for entries in self.processes.values():
            out += [x for done, at in entries for x in ((done, "bool", 2), (at, "choice", n_c))]
        for i in range(self.count):
            out += [(self.present[i], "bool", 2), (self.code[i], "choice", len(self.codes)),
                    (self.origin[i], "choice", n_c), (self.declared[i], "bool", 2), (self.value[i], "amount", 0),
                    (self.weight[i], "amount", 0), (self.kind[i], "choice", len(KINDS)), (self.part[i], "bool", 2),
                    (self.elastomeric[i], "bool", 2), (self.in_component[i], "bool", 2)]
            out += [(v[i], "choice", len(self.material_words[k].values)) for k, v in self.material_vars.items()]
        return out

    @property
    def _word_vars(self) -> dict:
        found = getattr(self, "_wv", None)
        if found is None:
            found = self._wv = {}
        return found

    # -- symbolic choices

    def _among(self, var, vocab: Vocab, values) -> object:
        return self.z3.Or([var == vocab.index(v) for v in values]) if values else self.z3.BoolVal(False)

    def _word(self, name: str):
        if name not in self.words:
            self.words[name] = Vocab()
            self._word_vars[name] = self.z3.Int(f"fact_{name}")
        return self._word_vars[name], self.words[name]

    def code_is(self, i: int, key, test) -> object:
        """The material's code is one of the representatives ``test`` accepts (three-valued
        tests: None, a code too coarse, cannot happen with representatives at full width)."""
        ks = self._code_memo.get(key)
        if ks is None:
            ks = []
            for k, code in enumerate(self.codes):
                r = test(code)
                if r is None:
                    raise Unsupported(f"a test of material codes that the pieces do not decide ({key[0]})")
                if r:
                    ks.append(k)
            self._code_memo[key] = ks
        return self.z3.Or([self.code[i] == k for k in ks]) if ks else self.z3.BoolVal(False)

    # -- materials

    def originating(self, i: int):
        return self.z3.Or(self.kind[i] == KINDS.index("indirect"), self.declared[i])

    def non_originating(self, i: int):
        return self.z3.And(self.present[i], self.z3.Not(self.originating(i)))

    def filter(self, node, i: int):
        Z = self.z3
        if node is None:
            return Z.BoolVal(True)
        if isinstance(node, NOriginating):
            o = self.originating(i)
            return Z.Not(o) if node.negated else o
        if isinstance(node, NOriginIn):
            return self._among(self.origin[i], self.countries, node.countries)
        if isinstance(node, NHsIn):
            return self.code_is(i, ("hs in", node.hs), lambda c: covers_digits(node.hs.items, c))
        if isinstance(node, NKindIn):
            return Z.Or([self.kind[i] == KINDS.index(k) for k in node.kinds if k in KINDS] or [Z.BoolVal(False)])
        if isinstance(node, NSame):
            return self.code_is(i, ("same", node.digits), lambda c: _same(c, self.good, node.digits))
        if isinstance(node, NFactIn):
            return self.material_fact(i, node.fact, node.values)
        if isinstance(node, NNot):
            return Z.Not(self.filter(node.op, i))
        if isinstance(node, NAll):
            return Z.And([self.filter(o, i) for o in node.ops])
        if isinstance(node, NAny):
            return Z.Or([self.filter(o, i) for o in node.ops])
        raise Unsupported(f"a material filter `{text(node)}`")

    def material_fact(self, i: int, fact: str, values) -> object:
        """A material's declared fact is one of the words (every fact the rules name is
        declared: a word they name or another)."""
        Z = self.z3
        if fact == "provided_as_part":
            yes, no = "yes" in values, "no" in values
            return Z.BoolVal(True) if yes and no else self.part[i] if yes else Z.Not(self.part[i]) if no else Z.BoolVal(False)
        if fact not in self.material_words:
            self.material_words[fact] = Vocab()
            self.material_vars[fact] = [Z.Int(f"m{k}_fact_{fact}") for k in range(self.count)]
        return self._among(self.material_vars[fact][i], self.material_words[fact], values)

    def total(self, amounts, when) -> object:
        Z = self.z3
        terms = [Z.If(when(i), amounts[i], 0) for i in range(self.count)]
        return Z.Sum(terms) if terms else Z.RealVal(0)

    # -- conditions on the good

    def condition(self, node):
        Z = self.z3
        if node is None:
            return Z.BoolVal(True)
        if isinstance(node, NFactIn):
            self.uses.add(node.fact)
            if node.fact == "end_use":
                return self._among(self.end_use, self.end_uses, node.values)
            if node.fact in ("produced_in", "imported_from"):
                return self._among(getattr(self, node.fact), self.countries, node.values)
            if node.fact in FLAG_FACTS:
                flag = self.flags[node.fact]
                options = [flag if v == "yes" else Z.Not(flag) for v in node.values if v in ("yes", "no")]
                return Z.Or(options) if options else Z.BoolVal(False)
            var, vocab = self._word(node.fact)
            return self._among(var, vocab, node.values)
        if isinstance(node, NNot):
            return Z.Not(self.condition(node.op))
        if isinstance(node, NAll):
            return Z.And([self.condition(o) for o in node.ops])
        if isinstance(node, NAny):
            return Z.Or([self.condition(o) for o in node.ops])
        raise Unsupported(f"a condition `{text(node)}`")

    # -- criteria

    def criterion(self, node, side: Applies):
        Z = self.z3
        if isinstance(node, NAll):
            return Z.And([self.criterion(o, side) for o in node.ops])
        if isinstance(node, NAny):
            return Z.Or([self.criterion(o, side) for o in node.ops])
        if isinstance(node, NNot):
            return Z.Not(self.criterion(node.op, side))
        if isinstance(node, NWhollyObtained):
            return self.wholly
        if isinstance(node, NChange):
            return self.change(node, side)
        if isinstance(node, NCompare):
            return self.compare(node)
        if isinstance(node, NPerformed):
            self.uses.add("processes")
            entries = self.processes[node.process]
            return Z.Or([Z.And(done, self._among(at, self.countries, node.where)) for done, at in entries])
        raise Unsupported(f"a criterion `{text(node)}`")

    def change(self, node: NChange, side: Applies):
        Z = self.z3
        good = self.good

        def excluded(code: str) -> bool | None:
            return covers_digits(node.except_.items, code) if node.except_ is not None else False

        def sources(code: str) -> bool | None:
            """Whether a change of chapter/heading/... or a source set (without facts) admits it."""
            unknown = False
            for n in node.levels:
                k = min(n, len(good), len(code))
                if code[:k] != good[:k]:
                    return True
                if len(good) < n or len(code) < n:
                    unknown = True
            r = covers_digits(node.sources.items, code)
            if r is True:
                return True
            return None if unknown or r is None else False

        tested = [Z.And(self.non_originating(i), self.kind[i] == 0) for i in range(self.count)]
        fails = []
        for i in range(self.count):
            admitted = [self.code_is(i, ("sources", node.levels, node.sources), sources)]
            for codes, fact, values in node.where:  # `CODES where FACT in [words]`
                admitted.append(Z.And(self.code_is(i, ("hs in", codes), lambda c, codes=codes: covers_digits(codes.items, c)),
                                      self.material_fact(i, fact, values)))
            fails.append(Z.And(tested[i], Z.Or(self.code_is(i, ("except", node.except_), excluded), Z.Not(Z.Or(admitted)))))
        if node.groups:
            inside = [[self.code_is(i, ("group", g), lambda c, g=g: covers_digits(g.items, c)) for i in range(self.count)]
                      for g in node.groups]
            used = [Z.Or([Z.And(tested[i], ins[i]) for i in range(self.count)] or [Z.BoolVal(False)]) for ins in inside]
            several = Z.Sum([Z.If(u, 1, 0) for u in used]) >= 2
            fails = [Z.Or(fails[i], Z.And(several, tested[i], Z.Or([Z.And(u, ins[i]) for u, ins in zip(used, inside)])))
                     for i in range(self.count)]
        saved = []
        for measure, share, base, exclude, sub in side.policies:
            amounts = self.value if measure == "value" else self.weight
            if measure != "value":
                self.uses.add("weight")
            blocked = Z.Or([Z.And(fails[i], self.filter(exclude, i)) for i in range(self.count)]) if exclude is not None \
                else Z.BoolVal(False)
            weighed = fails
            if base == "component_weight":  # only the failing materials of the classifying component
                self.uses.add("in_component")
                weighed = [Z.And(fails[i], self.in_component[i]) for i in range(self.count)]
                blocked = Z.Or([Z.And(weighed[i], self.filter(exclude, i)) for i in range(self.count)]) \
                    if exclude is not None else Z.BoolVal(False)
            low = Z.Sum([Z.If(weighed[i], amounts[i], 0) for i in range(self.count)]) if self.count else Z.RealVal(0)
            within = [Z.Not(blocked), low * 100 <= _q(Z, share) * self.figure(base)]
            if sub is not None:  # `of which elastomeric <= N%`: the flagged failing materials
                self.uses.add("elastomeric")
                flagged = Z.Sum([Z.If(Z.And(weighed[i], self.elastomeric[i]), amounts[i], 0) for i in range(self.count)]) \
                    if self.count else Z.RealVal(0)
                within.append(flagged * 100 <= _q(Z, sub[1]) * self.figure(sub[2]))
            saved.append(Z.And(within))
        failing = Z.Or(fails) if fails else Z.BoolVal(False)
        return Z.Or(Z.Not(failing), *saved)

    def figure(self, name: str):
        if name not in self.figures:
            raise Unsupported(f"the figure `{name}`")
        self.uses.add(name)
        return self.figures[name]

    def compare(self, node: NCompare):
        Z = self.z3
        t = _q(Z, node.share)
        m = node.measure
        if isinstance(m, NFact):
            var = self.numbers.get(m.name)
            if var is None:
                var = self.numbers[m.name] = Z.Int(f"number_{m.name}")
            return _op(node.op, Z.ToReal(var), t * self.fact_scale)
        if isinstance(m, (NRvc, NMaxNom)):
            method = "max_nom" if isinstance(m, NMaxNom) else m.method
            whole = self.figure(m.basis)
            if method == "build_up":
                amount = self.total(self.value, lambda i: self.z3.And(self.present[i], self.originating(i)))
            elif isinstance(m, NRvc) and m.focus is not None:
                focus = m.focus
                amount = self.total(self.value, lambda i: Z.And(
                    self.non_originating(i), self.code_is(i, ("focus", focus), lambda c: covers_digits(focus.items, c))))
            else:
                amount = self.total(self.value, self.non_originating)
            direct = method in ("max_nom", "build_up")
            return _op(node.op, (amount if direct else whole - amount) * 100, t * whole)
        if isinstance(m, NSum):
            amount = self.sum(m)
            base = self.figure(node.base.name) if isinstance(node.base, NFigure) else self.sum(node.base)
            return _op(node.op, amount * 100, t * base)
        raise Unsupported(f"a measure `{text(node)}`")

    def sum(self, s: NSum):
        if s.measure != "value":
            self.uses.add("weight")
        amounts = self.value if s.measure == "value" else self.weight
        return self.total(amounts, lambda i: self.z3.And(self.present[i], self.filter(s.filter, i)))

    # -- the verdict of one side (docs/language.md; engine.evaluate._decide_good)

    def verdict(self, side: Applies):
        Z = self.z3
        if not side.in_force:
            return Z.BoolVal(False)
        territory = self._among(self.produced_in, self.countries, sorted(side.parties))
        required = [Z.Or(Z.Not(self.condition(w)), self.criterion(b, side)) for w, b in side.requires]
        every = Z.And(Z.Or(self.present) if self.count else Z.BoolVal(False),
                      *[Z.Implies(self.present[i], self.originating(i)) for i in range(self.count)])
        fallback = Z.Or([Z.And(self.condition(w), self.criterion(b, side)) for w, b in side.fallbacks] or [Z.BoolVal(False)])
        psr = Z.BoolVal(False)  # no rule whose condition holds: no_rule
        for when, body in reversed(side.rules):
            psr = Z.If(self.condition(when), Z.Or(self.criterion(body, side), fallback), psr)
        qualifies = Z.And(territory, Z.Or(self.wholly, every, psr), *required)
        if side.deemed:
            self.uses.add("imported_from")
            qualifies = Z.Or(qualifies, *[self.condition(w) for w in side.deemed])
        return qualifies

    # -- from a model to a BOM

    def bom(self, model, on: date) -> BOM:
        Z = self.z3

        def num(x) -> Fraction:
            v = model.eval(x, model_completion=True)
            f = v.as_fraction() if hasattr(v, "as_fraction") else Fraction(v.as_long())
            return Fraction(f)

        def pick(var, vocab: Vocab) -> str:
            return vocab.values[model.eval(var, model_completion=True).as_long()]

        def true(b) -> bool:
            return Z.is_true(model.eval(b, model_completion=True))

        count = sum(1 for p in self.present if true(p))
        amounts = {f: num(v) for f, v in self.figures.items()}
        for i in range(count):
            amounts[f"v{i}"] = num(self.value[i])
            amounts[f"w{i}"] = num(self.weight[i])
        scale = 1
        for a in amounts.values():
            scale = scale * a.denominator // gcd(scale, a.denominator)
        whole = {k: int(a * scale) for k, a in amounts.items()}
        common = 0
        for v in whole.values():
            common = gcd(common, v)
        common = common or 1
        money = {k: Decimal(v // common) for k, v in whole.items()}
        product: dict = {"id": "PRODUCT", "hs": dotted(self.good), "produced_in": pick(self.produced_in, self.countries),
                         "currency": "USD"}
        for f in FIGURES:  # the figures the rules read (the others change nothing)
            if f in self.uses:
                product[FIGURE_FIELDS.get(f, f)] = str(money[f])
        if "imported_from" in self.uses:
            product["imported_from"] = pick(self.imported_from, self.countries)
        if "end_use" in self.uses:
            product["end_use"] = pick(self.end_use, self.end_uses)
        if true(self.wholly):
            product["wholly_obtained"] = True
        for f, var in self.flags.items():
            if true(var):
                product[f] = True
        facts: dict = {name: pick(var, self.words[name]) for name, var in self._word_vars.items()}
        for name, var in self.numbers.items():
            facts[name] = str(EXACT.divide(Decimal(model.eval(var, model_completion=True).as_long()), self.fact_scale))
        if facts:
            product["facts"] = facts
        if self.processes:
            processes = [{"name": OTHER_PROCESS, "country": self.countries.values[0]}]
            for name, entries in self.processes.items():
                processes += [{"name": name, "country": pick(at, self.countries)} for done, at in entries if true(done)]
            product["processes"] = processes
        materials = []
        for i in range(count):
            m = {"id": f"M{i + 1}", "hs": dotted(self.codes[model.eval(self.code[i], model_completion=True).as_long()]),
                 "origin": pick(self.origin[i], self.countries), "originating": true(self.declared[i]),
                 "value": str(money[f"v{i}"])}
            if "weight" in self.uses:
                m["weight_kg"] = str(money[f"w{i}"])
            kind = KINDS[model.eval(self.kind[i], model_completion=True).as_long()]
            if kind != "direct":
                m["kind"] = kind
            if true(self.part[i]):
                m["provided_as_part"] = True
            for flag in ("elastomeric", "in_component"):
                if flag in self.uses:
                    m[flag] = true(getattr(self, flag)[i])
            facts = {name: pick(variables[i], self.material_words[name]) for name, variables in self.material_vars.items()}
            if facts:
                m["facts"] = facts
            materials.append(m)
        return bom_from_data({"product": product, "materials": materials})


def _same(code: str, good: str, n: int) -> bool | None:
    k = min(n, len(code), len(good))
    if code[:k] != good[:k]:
        return False
    return True if len(code) >= n and len(good) >= n else None


def _q(Z, d: Decimal):
    f = Fraction(d)
    return Z.Q(f.numerator, f.denominator) if f.denominator != 1 else Z.RealVal(f.numerator)


def _op(op: str, a, b):
    return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b}[op]


# ---- the goods a change reaches --------------------------------------------------------------------------


def _finer_items(old: NormalProgram, new: NormalProgram, rules_old: SideRules, rules_new: SideRules) -> list:
    """Items finer than subheadings that tell goods apart: selectors, and the `for`/`except`
    of requirements, de minimis lines, fallbacks and deemings."""
    items = [i for p in (old, new) for i in p.rules]
    for p in (old, new):
        for r in p.requires:
            items += list(r.for_.items) if r.for_ else []
        for d in p.de_minimis:
            for s in (d.for_, d.except_):
                items += list(s.items) if s else []
        for d in p.deemed:
            for s in (d.for_, d.except_):
                items += list(s.items) if s else []
    for side in (rules_old, rules_new):
        for fb in side.plan.fallbacks:
            for s in (fb.covers, fb.excepts):
                if s is not None:
                    items += list(nset(s).items)
    return [i for i in items if len(i[0]) > 6]


def goods_for(change: Change, old: NormalProgram, new: NormalProgram, finer: list) -> list[str]:
    """The codes of the goods a change can turn (see the module docstring)."""
    if change.items:
        items = list(change.items)
    else:
        entries = change.old + change.new
        sets = [getattr(e, "for_", None) for e in entries]
        if entries and all(s is not None for s in sets) and not change.kind.startswith(("parties", "effective")):
            items = [i for s in sets for i in s.items]
        else:  # every good (a requirement without `for`, the parties, the effective date)
            items = [("01", "97")]
    return good_codes(items, finer)


# ---- proving --------------------------------------------------------------------------------------------


def prove(changes: list[Change], old: Side, new: Side, old_n: NormalProgram, new_n: NormalProgram, *,
          on: date, materials: int = 8, timeout: float = 60.0, assume_same: bool = True) -> Proof:
    """Prove the sides equivalent on the goods the changes reach, or find a counterexample
    each way (see the module docstring). ``assume_same``: a good whose rules and lines are
    the same normal nodes on both sides is not encoded (its verdicts are the same); tests
    turn it off to prove such goods too."""
    import z3

    start = time.monotonic()
    deadline = start + timeout
    result = Proof("equivalent", materials)
    sides = (SideRules(old), SideRules(new))
    finer = _finer_items(old_n, new_n, *sides)
    unknown: list[str] = []
    seen: set = set()
    dates: list[date] = []
    found: dict[str, Finding] = {}
    try:
        for change in changes:
            days = dates_for_change(change, old_n, new_n, on)
            dates += [d for d in days if d not in dates]
            for good in goods_for(change, old_n, new_n, finer):
                for day in days:
                    if len(found) == 2:
                        break
                    if time.monotonic() > deadline:
                        raise OutOfTime
                    try:
                        applies = [s.applies(good, day) for s in sides]
                        if assume_same and applies[0].content() == applies[1].content():
                            continue  # the same rules and lines on both sides: the same verdicts
                        enc = Encoder(z3, good, applies)
                        key = enc.signature()
                        if key in seen:
                            continue
                        seen.add(key)
                        enc.build(materials)
                    except Unsupported as e:
                        if str(e) not in unknown:
                            unknown.append(str(e))
                        continue
                    result.goods += 1
                    for wanted in ("stricter", "looser"):
                        if wanted in found:
                            continue
                        finding = _hunt(z3, enc, wanted, change, old, new, day, deadline, result, unknown)
                        if finding is not None:
                            found[wanted] = finding
    except OutOfTime:
        unknown.append(f"out of time after {timeout:g} s (--timeout)")
    result.findings = [found[d] for d in ("stricter", "looser") if d in found]
    result.dates = tuple(sorted(dates))
    result.seconds = time.monotonic() - start
    directions = set(found)
    if directions == {"stricter", "looser"}:
        result.verdict = "both"
    elif unknown:
        result.verdict, result.reason = "unknown", "; ".join(unknown)
    elif directions:
        result.verdict = directions.pop()
    return result


def _hunt(z3, enc: Encoder, wanted: str, change: Change, old: Side, new: Side, day: date, deadline: float,
          result: Proof, unknown: list[str]) -> Finding | None:
    q_old, q_new = enc.verdicts
    goal = z3.And(q_old, z3.Not(q_new)) if wanted == "stricter" else z3.And(z3.Not(q_old), q_new)
    solver = z3.Solver()
    solver.add(*enc.domain, goal)
    model = None
    for k in range(enc.count + 1):  # the fewest materials first
        left = deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime
        solver.set("timeout", max(1, int(left * 1000)))
        solver.push()
        solver.add(z3.Sum([z3.If(p, 1, 0) for p in enc.present] or [z3.IntVal(0)]) <= k)
        answer = solver.check()
        result.queries += 1
        if answer == z3.sat:
            model = solver.model()
            solver.pop()
            break
        solver.pop()
        if answer == z3.unknown:
            raise OutOfTime
        if k == 0:
            # no counterexample with no materials: is there one at all?
            solver.set("timeout", max(1, int((deadline - time.monotonic()) * 1000)))
            whole = solver.check()
            result.queries += 1
            if whole == z3.unsat:
                return None
            if whole == z3.unknown:
                raise OutOfTime
    if model is None:
        return None
    try:
        bom = enc.bom(model, day)
    except BomError as e:  # pragma: no cover - the encoding builds valid BOMs
        unknown.append(f"a counterexample could not be written as a BOM ({e})")
        return None
    ov, nv = old.verdict(bom, day), new.verdict(bom, day)
    if direction(ov, nv) != wanted:
        unknown.append(f"the solver's {wanted} counterexample for {dotted(enc.good)} was not confirmed by the engine "
                       f"(old {ov}, new {nv}): a gap in the encoding")
        return None
    kind = (wanted, grade(ov, nv))

    def same(candidate: BOM) -> bool:
        a, b = old.verdict(candidate, day), new.verdict(candidate, day)
        return (direction(a, b), grade(a, b)) == kind

    bom = simplify(bom, same)
    ov, o_reason = old.reason(bom, day)
    nv, n_reason = new.reason(bom, day)
    return Finding(change.summary, wanted, bom, day, ov, nv, o_reason, n_reason, True, "prove")
