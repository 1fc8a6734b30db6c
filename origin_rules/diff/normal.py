"""Normal forms: a resolved program -> a canonical value that two rulebooks can compare.

In: a :class:`~origin_rules.semantics.resolve.Program` (one agreement or scenario, its
scenario chain already flattened). Out: a :class:`NormalProgram`: the parties, the
effective date, a *rule table* (selector item -> the dated, conditioned rule entries that
apply to it), the requirements and the de minimis policies, with every criterion in a
canonical form:

* named sets are resolved: an HS set becomes a :class:`NSet` of sorted, merged ranges (one
  level each; adjacent ranges joined, items inside a coarser item dropped), a country set or
  ``parties`` a sorted tuple of country codes;
* ``and`` / ``or`` operands are flattened and kept as sorted multisets (the lines of a body
  are an ``and``), ``not not x`` is ``x``;
* aliases equal their long forms (``CTH`` is ``change from any other heading``), the
  default basis of an RVC method is written out, percentages are exact normalized decimals;
* layout, comments, order of rules, of alternatives and of set items play no part; titles
  and ``cite`` lines are kept beside the meaning (:attr:`NormalEntry.title`, ``cites``) so
  the diff can report them as wording, never as a change in meaning.

Equal normal forms mean the same thing. The converse does not hold (``87.08`` and
``8708.10..8708.99`` differ here and may mean the same): the counterexample search settles
those. Every node prints back in the rule language with :func:`text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..model import ast
from ..semantics.resolve import Program
from .nodes import (
    Item, NAll, NAny, NChange, NCompare, NFact, NFactIn, NFigure, NHsIn, NKindIn, NMaxNom, NNot, NOriginating,
    NOriginIn, NPerformed, NRvc, NSame, NSet, NSum, NWhollyObtained, item_text, key, level_words, nset, nset_of, pct,
    share, text, walk, words,
)

__all__ = [  # the node types and their helpers are part of this module's interface
    "Item", "NAll", "NAny", "NChange", "NCompare", "NFact", "NFactIn", "NFigure", "NHsIn", "NKindIn", "NMaxNom", "NNot",
    "NOriginating", "NOriginIn", "NPerformed", "NRvc", "NSame", "NSet", "NSum", "NWhollyObtained", "NormalDeMinimis",
    "NormalFallback",
    "NormalEntry", "NormalProgram", "NormalRequire", "Normalizer", "combine", "item_text", "key", "level_words",
    "normalize", "nset", "nset_of", "pct", "share", "text", "walk", "words",
]

# ---- entries of a program ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalEntry:
    """One rule as it applies to one selector item: dates, condition and body (the meaning),
    plus its title, citations, place and layer (not part of the meaning)."""

    from_: date | None
    until: date | None
    when: object | None
    body: object
    title: str | None = field(default=None, compare=False)
    cites: tuple[str, ...] = field(default=(), compare=False)
    source: str = field(default="", compare=False)
    layer: str = field(default="", compare=False)
    selector: NSet = field(default=NSet(()), compare=False)


@dataclass(frozen=True, slots=True)
class NormalRequire:
    for_: NSet | None
    from_: date | None
    until: date | None
    when: object | None
    body: object
    title: str | None = field(default=None, compare=False)
    cites: tuple[str, ...] = field(default=(), compare=False)
    source: str = field(default="", compare=False)
    layer: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class NormalDeemed:
    """``deemed originating for S [except S] [when C]`` (GN11(p))."""

    for_: NSet
    except_: NSet | None
    from_: date | None
    until: date | None
    when: object | None
    title: str | None = field(default=None, compare=False)
    cites: tuple[str, ...] = field(default=(), compare=False)
    source: str = field(default="", compare=False)
    layer: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class NormalFallback:
    """``fallback [TITLE] [for S] [except S] [when C] { ... }`` (GN11(n), GN11(b)(iv)): tried
    when the good's rule does not hold."""

    for_: NSet | None
    except_: NSet | None
    from_: date | None
    until: date | None
    when: object | None
    body: object
    title: str | None = field(default=None, compare=False)
    cites: tuple[str, ...] = field(default=(), compare=False)
    source: str = field(default="", compare=False)
    layer: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class NormalDeMinimis:
    measure: str
    op: str
    share: Decimal
    base: str
    for_: NSet | None
    except_: NSet | None
    exclude: object | None
    source: str = field(default="", compare=False)
    layer: str = field(default="", compare=False)
    # ``of which FLAG OP SHARE of BASE`` (the base written out: the line's own when omitted)
    of_which: tuple[str, str, Decimal, str] | None = None


