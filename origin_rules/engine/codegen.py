"""The deciding path compiled to Python source: one function per rule, requirement or fallback.

In: the criteria of one rule (requirement, fallback) as AST nodes, and the
:class:`~origin_rules.engine.criteria.Compiler` of its layer (sets resolved in its scope).
Out: ``decide(run) -> True | False | None``: the three-valued conjunction of the lines,
short-circuited, every criterion inlined (the filters of a sum, the tariff shift by levels,
RVC and MaxNOM), compiled once with :func:`compile` as a template engine compiles its
templates; and, for tests, one such function per line (:func:`line_functions`).

It is the one compiler of a criterion's meaning: the explaining closures of
``engine.criteria`` (and ``percentages``, ``tariff_shift``) call what the same emitters
generate alone, with what is missing beside the result: the material filter
(:func:`compile_filter` with ``explain``: the field that leaves it unknown), the sum
(:func:`compile_sum` with ``explain``: the materials counted and the fields missing), the
test of a sum against its share (:func:`compile_sum_test`), the RVC/MaxNOM test
(:func:`compile_percentage_test`), the tariff shift by levels (:func:`compile_classifier`)
and the de minimis share test (:func:`compile_share_test`). So the two paths cannot drift apart
(tests/test_explain_compiler.py).

The source is built from the AST only. Every value that comes from a rule file (sets of
codes or countries, percentages, fact names, kinds, the keys of memoised results) is put
in the constant table ``K`` and read as ``K[i]``; numbers in the source are the indices
of ``K`` and digit counts (``int``). Before it is compiled the source is scanned and
refused (:func:`check_source`) unless it is ASCII and holds nothing but the generator's
keywords, the generated variables (``v12``), a fixed list of helper and attribute names,
decimal integers and operators: no quote, ``#`` or backslash, so no string and no
comment. Rule text (quotes, newlines, ``__import__``) therefore
cannot reach :func:`compile`, whatever a rule file holds (tests/test_codegen.py).

Criteria with no inline form here (``performed``, ``fact(...)``, a tariff shift with
``except``, named sources or groups, an RVC focused on a set, sums against another sum or
weighing a part of each material) are called through ``K`` as the deciding closure the
:class:`Compiler` builds for them: the same three-valued result, one call.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Callable

from ..model import ast
from ..model.hs import covers3
from . import measures as M
from .tariff_shift import change_memo_key, de_minimis_fast, policy_result
from .view import declared_word, same_code

ZERO = Decimal(0)
HUNDRED = Decimal(100)

_OPS = {">=": ">=", ">": ">", "<=": "<=", "<": "<"}  # an operator is looked up, never copied

#: How deep (in levels of indentation) ``and``/``or`` are inlined; deeper ones are called as
#: the compiler's deciding closure (the leaves' own code adds a few levels, and Python
#: refuses code indented 100 levels deep).
INLINE_DEPTH = 50

#: Names the generated source may use besides Python keywords and generated variables.
NAMES = frozenset({
    # the arguments, the constant table, helpers of this module
    "run", "good", "K", "ZERO", "HUNDRED", "covers3", "same_code", "declared_word", "traced_leaves",
    "vnm_bounds", "de_minimis_fast", "len", "min", "decide", "forgives", "failing", "unknown", "why",
    "match", "total", "judge", "p", "w", "q", "good",
    # attributes of Run, Good, Part, HsCode and built-in containers read by the code
    "memo", "non_originating", "figures", "get", "parts", "hs", "digits", "origin", "originating",
    "kind", "facts", "value", "weight", "polymer_weight", "wholly_obtained", "path", "field", "append", "id",
})
_VARIABLE = re.compile(r"[a-z]\d+\Z")


#: Compiled code by its source: the source of a rule holds its shape only, so the rules of a
#: rulebook share a few hundred code objects, each run with its own constant table.
_CODE: dict[str, object] = {}


class UnsafeSource(ValueError):
    """Generated source that is not made of the allowed tokens only (a bug of the generator)."""


_KEYWORDS = frozenset({"def", "return", "if", "elif", "else", "for", "in", "not", "and", "or", "is",
                       "None", "True", "False", "continue"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\.?[0-9][A-Za-z_0-9.]*|[^\sA-Za-z_0-9()\[\]:.,=<>!+*/-]")


def check_source(source: str) -> None:
    """Refuse (:class:`UnsafeSource`) source that is not ASCII or that holds anything but
    the generator's keywords (:data:`_KEYWORDS`), allowed names (:data:`NAMES`, generated
    variables ``v12``), decimal integers and the punctuation ``()[]:.,=<>!+*/-``: so no
    quote (no string), no ``#`` (no comment), no backslash, no ``@``, no float."""
    if not source.isascii():
        raise UnsafeSource("a character that is not ASCII in generated source")
    for word in _WORD.findall(source):
        if word[0].isdigit():
            if not word.isdigit():
                raise UnsafeSource(f"number {word!r} in generated source")
        elif not (word in _KEYWORDS or word in NAMES or _VARIABLE.match(word)):
            raise UnsafeSource(f"{word!r} in generated source")


