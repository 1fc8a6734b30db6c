"""The abstract syntax tree of a rule file.

In: built by ``origin_rules.syntax.build`` from the parse tree. Out: frozen, slotted
dataclasses that every later stage reads (resolve, check, compile, fmt, diff).

Every node carries a :class:`Span`; spans never take part in equality, so two trees that
differ only in layout compare equal (the formatter's invariant relies on this).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .hs import HsCode, Level


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node sits in its file (1-based lines and columns; end is exclusive)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def where(self) -> str:
        """``file:line``, the form a determination cites."""
        return f"{self.file}:{self.line}"


NOWHERE = Span("<generated>", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


# ---- values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """A bare word in a list: a country code (``CN``) or a fact value (``light_truck``)."""

    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class WordList:
    """``[US, MX, CA]``: countries, end uses, material kinds."""

    words: tuple[Word, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Parties:
    """The keyword ``parties`` used as a country set: the parties of the agreement."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SetRef:
    """A reference to a named set; resolved in ``semantics.resolve``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class HsCodeLit:
    """An HS code as written: ``87.08``."""

    code: HsCode
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class HsRangeLit:
    """An inclusive range of one level: ``61.01..61.17``."""

    low: HsCodeLit
    high: HsCodeLit
    span: Span = _span()


HsItemLit = HsCodeLit | HsRangeLit | SetRef


@dataclass(frozen=True, slots=True)
class HsSetExpr:
    """A comma-separated union of codes, ranges and set names."""

    items: tuple[HsItemLit, ...]
    span: Span = _span()


CountrySetExpr = WordList | SetRef | Parties


@dataclass(frozen=True, slots=True)
class Percent:
    """``62.5%``; ``value`` is the number before the sign, exact."""

    value: Decimal
    span: Span = _span()


# ---- boolean structure, shared by criteria, filters and conditions -------------------------

#: How deep ``and``/``or``/``not`` may nest in one criterion, condition or filter, the levels
#: counted through sums and their filters (ROO126; ``fmt`` refuses deeper text too): the
#: evaluator, the diff and the formatter walk criteria recursively, and stay far from
#: Python's recursion limit within it.
MAX_NESTING = 100


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple["Node", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple["Node", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Node"
    span: Span = _span()


# ---- material filters --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IsOriginating:
    """``originating`` (``negated``: ``non_originating``)."""

    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class OriginIn:
    """``origin in [CN]`` / ``origin in name`` / ``origin in parties``."""

    countries: CountrySetExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class HsIn:
    """``hs in 72.08..72.29, 73.01..73.26``."""

    hs: HsSetExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SameCode:
    """``same subheading``: the material is classified in the good's own code at that level
    (the good: the product, or the sub-assembly the material goes into)."""

    level: Level
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class KindIn:
    """``kind in [accessory, retail_packaging]``."""

    kinds: WordList
    span: Span = _span()


# ---- conditions on the good (when) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactIn:
    """``end_use in [passenger_vehicle, light_truck]`` / ``produced_in in parties`` /
    ``good in [body_stamping]`` (a declared fact, ``product.facts.good``). Inside a material
    filter it tests a declared fact of each material (``materials[i].facts.NAME``)."""

    fact: str
    values: CountrySetExpr
    span: Span = _span()


# ---- criteria ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnyOther:
    """``any other heading``: outside the good's own code at that level."""

    level: Level
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Where:
    """``8708.99 where part_of in [brakes]``: a source of a tariff shift that admits only the
    materials of those codes that declare the fact (``materials[i].facts.part_of``)."""

    item: "HsItemLit"
    fact: str
    values: WordList
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Change:
    """``change from SOURCES [except HS-SET] [except more than one of (SET), (SET)...]``;
    ``alias`` keeps ``CTH`` etc. for the printer. ``except_groups``: GN11's "except from more
    than one of the following: (A) ..., (B) ...": the non-originating materials may come from
    at most one of the groups."""

    sources: tuple[AnyOther | HsItemLit | Where, ...]
    except_: HsSetExpr | None = None
    alias: str | None = field(default=None, compare=False)
    span: Span = _span()
    except_groups: tuple[HsSetExpr, ...] = ()


