"""A deliberately plain second evaluator, written from docs/language.md and docs/bom.md.

In: the resolved programs of a rulebook (``semantics.resolve.build_programs``: scenario
chains flattened and set names resolvable; that is name resolution, not evaluation), a
:class:`~origin_rules.model.bom.BOM`, the name of an agreement or scenario and a date.
Out: a :class:`Result`: the verdict, the exact figures (product figures, VNM, VOM), the exact
RVC / MaxNOM percentages of every percentage criterion it evaluated, and the missing fields.

It shares no code with ``origin_rules.engine``: no index, no compilation, no traces. Rules
are found by scanning every rule of the program; criteria are interpreted by walking the
AST with Kleene three-valued logic; sums are intervals of exact ``Fraction`` values (a
missing amount makes the upper end unbounded). It is slow on purpose and meant only for
differential tests against the compiled evaluator.

Readings of the spec it implements (where docs/language.md is silent, the project's choice as
stated in the engine's docstrings or the lead's brief):

* Not in force (date before ``effective``): ``does_not_qualify``, no figures.
* Sub-assemblies (a material with materials of its own, packing for shipment dropped) are
  determined first under the same program; one counts as originating iff it qualifies
  (roll-up); a material of kind ``indirect`` always counts as originating. One whose own
  verdict is ``insufficient_data`` is undetermined: the good is determined in every world
  (each undetermined sub-assembly originating or not); one verdict in all worlds stands,
  otherwise ``insufficient_data``. Figures are those of the world where every undetermined
  sub-assembly is non-originating (VNM includes materials of undetermined origin). A
  sub-assembly is produced where its ``origin`` says (else where its parent is; when
  neither is known, the missing field is its ``origin``); it inherits ``end_use``.
* Produced outside the parties: ``does_not_qualify`` whatever else holds.
* Wholly obtained, or made only of originating materials (at least one material): the PSR
  is not consulted; requirements still hold in every case.
* The rule for a code: among rules in force on the date, those whose selector covers the
  code at the most specific level; among them, in order, the first whose ``when`` holds.
  When a ``when`` is unknown, every rule that could apply is evaluated, and so is the
  possibility that none applies (no fallback after it); if all give one verdict it stands,
  otherwise the verdict is ``insufficient_data`` naming the facts.
* No rule covers the code: ``no_rule`` (unless wholly obtained / only originating).
* A requirement is an implication ``(for covers hs and when) -> body``.
* Tariff shift: every non-originating material of kind ``direct`` must be classified in one
  of the sources and outside ``except``; no HS code fails it. Codes too coarse to tell are
  unknown, unless the digits they have already decide (``84`` is another subheading than
  ``8708.30``).
* De minimis: each line whose ``for``/``except`` admit the good may save a failing shift
  (any one suffices): no failing material matches its ``exclude`` and the failing
  materials' value (or weight) is at most the share of the base (default base:
  ``transaction_value`` for ``value``, the good's ``weight`` for ``weight``). A scenario's
  lines replace the base's.
* A product figure a criterion needs and the BOM lacks (or zero, as the base of a
  percentage) is missing: the criterion is unknown. Material amounts are intervals, so a
  missing amount matters only when it could change the outcome. A sum compared with a
  share of another sum of the same measure (``value(originating and hs in S) >= 70% of
  value(hs in S)``) is decided material by material over every assumption about the facts
  it lacks (its origin, whether its code is in a set), a fact shared by both filters taking
  one value.
* ``weight(polymer of F)`` adds up each material's declared ``polymer_weight_kg``; a
  material that does not declare it has some polymer content between 0 and its weight
  (unbounded when the weight is missing too), never a guess: the missing field is named
  only when the outcome depends on it. Against a sum of weights or of polymer contents the
  comparison is decided jointly, material by material, over 0 <= polymer <= weight.
* Unknown ``originating`` is non-originating; ``performed`` with no processes listed is
  unknown; set names are resolved where the line that uses them was written (lexically);
  ``parties`` means the parties of the program being evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import product

from origin_rules.model import ast
from origin_rules.model.hs import Level, nomenclature
from origin_rules.model.bom import BOM, DeclaredFact, Material

FIGURE_FIELD = {
    "transaction_value": "transaction_value", "net_cost": "net_cost", "total_cost": "total_cost",
    "fob": "fob", "ex_works": "ex_works", "weight": "weight_kg", "component_weight": "component_weight_kg",
}
PRODUCT_FIGURES = ("transaction_value", "net_cost", "total_cost", "fob", "ex_works")
INF = None  # an unbounded upper end of an interval


# ---- three-valued results carrying the fields that left them unknown -----------------------


@dataclass(frozen=True)
class K:
    """A Kleene truth value; ``missing`` is meaningful only when ``value`` is None."""

    value: bool | None
    missing: frozenset[str] = frozenset()


TRUE, FALSE = K(True), K(False)


def unknown(*fields: str) -> K:
    return K(None, frozenset(fields))


def k_and(items) -> K:
    items = list(items)
    if any(i.value is False for i in items):
        return FALSE
    unknowns = [i for i in items if i.value is None]
    if unknowns:
        return K(None, frozenset().union(*(i.missing for i in unknowns)))
    return TRUE


def k_or(items) -> K:
    items = list(items)
    if any(i.value is True for i in items):
        return TRUE
    unknowns = [i for i in items if i.value is None]
    if unknowns:
        return K(None, frozenset().union(*(i.missing for i in unknowns)))
    return FALSE


def k_not(item: K) -> K:
    return item if item.value is None else K(not item.value)


# ---- the good, as read from the BOM ------------------------------------------------------


@dataclass
class Item:
    """A material line (shipping packing already dropped)."""

    path: str
    hs: str | None  # digits
    origin: str | None
    declared: bool | None
    value: Decimal | None
    weight: Decimal | None
    kind: str
    material: Material
    children: list["Item"]
    originating: bool = False
    within: str | None = None  # digits of the good this material goes into
    within_field: str = "product.hs"


@dataclass
class Good:
    prefix: str
    hs: str | None
    produced_in: str | None
    figures: dict[str, Decimal | None]
    end_use: str | None
    processes: list[tuple[str, str | None]]
    wholly: bool
    items: list[Item]
    where_field: str = "product.produced_in"  # the BOM field that says where it is made
    facts: dict = field(default_factory=dict)  # name -> bom.DeclaredFact
    imported_from: str | None = None  # the product's; a sub-assembly is never imported

    def path(self, name: str) -> str:
        if name == "produced_in":
            return self.where_field
        return f"{self.prefix}.{name}"


def _digits(text: str | None) -> str | None:
    return text.replace(".", "") if text else None


def _item(m: Material, path: str, within: str | None = None, within_field: str = "product.hs") -> Item:
    children = [
        _item(c, f"{path}.materials[{i}]", _digits(m.hs), f"{path}.hs")
        for i, c in enumerate(m.materials) if c.kind != "shipping_packing"
    ]
    origin = None if m.origin in (None, "unknown") else m.origin
    item = Item(path, _digits(m.hs), origin, m.originating, m.value, m.weight_kg, m.kind, m, children,
                within=within, within_field=within_field)
    item.originating = m.kind == "indirect" or m.originating is True
    return item


def material_facts(m: Material) -> dict:
    """A material's declared facts and its yes/no flag, never missing."""
    return {**m.facts, "provided_as_part": DeclaredFact("yes" if m.provided_as_part else "no")}


