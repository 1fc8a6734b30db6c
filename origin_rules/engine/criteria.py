"""Criteria, filters and conditions compiled to closures.

In: AST nodes of one program (``semantics.resolve.Program``: sets are resolved here, once).
Out: functions. A criterion is ``fn(run) -> Trace`` (three-valued result, explanation,
figures, margins); a material filter is ``fn(part) -> (Tri, missing field or None)``; a
condition on the good is ``fn(good) -> (Tri, missing field or None)``.
Semantics follow docs/language.md; ``engine.tariff_shift`` holds the tariff shift and de minimis.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from itertools import product
from typing import Callable

from ..model import ast
from ..model.hs import HsSet
from . import measures as M
from .codegen import compile_classifier, compile_filter, compile_sum, compile_sum_test
from .percentages import compile_percentage
from .tariff_shift import compile_change
from .trace import Margin, Trace, tri_and, tri_not, tri_or
from .view import Good, Part, declared_word

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


class Texts:
    """Source text of nodes, for explanations: the criterion exactly as its author wrote it."""

    def __init__(self, sources: dict[str, str]):
        self._lines = {f: t.splitlines() for f, t in sources.items()}

    def of(self, span: ast.Span) -> str:
        lines = self._lines.get(span.file)
        if not lines or span.line < 1:
            return ""
        if span.line == span.end_line:
            text = lines[span.line - 1][span.column - 1 : span.end_column - 1]
        else:
            chunk = [lines[span.line - 1][span.column - 1 :]]
            chunk += lines[span.line : span.end_line - 1]
            chunk.append(lines[span.end_line - 1][: span.end_column - 1])
            text = " ".join(c.split("#", 1)[0] if '"' not in c else c for c in chunk)
        return " ".join(text.split())


class Run:
    """The state of one evaluation of one good under one program."""

    __slots__ = ("good", "figures", "margins", "plan", "as_of", "memo", "_shift_parts", "read_de_minimis")

    def __init__(self, good: Good, plan, as_of):
        self.good = good
        self.figures: dict[str, Decimal] = {}
        self.margins: list[Margin] = []
        self.plan = plan
        self.as_of = as_of
        self.memo: dict = {}  # results shared by identical sub-criteria within one evaluation
        self._shift_parts: list[Part] | None = None
        #: whether the plan's de minimis lines were read (``de_minimis``): the one thing of the
        #: plan a criterion reads besides what ``engine.evaluate._rule_traces`` keys a trace by
        self.read_de_minimis = False

    def de_minimis(self) -> list:
        """The plan's de minimis lines for the good (``Plan.de_minimis_for``), noting that
        they were read."""
        self.read_de_minimis = True
        return self.plan.de_minimis_for(self.good.hs)

    def non_originating(self) -> list[Part]:
        """Materials not originating (after kinds and roll-up), in BOM order."""
        found = self.memo.get("non_originating")
        if found is None:
            found = self.memo["non_originating"] = [p for p in self.good.parts if not p.originating]
        return found

    def shift_parts(self) -> list[Part]:
        """The materials a tariff shift tests: non-originating, of kind direct."""
        parts = self._shift_parts
        if parts is None:
            parts = self._shift_parts = [p for p in self.non_originating() if p.kind == "direct"]
        return parts


Criterion = Callable[[Run], Trace]

_COMPARE = {
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
}


def _joint(left: str, right: str) -> bool:
    """Whether two sums weigh amounts of the same materials that can be bounded together:
    the same amount (value and value, weight and weight), or a material's weight and its
    polymer content."""
    return left == right or {left, right} == {"weight", "polymer_weight"}


def always(good: Good, as_of=None) -> tuple[bool, None]:
    """The ``when`` of a line without one: it always applies (the verdict path tests for this
    function to skip the call)."""
    return True, None


class Compiler:
    def __init__(self, program, texts: Texts, layer: str, parties: frozenset[str] | None = None):
        self.program = program  # the scope in which set names are looked up
        self.texts = texts
        self.layer = layer
        self.parties = program.parties if parties is None else parties  # of the program evaluated
        self._compiled: dict[int, tuple[Criterion, object]] = {}

    def where(self, span: ast.Span) -> str:
        return span.where

    # ---- sets -----------------------------------------------------------------------------

    def hs(self, expr: ast.HsSetExpr | None) -> HsSet | None:
        return None if expr is None else self.program.hs_set(expr)

    def countries(self, expr) -> frozenset[str]:
        if isinstance(expr, ast.Parties):
            return self.parties
        return self.program.countries(expr)

    # ---- material filters ----------------------------------------------------------------------

    def filter(self, node) -> Callable[[Part], tuple]:
        """A material filter of the explaining path: ``fn(part) -> (Tri, the missing field
        that leaves it unknown or None)``, generated by ``codegen.compile_filter`` from the
        code the deciding functions inline, the field beside the result."""
        return compile_filter(self, node, explain=True)

    def fast_filter(self, node, worlds: bool = False) -> Callable:
        """The same filter returning only the three-valued result, generated as Python
        source (``codegen.compile_filter``, the code the deciding functions inline). With
        ``worlds``, ``match(p, w, q)``: a leaf unknown for the material (its origin or HS code
        is missing) takes its value from the assumption ``w[key]`` when given, else stays
        unknown and its key is appended to ``q``."""
        return compile_filter(self, node, worlds)

    def fast_sum(self, node: ast.Sum):
        """``value(F)``/``weight(F)`` -> fn(good) -> (low, high or None when unbounded): the
        loop the deciding functions inline (``codegen.compile_sum``)."""
        return compile_sum(self, node)

    def classifier(self, node: ast.Change) -> Callable:
        """A tariff shift by levels only, for a good with a code: ``fn(run, good) -> (failing,
        unknown, missing)``, generated (``codegen.compile_classifier``)."""
        return compile_classifier(self, node)

    def _correlated(self, left: ast.Sum, right: ast.Sum, ratio: Decimal, op: str):
        """``SUM(F) op r x SUM(G)`` over the same materials, with the unknown facts of each
        material shared by both filters: the sign of sum(v x (f - r x g)) is bounded by
        trying every assumption about each material's unknown facts (up to 2^6 each)."""
        fa = self.fast_filter(left.filter, worlds=True)
        fb = self.fast_filter(right.filter, worlds=True)
        use_value = left.measure == "value"
        traced = left.traced
        kinds = (M.amount_kind(left.measure, left.part), M.amount_kind(right.measure, right.part))
        parts_weighed = left.part is not None or right.part is not None

        def decide(good: Good) -> bool | None:
            low = high = ZERO
            bounded_low = bounded_high = True
            for part in (M.traced_leaves(good.parts) if traced else good.parts):
                q: list = []
                a, b = fa(part, {}, q), fb(part, {}, q)
                if a is not None and b is not None:
                    options = [(a, b)]
                else:
                    keys = list(dict.fromkeys(q))
                    if len(keys) > 6:
                        options = [(x, y) for x in (False, True) for y in (False, True)]
                    else:
                        options = []
                        for bits in product((False, True), repeat=len(keys)):
                            w = dict(zip(keys, bits))
                            options.append((fa(part, w, None), fb(part, w, None)))
                if parts_weighed:  # the amounts of the two sides differ, or may be a range
                    vertices, rays = M.region(part, *kinds)
                    pairs = [((ONE if x else ZERO), (-ratio if y else ZERO)) for x, y in options]
                    if any(cx * a + cy * b < 0 for cx, cy in pairs for a, b in rays):
                        bounded_low = False
                    if any(cx * a + cy * b > 0 for cx, cy in pairs for a, b in rays):
                        bounded_high = False
                    ends = [cx * a + cy * b for cx, cy in pairs for a, b in vertices]
                    low += min(ends)
                    high += max(ends)
                    continue
                coefs = [(1 if x else 0) - (ratio if y else 0) for x, y in options]
                amount = part.value if use_value else part.weight
                if amount is None:
                    if min(coefs) < 0:
                        bounded_low = False
                    if max(coefs) > 0:
                        bounded_high = False
                    continue
                low += amount * min(coefs)
                high += amount * max(coefs)
            # d = left - r x right lies in [low, high]; compare d with 0
            strict = op in (">", "<")
            if op in (">=", ">"):
                if bounded_low and (low > 0 if strict else low >= 0):
                    return True
                if bounded_high and (high <= 0 if strict else high < 0):
                    return False
                return None
            if bounded_high and (high < 0 if strict else high <= 0):
                return True
            if bounded_low and (low >= 0 if strict else low > 0):
                return False
            return None

        return decide

    # ---- conditions on the good (when) ------------------------------------------------------------

    def condition(self, node) -> Callable[[Good, object], tuple]:
        """``when``: fn(good, as_of) -> (True/False/None, the field that is missing or None)."""
        if node is None:
            return always
        if isinstance(node, ast.FactIn):
            values = self.countries(node.values)
            fact = node.fact
            if fact in ("end_use", "produced_in", "imported_from"):

                def fact_in(good: Good, as_of=None):
                    value = getattr(good, fact)
                    if value is None:
                        return None, good.field(fact)
                    return value in values, None

                return fact_in

            def declared_in(good: Good, as_of=None):
                value = declared_word(good.facts, fact, as_of)
                if value is None:
                    return None, good.field(f"facts.{fact}")
                return value in values, None

            return declared_in
        if isinstance(node, ast.Not):
            inner = self.condition(node.operand)
            return lambda good, as_of=None: (lambda r: (tri_not(r[0]), r[1]))(inner(good, as_of))
        if isinstance(node, (ast.And, ast.Or)):
            parts = [self.condition(o) for o in node.operands]
            combine = tri_and if isinstance(node, ast.And) else tri_or

            def both(good, as_of=None):
                results = [f(good, as_of) for f in parts]
                r = combine(x for x, _ in results)
                return r, (next((m for x, m in results if x is None), None) if r is None else None)

            return both
        raise TypeError(f"not a condition: {type(node).__name__}")

    # ---- criteria ------------------------------------------------------------------------------------

    def criterion(self, node) -> Criterion:
        """The explaining closure of a criterion (every branch evaluated, traces built)."""
        key = id(node)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = (self._criterion(node), node)
        return found[0]

    def fast(self, node) -> Callable[[Run], bool | None]:
        """The deciding closure of a criterion that ``codegen`` does not inline (``performed``,
        ``fact(...)``, a shift with ``except``, named sources or groups, a focused RVC, a sum
        against a sum): the same three-valued result as the explaining one, without traces."""
        traced = self.criterion(node)
        return getattr(traced, "fast", None) or (lambda run: traced(run).result)

    def _criterion(self, node) -> Criterion:
        text = self.texts.of(node.span) if node.span.line else type(node).__name__
        source = self.where(node.span) if node.span.line else None
        layer = self.layer
        if isinstance(node, (ast.And, ast.Or)):
            kids = [self.criterion(o) for o in node.operands]
            combine = tri_and if isinstance(node, ast.And) else tri_or

            def boolean(run: Run) -> Trace:
                children = [k(run) for k in kids]
                return Trace(combine(c.result for c in children), text, source, layer, children=children)

            return boolean
        if isinstance(node, ast.Not):
            kid = self.criterion(node.operand)

            def negation(run: Run) -> Trace:
                child = kid(run)
                return Trace(tri_not(child.result), text, source, layer, children=[child])

            return negation
        if isinstance(node, ast.WhollyObtained):
            return lambda run: Trace(run.good.wholly_obtained, text, source, layer)
        if isinstance(node, ast.Performed):
            return self._performed(node, text, source)
        if isinstance(node, ast.Change):
            return compile_change(self, node, text, source)
        if isinstance(node, ast.Comparison):
            if isinstance(node.measure, ast.Sum):
                return self._sum_comparison(node, text, source)
            if isinstance(node.measure, ast.FactValue):
                return self._fact_comparison(node, text, source)
            return self._percent_comparison(node, text, source)
        raise TypeError(f"not a criterion: {type(node).__name__}")

    def _performed(self, node: ast.Performed, text: str, source: str | None) -> Criterion:
        wanted = " ".join(node.process.lower().split())
        where = self.countries(node.where)
        layer = self.layer

        def performed(run: Run) -> Trace:
            good = run.good
            t = Trace(None, text, source, layer)
            if not good.processes:
                t.missing = [good.field("processes")]
                t.note = "the BOM lists no processes"
                return t
            found = [c for name, c in good.processes if " ".join(name.lower().split()) == wanted]
            if any(c in where for c in found if c):
                t.result = True
            elif any(c is None for c in found):
                t.missing = [good.field("processes")]
                t.note = f"`{node.process}` is listed without a country"
            else:
                t.result = False
                t.note = f"`{node.process}` is not declared as performed in {', '.join(sorted(where))}"
            return t

        return performed

    # ---- value and weight sums -------------------------------------------------------------------------

    def sum_fn(self, node: ast.Sum):
        """``value(F)``/``weight(F)`` -> fn(good) -> (low, high|None, ids, missing): the same
        generated loop as :meth:`fast_sum`, with the materials counted and the fields missing."""
        return compile_sum(self, node, explain=True)

    def base_fn(self, base):
        if isinstance(base, ast.Figure):
            name = base.name

            def fig(good: Good):
                v, miss = M.figure(good, name)
                return v, v, [], miss

            return fig
        return self.sum_fn(base)

    def _sum_comparison(self, node: ast.Comparison, text: str, source: str | None) -> Criterion:
        total = self.sum_fn(node.measure)
        base = self.base_fn(node.base) if node.base is not None else None
        share = node.share.value
        op = node.op
        ceiling = op in ("<=", "<")
        judge = compile_sum_test(op, share)  # the test the deciding functions inline
        label = M.amount_kind(node.measure.measure, node.measure.part)
        layer = self.layer
        base_name = node.base.name if isinstance(node.base, ast.Figure) else None
        # a base that weighs a part of the materials is shown too (`base_polymer_weight`)
        base_label = (f"base_{M.amount_kind(node.base.measure, node.base.part)}"
                      if isinstance(node.base, ast.Sum) and node.base.part is not None else None)

        fast_total = self.fast_sum(node.measure)
        if isinstance(node.base, ast.Sum):
            fast_base = self.fast_sum(node.base)
        else:
            figure_name = node.base.name if node.base is not None else None
            fast_base = lambda good: (good.figures.get(figure_name),) * 2  # noqa: E731

        ratio = share / HUNDRED  # exact: only the exponent moves
        correlated = None
        if isinstance(node.base, ast.Sum) and node.base.traced == node.measure.traced and (
            _joint(M.amount_kind(node.measure.measure, node.measure.part), M.amount_kind(node.base.measure, node.base.part))
        ):
            correlated = self._correlated(node.measure, node.base, ratio, op)

        def decide(good) -> bool | None:
            lo, hi = fast_total(good)
            b_lo, b_hi = fast_base(good)
            if b_lo is None:  # an unknown figure is some amount >= 0 (0% of it is 0)
                b_lo, b_hi = ZERO, (ZERO if share == 0 else None)
            if correlated is not None and (hi != lo or b_hi != b_lo):
                return correlated(good)
            return judge(lo, hi, hi is not None, b_lo, b_hi)

        def compare(run: Run) -> Trace:
            good = run.good
            lo, hi, ids, missing = total(good)
            b_lo, b_hi, _, b_missing = base(good) if base else (ZERO, ZERO, [], [])
            t = Trace(None, text, source, layer, materials=tuple(ids))
            known_base = b_lo is not None
            if not known_base:  # an unknown figure is some amount >= 0 (0% of it is 0): a
                # total of 0 is within any share of it, and above none
                b_lo, b_hi = ZERO, (ZERO if share == 0 else None)
            # (for the margin) exact: share x base / 100 only shifts the exponent of an exact product
            limit_lo = share * b_lo / HUNDRED
            t.figures[label] = lo if hi == lo else f"{lo}..{'?' if hi is None else hi}"
            if base_name is not None and known_base:
                t.figures[base_name] = b_lo
            if base_label is not None:
                t.figures[base_label] = b_lo if b_hi == b_lo else f"{b_lo}..{'?' if b_hi is None else b_hi}"
            t.result = judge(lo, hi, hi is not None, b_lo, b_hi)
            if t.result is None and correlated is not None:
                t.result = correlated(good)
                if t.result is not None:
                    t.note = "decided whatever the unknown codes or origins are"
            if t.result is None:  # what an exact side lacks cannot matter (a material worth 0.00)
                t.missing = (missing if hi != lo else []) + (b_missing if b_hi != b_lo else [])
            elif hi == lo and b_hi == b_lo:
                room = (limit_lo - lo) if ceiling else (lo - limit_lo)
                t.margin = Margin(text, source, label, lo, limit_lo, op, room, flip(room), bool(t.result), label)
                run.margins.append(t.margin)
            return t

        def flip(room: Decimal) -> Decimal | None:
            """How much more of the measure flips a ceiling: the room, when the base stays as it
            is (a figure of the good); when the base is all the materials (``value()``), what is
            added is in it too: room / (1 - share) (rounded up: more than it surely flips).
            Not given for a floor, nor a base of some materials only (what is added may or may
            not be in it)."""
            if not ceiling:
                return None
            if not isinstance(node.base, ast.Sum):
                return room
            if moves_with_base and share < HUNDRED:
                return M.WIDE.divide(M.WIDE.multiply(room, HUNDRED), HUNDRED - share).quantize(
                    M.FLIP_QUANTUM, rounding=ROUND_CEILING, context=M.WIDE)
            return None

        moves_with_base = (isinstance(node.base, ast.Sum) and node.base.filter is None and node.base.part is None
                           and node.base.measure == node.measure.measure and node.measure.part is None
                           and node.base.traced == node.measure.traced)

        compare.fast = lambda run: decide(run.good)
        return compare

    # ---- percentage figures: rvc and max_nom ----------------------------------------------------------------

    def _fact_comparison(self, node: ast.Comparison, text: str, source: str | None) -> Criterion:
        """``fact(lvc) >= 40%``: a declared number (percent points) against the threshold."""
        name, share, op = node.measure.name, node.share.value, node.op
        compare = _COMPARE[op]
        layer = self.layer

        def fact_comparison(run: Run) -> Trace:
            good = run.good
            t = Trace(None, text, source, layer)
            fact = good.facts.get(name)
            field = good.field(f"facts.{name}")
            if fact is None:
                t.missing = [field]
                t.note = f"the BOM declares no `{name}`"
            elif not fact.in_force(run.as_of):
                t.missing = [field]
                t.note = (f"the declared `{name}` covers {fact.start or '...'} to {fact.end or '...'}, "
                          f"not {run.as_of}")
            elif isinstance(fact.value, str):
                t.missing = [field]
                t.note = f"`{name}` is declared as the word `{fact.value}`, not a number"
            else:
                t.result = compare(fact.value, share)
                t.figures = {name: fact.value}
                t.note = f"{name} {fact.value} {op} {share}"
                room = share - fact.value if op in ("<=", "<") else fact.value - share
                t.margin = Margin(text, source, name, fact.value, share, op, room, None, bool(t.result), "%")
                run.margins.append(t.margin)
            return t

        return fact_comparison

    def _percent_comparison(self, node: ast.Comparison, text: str, source: str | None) -> Criterion:
        return compile_percentage(self, node, text, source)