@dataclass(frozen=True, slots=True)
class Rvc:
    """``rvc(method[, basis][, HS-SET])``: transaction_value, net_cost, build_down,
    build_up, focused_value; basis (fob, ex_works...) for the price-based methods."""

    method: str
    basis: str | None = None
    focus: HsSetExpr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MaxNom:
    """``max_nom(ex_works)``: VNM as a percentage of the basis (a ceiling)."""

    basis: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Sum:
    """``value(FILTER[, traced])`` or ``weight(FILTER[, traced])``; no filter: all materials.
    ``weight(polymer of FILTER)`` weighs a declared part of each material instead of the whole
    (``part`` = "polymer": ``materials[i].polymer_weight_kg``)."""

    measure: str  # "value" | "weight"
    filter: "Node | None" = None
    traced: bool = False
    span: Span = _span()
    part: str | None = None  # "polymer": the material's polymer content; None: the whole material


@dataclass(frozen=True, slots=True)
class Figure:
    """A product figure used as a base: ``transaction_value``, ``net_cost``, ``weight``..."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class FactValue:
    """``fact(lvc)``: a number the BOM declares about the good (``product.facts.lvc``), in
    percent points, compared as it stands (``fact(lvc) >= 40%``)."""

    name: str
    span: Span = _span()


Measure = Rvc | MaxNom | Sum | FactValue
Base = Figure | Sum


@dataclass(frozen=True, slots=True)
class Comparison:
    """``MEASURE OP N% [of BASE]``; ``op`` is one of ``>=``, ``<=``, ``>``, ``<``."""

    measure: Measure
    op: str
    share: Percent
    base: Base | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Performed:
    """``performed "cut and sewn" in parties``."""

    process: str
    where: CountrySetExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class WhollyObtained:
    span: Span = _span()


Node = (
    And | Or | Not | IsOriginating | OriginIn | HsIn | KindIn | FactIn | Change | Comparison
    | Performed | WhollyObtained
)


# ---- declarations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cite:
    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` comment, kept for the formatter (``text`` includes the ``#``)."""

    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SetDecl:
    """``set name = [CN]`` (countries) or ``set name = 72, 73`` (HS codes)."""

    name: str
    value: WordList | HsSetExpr
    span: Span = _span()


Line = Cite | Node


class _Lines:
    """The body of a rule, requirement or fallback: its citations and its criteria."""

    __slots__ = ()
    lines: tuple

    @property
    def cites(self) -> tuple[str, ...]:
        return tuple(line.text for line in self.lines if isinstance(line, Cite))

    @property
    def criteria(self) -> tuple[Node, ...]:
        return tuple(line for line in self.lines if not isinstance(line, Cite))