def _flag(item: Item, name: str) -> K:
    """A material's yes/no/undeclared flag (``in_component``, ``elastomeric``) as a truth value."""
    v = getattr(item.material, name)
    return unknown(f"{item.path}.{name}") if v is None else K(v)


def _share_within(good: "Good", share: ast.Percent, base_name: str, counted: list, attr: str, amount_field: str,
                  nothing_is_within: bool = False) -> K:
    """Whether the materials counted (each with whether it counts) total at most the share of
    the base: sure ones form the lower bound, possible ones the upper. ``nothing_is_within``:
    an empty upper bound (0) is within any base, known or not."""
    lo, hi, fields = Fraction(0), Fraction(0), set()
    for item, f in counted:
        amount = getattr(item, attr)
        if f.value is None:
            fields |= f.missing
        if amount is None:
            fields.add(f"{item.path}.{amount_field}")
            hi = INF
            continue
        if f.value is True:
            lo += Fraction(amount)
        if hi is not INF:
            hi += Fraction(amount)
    if nothing_is_within and hi is not INF and hi == 0:
        return TRUE
    base = good.figures[base_name]
    if base is None and base_name == "component_weight" and good.figures["weight"] is not None:
        # the component is part of the good: over the share of the good's weight is over its share
        if lo > Fraction(share.value) * Fraction(good.figures["weight"]) / 100:
            return FALSE
    if base is None:
        return unknown(good.path(FIGURE_FIELD[base_name]), *(fields if lo != hi else ()))
    limit = Fraction(share.value) * Fraction(base) / 100
    if hi is not INF and hi <= limit:
        return TRUE
    if lo > limit:
        return FALSE
    return unknown(*fields)


def good_of(bom: BOM) -> Good:
    p = bom.product
    return Good(
        prefix="product",
        hs=_digits(p.hs),
        produced_in=p.produced_in,
        figures={name: getattr(p, FIGURE_FIELD[name]) for name in FIGURE_FIELD},
        end_use=p.end_use,
        processes=[(pr.name, pr.country) for pr in p.processes],
        wholly=p.wholly_obtained,
        items=[_item(m, f"materials[{i}]", _digits(p.hs)) for i, m in enumerate(bom.materials)
               if m.kind != "shipping_packing"],
        # the product's yes/no flags are facts that are never missing
        facts={**p.facts, "retail_set": DeclaredFact("yes" if p.retail_set else "no"),
               "imported_unassembled": DeclaredFact("yes" if p.imported_unassembled else "no"),
               "packaging_only": DeclaredFact("yes" if p.packaging_only else "no"),
               "diluted_only": DeclaredFact("yes" if p.diluted_only else "no")},
        imported_from=p.imported_from,
    )


def good_of_item(item: Item, parent: Good) -> Good:
    m = item.material
    return Good(
        prefix=item.path,
        hs=item.hs,
        produced_in=item.origin or parent.produced_in,
        figures={name: getattr(m, FIGURE_FIELD[name]) for name in FIGURE_FIELD},
        end_use=m.end_use if m.end_use is not None else parent.end_use,
        processes=[(pr.name, pr.country) for pr in m.processes],
        wholly=m.wholly_obtained,
        items=item.children,
        where_field=f"{item.path}.origin",
        # a sub-assembly as a good: neither a retail set nor imported unassembled
        facts={**m.facts, "retail_set": DeclaredFact("no"), "imported_unassembled": DeclaredFact("no"),
               "packaging_only": DeclaredFact("no"), "diluted_only": DeclaredFact("no")},
    )


