"""Compile once, evaluate many: a program -> an evaluation plan indexed by HS code.

In: a resolved :class:`~origin_rules.semantics.resolve.Program` and the source texts.
Out: a :class:`Plan`: compiled rules in a dictionary keyed by the digits of their selector
items (ranges of chapters, headings and subheadings expanded over the HS 2022 codes they
hold, the codes HS 2022 does not list found by the ranges themselves; tariff-item ranges
expanded; very wide ranges kept in a short list), compiled
requirements and de minimis policies. Looking up the rules for a code costs a handful of
dictionary probes whatever the size of the rulebook.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Callable

from ..model import ast
from ..model.hs import HsCode, HsRange, HsSet, covers3, nomenclature
from ..semantics.resolve import Program
from .codegen import compile_lines, compile_policy, compile_share_test, line_functions
from .criteria import Compiler, Texts
from .trace import tri_and, tri_not

MAX_EXPANSION = 10_000
LEVELS = (10, 8, 6, 4, 2)


@lru_cache(maxsize=None)
def _hs2022(n: int) -> tuple[list[str], frozenset[str]]:
    """The HS 2022 codes of ``n`` digits (2, 4 or 6), sorted and as a set."""
    codes = sorted(d for d in nomenclature().digits() if len(d) == n)
    return codes, frozenset(codes)


def _in_force(node, on: date) -> bool:
    """Whether a rule, requirement or fallback with `from`/`until` applies on a date."""
    return (node.from_ is None or node.from_ <= on) and (node.until is None or on <= node.until)


def _subheadings_under(code: HsCode) -> list[HsCode]:
    """The HS 2022 subheadings (6 digits) under a chapter or heading."""
    found = [code]
    while found and len(found[0].digits) < 6:
        found = [c for parent in found for c in nomenclature().children(parent)]
    return found


class _LazyLines:
    """Lines compiled only when a good first needs them, so a rulebook of thousands of rules
    loads in the time of the few a BOM meets: ``criteria``, the explaining closures (one per
    line); ``decide``, the deciding function of all the lines, generated as Python source
    (``engine.codegen``); ``fast``, the same generated code one function per line."""

    __slots__ = ()

    @property
    def criteria(self) -> list[Callable]:
        if self._built is None:
            self._built = [self.compiler.criterion(n) for n in self.node.criteria]
        return self._built

    @property
    def decide(self) -> Callable:
        if self._decide is None:
            self._decide = compile_lines(self.compiler, self.node.criteria)
        return self._decide

    @property
    def fast(self) -> list[Callable]:
        if self._fast is None:
            self._fast = line_functions(self.compiler, self.node.criteria)
        return self._fast


@dataclass(slots=True)
class CompiledRule(_LazyLines):
    """A rule of the plan. Its selector and `when` are compiled with the plan (they choose
    the rule); its lines when a good first needs them."""

    node: ast.Rule
    layer: str
    is_scenario: bool
    selector_of: Callable[[], str]  # the selector as written (needed only when the rule is shown)
    when: Callable
    compiler: Compiler  # compiles its lines (in the scope of its layer) when first needed
    order: int
    _built: list[Callable] | None = None
    _decide: Callable | None = None
    _fast: list[Callable] | None = None
    _selector_text: str | None = None

    @property
    def selector_text(self) -> str:
        if self._selector_text is None:
            self._selector_text = self.selector_of()
        return self._selector_text

    def in_force(self, on: date) -> bool:
        return _in_force(self.node, on)


@dataclass(slots=True)
class CompiledRequire(_LazyLines):
    node: ast.Require
    layer: str
    is_scenario: bool
    covers: HsSet | None
    when: Callable
    compiler: Compiler
    text: str
    _built: list[Callable] | None = None
    _decide: Callable | None = None
    _fast: list[Callable] | None = None

    def in_force(self, on: date) -> bool:
        return _in_force(self.node, on)


@dataclass(slots=True)
class CompiledFallback(_LazyLines):
    node: ast.Fallback
    layer: str
    is_scenario: bool
    covers: HsSet | None
    excepts: HsSet | None
    when: Callable
    compiler: Compiler
    text: str
    _built: list[Callable] | None = None
    _decide: Callable | None = None
    _fast: list[Callable] | None = None

    def in_force(self, on: date) -> bool:
        return _in_force(self.node, on)

    def applies(self, hs: HsCode) -> bool | None:
        """Whether its `for` and `except` sets admit a good of this code (None: too coarse)."""
        covered = True if self.covers is None else covers3(self.covers, hs)
        if self.excepts is None or covered is False:
            return covered
        excepted = covers3(self.excepts, hs)
        return tri_and([covered, tri_not(excepted)])


@dataclass(slots=True)
class CompiledDeemed:
    """``deemed originating for HS-SET [except HS-SET] [when COND]``: goods it admits are
    originating whatever else the agreement says (USMCA Art. 2.10, HTSUS GN11(p))."""

    node: ast.Deemed
    layer: str
    is_scenario: bool
    covers: HsSet
    excepts: HsSet | None
    when: Callable
    text: str

    def in_force(self, on: date) -> bool:
        return _in_force(self.node, on)

    def applies(self, hs: HsCode | None) -> bool | None:
        """Whether its `for` and `except` sets admit a good of this code (None: the code is
        too coarse to tell, or not given)."""
        if hs is None:
            return None
        covered = covers3(self.covers, hs)
        if self.excepts is None or covered is False:
            return covered
        return tri_and([covered, tri_not(covers3(self.excepts, hs))])


@dataclass(slots=True)
class CompiledDeMinimis:
    node: ast.DeMinimis
    layer: str
    text: str
    source: str
    for_: HsSet | None
    except_: HsSet | None
    exclude: Callable | None
    base_name: str
    _forgives: Callable | None = None

    @property
    def forgives(self) -> Callable:
        """``forgives(run, failing, unknown, why=())``: whether the line forgives the materials
        that fail (or may fail) a shift, generated when first needed (``codegen.compile_policy``)."""
        if self._forgives is None:
            self._forgives = compile_policy(self)
        return self._forgives

    @property
    def share_test(self) -> Callable:
        """``judge(base, low, high, gap) -> (result, limit)``: the line's share test as
        ``forgives`` makes it, for the explaining path (``codegen.compile_share_test``,
        compiled once per share)."""
        return compile_share_test(self.node.share.value)

    def admits(self, hs: HsCode | None) -> bool | None:
        """Whether the line applies to a good of this code (unknown if the code is too coarse
        or missing and the line has `for` or `except`)."""
        inside = True
        if self.for_ is not None:
            inside = covers3(self.for_, hs) if hs is not None else None
        outside = False
        if self.except_ is not None:
            outside = covers3(self.except_, hs) if hs is not None else None
        if inside is False or outside is True:
            return False
        return None if inside is None or outside is None else True


def _selector_of(texts: Texts, c: Compiler, rule: ast.Rule) -> Callable[[], str]:
    return lambda: texts.of(rule.selector.span) or str(c.program.hs_set(rule.selector))


class Plan:
    """Everything needed to evaluate goods under one agreement or scenario."""

    def __init__(self, program: Program, texts: Texts, digest: str, indexes: dict | None = None):
        """``indexes``: the rules' indexes of the other plans of the same rule files (their
        ``Rulebook``'s), taken instead of compiling the rules again when this program's rules
        are theirs (:meth:`_compile_rules`)."""
        self.program = program
        self.name = program.name
        self.parties = program.parties
        self.effective = program.effective
        self.digest = digest
        self.index: dict[str, list[CompiledRule]] = {}
        self.wide: dict[int, list[tuple[HsRange, CompiledRule]]] = {}
        # ranges of chapters, headings or subheadings: expanded in ``index`` over the HS 2022
        # codes they hold, and kept here for the codes of theirs HS 2022 does not list
        self.sparse: dict[int, list[tuple[HsRange, CompiledRule]]] = {}
        self.requires: list[CompiledRequire] = []
        self.fallbacks: list[CompiledFallback] = []
        self.deemed: list[CompiledDeemed] = []
        self.policies: list[CompiledDeMinimis] = []
        self._lookups: dict = {}
        self._finer_lookups: dict = {}
        self._fallbacks_for: dict = {}
        self._deemed_for: dict = {}
        self._finer_index: dict[str, set[str]] | None = None
        self._required: dict = {}
        self._policies_for: dict = {}
        self._dm_keys: dict = {}
        #: selections (``engine.select``) that depend on the code and date only, by both
        self.selections: dict = {}
        self._compile(texts, indexes)

    def remember_selection(self, key: tuple, selection) -> None:
        if len(self.selections) > 8192:
            self.selections.clear()
        self.selections[key] = selection

    def _compiler(self, texts: Texts, placed) -> Compiler:
        """A compiler resolving set names in the scope of the layer that wrote the line."""
        return Compiler(placed.scope or self.program, texts, placed.layer, parties=self.program.parties)

    def _compile(self, texts: Texts, indexes: dict | None = None) -> None:
        self._compile_rules(texts, indexes)
        self._compile_lines(texts)

    def _compile_rules(self, texts: Texts, indexes: dict | None) -> None:
        """The rules, indexed by the codes they cover. A scenario that only adds requirements,
        fallbacks or de minimis lines has its base's very rules (the same placed members, in
        the same order, read in the same scopes) and the same parties: it takes the base's
        compiled rules and indexes, which are never changed once made, instead of compiling
        the 1,500 rules of USMCA again (8 ms a scenario); a rule's lines are then compiled
        once for both, when a good first needs them. The plans' own memos stay their own."""
        key = None
        rules = self.program.rules
        if indexes is not None and all(p.scope is not None for p in rules):  # (else read in this program's)
            key = (tuple(map(id, rules)), self.program.parties)
            found = indexes.get(key)
            if found is not None:
                _, self.index, self.wide, self.sparse = found
                return
        for order, placed in enumerate(rules):
            rule: ast.Rule = placed.node
            c = self._compiler(texts, placed)
            compiled = CompiledRule(
                node=rule,
                layer=placed.layer,
                is_scenario=placed.is_scenario,
                selector_of=_selector_of(texts, c, rule),
                when=c.condition(rule.when),
                compiler=c,
                order=order,
            )
            for item in c.program.hs_set(rule.selector).items:
                self._index(item, compiled)
        if key is not None:  # (the list held: the ids in the key stay its members')
            indexes[key] = (list(rules), self.index, self.wide, self.sparse)

    def _compile_lines(self, texts: Texts) -> None:
        """Requirements, fallbacks, deemings and de minimis lines."""
        for placed in self.program.requires:
            req: ast.Require = placed.node
            c = self._compiler(texts, placed)
            self.requires.append(
                CompiledRequire(
                    node=req,
                    layer=placed.layer,
                    is_scenario=placed.is_scenario,
                    covers=c.hs(req.for_),
                    when=c.condition(req.when),
                    compiler=c,
                    text=texts.of(req.span).split("{")[0].strip() or "require",
                )
            )
        for placed in self.program.fallbacks:
            fb: ast.Fallback = placed.node
            c = self._compiler(texts, placed)
            self.fallbacks.append(
                CompiledFallback(
                    node=fb,
                    layer=placed.layer,
                    is_scenario=placed.is_scenario,
                    covers=c.hs(fb.for_),
                    excepts=c.hs(fb.except_),
                    when=c.condition(fb.when),
                    compiler=c,
                    text=texts.of(fb.span).split("{")[0].strip() or "fallback",
                )
            )
        for placed in self.program.deemed:
            dd: ast.Deemed = placed.node
            c = self._compiler(texts, placed)
            self.deemed.append(
                CompiledDeemed(
                    node=dd,
                    layer=placed.layer,
                    is_scenario=placed.is_scenario,
                    covers=c.hs(dd.for_),
                    excepts=c.hs(dd.except_),
                    when=c.condition(dd.when),
                    text=texts.of(dd.span).split("{")[0].strip(),
                )
            )
        for placed in self.program.de_minimis:
            dm: ast.DeMinimis = placed.node
            c = self._compiler(texts, placed)
            # without `of`, a value share is of the transaction value, a weight share of the weight
            default = "weight" if dm.measure == "weight" else "transaction_value"
            base = dm.base.name if isinstance(dm.base, ast.Figure) else default
            self.policies.append(
                CompiledDeMinimis(
                    node=dm,
                    layer=placed.layer,
                    text=texts.of(dm.span),
                    source=dm.span.where,
                    for_=c.hs(dm.for_),
                    except_=c.hs(dm.except_),
                    exclude=c.filter(dm.exclude) if dm.exclude is not None else None,
                    base_name=base,
                )
            )

    def _index(self, item, compiled: CompiledRule) -> None:
        if isinstance(item, HsCode):
            self.index.setdefault(item.digits, []).append(compiled)
            return
        n = len(item.low.digits)
        low, high = int(item.low.digits), int(item.high.digits)
        if high < low:
            return
        if high - low > MAX_EXPANSION:
            self.wide.setdefault(n, []).append((item, compiled))
            return
        if n <= 6:  # the HS 2022 codes of the range; any other code of it is found in `sparse`
            known, _ = _hs2022(n)
            for digits in known[bisect_left(known, item.low.digits):bisect_right(known, item.high.digits)]:
                self.index.setdefault(digits, []).append(compiled)
            self.sparse.setdefault(n, []).append((item, compiled))
            return
        for k in range(low, high + 1):
            self.index.setdefault(str(k).zfill(n), []).append(compiled)

    def _indexed(self, key: str) -> list[CompiledRule]:
        """The rules whose selector covers the code ``key`` at its own level (without `wide`)."""
        found = self.index.get(key, [])
        n = len(key)
        if n in self.sparse and key not in _hs2022(n)[1]:
            found = list(found)
            found.extend(c for rng, c in self.sparse[n]
                         if rng.low.digits <= key <= rng.high.digits and c not in found)
        return found

    # ---- lookup -------------------------------------------------------------------------------

    def in_force(self, on: date) -> bool:
        return self.effective is None or self.effective <= on

    def rules_for(self, hs: HsCode, on: date) -> list[CompiledRule]:
        """The rules of the most specific level that has a rule in force, in rulebook order
        (memoised per code and date; the plan is immutable once compiled)."""
        key = (hs.digits, on)
        found = self._lookups.get(key)
        if found is None:
            if len(self._lookups) > 8192:
                self._lookups.clear()
            found = self._lookups[key] = self._rules_for(hs, on)
        return found

    def candidate_groups(self, hs: HsCode, on: date) -> tuple[list[list[CompiledRule]], list[str]] | None:
        """When some rule's selector is finer than the good's code (a tariff item under a
        subheading, a subheading under a heading), the good could be any of the finer codes:
        every group of rules that could apply, one per finer code, and those codes (dotted).
        ``None`` when no rule is finer than the code: ``rules_for`` decides alone.

        The finer codes are the codes of the finer selectors, the HS 2022 subheadings under a
        chapter or heading, and (for a subheading or a tariff item) the code itself, standing
        for the national items that have no rule of their own. A group may be empty: no rule
        covers that finer code."""
        key = (hs.digits, on)
        found = self._finer_lookups.get(key, False)
        if found is not False:
            return found
        finer = [code for code in self._finer_codes(hs.digits) if self._finer_rule_in_force(hs.digits, code, on)]
        if not finer:
            result = None
        else:
            worlds = set(finer)
            if len(hs.digits) < 6:
                worlds.update(c.digits for c in _subheadings_under(hs))
            else:
                worlds.add(hs.digits)
            groups: list[list[CompiledRule]] = []
            seen: set[tuple[int, ...]] = set()
            for digits in sorted(worlds):
                group = self._rules_for(HsCode(digits), on)
                ident = tuple(id(r) for r in group)
                if ident not in seen:
                    seen.add(ident)
                    groups.append(group)
            result = (groups, sorted(HsCode(d).__str__() for d in finer))
        if len(self._finer_lookups) > 8192:
            self._finer_lookups.clear()
        self._finer_lookups[key] = result
        return result

    def _finer_rule_in_force(self, digits: str, code: str, on: date) -> bool:
        """Whether a rule finer than ``digits`` covering ``code`` is in force on the date (a
        finer rule not yet or no longer in force cannot apply: the code is fine enough)."""
        hs = HsCode(code)
        for n in LEVELS:
            if len(digits) < n <= len(code) and (
                    any(r.in_force(on) for r in self._indexed(code[:n]))
                    or any(c.in_force(on) and rng.covers(hs) for rng, c in self.wide.get(n, ()))):
                return True
        return False

    def _finer_codes(self, digits: str) -> list[str]:
        """Selector codes longer than ``digits`` that lie under it (ranges: their ends)."""
        if self._finer_index is None:
            index: dict[str, set[str]] = {}
            for key in self.index:
                for n in LEVELS:
                    if n < len(key):
                        index.setdefault(key[:n], set()).add(key)
            self._finer_index = index
        codes = set(self._finer_index.get(digits, ()))
        for n, ranges in self.sparse.items():  # a range's codes HS 2022 does not list
            if n <= len(digits):
                continue
            block_lo, block_hi = int(digits.ljust(n, "0")), int(digits.ljust(n, "9"))
            for rng, _ in ranges:
                lo, hi = max(int(rng.low.digits), block_lo), min(int(rng.high.digits), block_hi)
                codes.update(str(k).zfill(n) for k in range(lo, hi + 1))
        for n, ranges in self.wide.items():
            if n <= len(digits):
                continue
            for rng, _ in ranges:
                lo, hi = rng.low.digits, rng.high.digits
                if lo[: len(digits)] <= digits <= hi[: len(digits)]:
                    codes.update(c for c in (lo, hi) if c.startswith(digits))
                    if not lo.startswith(digits):
                        codes.add(digits.ljust(n, "0"))
        return sorted(codes)

    def _rules_for(self, hs: HsCode, on: date) -> list[CompiledRule]:
        digits = hs.digits
        for n in LEVELS:
            if len(digits) < n:
                continue
            found = [r for r in self._indexed(digits[:n]) if r.in_force(on)]
            for rng, compiled in self.wide.get(n, ()):
                if rng.covers(hs) and compiled.in_force(on) and compiled not in found:
                    found.append(compiled)
            if found:
                found.sort(key=lambda r: r.order)
                return found
        return []

    def requires_for(self, hs: HsCode | None, on: date) -> list[tuple[CompiledRequire, bool | None]]:
        """Requirements whose `for` covers the code (unknown if the code is too coarse)."""
        key = (hs.digits if hs is not None else None, on)
        found = self._required.get(key)
        if found is None:
            if len(self._required) > 8192:
                self._required.clear()
            found = self._required[key] = self._requires_for(hs, on)
        return found

    def _requires_for(self, hs: HsCode | None, on: date) -> list[tuple[CompiledRequire, bool | None]]:
        out = []
        for req in self.requires:
            if not req.in_force(on):
                continue
            if req.covers is None:
                out.append((req, True))
                continue
            covered = covers3(req.covers, hs) if hs is not None else None
            if covered is not False:
                out.append((req, covered))
        return out

    def fallbacks_for(self, hs: HsCode, on: date) -> list[tuple[CompiledFallback, bool | None]]:
        """Fallbacks in force whose `for`/`except` admit the code (None: the code is too coarse)."""
        key = (hs.digits, on)
        found = self._fallbacks_for.get(key)
        if found is None:
            if len(self._fallbacks_for) > 8192:
                self._fallbacks_for.clear()
            found = self._fallbacks_for[key] = [
                (f, a) for f in self.fallbacks if f.in_force(on) and (a := f.applies(hs)) is not False
            ]
        return found

    def deemed_for(self, hs: HsCode | None, on: date) -> list[tuple[CompiledDeemed, bool | None]]:
        """Deemings in force that admit (True) or may admit (None) a good of this code."""
        if not self.deemed:
            return []
        key = (hs.digits if hs is not None else None, on)
        found = self._deemed_for.get(key)
        if found is None:
            if len(self._deemed_for) > 8192:
                self._deemed_for.clear()
            found = self._deemed_for[key] = [
                (d, a) for d in self.deemed if d.in_force(on) and (a := d.applies(hs)) is not False]
        return found

    def de_minimis_for(self, hs: HsCode | None) -> list[tuple[CompiledDeMinimis, bool | None]]:
        """The de minimis lines that apply (True) or may apply (None) to a good of this code."""
        key = hs.digits if hs is not None else None
        found = self._policies_for.get(key)
        if found is None:
            if len(self._policies_for) > 8192:
                self._policies_for.clear()
            found = self._policies_for[key] = [(p, a) for p in self.policies if (a := p.admits(hs)) is not False]
        return found

    def de_minimis_key(self, hs: HsCode | None) -> tuple:
        """The de minimis lines for a good of this code as a value another plan can compare
        with: each line (its AST node: a scenario inherits its base's lines as they are) and
        whether it applies (True) or may apply (None); ``(nodes, key)``, the key naming the
        nodes by id (the nodes are returned with it, so whoever keeps the key keeps them)."""
        digits = hs.digits if hs is not None else None
        found = self._dm_keys.get(digits)
        if found is None:
            policies = self.de_minimis_for(hs)
            nodes = tuple(p.node for p, _ in policies)
            if len(self._dm_keys) > 8192:
                self._dm_keys.clear()
            found = self._dm_keys[digits] = (nodes, (tuple(map(id, nodes)), tuple(a for _, a in policies)))
        return found