@dataclass
class NormalProgram:
    """A program in normal form. ``rules`` maps each selector item to its entries in
    canonical order (by date window; rules sharing a window keep their file order, which
    decides among ``when`` variants). Lists of requirements and policies are sorted."""

    name: str
    parties: tuple[str, ...]
    effective: date | None
    rules: dict[Item, tuple[NormalEntry, ...]]
    requires: tuple[NormalRequire, ...]
    de_minimis: tuple[NormalDeMinimis, ...]
    program: Program
    deemed: tuple[NormalDeemed, ...] = ()
    fallbacks: tuple[NormalFallback, ...] = ()

    def meaning(self) -> tuple:
        return (self.parties, self.effective, sorted(self.rules.items(), key=lambda kv: kv[0]),
                self.requires, self.de_minimis, self.deemed, self.fallbacks)

    def same_meaning(self, other: "NormalProgram") -> bool:
        return (self.parties == other.parties and self.effective == other.effective
                and self.rules == other.rules and self.requires == other.requires
                and self.de_minimis == other.de_minimis and self.deemed == other.deemed
                and self.fallbacks == other.fallbacks)


# ---- building normal forms ------------------------------------------------------------------------------


class Normalizer:
    """Turns AST nodes of one program into normal nodes (sets resolved in its scope)."""

    def __init__(self, program: Program):
        self.program = program

    def hs(self, expr: ast.HsSetExpr | None) -> NSet | None:
        return None if expr is None else nset(self.program.hs_set(expr))

    def countries(self, expr) -> tuple[str, ...]:
        return tuple(sorted(self.program.countries(expr)))

    def node(self, n) -> object:
        if isinstance(n, (ast.And, ast.Or)):
            kind = NAll if isinstance(n, ast.And) else NAny
            return combine(kind, [self.node(o) for o in n.operands])
        if isinstance(n, ast.Not):
            inner = self.node(n.operand)
            return inner.op if isinstance(inner, NNot) else NNot(inner)
        if isinstance(n, ast.IsOriginating):
            return NOriginating(n.negated)
        if isinstance(n, ast.OriginIn):
            return NOriginIn(self.countries(n.countries))
        if isinstance(n, ast.HsIn):
            return NHsIn(self.hs(n.hs))
        if isinstance(n, ast.KindIn):
            return NKindIn(tuple(sorted({w.text for w in n.kinds.words})))
        if isinstance(n, ast.FactIn):
            return NFactIn(n.fact, self.countries(n.values))
        if isinstance(n, ast.SameCode):
            return NSame(int(n.level))
        if isinstance(n, ast.Change):
            levels = sorted({int(s.level) for s in n.sources if isinstance(s, ast.AnyOther)})
            explicit = [s for s in n.sources if not isinstance(s, (ast.AnyOther, ast.Where))]
            sources = self.hs(ast.HsSetExpr(tuple(explicit))) if explicit else NSet(())
            where = tuple(sorted((
                (self.hs(ast.HsSetExpr((s.item,))), s.fact, tuple(sorted({w.text for w in s.values.words})))
                for s in n.sources if isinstance(s, ast.Where)
            ), key=repr))
            groups = tuple(sorted((self.hs(g) for g in n.except_groups), key=repr))
            return NChange(tuple(levels), sources, self.hs(n.except_), where, groups)
        if isinstance(n, ast.Comparison):
            return NCompare(self.measure(n.measure), n.op, share(n.share.value), self.base(n.base))
        if isinstance(n, ast.Performed):
            return NPerformed(" ".join(n.process.lower().split()), self.countries(n.where))
        if isinstance(n, ast.WhollyObtained):
            return NWhollyObtained()
        raise TypeError(f"cannot normalize {type(n).__name__}")

    def measure(self, m):
        if isinstance(m, ast.Rvc):
            basis = m.basis or (m.method if m.method in ("transaction_value", "net_cost") else "fob")
            return NRvc(m.method, basis, self.hs(m.focus))
        if isinstance(m, ast.MaxNom):
            return NMaxNom(m.basis)
        if isinstance(m, ast.FactValue):
            return NFact(m.name)
        return self.sum(m)

    def sum(self, s: ast.Sum) -> NSum:
        return NSum(s.measure, None if s.filter is None else self.node(s.filter), s.traced, s.part)

    def base(self, b):
        if b is None:
            return None
        if isinstance(b, ast.Figure):
            return NFigure(b.name)
        return self.sum(b)

    def body(self, criteria) -> object:
        return combine(NAll, [self.node(c) for c in criteria])