def leaves(items: list[Item]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        if item.children:
            out.extend(leaves(item.children))
        else:
            out.append(item)
    return out


# ---- HS codes ------------------------------------------------------------------------------


def hs_items(program, expr: ast.HsSetExpr) -> list[tuple[str, str]]:
    """An HS set as (low, high) digit pairs; a single code is (code, code)."""
    out = []
    for item in program.hs_set(expr).items:
        if hasattr(item, "low"):
            out.append((item.low.digits, item.high.digits))
        else:
            out.append((item.digits, item.digits))
    return out


def covers(pairs, code: str) -> bool:
    """Whether a set certainly covers a code."""
    return any(len(code) >= len(lo) and lo <= code[: len(lo)] <= hi for lo, hi in pairs)


def member(pairs, code: str) -> bool | None:
    """True / False, or None when the code is too coarse to tell."""
    maybe = False
    for lo, hi in pairs:
        n = len(lo)
        if len(code) >= n:
            if lo <= code[:n] <= hi:
                return True
        elif lo[: len(code)] <= code <= hi[: len(code)]:
            maybe = True
    return None if maybe else False


# ---- the result ----------------------------------------------------------------------------


@dataclass
class Result:
    verdict: str
    figures: dict[str, Decimal] = field(default_factory=dict)
    percentages: dict[str, set[Fraction]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()


def evaluate(programs: dict, bom: BOM, under: str, as_of: date) -> Result:
    """Determine a BOM under the agreement or scenario ``under`` as of ``as_of``."""
    return Evaluation(programs, programs[under], as_of).determine(good_of(declared_under(bom, programs[under].chain)))


def declared_under(bom: BOM, chain) -> BOM:
    """The BOM with each material's ``originating`` read for one agreement: a list names
    the agreements it originates under, a mapping gives each one's status (a scenario takes
    its own entry, else its agreement's; case-insensitive); true/false/null hold for all."""
    names = [n.lower() for n in chain]

    def status(declared):
        if declared is None or isinstance(declared, bool):
            return declared
        if isinstance(declared, tuple):
            return any(n.lower() in names for n in declared)
        table = {k.lower(): v for k, v in declared.items()}
        return next((table[n] for n in names if n in table), None)

    def fix(m: Material) -> Material:
        return m.model_copy(update={"originating": status(m.originating), "materials": tuple(map(fix, m.materials))})

    return bom.model_copy(update={"materials": tuple(map(fix, bom.materials))})


def percentage_of(programs: dict, bom: BOM, under: str, as_of: date, name: str) -> Fraction | None:
    """The exact value of a percentage figure by name (not ``focused_value``), or None."""
    ev = Evaluation(programs, programs[under], as_of)
    good = good_of(declared_under(bom, programs[under].chain))
    if programs[under].effective is not None and as_of < programs[under].effective:
        return None
    ev.roll_up(good)
    if name.startswith("max_nom_"):
        return ev.percentage(good, "max_nom", name[len("max_nom_"):], None, None)[0]
    for method in ("transaction_value", "net_cost"):
        if name == f"rvc_{method}":
            return ev.percentage(good, method, method, None, None)[0]
    for method in ("build_down", "build_up"):
        if name.startswith(f"rvc_{method}_"):
            return ev.percentage(good, method, name[len(f"rvc_{method}_"):], None, None)[0]
    return None


class Evaluation:
    def __init__(self, programs: dict, program, as_of: date):
        self.programs = programs
        self.program = program
        self.as_of = as_of
        self.evaluated: dict[str, set[Fraction]] = {}

    # ---- names -----------------------------------------------------------------------------

    def scope(self, layer: str):
        return self.programs[layer]

    def countries(self, layer: str, expr) -> frozenset[str]:
        if isinstance(expr, ast.Parties):
            return self.program.parties
        return self.scope(layer).countries(expr)

    @staticmethod
    def in_force(node, on: date) -> bool:
        return (node.from_ is None or node.from_ <= on) and (node.until is None or on <= node.until)

    # ---- the determination ------------------------------------------------------------------

    def roll_up(self, good: Good) -> list[tuple[Item, Result]]:
        """Determine the sub-assemblies; return those left undetermined (and non-originating)."""
        doubtful = []
        for item in good.items:
            if item.children:
                sub = Evaluation(self.programs, self.program, self.as_of).determine(good_of_item(item, good))
                item.originating = item.kind == "indirect" or sub.verdict == "qualifies"
                if item.kind != "indirect" and sub.verdict == "insufficient_data":
                    doubtful.append((item, sub))
        return doubtful

    def determine(self, good: Good) -> Result:
        program = self.program
        if program.effective is not None and self.as_of < program.effective:
            return Result("does_not_qualify")
        doubtful = self.roll_up(good)
        worlds = []
        for flags in product((False, True), repeat=len(doubtful)):
            for (item, _), flag in zip(doubtful, flags):
                item.originating = flag
            worlds.append(Evaluation(self.programs, program, self.as_of).determine_in_world(good))
        for item, _ in doubtful:
            item.originating = False
        pessimistic = worlds[0]
        verdicts = {w.verdict for w in worlds}
        if len(verdicts) == 1:
            verdict = verdicts.pop()
            missing = frozenset().union(*(w.missing for w in worlds))
        else:
            verdict = "insufficient_data"
            missing = frozenset().union(
                *(sub.missing for _, sub in doubtful), *(w.missing for w in worlds if w.verdict == verdict)
            )
        # `deemed originating` (GN11(p)): notwithstanding everything above, for the product only
        deemed = self.deemed(good) if good.prefix == "product" else FALSE
        if deemed.value is True:
            verdict, missing = "qualifies", frozenset()
        elif deemed.value is None and verdict != "qualifies":
            missing = (missing if verdict == "insufficient_data" else frozenset()) | deemed.missing
            verdict = "insufficient_data"
        return Result(verdict, pessimistic.figures, pessimistic.percentages, missing)

    def deemed(self, good: Good) -> K:
        """Whether a `deemed originating` statement admits the good: its codes (``for``
        minus ``except``; unknown for a coarser code) and its condition."""
        results = []
        for placed in self.program.deemed:
            d: ast.Deemed = placed.node
            if not self.in_force(d, self.as_of):
                continue
            pairs = []
            for expr, want in ((d.for_, True), (d.except_, False)):
                if expr is None:
                    continue
                r = None if good.hs is None else member(hs_items(self.scope(placed.layer), expr), good.hs)
                k = K(r, frozenset({good.path("hs")}) if r is None else frozenset())
                pairs.append(k if want else k_not(k))
            results.append(k_and([*pairs, self.condition(placed.layer, d.when, good)]))
        return k_or(results)

    def determine_in_world(self, good: Good) -> Result:
        """Determine a good whose sub-assemblies are already counted one way or the other."""
        program = self.program
        figures = {n: good.figures[n] for n in PRODUCT_FIGURES if good.figures[n] is not None}
        for name, wanted in (("vnm", False), ("vom", True)):
            values = [i.value for i in good.items if i.originating is wanted]
            if all(v is not None for v in values):
                figures[name] = sum(values, Decimal(0))

        if good.produced_in is None:
            territory = unknown(good.path("produced_in"))
        else:
            territory = K(good.produced_in in program.parties)
        if territory.value is False:
            return Result("does_not_qualify", figures, {})

        requires = [r for r in (self.requirement(p, good) for p in program.requires) if r is not None]

        only_originating = bool(good.items) and all(i.originating for i in good.items)
        if good.wholly or only_originating:
            outcomes = [self.verdict(territory, TRUE, requires)]
            facts: frozenset[str] = frozenset()
        elif good.hs is None:
            outcomes = [self.verdict(territory, unknown(good.path("hs")), requires)]
            facts = frozenset()
        else:
            candidates, facts, none_possible = self.select_rules(good)
            results = [self.rule(p, good) for p in candidates]
            # fallbacks are tried when the rule does not hold (never for a good no rule covers)
            fallback = self.fallback(good) if any(r.value is not True for r in results) else FALSE
            outcomes = [self.verdict(territory, k_or([r, fallback]), requires) for r in results]
            if none_possible:
                outcomes.append(("no_rule", frozenset()))

        verdicts = {v for v, _ in outcomes}
        if verdicts == {"does_not_qualify", "no_rule"}:  # not qualifying, whichever rule (or none) applies
            verdicts = {"does_not_qualify"}
        if len(verdicts) == 1:
            verdict = verdicts.pop()
            missing = frozenset().union(*(m for _, m in outcomes)) if verdict == "insufficient_data" else frozenset()
        else:
            verdict = "insufficient_data"
            missing = facts.union(*(m for v, m in outcomes if v == "insufficient_data"))
        return Result(verdict, figures, self.evaluated, missing)

    @staticmethod
    def verdict(territory: K, origin: K, requires: list[K]) -> tuple[str, frozenset[str]]:
        final = k_and([territory, origin, *requires])
        word = {True: "qualifies", False: "does_not_qualify", None: "insufficient_data"}[final.value]
        return word, final.missing

    def requirement(self, placed, good: Good) -> K | None:
        req: ast.Require = placed.node
        if not self.in_force(req, self.as_of):
            return None
        if req.for_ is None:
            covered = TRUE
        elif good.hs is None:
            covered = unknown(good.path("hs"))
        else:
            r = member(hs_items(self.scope(placed.layer), req.for_), good.hs)
            covered = K(r, frozenset({good.path("hs")}) if r is None else frozenset())
        applies = k_and([covered, self.condition(placed.layer, req.when, good)])
        if applies.value is False:
            return None
        body = k_and([self.criterion(placed.layer, c, good) for c in req.criteria])
        return k_or([k_not(applies), body])

    def fallback(self, good: Good) -> K:
        """Whether one of the agreement's fallbacks makes the good originate (tried when its
        rule does not hold; ``k_or`` with the rule's result says exactly that)."""
        results = []
        for placed in self.program.fallbacks:
            fb: ast.Fallback = placed.node
            if not self.in_force(fb, self.as_of):
                continue
            pairs = []
            for expr, want in ((fb.for_, True), (fb.except_, False)):
                if expr is None:
                    continue
                r = member(hs_items(self.scope(placed.layer), expr), good.hs)
                k = K(r, frozenset({good.path("hs")}) if r is None else frozenset())
                pairs.append(k if want else k_not(k))
            applies = k_and([*pairs, self.condition(placed.layer, fb.when, good)])
            if applies.value is False:
                continue
            results.append(k_and([applies, *(self.criterion(placed.layer, c, good) for c in fb.criteria)]))
        return k_or(results)

    def select_rules(self, good: Good):
        """(rules that could apply, facts their `when` lack, whether possibly none applies).

        A code coarser than some rule's selector could be any of the finer codes: the
        candidates of each finer code together, and the good's code is a lacking fact."""
        worlds = self.finer_worlds(good.hs)
        if worlds is None:
            return self.select_at(good.hs, good)
        candidates: list = []
        facts = frozenset({good.path("hs")})
        none_possible = False
        for code in worlds:
            found, lacking, none = self.select_at(code, good)
            candidates.extend(p for p in found if all(p is not c for c in candidates))
            facts = facts | lacking
            none_possible = none_possible or none
        order = {id(p): i for i, p in enumerate(self.program.rules)}
        candidates.sort(key=lambda p: order[id(p)])
        return candidates, facts, none_possible

    def finer_worlds(self, code: str) -> list[str] | None:
        """The finer codes a good of ``code`` could have, or None if no rule is finer."""
        finer: set[str] = set()
        for placed in self.program.rules:
            if not self.in_force(placed.node, self.as_of):
                continue
            for lo, hi in hs_items(self.scope(placed.layer), placed.node.selector):
                n = len(code)
                if len(lo) <= n or not lo[:n] <= code <= hi[:n]:
                    continue
                low, high = int(lo), int(hi)
                if high - low <= 10_000:
                    finer.update(k for k in (str(v).zfill(len(lo)) for v in range(low, high + 1)) if k.startswith(code))
                else:
                    finer.update(k for k in (lo, hi) if k.startswith(code))
                    if not lo.startswith(code):
                        finer.add(code.ljust(len(lo), "0"))
        if not finer:
            return None
        worlds = set(finer)
        if len(code) < 6:
            worlds.update(c.digits for c in nomenclature().codes(Level.SUBHEADING) if c.digits.startswith(code))
        else:
            worlds.add(code)
        return sorted(worlds)

    def select_at(self, code: str, good: Good):
        found = []
        for placed in self.program.rules:
            rule: ast.Rule = placed.node
            if not self.in_force(rule, self.as_of):
                continue
            pairs = hs_items(self.scope(placed.layer), rule.selector)
            levels = [len(lo) for lo, hi in pairs if covers([(lo, hi)], code)]
            if levels:
                found.append((max(levels), placed))
        if not found:
            return [], frozenset(), True
        best = max(level for level, _ in found)
        candidates, facts = [], frozenset()
        for level, placed in found:
            if level != best:
                continue
            when = self.condition(placed.layer, placed.node.when, good)
            if when.value is True:
                return candidates + [placed], facts, False
            if when.value is None:
                candidates.append(placed)
                facts = facts | when.missing
        return candidates, facts, True

    def rule(self, placed, good: Good) -> K:
        return k_and([self.criterion(placed.layer, c, good) for c in placed.node.criteria])

    # ---- conditions on the good ---------------------------------------------------------------

    def condition(self, layer: str, node, good: Good) -> K:
        if node is None:
            return TRUE
        if isinstance(node, ast.And):
            return k_and([self.condition(layer, o, good) for o in node.operands])
        if isinstance(node, ast.Or):
            return k_or([self.condition(layer, o, good) for o in node.operands])
        if isinstance(node, ast.Not):
            return k_not(self.condition(layer, node.operand, good))
        assert isinstance(node, ast.FactIn), node
        if node.fact in ("end_use", "produced_in", "imported_from"):
            value = getattr(good, node.fact)
        else:  # a declared fact: a word, in force on the date of the determination
            fact = good.facts.get(node.fact)
            in_force = fact is not None and (fact.start is None or fact.start <= self.as_of) and (
                fact.end is None or self.as_of <= fact.end)
            value = fact.value if in_force and isinstance(fact.value, str) else None
            if value is None:
                return unknown(f"{good.prefix}.facts.{node.fact}")
        if value is None:
            return unknown(good.path(node.fact))
        return K(value in self.countries(layer, node.values))

    # ---- criteria -------------------------------------------------------------------------------

    def criterion(self, layer: str, node, good: Good) -> K:
        if isinstance(node, ast.And):
            return k_and([self.criterion(layer, o, good) for o in node.operands])
        if isinstance(node, ast.Or):
            return k_or([self.criterion(layer, o, good) for o in node.operands])
        if isinstance(node, ast.Not):
            return k_not(self.criterion(layer, node.operand, good))
        if isinstance(node, ast.WhollyObtained):
            return K(good.wholly)
        if isinstance(node, ast.Performed):
            return self.performed(layer, node, good)
        if isinstance(node, ast.Change):
            return self.change(layer, node, good)
        assert isinstance(node, ast.Comparison), node
        if isinstance(node.measure, ast.Sum):
            return self.sum_comparison(layer, node, good)
        if isinstance(node.measure, ast.FactValue):
            fact = good.facts.get(node.measure.name)
            usable = fact is not None and not isinstance(fact.value, str) and (
                fact.start is None or fact.start <= self.as_of) and (fact.end is None or self.as_of <= fact.end)
            if not usable:
                return unknown(f"{good.prefix}.facts.{node.measure.name}")
            a, b = Fraction(fact.value), Fraction(node.share.value)
            return K({">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b}[node.op])
        return self.percent_comparison(layer, node, good)

    def performed(self, layer: str, node: ast.Performed, good: Good) -> K:
        if not good.processes:
            return unknown(good.path("processes"))
        wanted = " ".join(node.process.lower().split())
        where = self.countries(layer, node.where)
        found = [c for name, c in good.processes if " ".join(name.lower().split()) == wanted]
        if any(c in where for c in found if c is not None):
            return TRUE
        if any(c is None for c in found):
            return unknown(good.path("processes"))
        return FALSE

    # ---- the tariff shift ---------------------------------------------------------------------------

    def fails_shift(self, layer: str, node: ast.Change, good: Good, item: Item) -> K:
        """Whether a material fails the shift (False for those the shift does not test)."""
        if item.originating or item.kind != "direct":
            return FALSE
        if item.hs is None:
            return TRUE
        program = self.scope(layer)
        hs_field = f"{item.path}.hs"
        sources = []
        for source in node.sources:
            if isinstance(source, ast.AnyOther):
                n = int(source.level)
                g = good.hs or ""
                k = min(len(item.hs), n, len(g))
                if item.hs[:k] != g[:k]:
                    sources.append(TRUE)
                elif len(item.hs) >= n and len(g) >= n:
                    sources.append(FALSE)
                else:
                    fields = set()
                    if len(item.hs) < n:
                        fields.add(hs_field)
                    if len(g) < n:
                        fields.add(good.path("hs"))
                    sources.append(unknown(*fields))
            elif isinstance(source, ast.Where):  # its codes, and only materials declaring the fact
                r = member(hs_items(program, ast.HsSetExpr((source.item,))), item.hs)
                codes = K(r, frozenset({hs_field}) if r is None else frozenset())
                fact = material_facts(item.material).get(source.fact)
                if fact is None or not isinstance(fact.value, str):
                    declared = unknown(f"{item.path}.facts.{source.fact}")
                else:
                    declared = K(fact.value in {w.text for w in source.values.words})
                sources.append(k_and([codes, declared]))
            else:
                r = member(hs_items(program, ast.HsSetExpr((source,))), item.hs)
                sources.append(K(r, frozenset({hs_field}) if r is None else frozenset()))
        if node.except_ is None:
            excepted = FALSE
        else:
            r = member(hs_items(program, node.except_), item.hs)
            excepted = K(r, frozenset({hs_field}) if r is None else frozenset())
        return k_not(k_and([k_or(sources), k_not(excepted)]))

    def change(self, layer: str, node: ast.Change, good: Good) -> K:
        fails = [(item, self.fails_shift(layer, node, good, item)) for item in good.items]
        if node.except_groups:
            fails = self.fails_groups(layer, node, fails)
        shift = k_and([k_not(f) for _, f in fails])
        if shift.value is True:
            return TRUE
        policies = [self.de_minimis(p, good, fails) for p in self.program.de_minimis]
        return k_or([shift, *policies])

    def fails_groups(self, layer: str, node: ast.Change, fails: list[tuple[Item, K]]) -> list[tuple[Item, K]]:
        """``except more than one of (A), (B), ...``: a material of a listed group also fails
        when two different groups are used (then every material of every group used fails)."""
        program = self.scope(layer)

        def inside(item: Item, expr) -> K:
            if item.originating or item.kind != "direct" or item.hs is None:
                return FALSE
            r = member(hs_items(program, expr), item.hs)
            return K(r, frozenset({f"{item.path}.hs"}) if r is None else frozenset())

        rows = [[inside(item, g) for g in node.except_groups] for item, _ in fails]
        n = len(node.except_groups)
        used = [k_or(row[j] for row in rows) for j in range(n)]
        two = k_or(k_and([used[a], used[b]]) for a in range(n) for b in range(a + 1, n))
        return [(item, k_or([f, k_and([two, k_or(row)])])) for (item, f), row in zip(fails, rows)]

    def de_minimis(self, placed, good: Good, fails: list[tuple[Item, K]]) -> K:
        dm: ast.DeMinimis = placed.node
        program = self.scope(placed.layer)
        admits = []
        for expr, inside in ((dm.for_, True), (dm.except_, False)):
            if expr is None:
                continue
            if good.hs is None:
                admits.append(unknown(good.path("hs")))
                continue
            r = member(hs_items(program, expr), good.hs)
            k = K(r, frozenset({good.path("hs")}) if r is None else frozenset())
            admits.append(k if inside else k_not(k))
        at_risk = [(item, f) for item, f in fails if f.value is not False]
        component = isinstance(dm.base, ast.Figure) and dm.base.name == "component_weight"
        if component:  # weighs the classifying component only; materials outside it are disregarded
            at_risk = [(item, k_and([f, _flag(item, "in_component")])) for item, f in at_risk]
            at_risk = [(item, f) for item, f in at_risk if f.value is not False]
        not_excluded = TRUE
        if dm.exclude is not None:
            not_excluded = k_and([
                k_or([k_not(f), k_not(self.filter(placed.layer, dm.exclude, item))]) for item, f in at_risk
            ])
        attr, amount_field = ("value", "value") if dm.measure == "value" else ("weight", "weight_kg")
        base_name = dm.base.name if isinstance(dm.base, ast.Figure) else ("transaction_value" if attr == "value" else "weight")
        assert not isinstance(dm.base, ast.Sum), "a de minimis base is a product figure"
        # failing materials that amount to nothing are within any share of any base, given or not
        within = _share_within(good, dm.share, base_name, at_risk, attr, amount_field, nothing_is_within=True)
        sub = TRUE
        if dm.of_which is not None:  # of the materials forgiven, the flagged ones: a second ceiling
            sw = dm.of_which
            sub_base = sw.base.name if isinstance(sw.base, ast.Figure) else base_name
            counted = [(item, k_and([f, _flag(item, sw.flag)])) for item, f in at_risk]
            counted = [(item, k) for item, k in counted if k.value is not False]
            sub = _share_within(good, sw.share, sub_base, counted, attr, amount_field, nothing_is_within=True)
        return k_and([*admits, not_excluded, within, sub])

    # ---- material filters and sums ------------------------------------------------------------------

    def filter(self, layer: str, node, item: Item, world: dict | None = None) -> K:
        """A material filter; ``world`` gives values to facts the material lacks, by key."""
        if node is None:
            return TRUE
        if isinstance(node, ast.And):
            return k_and([self.filter(layer, o, item, world) for o in node.operands])
        if isinstance(node, ast.Or):
            return k_or([self.filter(layer, o, item, world) for o in node.operands])
        if isinstance(node, ast.Not):
            return k_not(self.filter(layer, node.operand, item, world))
        if isinstance(node, ast.IsOriginating):
            return K(item.originating is not node.negated)
        if isinstance(node, ast.OriginIn):
            countries = self.countries(layer, node.countries)
            if item.origin is None:
                key = ("origin", countries)
                if world is not None and key in world:
                    return K(world[key])
                return unknown(f"{item.path}.origin")
            return K(item.origin in countries)
        if isinstance(node, ast.HsIn):
            pairs = tuple(hs_items(self.scope(layer), node.hs))
            r = None if item.hs is None else member(pairs, item.hs)
            if r is None:
                key = ("hs", frozenset(pairs))
                if world is not None and key in world:
                    return K(world[key])
                return unknown(f"{item.path}.hs")
            return K(r)
        if isinstance(node, ast.SameCode):  # in the good's own code at that level
            n = int(node.level)
            a, b = item.hs, item.within
            if a is not None and b is not None and a[:min(n, len(a), len(b))] != b[:min(n, len(a), len(b))]:
                return FALSE
            if a is not None and b is not None and len(a) >= n and len(b) >= n:
                return TRUE
            key = ("same", n)
            if world is not None and key in world:
                return K(world[key])
            return unknown(f"{item.path}.hs" if a is None or len(a) < n else item.within_field)
        if isinstance(node, ast.FactIn):  # a declared fact of the material (a word)
            words = {w.text for w in node.values.words}
            fact = material_facts(item.material).get(node.fact)
            if fact is None or not isinstance(fact.value, str):
                key = ("fact", node.fact, frozenset(words))
                if world is not None and key in world:
                    return K(world[key])
                return unknown(f"{item.path}.facts.{node.fact}")
            return K(fact.value in words)
        assert isinstance(node, ast.KindIn), node
        return K(item.kind in {w.text for w in node.kinds.words})

    def facts_lacking(self, layer: str, node, item: Item, into: dict) -> None:
        """The keys of the facts a filter needs that the material lacks."""
        if node is None:
            return
        if isinstance(node, (ast.And, ast.Or)):
            for o in node.operands:
                self.facts_lacking(layer, o, item, into)
        elif isinstance(node, ast.Not):
            self.facts_lacking(layer, node.operand, item, into)
        elif isinstance(node, ast.OriginIn) and item.origin is None:
            into.setdefault(("origin", self.countries(layer, node.countries)), None)
        elif isinstance(node, ast.HsIn):
            pairs = tuple(hs_items(self.scope(layer), node.hs))
            if item.hs is None or member(pairs, item.hs) is None:
                into.setdefault(("hs", frozenset(pairs)), None)
        elif isinstance(node, ast.SameCode):
            n, a, b = int(node.level), item.hs, item.within
            decided = a is not None and b is not None and (
                a[:min(n, len(a), len(b))] != b[:min(n, len(a), len(b))] or (len(a) >= n and len(b) >= n))
            if not decided:
                into.setdefault(("same", n), None)
        elif isinstance(node, ast.FactIn):
            fact = material_facts(item.material).get(node.fact)
            if fact is None or not isinstance(fact.value, str):
                into.setdefault(("fact", node.fact, frozenset(w.text for w in node.values.words)), None)

    def correlated(self, layer: str, left: ast.Sum, right: ast.Sum, ratio: Fraction, op: str, good: Good) -> bool | None:
        """``SUM(F) op ratio x SUM(G)`` over the same materials: the sign of the sum of
        amount x (f - ratio x g), each material over every assumption about its lacking facts.
        With a part weight on either side, each material's term is c_w x W + c_p x P over
        its weight W and polymer content P (0 <= P <= W, the declared ones fixed)."""
        attr = "value" if left.measure == "value" else "weight"
        with_parts = left.part is not None or right.part is not None
        low = high = Fraction(0)
        low_bounded = high_bounded = True
        lows: list[Fraction] = []
        highs: list[Fraction] = []
        for item in (leaves(good.items) if left.traced else good.items):
            keys: dict = {}
            self.facts_lacking(layer, left.filter, item, keys)
            self.facts_lacking(layer, right.filter, item, keys)
            coefs = []
            for bits in product((False, True), repeat=len(keys)):
                world = dict(zip(keys, bits))
                f = self.filter(layer, left.filter, item, world).value
                g = self.filter(layer, right.filter, item, world).value
                coefs.append((1 if f else 0) - (ratio if g else 0))
                if with_parts:
                    cw = (1 if f and left.part is None else 0) - (ratio if g and right.part is None else 0)
                    cp = (1 if f and left.part is not None else 0) - (ratio if g and right.part is not None else 0)
                    coefs[-1] = (cw, cp)
            if with_parts:
                for cw, cp in coefs:
                    t_lo, t_hi = part_term(item, cw, cp)
                    if t_lo is None:
                        low_bounded = False
                    else:
                        lows.append(t_lo)
                    if t_hi is None:
                        high_bounded = False
                    else:
                        highs.append(t_hi)
                low += min(lows) if lows else 0
                high += max(highs) if highs else 0
                lows, highs = [], []
                continue
            amount = getattr(item, attr)
            if amount is None:
                low_bounded = low_bounded and min(coefs) >= 0
                high_bounded = high_bounded and max(coefs) <= 0
                continue
            low += Fraction(amount) * min(coefs)
            high += Fraction(amount) * max(coefs)
        lo = low if low_bounded else None
        hi = high if high_bounded else None
        if op in (">=", ">"):
            if lo is not None and (lo > 0 if op == ">" else lo >= 0):
                return True
            if hi is not None and (hi <= 0 if op == ">" else hi < 0):
                return False
        else:
            if hi is not None and (hi < 0 if op == "<" else hi <= 0):
                return True
            if lo is not None and (lo >= 0 if op == "<" else lo > 0):
                return False
        return None

    def total(self, layer: str, node: ast.Sum, good: Good):
        """``value(F)`` / ``weight(F)`` as an interval (lo, hi or INF) and its uncertain fields."""
        attr, amount_field = ("value", "value") if node.measure == "value" else ("weight", "weight_kg")
        items = leaves(good.items) if node.traced else good.items
        lo, hi, fields = Fraction(0), Fraction(0), set()
        for item in items:
            f = self.filter(layer, node.filter, item)
            if f.value is False:
                continue
            fields |= f.missing
            if node.part is not None:  # the polymer content: declared, else between 0 and the weight
                declared = item.material.polymer_weight_kg
                p_lo = Fraction(declared) if declared is not None else Fraction(0)
                p_hi = Fraction(declared) if declared is not None else (
                    INF if item.weight is None else Fraction(item.weight))
                if p_hi is INF or p_hi != p_lo:
                    fields.add(f"{item.path}.polymer_weight_kg")
                if f.value is True:
                    lo += p_lo
                hi = INF if hi is INF or p_hi is INF else hi + p_hi
                continue
            amount = getattr(item, attr)
            if amount is None:
                fields.add(f"{item.path}.{amount_field}")
                hi = INF
                continue
            if f.value is True:
                lo += Fraction(amount)
            if hi is not INF:
                hi += Fraction(amount)
        return lo, hi, fields

    def sum_comparison(self, layer: str, node: ast.Comparison, good: Good) -> K:
        lo, hi, fields = self.total(layer, node.measure, good)
        if lo == hi:
            fields = set()
        if node.share.value == 0:  # 0% of any base is 0, whatever the base is
            return compare_intervals(node.op, lo, hi, Fraction(0), Fraction(0), fields)
        if isinstance(node.base, ast.Figure):
            value = good.figures[node.base.name]
            if value is None:  # some amount >= 0: a total of 0 is within any share of it
                fields = fields | {good.path(FIGURE_FIELD[node.base.name])}
                b_lo, b_hi = Fraction(0), INF
            else:
                b_lo = b_hi = Fraction(value)
        else:
            b_lo, b_hi, b_fields = self.total(layer, node.base, good)
            if b_lo != b_hi:
                fields |= b_fields
        share = Fraction(node.share.value) / 100
        limit_lo = share * b_lo
        limit_hi = INF if b_hi is INF else share * b_hi
        result = compare_intervals(node.op, lo, hi, limit_lo, limit_hi, fields)
        base = node.base
        same_amount = isinstance(base, ast.Sum) and (
            (base.measure, base.part) == (node.measure.measure, node.measure.part)
            or (base.measure == node.measure.measure == "weight"))  # a weight and a part of it
        if result.value is None and same_amount and base.traced == node.measure.traced:
            decided = self.correlated(layer, node.measure, base, share, node.op, good)
            if decided is not None:
                return K(decided)
        return result

    # ---- RVC and MaxNOM ---------------------------------------------------------------------------------

    def percentage(self, good: Good, method: str, basis: str, focus, layer):
        """(exact percentage or None, interval of the amount, uncertain fields, basis value)."""
        fields: set[str] = set()
        lo, hi = Fraction(0), Fraction(0)
        for item in good.items:
            if method == "build_up":
                counted = K(item.originating)
            elif item.originating:
                counted = FALSE
            elif focus is None:
                counted = TRUE
            elif item.hs is None:
                counted = unknown(f"{item.path}.hs")
            else:
                r = member(hs_items(self.scope(layer), focus), item.hs)
                counted = K(r, frozenset({f"{item.path}.hs"}) if r is None else frozenset())
            if counted.value is False:
                continue
            fields |= counted.missing
            if item.value is None:
                fields.add(f"{item.path}.value")
                hi = INF
                continue
            if counted.value is True:
                lo += Fraction(item.value)
            if hi is not INF:
                hi += Fraction(item.value)
        whole = good.figures[basis]
        exact = None
        if whole not in (None, 0) and lo == hi:
            exact = self.percent_of(method, Fraction(whole), lo)
        return exact, (lo, hi), fields, whole

    @staticmethod
    def percent_of(method: str, whole: Fraction, amount: Fraction) -> Fraction:
        if method in ("build_up", "max_nom"):
            return amount * 100 / whole
        return (whole - amount) * 100 / whole

    def percent_comparison(self, layer: str, node: ast.Comparison, good: Good) -> K:
        m = node.measure
        if isinstance(m, ast.MaxNom):
            method, basis, focus, name = "max_nom", m.basis, None, f"max_nom_{m.basis}"
        else:
            method = m.method
            basis = m.basis or method
            focus = m.focus
            name = f"rvc_{method}" if method in ("transaction_value", "net_cost") else f"rvc_{method}_{basis}"
        exact, (lo, hi), fields, whole = self.percentage(good, method, basis, focus, layer)
        if exact is not None:
            self.evaluated.setdefault(name, set()).add(exact)
        if focus is not None and lo == hi:
            self.evaluated.setdefault("fvnm", set()).add(lo)
        if lo == hi:
            fields = set()
        if whole is None or whole == 0:
            return unknown(good.path(FIGURE_FIELD[basis]), *fields)
        whole = Fraction(whole)
        # the percentage as an interval: increasing in the amount for build_up and max_nom
        ends = [self.percent_of(method, whole, lo), None if hi is INF else self.percent_of(method, whole, hi)]
        if method in ("build_up", "max_nom"):
            p_lo, p_hi = ends[0], ends[1]
            return compare_intervals(node.op, p_lo, p_hi, Fraction(node.share.value), Fraction(node.share.value), fields)
        # decreasing: (whole - amount) / whole; an unbounded amount has no lower end
        p_hi, p_lo = ends[0], ends[1]
        return compare_down(node.op, p_lo, p_hi, Fraction(node.share.value), fields)


def part_term(item: Item, cw: Fraction, cp: Fraction) -> tuple[Fraction | None, Fraction | None]:
    """The least and greatest of cw x W + cp x P for one material, W its weight and P its
    polymer content, 0 <= P <= W, each fixed when declared (None: unbounded that way)."""
    w, p = item.weight, item.material.polymer_weight_kg
    if w is not None and p is not None:
        v = cw * Fraction(w) + cp * Fraction(p)
        return v, v
    if w is not None:  # P anywhere in [0, W]
        w = Fraction(w)
        ends = (cw * w, cw * w + cp * w)
        return min(ends), max(ends)
    if p is not None:  # W anywhere in [P, oo)
        v = (cw + cp) * Fraction(p)
        return (None if cw < 0 else v), (None if cw > 0 else v)
    # W = P + S with P, S >= 0: cw x S + (cw + cp) x P
    return (None if cw < 0 or cw + cp < 0 else Fraction(0)), (None if cw > 0 or cw + cp > 0 else Fraction(0))


def compare_intervals(op: str, lo, hi, limit_lo, limit_hi, fields) -> K:
    """``[lo, hi] OP [limit_lo, limit_hi]`` (``hi``/``limit_hi`` None: unbounded above)."""
    if op in ("<=", "<"):
        ok = (lambda a, b: a < b) if op == "<" else (lambda a, b: a <= b)
        if hi is not INF and ok(hi, limit_lo):
            return TRUE
        if limit_hi is not INF and not ok(lo, limit_hi):
            return FALSE
    else:
        ok = (lambda a, b: a > b) if op == ">" else (lambda a, b: a >= b)
        if limit_hi is not INF and ok(lo, limit_hi):
            return TRUE
        if hi is not INF and not ok(hi, limit_lo):
            return FALSE
    return unknown(*fields)


def compare_down(op: str, lo, hi, threshold: Fraction, fields) -> K:
    """``[lo, hi] OP threshold`` where ``lo`` None means unbounded below."""
    if op in ("<=", "<"):
        ok = (lambda a, b: a < b) if op == "<" else (lambda a, b: a <= b)
        if ok(hi, threshold):
            return TRUE
        if lo is not None and not ok(lo, threshold):
            return FALSE
    else:
        ok = (lambda a, b: a > b) if op == ">" else (lambda a, b: a >= b)
        if lo is not None and ok(lo, threshold):
            return TRUE
        if not ok(hi, threshold):
            return FALSE
    return unknown(*fields)