def _three_valued(put, depth: int, target: str, holds: str, fails: str) -> None:
    """Emit ``target = True`` when ``holds``, else ``False`` when ``fails``, else ``None``
    (unknown: a value is missing)."""
    put(depth, f"if {holds}:")
    put(depth + 1, f"{target} = True")
    put(depth, f"elif {fails}:")
    put(depth + 1, f"{target} = False")
    put(depth, "else:")
    put(depth + 1, f"{target} = None")


def vnm_bounds(good) -> tuple[Decimal, Decimal | None, list[str]]:
    """VNM as an interval (low, high or None when a value is missing, missing fields): the
    same tuple ``percentages`` memoises under ``vnm_bounds`` (shared within one run)."""
    low, complete, missing = M.bounds(good.parts, False)
    return low, (low if complete else None), missing


class _Module:
    """The lines of one generated module and its constant table."""

    def __init__(self, compiler, worlds: bool = False, explain: bool = False):
        self.compiler = compiler
        self.worlds = worlds  # filters take assumptions about unknown facts (``compile_filter``)
        self.explain = explain  # filters and sums also say what is missing (the explaining path)
        self.missing_of: dict[str, str] = {}  # with ``explain``: a filter's variable -> the
        # expression of the field whose absence leaves it unknown (None when it is decided)
        self.lines: list[str] = []
        self.helpers: list[str] = []  # functions the others call (``_classifier``)
        self._classifiers: dict[tuple, str] = {}
        self._hoist: tuple[int, int] | None = None  # where constants read in a loop are put
        self.consts: list[object] = []
        self._index: dict[int, int] = {}
        self._count = 0

    def const(self, value: object) -> str:
        """``K[i]`` for a value (the same object is stored once)."""
        i = self._index.get(id(value))
        if i is None:
            i = self._index[id(value)] = len(self.consts)
            self.consts.append(value)
        if self._hoist is not None:  # in a loop: read once, before it
            at, depth = self._hoist
            var = self.var()
            self.lines.insert(at, "    " * depth + f"{var} = K[{i}]")
            self._hoist = (at + 1, depth)
            return var
        return f"K[{i}]"

    def var(self) -> str:
        self._count += 1
        return f"v{self._count}"

    def put(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    # ---- criteria ---------------------------------------------------------------------------

    def conjunction(self, nodes, target: str, depth: int) -> None:
        """``target`` = the three-valued AND of the nodes, stopping at the first False."""
        self._combine(nodes, target, depth, stop="False", other="True")

    def _combine(self, nodes, target: str, depth: int, stop: str, other: str) -> None:
        self.put(depth, f"{target} = {other}")
        for i, node in enumerate(nodes):
            d = depth
            if i:
                self.put(depth, f"if {target} is not {stop}:")
                d = depth + 1
            r = self.var()
            self.criterion(node, r, d)
            self.put(d, f"if {r} is {stop}:")
            self.put(d + 1, f"{target} = {stop}")
            self.put(d, f"elif {r} is None:")
            self.put(d + 1, f"{target} = None")

    def criterion(self, node, target: str, depth: int) -> None:
        if depth > INLINE_DEPTH and isinstance(node, (ast.And, ast.Or)):
            # each operand after the first is one `if` deeper: past this, the compiler's
            # deciding closure (Python refuses code indented 100 levels; `and`/`or`/`not`
            # nest up to ast.MAX_NESTING levels, ROO126)
            self.put(depth, f"{target} = {self.const(self.compiler.fast(node))}(run)")
        elif isinstance(node, ast.And):
            self._combine(node.operands, target, depth, stop="False", other="True")
        elif isinstance(node, ast.Or):
            self._combine(node.operands, target, depth, stop="True", other="False")
        elif isinstance(node, ast.Not):
            r = self.var()
            self.criterion(node.operand, r, depth)
            self.put(depth, f"{target} = None if {r} is None else not {r}")
        elif isinstance(node, ast.WhollyObtained):
            self.put(depth, f"{target} = good.wholly_obtained")
        elif isinstance(node, ast.Change) and _pure_change(node):
            self._change(node, target, depth)
        elif isinstance(node, ast.Comparison) and isinstance(node.measure, (ast.Rvc, ast.MaxNom)) and _plain_percentage(node):
            self._percentage(node, target, depth)
        elif isinstance(node, ast.Comparison) and isinstance(node.measure, ast.Sum) and _plain_sum(node):
            self._sum(node, target, depth)
        else:  # no inline form: the compiler's deciding closure, through K
            self.put(depth, f"{target} = {self.const(self.compiler.fast(node))}(run)")

    def _change(self, node: ast.Change, target: str, depth: int) -> None:
        """A tariff shift by levels only (``change from any other heading[, ...]``): the
        materials classified by a function of the module (one per distinct shift), then de
        minimis."""
        classify = self._classifier(node)
        m, s = self.var(), self.var()
        put = self.put
        put(depth, "if good.hs is None:")
        put(depth + 1, f"{target} = {self.const(self.compiler.fast(node))}(run)")
        put(depth, "else:")
        d = depth + 1
        put(d, f"{m} = {classify}(run, good)")
        put(d, f"if not {m}[0] and not {m}[1]:")
        put(d + 1, f"{target} = True")
        put(d, "else:")
        put(d + 1, f"{s} = de_minimis_fast(run, {m}[0], {m}[1], {m}[2])")
        put(d + 1, f"{target} = True if {s} is True else (False if {m}[0] and {s} is False else None)")

    def _classifier(self, node: ast.Change) -> str:
        """The name of a module function ``(run, good) -> (failing, unknown, missing)`` for a
        good with a code, as ``tariff_shift.compile_change`` classifies the materials (and
        memoises: the same key, the same lists); generated once per distinct shift."""
        memo_key = change_memo_key(node, None, ())
        name = self._classifiers.get(memo_key)
        if name is not None:
            return name
        name = self._classifiers[memo_key] = f"c{len(self._classifiers)}"
        levels = [int(s.level) for s in node.sources]
        finest = max(levels)
        key = self.const(memo_key)
        m, gd, lg, qk, p, h, hd, u, fl, un, ms, passes = (self.var() for _ in range(12))
        main, self.lines = self.lines, self.helpers
        put = self.put
        put(0, f"def {name}(run, good):")
        put(1, f"{m} = run.memo.get({key})")
        put(1, f"if {m} is not None:")
        put(2, f"return {m}")
        put(1, f"{gd} = good.hs.digits")
        put(1, f"{lg} = len({gd})")
        put(1, f"{qk} = {gd}[:{finest}] if {lg} >= {finest} else None")
        put(1, f"{fl} = []")
        put(1, f"{un} = []")
        put(1, f"{ms} = []")
        direct = self.var()
        put(1, f"{direct} = {self.const('direct')}")
        put(1, f"for {p} in run.non_originating():")  # (``Run.shift_parts``, without its list)
        put(2, f"if {p}.kind != {direct}:")
        put(3, "continue")
        put(2, f"{h} = {p}.hs")
        put(2, f"if {h} is None:")
        put(3, f"{fl}.append({p})")
        put(3, "continue")
        put(2, f"{hd} = {h}.digits")
        # both codes at least as fine as every level (the usual case): the levels are prefixes
        # of one another, so the material changes at some level exactly when it changes at the
        # finest; otherwise it surely fails
        put(2, f"if {qk} is not None and len({hd}) >= {finest}:")
        put(3, f"if {hd}[:{finest}] == {qk}:")
        put(4, f"{fl}.append({p})")
        put(3, "continue")
        put(2, f"{u} = 0")  # 0: fails; 1: unknown for want of the good's code; 2: of the material's
        put(2, f"{passes} = False")
        for n in levels:
            k = self.var()
            put(2, f"if not {passes}:")
            put(3, f"{k} = min({n}, {lg}, len({hd}))")
            put(3, f"if {hd}[:{k}] != {gd}[:{k}]:")
            put(4, f"{passes} = True")
            put(3, f"elif {u} == 0 and {lg} < {n}:")
            put(4, f"{u} = 1")
            put(3, f"elif {u} == 0 and len({hd}) < {n}:")
            put(4, f"{u} = 2")
        put(2, f"if {passes}:")
        put(3, "continue")
        put(2, f"if {u} == 0:")
        put(3, f"{fl}.append({p})")
        put(2, "else:")
        put(3, f"{un}.append({p})")
        put(3, f"{ms}.append(good.field({self.const('hs')}) if {u} == 1 else {p}.path + {self.const('.hs')})")
        put(1, f"{m} = run.memo[{key}] = ({fl}, {un}, {ms})")
        put(1, f"return {m}")
        self.lines = main
        return name

    def _percentage(self, node: ast.Comparison, target: str, depth: int) -> None:
        """``rvc(...) op N%`` (not build-up, not focused) and ``max_nom(B) op N%``: exact, by
        cross-multiplication over VNM's interval, as ``percentages.compile_percentage``."""
        measure = node.measure
        if isinstance(measure, ast.MaxNom):
            basis, direct = measure.basis, True
        else:
            method = measure.method
            basis = measure.basis or (method if method in ("transaction_value", "net_cost") else "fob")
            direct = False
        op = _OPS[node.op]
        threshold = self.const(node.share.value)
        w, f, lo, hi, tw, dl, dh, lowest, highest = (self.var() for _ in range(9))
        put = self.put
        put(depth, f"{w} = good.figures.get({self.const(basis)})")
        put(depth, f"if not {w}:")
        put(depth + 1, f"{target} = None")
        put(depth, "else:")
        d = depth + 1
        key = self.const("vnm_bounds")
        put(d, f"{f} = run.memo.get({key})")
        put(d, f"if {f} is None:")
        put(d + 1, f"{f} = run.memo[{key}] = vnm_bounds(good)")
        put(d, f"{lo} = {f}[0]")
        put(d, f"{hi} = {f}[1]")
        self.percentage_test(d, target, op, direct, threshold, w, lo, hi, (tw, dl, dh, lowest, highest))

    def percentage_test(self, d: int, target: str, op: str, direct: bool, threshold: str, w: str, lo: str, hi: str,
                        names: tuple[str, ...]) -> None:
        """``target`` = whether the percentage of the amount in ``[lo, hi]`` (``hi`` None:
        unbounded) in the whole ``w`` (not zero) stands ``op`` the threshold, by
        cross-multiplication: the figure rises with the amount when ``direct`` (MaxNOM,
        build-up: amount / whole), falls otherwise ((whole - amount) / whole). The one
        judge of RVC and MaxNOM, inlined here and compiled alone for
        ``percentages`` (:func:`compile_percentage_test`)."""
        put = self.put
        tw, dl, dh, lowest, highest = names
        put(d, f"{tw} = {threshold} * {w}")
        amount = (lambda a: a) if direct else (lambda a: f"({w} - {a})")
        put(d, f"{dl} = {amount(lo)} * HUNDRED - {tw}")
        put(d, f"{dh} = None if {hi} is None else {amount(hi)} * HUNDRED - {tw}")
        put(d, f"{lowest} = {dl if direct else dh}")
        put(d, f"{highest} = {dh if direct else dl}")
        if op in (">=", ">"):
            _three_valued(put, d, target, f"{lowest} is not None and {lowest} {'>' if op == '>' else '>='} 0",
                          f"{highest} is not None and {highest} {'<=' if op == '>' else '<'} 0")
        else:
            _three_valued(put, d, target, f"{highest} is not None and {highest} {'<' if op == '<' else '<='} 0",
                          f"{lowest} is not None and {lowest} {'>=' if op == '<' else '>'} 0")

    def _sum(self, node: ast.Comparison, target: str, depth: int) -> None:
        """``value(F)``/``weight(F) op N% [of FIGURE]``: the filter inlined in one loop over
        the materials, the sum an interval (a missing amount leaves it unbounded above)."""
        total = node.measure
        op = _OPS[node.op]
        ratio = self.const(node.share.value / HUNDRED)  # exact: only the exponent moves
        lo, hi, bd, p, a, b, blo, bhi, llo, lhi = (self.var() for _ in range(10))
        put = self.put
        self.sum_loop(total, depth, lo, hi, bd, p, a)
        if node.base is not None:
            put(depth, f"{b} = good.figures.get({self.const(node.base.name)})")
        else:
            put(depth, f"{b} = None")
        put(depth, f"if {b} is None:")  # an unknown figure is some amount >= 0 (0% of it is 0)
        put(depth + 1, f"{blo} = ZERO")
        put(depth + 1, f"{bhi} = {'ZERO' if node.share.value == 0 else 'None'}")
        put(depth, "else:")
        put(depth + 1, f"{blo} = {b}")
        put(depth + 1, f"{bhi} = {b}")
        self.sum_test(depth, target, op, ratio, lo, hi, bd, blo, bhi, llo, lhi)

    def sum_test(self, depth: int, target: str, op: str, ratio: str, lo: str, hi: str, bd: str, blo: str, bhi: str,
                 llo: str, lhi: str) -> None:
        """``target`` = whether a sum in ``[lo, hi]`` (``hi`` meaningful when ``bd``) stands
        ``op`` the share ``ratio`` of a base in ``[blo, bhi]`` (``bhi`` None: unbounded): the
        one judge of a sum comparison, inlined here and compiled alone for the explaining
        closure (:func:`compile_sum_test`)."""
        put = self.put
        put(depth, f"{llo} = {ratio} * {blo}")
        put(depth, f"{lhi} = None if {bhi} is None else {ratio} * {bhi}")
        if op in ("<=", "<"):
            _three_valued(put, depth, target, f"{bd} and {hi} {op} {llo}", f"{lhi} is not None and not ({lo} {op} {lhi})")
        else:
            _three_valued(put, depth, target, f"{lhi} is not None and {lo} {op} {lhi}", f"{bd} and not ({hi} {op} {llo})")

    def share_test(self, depth: int, base: str, share: str, lo: str, hi: str, gap: str, limit: str,
                   explain: bool = False) -> None:
        """Return whether failing materials totalling ``lo`` (and perhaps up to ``hi`` with
        the possibly failing ones; ``gap``: an amount is missing) are within the de minimis
        ``share`` of ``base``: over the limit with the sure ones, False (whatever else is
        unknown); an amount missing, None; within it with all of them, True; else None.
        With ``explain``, the limit is returned beside the result. The one share test of a
        de minimis line: inlined in ``forgives`` (:func:`compile_policy`) and compiled alone
        for the explaining path (:func:`compile_share_test`)."""
        put = self.put
        tail = f", {limit}" if explain else ""
        put(depth, f"{limit} = {base} * {share} / HUNDRED")
        put(depth, f"if {lo} > {limit}:")
        put(depth + 1, f"return False{tail}")
        put(depth, f"if {gap}:")
        put(depth + 1, f"return None{tail}")
        put(depth, f"return (True if {hi} <= {limit} else None){tail}" if explain
            else f"return True if {hi} <= {limit} else None")

    def sum_loop(self, total: ast.Sum, depth: int, lo: str, hi: str, bd: str, p: str, a: str) -> tuple[str, str]:
        """The sum of ``value(F)``/``weight(F)``/``weight(polymer of F)`` as an interval: one
        loop over the materials leaving ``lo`` (what surely counts), ``hi`` (what may count,
        meaningful when ``bd``: no amount is unbounded). With ``explain``, also the lists of
        the materials counted or perhaps counted and of the fields missing, returned as
        their variables. The one sum of both paths: the deciding functions inline it, and
        ``criteria`` compiles it alone (:func:`compile_sum`)."""
        put = self.put
        kind = M.amount_kind(total.measure, total.part)
        put(depth, f"{lo} = ZERO")
        put(depth, f"{hi} = ZERO")
        put(depth, f"{bd} = True")
        ids = missing = ""
        if self.explain:
            ids, missing = self.var(), self.var()
            put(depth, f"{ids} = []")
            put(depth, f"{missing} = []")
        source = "traced_leaves(good.parts)" if total.traced else "good.parts"
        self._hoist = (len(self.lines), depth)
        put(depth, f"for {p} in {source}:")
        r = self.filter_or_skip(total.filter, p, depth + 1)
        self._hoist = None
        d = depth + 1
        if self.explain:
            why = self.missing_of[r]
            if why != "None":
                put(d, f"if {r} is None:")
                put(d + 1, f"{missing}.append({why})")
            put(d, f"{ids}.append({p}.id)")
        put(d, f"{a} = {p}.{kind}")
        put(d, f"if {a} is None:")
        if kind == "polymer_weight":  # not declared: between 0 and the material's weight
            whole = self.var()
            put(d + 1, f"{whole} = {p}.weight")
            if self.explain:
                put(d + 1, f"if {whole} != ZERO:")  # (a material weighing 0 has no part to ask for)
                put(d + 2, f"{missing}.append({p}.path + {self.const('.' + M.AMOUNT_FIELDS[kind])})")
            put(d + 1, f"if {whole} is None:")
            put(d + 2, f"{bd} = False")
            put(d + 1, "else:")
            put(d + 2, f"{hi} += {whole}")
        else:
            if self.explain:
                put(d + 1, f"{missing}.append({p}.path + {self.const('.' + M.AMOUNT_FIELDS[kind])})")
            put(d + 1, f"{bd} = False")
        put(d + 1, "continue")
        put(d, f"if {r}:")
        put(d + 1, f"{lo} += {a}")
        put(d, f"{hi} += {a}")
        return ids, missing

    # ---- material filters ----------------------------------------------------------------------

    def filter_or_skip(self, node, p: str, depth: int) -> str:
        """In a loop over the materials: ``continue`` as soon as the filter is false for ``p``
        (a conjunction's operands one by one, the commonest first test, ``non_originating``,
        as an attribute test); returns the variable holding True or None (unknown)."""
        var = self.var()
        operands = node.operands if isinstance(node, ast.And) else (node,)
        unknowns = []
        for o in operands:
            if isinstance(o, ast.IsOriginating):  # never unknown
                self.put(depth, f"if {'' if o.negated else 'not '}{p}.originating:")
                self.put(depth + 1, "continue")
                continue
            v = self.filter(o, p, depth)
            self.put(depth, f"if {v} is False:")
            self.put(depth + 1, "continue")
            unknowns.append(v)
        if unknowns:
            self.put(depth, f"{var} = None if ({' or '.join(f'{v} is None' for v in unknowns)}) else True")
        else:
            self.put(depth, f"{var} = True")
        self._first_missing(var, unknowns, depth)
        return var

    def filter(self, node, p: str, depth: int) -> str:
        """Statements giving a variable the three-valued result of a material filter on the
        material ``p``; returns the variable (``criteria.Compiler.filter`` is its explaining form)."""
        var = self.var()
        put = self.put
        self.missing_of[var] = "None"  # (with ``explain``; a filter that is never unknown)
        if node is None:
            put(depth, f"{var} = True")
        elif isinstance(node, ast.IsOriginating):
            put(depth, f"{var} = {'not ' if node.negated else ''}{p}.originating")
        elif isinstance(node, ast.OriginIn):
            codes = self.compiler.countries(node.countries)
            c = self.const(codes)
            put(depth, f"{var} = None if {p}.origin is None else {p}.origin in {c}")
            self._assume(var, ("origin", codes), depth)
            self._missing(var, p, ".origin", depth)
        elif isinstance(node, ast.HsIn):
            codes = self.compiler.hs(node.hs)
            c = self.const(codes)
            put(depth, f"{var} = None if {p}.hs is None else covers3({c}, {p}.hs)")
            self._assume(var, ("hs", codes), depth)
            self._missing(var, p, ".hs", depth)
        elif isinstance(node, ast.KindIn):
            c = self.const(frozenset(w.text for w in node.kinds.words))
            put(depth, f"{var} = {p}.kind in {c}")
        elif isinstance(node, ast.SameCode):
            if self.explain:  # the field is the material's code or its good's
                why = self.missing_of[var] = self.var()
                put(depth, f"{var}, {why} = same_code({p}, {int(node.level)})")
            else:
                put(depth, f"{var} = same_code({p}, {int(node.level)})[0]")
            self._assume(var, ("same", int(node.level)), depth)
        elif isinstance(node, ast.FactIn):
            words = self.compiler.countries(node.values)
            c = self.const(words)
            put(depth, f"{var} = declared_word({p}.facts, {self.const(node.fact)})")
            put(depth, f"{var} = None if {var} is None else {var} in {c}")
            self._assume(var, ("fact", node.fact, words), depth)
            self._missing(var, p, f".facts.{node.fact}", depth)
        elif isinstance(node, ast.Not):
            inner = self.filter(node.operand, p, depth)
            put(depth, f"{var} = None if {inner} is None else not {inner}")
            self.missing_of[var] = self.missing_of[inner]  # (None whenever the operand is decided)
        elif isinstance(node, (ast.And, ast.Or)):
            vs = [self.filter(o, p, depth) for o in node.operands]
            stop, other = ("False", "True") if isinstance(node, ast.And) else ("True", "False")
            any_stop = " or ".join(f"{v} is {stop}" for v in vs)
            any_none = " or ".join(f"{v} is None" for v in vs)
            put(depth, f"{var} = {stop} if ({any_stop}) else (None if ({any_none}) else {other})")
            self._first_missing(var, vs, depth)
        else:
            raise TypeError(f"not a material filter: {type(node).__name__}")
        return var

    def _missing(self, var: str, p: str, field: str, depth: int) -> None:
        """With ``explain``: the field of ``p`` whose absence leaves the leaf ``var`` unknown."""
        if self.explain:
            why = self.missing_of[var] = self.var()
            self.put(depth, f"{why} = None if {var} is not None else {p}.path + {self.const(field)}")

    def _first_missing(self, var: str, operands: list[str], depth: int) -> None:
        """With ``explain``: what leaves a conjunction or disjunction ``var`` unknown, the
        missing field of its first unknown operand."""
        self.missing_of[var] = "None"
        whys = [(v, self.missing_of[v]) for v in operands if self.missing_of[v] != "None"]
        if not self.explain or not whys:
            return
        first = "None"
        for v, why in reversed(whys):
            first = f"({why} if {v} is None else {first})"
        why = self.missing_of[var] = self.var()
        self.put(depth, f"{why} = None if {var} is not None else {first}")

    def _assume(self, var: str, key: tuple, depth: int) -> None:
        """With ``worlds``: a leaf unknown for the material takes its value from the
        assumption ``w[key]`` when given, else stays unknown and its key is put in ``q``.
        The key names the fact (``("hs", set)``), so the same fact in two filters is one
        variable."""
        if not self.worlds:
            return
        k = self.const(key)
        self.put(depth, f"if {var} is None:")
        self.put(depth + 1, f"{var} = w.get({k})")
        self.put(depth + 1, f"if {var} is None:")
        self.put(depth + 2, f"q.append({k})")

    # ---- the module -------------------------------------------------------------------------------

    def function(self, name: str, nodes) -> None:
        self.put(0, f"def {name}(run):")
        self.put(1, "good = run.good")
        target = self.var()
        self.conjunction(nodes, target, 1)
        self.put(1, f"return {target}")

    def build(self) -> dict:
        source = "\n".join(self.helpers + self.lines) + "\n"
        code = _CODE.get(source)
        if code is None:  # rules of the same shape have the same source (their values are in K)
            check_source(source)
            if len(_CODE) >= 4096:
                _CODE.clear()
            code = _CODE[source] = compile(source, "<rule>", "exec")
        namespace = {
            "__builtins__": {"len": len, "min": min}, "K": tuple(self.consts), "ZERO": ZERO, "HUNDRED": HUNDRED,
            "covers3": covers3, "same_code": same_code, "declared_word": declared_word,
            "traced_leaves": M.traced_leaves, "vnm_bounds": vnm_bounds, "de_minimis_fast": de_minimis_fast,
        }
        exec(code, namespace)  # noqa: S102 - checked before it was compiled: from the AST only
        namespace["__source__"] = source
        return namespace


def _pure_change(node: ast.Change) -> bool:
    """A tariff shift by levels only: no ``except``, no named sources, no groups."""
    return node.except_ is None and not node.except_groups and all(isinstance(s, ast.AnyOther) for s in node.sources)


def _plain_percentage(node: ast.Comparison) -> bool:
    m = node.measure
    return isinstance(m, ast.MaxNom) or (m.method != "build_up" and m.focus is None)


def _plain_sum(node: ast.Comparison) -> bool:
    """A sum of whole materials against a figure (or nothing): no correlated bounds needed."""
    return node.measure.part is None and (node.base is None or isinstance(node.base, ast.Figure))


def compile_policy(policy) -> Callable:
    """``forgives(run, failing, unknown, why=()) -> True | False | None``: whether one de
    minimis line forgives the materials that fail (or may fail) a tariff shift, as
    ``tariff_shift.policy_result`` decides it. A line on a figure of the good, in value or
    weight, with no ``exclude`` and no sub-limit is generated inline; any other line, or a
    good whose base figure is missing, is decided by ``policy_result`` (through ``K``)."""

    def general(run, failing, unknown, why=()):
        return policy_result(run, policy, failing, unknown, False, why)[0]

    node = policy.node
    if node.exclude is not None or node.of_which is not None or policy.base_name == "component_weight":
        return general
    module = _Module(None)
    amount = "value" if node.measure == "value" else "weight"
    b, lo, hi, gap, p, a, limit = (module.var() for _ in range(7))
    put = module.put
    put(0, "def forgives(run, failing, unknown, why=()):")
    put(1, "good = run.good")
    put(1, f"{b} = good.figures.get({module.const(policy.base_name)})")
    put(1, f"if {b} is None:")
    put(2, f"return {module.const(general)}(run, failing, unknown, why)")
    put(1, f"{lo} = ZERO")
    put(1, f"{gap} = False")  # an amount missing
    put(1, f"for {p} in failing:")
    put(2, f"{a} = {p}.{amount}")
    put(2, f"if {a} is None:")
    put(3, f"{gap} = True")
    put(2, "else:")
    put(3, f"{lo} += {a}")
    put(1, f"{hi} = {lo}")
    put(1, f"for {p} in unknown:")
    put(2, f"{a} = {p}.{amount}")
    put(2, f"if {a} is None:")
    put(3, f"{gap} = True")
    put(2, "else:")
    put(3, f"{hi} += {a}")
    module.share_test(1, b, module.const(node.share.value), lo, hi, gap, limit)
    fn = module.build()["forgives"]
    fn.source = "\n".join(module.lines) + "\n"
    return fn


def compile_filter(compiler, node, worlds: bool = False, explain: bool = False) -> Callable:
    """A material filter alone, compiled: ``match(p) -> True | False | None``; with ``worlds``,
    ``match(p, w, q)`` (see :meth:`_Module._assume`; ``criteria.Compiler`` uses it to bound
    two sums over the same materials together); with ``explain``, ``match(p) -> (True |
    False | None, the missing field that leaves it unknown or None)``, the filter of the
    explaining path (the same code, the field beside it)."""
    if node is None:
        if explain:
            return lambda p: (True, None)
        return (lambda p, w=None, q=None: True) if worlds else (lambda p: True)
    module = _Module(compiler, worlds, explain)
    module.put(0, "def match(p, w, q):" if worlds else "def match(p):")
    result = module.filter(node, "p", 1)
    module.put(1, f"return {result}, {module.missing_of[result]}" if explain else f"return {result}")
    return module.build()["match"]


def compile_sum(compiler, node: ast.Sum, explain: bool = False) -> Callable:
    """``value(F)``/``weight(F)``/``weight(polymer of F)`` alone, compiled (the loop the
    deciding functions inline, :meth:`_Module.sum_loop`): ``total(good) -> (low, high or
    None when unbounded)``; with ``explain``, ``(low, high, ids of the materials counted or
    perhaps counted, missing fields)``."""
    module = _Module(compiler, explain=explain)
    lo, hi, bd, p, a = (module.var() for _ in range(5))
    module.put(0, "def total(good):")
    ids, missing = module.sum_loop(node, 1, lo, hi, bd, p, a)
    module.put(1, f"return {lo}, ({hi} if {bd} else None)" + (f", {ids}, {missing}" if explain else ""))
    return module.build()["total"]


@lru_cache(maxsize=1024)
def compile_percentage_test(op: str, direct: bool, threshold: Decimal) -> Callable:
    """``judge(whole, low, high) -> True | False | None``: the percentage test of
    :meth:`_Module.percentage_test` alone, for ``percentages`` (whole not zero)."""
    module = _Module(None)
    w, lo, hi, target = (module.var() for _ in range(4))
    module.put(0, f"def judge({w}, {lo}, {hi}):")
    names = tuple(module.var() for _ in range(5))
    module.percentage_test(1, target, _OPS[op], direct, module.const(threshold), w, lo, hi, names)
    module.put(1, f"return {target}")
    return module.build()["judge"]


@lru_cache(maxsize=1024)  # (a few shares and thresholds recur across a rulebook)
def compile_sum_test(op: str, share: Decimal) -> Callable:
    """``judge(low, high, bounded, base_low, base_high) -> True | False | None``: the test of
    :meth:`_Module.sum_test` alone (``high`` read only when ``bounded``; ``base_high`` None
    when unbounded)."""
    module = _Module(None)
    lo, hi, bd, blo, bhi, target, llo, lhi = (module.var() for _ in range(8))
    module.put(0, f"def judge({lo}, {hi}, {bd}, {blo}, {bhi}):")
    module.sum_test(1, target, _OPS[op], module.const(share / HUNDRED), lo, hi, bd, blo, bhi, llo, lhi)
    module.put(1, f"return {target}")
    return module.build()["judge"]


@lru_cache(maxsize=1024)  # (a rulebook has a few de minimis shares)
def compile_share_test(share: Decimal) -> Callable:
    """``judge(base, low, high, gap) -> (True | False | None, limit)``: the de minimis share
    test of :meth:`_Module.share_test` alone, for the explaining path
    (``tariff_shift._within_share``), with the limit it computed."""
    module = _Module(None)
    b, lo, hi, gap, limit = (module.var() for _ in range(5))
    module.put(0, f"def judge({b}, {lo}, {hi}, {gap}):")
    module.share_test(1, b, module.const(share), lo, hi, gap, limit, explain=True)
    return module.build()["judge"]


def compile_classifier(compiler, node: ast.Change) -> Callable:
    """``classify(run, good) -> (failing, unknown, missing)`` for a tariff shift by levels
    only and a good with a code: the function the deciding code calls
    (:meth:`_Module._classifier`), for ``tariff_shift.compile_change`` (same memo key)."""
    key = change_memo_key(node, None, ())
    found = _CLASSIFIERS.get(key)
    if found is None:  # it depends on the levels only, which its memo key names
        module = _Module(compiler)
        name = module._classifier(node)
        found = _CLASSIFIERS[key] = module.build()[name]
    return found


_CLASSIFIERS: dict[tuple, Callable] = {}  # by memo key: a few levels of shift in all


def compile_lines(compiler, nodes) -> Callable:
    """``decide(run)``: the conjunction of the lines, every criterion inlined."""
    module = _Module(compiler)
    module.function("decide", list(nodes))
    namespace = module.build()
    fn = namespace["decide"]
    fn.source = namespace["__source__"]
    return fn


def line_functions(compiler, nodes) -> list[Callable]:
    """One compiled function per line (the same code as in ``decide``), for tests and tools
    that judge each line on its own."""
    module = _Module(compiler)
    names = [f"v{i}" for i in range(len(nodes))]
    module._count = len(nodes)
    for name, node in zip(names, nodes):
        module.function(name, [node])
    namespace = module.build()
    return [namespace[n] for n in names]