def combine(kind, operands: list) -> object:
    """Flatten nested operands of the same kind, sort them; one operand stands alone."""
    flat: list = []
    for o in operands:
        if isinstance(o, kind):
            flat.extend(o.ops)
        else:
            flat.append(o)
    if len(flat) == 1:
        return flat[0]
    return kind(tuple(sorted(flat, key=key)))


def _window(entry) -> tuple:
    return (entry.from_ or date.min, entry.until or date.max)


def normalize(program: Program) -> NormalProgram:
    """The normal form of a program (see the module docstring)."""
    table: dict[Item, list[tuple[int, NormalEntry]]] = {}
    for order, placed in enumerate(program.rules):
        rule: ast.Rule = placed.node
        n = Normalizer(program)
        selector = n.hs(rule.selector)
        entry = NormalEntry(
            rule.from_, rule.until, None if rule.when is None else n.node(rule.when), n.body(rule.criteria),
            rule.title, rule.cites, rule.span.where, placed.layer, selector,
        )
        for item in selector.items:
            table.setdefault(item, []).append((order, entry))
    rules = {
        item: tuple(e for _, e in sorted(entries, key=lambda oe: (_window(oe[1]), oe[0])))
        for item, entries in table.items()
    }
    requires = []
    for placed in program.requires:
        req: ast.Require = placed.node
        n = Normalizer(program)
        requires.append(NormalRequire(
            n.hs(req.for_), req.from_, req.until, None if req.when is None else n.node(req.when),
            n.body(req.criteria), req.title, req.cites, req.span.where, placed.layer,
        ))
    policies = []
    for placed in program.de_minimis:
        dm: ast.DeMinimis = placed.node
        n = Normalizer(program)
        # without `of`, a value share is of the transaction value, a weight share of the weight
        default = "weight" if dm.measure == "weight" else "transaction_value"
        base = dm.base.name if isinstance(dm.base, ast.Figure) else default
        sub = dm.of_which
        of_which = None if sub is None else (
            sub.flag, sub.op, share(sub.share.value), sub.base.name if isinstance(sub.base, ast.Figure) else base)
        policies.append(NormalDeMinimis(
            dm.measure, dm.op, share(dm.share.value), base, n.hs(dm.for_), n.hs(dm.except_),
            None if dm.exclude is None else n.node(dm.exclude), dm.span.where, placed.layer, of_which,
        ))
    deemed = []
    for placed in program.deemed:
        dd: ast.Deemed = placed.node
        n = Normalizer(program)
        deemed.append(NormalDeemed(
            n.hs(dd.for_), n.hs(dd.except_), dd.from_, dd.until, None if dd.when is None else n.node(dd.when),
            dd.title, dd.cites, dd.span.where, placed.layer,
        ))
    fallbacks = []
    for placed in program.fallbacks:
        fb: ast.Fallback = placed.node
        n = Normalizer(program)
        fallbacks.append(NormalFallback(
            n.hs(fb.for_), n.hs(fb.except_), fb.from_, fb.until, None if fb.when is None else n.node(fb.when),
            n.body(fb.criteria), fb.title, fb.cites, fb.span.where, placed.layer,
        ))
    return NormalProgram(
        name=program.name,
        parties=tuple(sorted(program.parties)),
        effective=program.effective,
        rules=rules,
        requires=tuple(sorted(requires, key=lambda r: key_of_require(r))),
        de_minimis=tuple(sorted(policies, key=lambda p: key_of_policy(p))),
        program=program,
        deemed=tuple(sorted(deemed, key=lambda d: "|".join(
            [str(d.for_), str(d.except_), str(d.from_), str(d.until), key(d.when)]))),
        # file order kept: fallbacks are tried in turn (the first that holds is reported)
        fallbacks=tuple(fallbacks),
    )


def key_of_require(r: NormalRequire) -> str:
    return "|".join([str(r.for_), str(r.from_), str(r.until), key(r.when), key(r.body)])


def key_of_policy(p: NormalDeMinimis) -> str:
    return "|".join([p.measure, p.op, str(p.share), p.base, str(p.for_), str(p.except_), key(p.exclude),
                     str(p.of_which)])