@dataclass(frozen=True, slots=True)
class Rule(_Lines):
    """A product-specific rule: its selector, header clauses and body lines (all must hold)."""

    selector: HsSetExpr
    title: str | None = None
    from_: date | None = None
    until: date | None = None
    when: Node | None = None
    lines: tuple[Line, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Require(_Lines):
    """``require [for HS-SET] [when COND] { ... }``: must hold in addition to the rule."""

    for_: HsSetExpr | None = None
    title: str | None = None
    from_: date | None = None
    until: date | None = None
    when: Node | None = None
    lines: tuple[Line, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Fallback(_Lines):
    """``fallback [TITLE] [for HS-SET] [except HS-SET] [when COND] { ... }``: an
    agreement-level way to originate, tried when the good's product-specific rule does not
    hold (GN11(n) process rules, GN11(b)(iv)); it never applies to a good no rule covers."""

    for_: HsSetExpr | None = None
    except_: HsSetExpr | None = None
    title: str | None = None
    from_: date | None = None
    until: date | None = None
    when: Node | None = None
    lines: tuple[Line, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Deemed(_Lines):
    """``deemed originating [TITLE] for HS-SET [except HS-SET] [when COND] { cite ... }``:
    goods of the listed codes are originating whatever else the agreement says (USMCA
    Art. 2.10, HTSUS GN11(p): "Notwithstanding any other provisions of this note ... shall
    be deemed to be originating goods when imported ... from another USMCA country"). The
    body holds citations only; the condition is typically ``imported_from in [...]``."""

    for_: HsSetExpr
    except_: HsSetExpr | None = None
    title: str | None = None
    from_: date | None = None
    until: date | None = None
    when: Node | None = None
    lines: tuple[Line, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SubLimit:
    """``of which elastomeric <= 7% [of BASE]`` after a de minimis line's share: of the
    materials the line forgives, those the BOM flags ``flag`` (``materials[i].elastomeric``)
    may total at most ``share`` of ``base`` (the line's own base when None)."""

    flag: str  # "elastomeric"
    share: Percent
    base: Base | None = None
    op: str = "<="
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DeMinimis:
    """``de_minimis value <= 10% of transaction_value [of which elastomeric <= 7% [of BASE]]
    [for S] [except S] [exclude F]``. A line whose base is ``component_weight`` measures the
    component of the good that determines its classification: it weighs the failing
    materials declared in that component (``materials[i].in_component``) and disregards
    those declared outside it."""

    measure: str  # "value" | "weight"
    share: Percent
    base: Base | None
    for_: HsSetExpr | None = None
    except_: HsSetExpr | None = None
    exclude: Node | None = None
    op: str = "<="
    span: Span = _span()
    of_which: SubLimit | None = None


@dataclass(frozen=True, slots=True)
class PartiesDecl:
    countries: WordList
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Effective:
    on: date
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class HsVersion:
    year: int
    span: Span = _span()


Member = PartiesDecl | Effective | HsVersion | Cite | DeMinimis | SetDecl | Rule | Require | Fallback | Deemed


@dataclass(frozen=True, slots=True)
class _Body:
    """Shared accessors of agreements and scenarios over their ordered members."""

    def _all(self, kind: type) -> tuple:
        return tuple(m for m in self.members if isinstance(m, kind))  # type: ignore[attr-defined]

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._all(Rule)

    @property
    def requires(self) -> tuple[Require, ...]:
        return self._all(Require)

    @property
    def fallbacks(self) -> tuple[Fallback, ...]:
        return self._all(Fallback)

    @property
    def deemed(self) -> tuple[Deemed, ...]:
        return self._all(Deemed)

    @property
    def sets(self) -> tuple[SetDecl, ...]:
        return self._all(SetDecl)

    @property
    def de_minimis(self) -> tuple[DeMinimis, ...]:
        return self._all(DeMinimis)

    @property
    def cites(self) -> tuple[str, ...]:
        return tuple(c.text for c in self._all(Cite))

    @property
    def parties(self) -> PartiesDecl | None:
        found = self._all(PartiesDecl)
        return found[0] if found else None

    @property
    def effective(self) -> date | None:
        found = self._all(Effective)
        return found[0].on if found else None


@dataclass(frozen=True, slots=True)
class Agreement(_Body):
    name: str
    members: tuple[Member, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Scenario(_Body):
    name: str
    base: str
    members: tuple[Member, ...] = ()
    base_span: Span = _span()
    span: Span = _span()


TopLevel = Agreement | Scenario | SetDecl


@dataclass(frozen=True, slots=True)
class Module:
    """One ``.roo`` file: its declarations in order and its comments."""

    items: tuple[TopLevel, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    file: str = field(default="<string>", compare=False)
    source: str = field(default="", compare=False, repr=False)
