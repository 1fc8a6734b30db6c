"""The checker: parsed modules and their programs -> every problem of meaning, as diagnostics.

In: the modules of a rulebook (``origin_rules.model.ast.Module``) and the programs built from them
by :func:`origin_rules.semantics.resolve.build_programs`. Out: a list of
:class:`~origin_rules.model.diagnostics.Diagnostic`, all of them (checking never stops at the first
problem and never raises for bad input).

What is checked, by code (titles in ``origin_rules.model.diagnostic_codes``):
names of agreements, scenarios and sets (ROO109-ROO114, ROO120), scenario chains (ROO111,
ROO112), declarations (ROO115, ROO116, ROO121, ROO122), dates (ROO117, ROO118), literals
(ROO101-ROO105, ROO119, in ``literals``), parts of materials (ROO125), the depth of
``and``/``or``/``not`` (ROO126) and competing rules (ROO106-ROO108, in ``overlap``).
"""

from __future__ import annotations

import difflib
from datetime import date

from ..model import ast
from ..model.diagnostics import Diagnostic, error, warning
from . import literals
from .overlap import RuleEntry, find_overlaps
from .resolve import Program
from .sets import Scope, covered, set_cycles
from .spans import SpanFinder

HS_EDITION = 2022

#: What ``syntax.build`` puts in place of a date it could not read (reported there as ROO013).
INVALID_DATE = date(1900, 1, 1)


#: What a rule, requirement or deeming is called in a message (anything else: "fallback").
_WHAT = {ast.Rule: "rule", ast.Require: "requirement", ast.Deemed: "deeming"}


def _valid(day: date | None) -> date | None:
    return None if day == INVALID_DATE else day


def check_modules(
    modules: list[ast.Module], programs: dict[str, Program], *, incomplete: bool = False
) -> list[Diagnostic]:
    """Check a whole rulebook; the result is unsorted (callers sort by position).

    ``incomplete``: some files of the rulebook did not parse, so a name they define may look
    unknown here and a set they use may look unused: unused sets are then not reported, and
    the help of an unknown name says so.
    """
    return Checker(modules, programs, incomplete).run()


class Checker:
    """One run over a rulebook: declarations first (names, scopes), then each agreement and
    scenario body, then the per-program overlap search, then the checks that need every use
    of every set (contents of country sets, cycles, unused sets)."""

    def __init__(self, modules: list[ast.Module], programs: dict[str, Program], incomplete: bool = False):
        self.modules = modules
        self.incomplete = incomplete
        self.programs = programs
        self.diags: list[Diagnostic] = []
        self.spans = SpanFinder({m.file: m.source for m in modules})
        self.file_sets: dict[str, ast.SetDecl] = {}
        self.declared: dict[str, ast.Agreement | ast.Scenario] = {}
        self.used: set[int] = set()
        self.as_countries: set[int] = set()
        self.as_words: set[int] = set()
        self.duplicates: set[int] = set()
        self.decl_scope: dict[int, Scope] = {}
        self.all_sets: list[ast.SetDecl] = []
        self.rule_scope: dict[int, Scope] = {}
        self.overlaps_reported: set = set()

    def emit(self, d: Diagnostic | None) -> None:
        if d is not None:
            self.diags.append(d)

    # ---- the passes ------------------------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        self._declare_names()
        file_scope = Scope([self.file_sets])
        for module in self.modules:
            for item in module.items:
                if isinstance(item, ast.SetDecl):
                    self._set_decl(item, file_scope)
                elif isinstance(item, ast.Agreement):
                    self._agreement(item)
                else:
                    self._scenario(item)
        seen: set[tuple] = set()
        for program in self.programs.values():
            if not program.problems:
                rules = [p.node for p in program.rules]
                # a scenario that changes no rule has its base's rules: checked once (a second
                # pass over the same rules could only find what the first already reported)
                key = (tuple(id(r) for r in rules), _valid(program.effective))
                if key in seen:
                    continue
                seen.add(key)
                self._overlaps(rules, _valid(program.effective))
        self._set_contents()
        self.diags.extend(set_cycles(self.all_sets, self.decl_scope))
        self._unused_sets()
        return self.diags

    def _declare_names(self) -> None:
        """Duplicate agreement/scenario names, duplicate file-level sets."""
        for module in self.modules:
            for item in module.items:
                if isinstance(item, ast.SetDecl):
                    self._declare_set(item, self.file_sets, "at file level")
                    continue
                first = self.declared.get(item.name)
                if first is None:
                    self.declared[item.name] = item
                    continue
                kind = "an agreement" if isinstance(first, ast.Agreement) else "a scenario"
                self.emit(error(
                    "ROO113",
                    f"`{item.name}` is already the name of {kind} at {self._where(first.span, item.span)}",
                    self.spans.quoted_name(item.span),
                    "give each agreement and scenario its own name: scenarios and tests refer to them by it",
                ))

    def _declare_set(self, decl: ast.SetDecl, table: dict[str, ast.SetDecl], where: str) -> None:
        self.all_sets.append(decl)
        first = table.get(decl.name)
        if first is None:
            table[decl.name] = decl
            return
        self.duplicates.add(id(decl))
        self.emit(error(
            "ROO113",
            f"set `{decl.name}` is already defined {where}, at {self._where(first.span, decl.span)}",
            self.spans.set_name(decl),
            "rename one of the two sets, or merge them into one",
        ))

    @staticmethod
    def _where(span: ast.Span, here: ast.Span) -> str:
        return f"line {span.line}" if span.file == here.file else f"{span.file}:{span.line}"

    # ---- agreements and scenarios ------------------------------------------------------------

    def _program_of(self, node) -> Program | None:
        program = self.programs.get(node.name)
        return program if program is not None and program.node is node else None

    def _agreement(self, node: ast.Agreement) -> None:
        program = self._program_of(node)
        own: dict[str, ast.SetDecl] = {}
        scope = Scope([own, self.file_sets])
        self._body(node, scope, own, node.effective)
        if node.parties is None:
            self.emit(error(
                "ROO115",
                f"agreement `{node.name}` has no parties",
                self.spans.quoted_name(node.span),
                "list the parties' ISO 3166-1 alpha-2 codes, e.g. `parties = [US, MX, CA]`",
            ))
        if program is None:  # a duplicate name: its rules are not in any program
            self._overlaps(list(node.rules), _valid(node.effective))

    def _scenario(self, node: ast.Scenario) -> None:
        program = self._program_of(node)
        self._scenario_chain(node)
        own: dict[str, ast.SetDecl] = {}
        base_layers: list[dict[str, ast.SetDecl]] = [self.file_sets]
        effective = node.effective
        if program is not None and not program.problems:
            base_layers = [*program.scopes[1:-1], self.file_sets]
            effective = program.effective
        self._body(node, Scope([own, *base_layers]), own, effective)
        if program is None or program.problems:
            self._overlaps(list(node.rules), _valid(effective))

    def _scenario_chain(self, node: ast.Scenario) -> None:
        """ROO111 for an unknown base, ROO112 for a chain that comes back to itself."""
        base = self.declared.get(node.base)
        if base is None:
            names = list(self.declared)
            close = difflib.get_close_matches(node.base, names, n=1, cutoff=0.6)
            if close:
                help = f"did you mean `{close[0]}`?"
            elif names:
                help = "known agreements and scenarios: " + ", ".join(f"`{n}`" for n in names[:8])
            else:
                help = "declare the agreement with `agreement \"...\" { ... }` in a rule file of this rulebook"
            self.emit(error("ROO111", f"scenario `{node.name}` extends `{node.base}`, which is not defined",
                            node.base_span, help + self._maybe_elsewhere()))
            return
        chain = [node.name]
        current: ast.Agreement | ast.Scenario = base
        while isinstance(current, ast.Scenario):
            if current.name == node.name:
                # report a cycle once, at the first of its scenarios in file order
                members = set(chain)
                first = min((self.declared[n] for n in members), key=lambda s: self._order(s))
                if first is node:
                    path = " -> ".join(f"`{n}`" for n in [*chain, node.name])
                    self.emit(error(
                        "ROO112",
                        f"scenario `{node.name}` extends itself" if len(chain) == 1
                        else f"scenarios extend each other in a circle: {path}",
                        node.base_span,
                        "a chain of scenarios must end at an agreement",
                    ))
                return
            if current.name in chain:
                return  # leads into a cycle that does not contain this scenario
            chain.append(current.name)
            nxt = self.declared.get(current.base)
            if nxt is None:
                return
            current = nxt

    def _order(self, node) -> tuple:
        return (node.span.file, node.span.line, node.span.column)

    def _body(self, node, scope: Scope, own: dict[str, ast.SetDecl], effective: date | None) -> None:
        for member in node.members:
            if isinstance(member, ast.SetDecl):
                self._declare_set(member, own, f"in `{node.name}`")
        self._repeated_declarations(node)
        for member in node.members:
            if isinstance(member, ast.SetDecl):
                self._set_decl(member, scope)
            elif isinstance(member, ast.PartiesDecl):
                self._parties(member)
            elif isinstance(member, ast.HsVersion):
                self._hs_version(member)
            elif isinstance(member, ast.DeMinimis):
                self._de_minimis(member, scope)
            elif isinstance(member, (ast.Rule, ast.Require, ast.Fallback, ast.Deemed)):
                self._rule(member, scope, effective, node)

    def _repeated_declarations(self, node) -> None:
        seen: dict[object, ast.Span] = {}
        for member in node.members:
            if isinstance(member, (ast.PartiesDecl, ast.Effective, ast.HsVersion)):
                key = type(member)
                word = {ast.PartiesDecl: "parties", ast.Effective: "effective", ast.HsVersion: "hs_version"}[key]
            elif isinstance(member, ast.DeMinimis) and member.for_ is None:
                key = ("de_minimis", member.measure)
                word = f"de_minimis {member.measure}"
            else:
                continue
            if key in seen:
                self.emit(error(
                    "ROO116",
                    f"`{word}` is declared twice in `{node.name}`",
                    member.span,
                    f"keep one: the first is at {self._where(seen[key], member.span)}"
                    + (" (use `for` to give a policy to some goods only)" if word.startswith("de_minimis") else ""),
                ))
            else:
                seen[key] = member.span

    def _parties(self, decl: ast.PartiesDecl) -> None:
        if not decl.countries.words:
            self.emit(error("ROO115", "`parties = []` names no party", decl.countries.span,
                            "list the parties' ISO 3166-1 alpha-2 codes, e.g. `parties = [US, MX, CA]`"))
        self._country_words(decl.countries, ())

    def _hs_version(self, decl: ast.HsVersion) -> None:
        if decl.year and decl.year != HS_EDITION:
            self.emit(error(
                "ROO122",
                f"`hs_version = {decl.year}` is not supported: codes are checked against HS {HS_EDITION}",
                decl.span,
                f"write `hs_version = {HS_EDITION}` and convert the codes to HS {HS_EDITION}",
            ))

    def _de_minimis(self, dm: ast.DeMinimis, scope: Scope) -> None:
        self.emit(literals.check_percent(dm.share))
        self._de_minimis_measures(dm)
        if dm.of_which is not None:
            self.emit(literals.check_percent(dm.of_which.share))
            if isinstance(dm.of_which.base, ast.Sum) and dm.of_which.base.filter is not None:
                self._walk(dm.of_which.base.filter, scope)
        if isinstance(dm.base, ast.Sum) and dm.base.part is not None:
            self.emit(error(
                "ROO125", f"a de minimis line cannot be a share of `{dm.base.measure}({dm.base.part} of ...)`",
                dm.base.span, "a de minimis line is a share of a figure of the good, e.g. `of weight`; "
                "weigh a part of the materials in a rule line: `weight(polymer of ...) >= 50% of weight(polymer of ...)`",
            ))
        if isinstance(dm.base, ast.Sum) and dm.base.filter is not None:
            self._walk(dm.base.filter, scope)
        for expr in (dm.for_, dm.except_):
            if expr is not None:
                self._hs_set(expr, scope)
        if dm.exclude is not None:
            self._walk(dm.exclude, scope)

    def _de_minimis_measures(self, dm: ast.DeMinimis) -> None:
        """ROO124: the weight of the classifying component (``component_weight``) and the
        sub-limit's base are weights for a ``weight`` line and money for a ``value`` line;
        a share of the other measure compares kilograms with dollars."""
        weights = ("weight", "component_weight")
        pairs = [(dm.base, "component_weight")] if dm.base is not None else []
        if dm.of_which is not None and dm.of_which.base is not None:
            pairs.append((dm.of_which.base, None))
        for base, only in pairs:
            if not isinstance(base, ast.Figure) or (only is not None and base.name != only):
                continue
            if (base.name in weights) != (dm.measure == "weight"):
                kind = "a weight" if base.name in weights else "an amount of money"
                self.emit(error(
                    "ROO124",
                    f"`de_minimis {dm.measure}` is a share of `{base.name}`, {kind}",
                    base.span,
                    "a `weight` line is a share of `weight` or `component_weight`; a `value` line of a value "
                    "such as `transaction_value`",
                ))

    def _rule(self, rule: ast.Rule | ast.Require | ast.Fallback | ast.Deemed, scope: Scope, effective: date | None,
              owner) -> None:
        """A rule, a requirement, a fallback or a deeming: its codes, references and literals, and its dates."""
        what = _WHAT.get(type(rule), "fallback")
        if isinstance(rule, ast.Rule):
            self._hs_set(rule.selector, scope)
            self.rule_scope[id(rule)] = scope
        elif rule.for_ is not None:
            self._hs_set(rule.for_, scope)
        if isinstance(rule, (ast.Fallback, ast.Deemed)) and rule.except_ is not None:
            self._hs_set(rule.except_, scope)
        if rule.when is not None:
            self._walk(rule.when, scope)
        for line in rule.lines:
            if not isinstance(line, ast.Cite):
                self._walk(line, scope)
        from_, until = _valid(rule.from_), _valid(rule.until)
        effective = _valid(effective)
        if from_ is not None and until is not None and until < from_:
            self.emit(error(
                "ROO117",
                f"`until {until}` is before `from {from_}`: this {what} never applies",
                self.spans.header_clause(rule.span, "until"),
                "`from` is the first day the rule applies and `until` the last: swap the dates",
            ))
        if effective is None:
            return
        if until is not None and until < effective:
            self.emit(error(
                "ROO118",
                f"`until {until}` is before `{owner.name}` takes effect on {effective}: "
                f"this {what} never applies",
                self.spans.header_clause(rule.span, "until"),
                "remove it, or correct the date",
            ))
        elif from_ is not None and from_ < effective:
            self.emit(error(
                "ROO118",
                f"`from {from_}` is before `{owner.name}` takes effect on {effective}",
                self.spans.header_clause(rule.span, "from"),
                f"a {what} applies from the effective date at the earliest: drop `from` or write "
                f"`from {effective}`",
            ))

    # ---- sets --------------------------------------------------------------------------------

    def _set_decl(self, decl: ast.SetDecl, scope: Scope) -> None:
        self.decl_scope[id(decl)] = scope
        if isinstance(decl.value, ast.HsSetExpr):
            self._hs_set(decl.value, scope)

    def _resolve(self, ref: ast.SetRef, scope: Scope, want: str) -> ast.SetDecl | None:
        """Look a name up; report it unknown (ROO109) or of the wrong kind (ROO110)."""
        decl = scope.lookup(ref.name)
        if decl is None:
            names = scope.names()
            close = difflib.get_close_matches(ref.name, names, n=1, cutoff=0.6)
            help = f"did you mean `{close[0]}`?" if close else (
                f"define it first, e.g. `set {ref.name} = " + ("72, 73`" if want == "hs" else "[CN]`")
            )
            self.emit(error("ROO109", f"unknown set `{ref.name}`", ref.span, help + self._maybe_elsewhere()))
            return None
        self.used.add(id(decl))
        is_hs = isinstance(decl.value, ast.HsSetExpr)
        if want == "hs" and not is_hs:
            self.emit(error(
                "ROO110", f"`{ref.name}` is a set of countries, but HS codes are needed here", ref.span,
                f"use a set of HS codes (`set name = 72, 73`); `{ref.name}` is defined at "
                f"{self._where(decl.span, ref.span)}",
            ))
            return None
        if want != "hs" and is_hs:
            needed = "countries" if want == "countries" else "words in `[...]`"
            self.emit(error(
                "ROO110", f"`{ref.name}` is a set of HS codes, but {needed} are needed here", ref.span,
                f"use a set written in brackets (`set name = [CN]`); `{ref.name}` is defined at "
                f"{self._where(decl.span, ref.span)}",
            ))
            return None
        if want == "countries":
            self.as_countries.add(id(decl))
        elif want == "words":
            self.as_words.add(id(decl))
        return decl

    def _hs_set(self, expr: ast.HsSetExpr, scope: Scope) -> None:
        for item in expr.items:
            self._hs_item(item, scope)

    def _except_groups(self, node: ast.Change, scope: Scope) -> None:
        """``except more than one of (A), (B), ...``: its sets resolve, and it lists two groups
        at least (ROO123: with one group it would forbid what a plain `except` forbids, or
        nothing, and GN11 never writes it so)."""
        for group in node.except_groups:
            self._hs_set(group, scope)
        if len(node.except_groups) == 1:
            group = node.except_groups[0]
            self.emit(error(
                "ROO123", "`except more than one of` lists a single group: it needs two at least",
                group.span, "list each group of the rule's text in its own parentheses: "
                "`except more than one of (8413.50..8413.60), (8537.10)`; for one set, write `except SET`",
            ))

    def _hs_item(self, item, scope: Scope) -> None:
        if isinstance(item, ast.HsCodeLit):
            self.emit(literals.check_code(item))
        elif isinstance(item, ast.HsRangeLit):
            self.diags.extend(literals.check_range(item))
        elif isinstance(item, ast.SetRef):
            self._resolve(item, scope, "hs")

    def _countries(self, expr, scope: Scope) -> None:
        if isinstance(expr, ast.WordList):
            self._country_words(expr, tuple(scope.names()))
        elif isinstance(expr, ast.SetRef):
            self._resolve(expr, scope, "countries")

    def _country_words(self, words: ast.WordList, set_names: tuple[str, ...]) -> None:
        seen: dict[str, ast.Word] = {}
        for word in words.words:
            self.emit(literals.check_country(word, set_names))
            if word.text in seen:
                self.emit(warning(
                    "ROO121", f"`{word.text}` is listed twice", word.span,
                    f"remove this one; the first is at column {seen[word.text].span.column}",
                ))
            else:
                seen[word.text] = word

    def _set_contents(self) -> None:
        """Word-list sets hold countries unless they only ever serve as end uses."""
        for decl in self.all_sets:
            if not isinstance(decl.value, ast.WordList):
                continue
            key = id(decl)
            if key in self.as_words and key not in self.as_countries:
                continue
            scope = self.decl_scope.get(key)
            self._country_words(decl.value, tuple(scope.names()) if scope else ())

    def _maybe_elsewhere(self) -> str:
        return " (a rule file that does not parse may define it)" if self.incomplete else ""

    def _unused_sets(self) -> None:
        if self.incomplete:
            return  # the uses may be in a file that does not parse
        for decl in self.all_sets:
            if id(decl) in self.used or id(decl) in self.duplicates:
                continue
            use = f"hs in {decl.name}" if isinstance(decl.value, ast.HsSetExpr) else f"origin in {decl.name}"
            self.emit(warning(
                "ROO114", f"set `{decl.name}` is never used", self.spans.set_name(decl),
                f"remove it, or use it where it is meant to apply (e.g. `{use}`)",
            ))

    # ---- criteria, filters and conditions ----------------------------------------------------

    def _walk(self, root, scope: Scope) -> None:
        """Check every reference and literal in a criterion, filter or condition (no recursion:
        the text may nest as deep as it likes), and how deep ``and``/``or``/``not`` nest in it
        (ROO126, once, where the nesting passes :data:`~origin_rules.model.ast.MAX_NESTING`).
        Each node goes to the step of its class (:data:`_WALK`, looked up by exact class; a
        subclass takes the step of the first class of :data:`_WALK_ORDER` it is an instance
        of, as a chain of ``isinstance`` would); the nodes a step pushes are one level below."""
        stack = [root]
        depths = [0]  # of each node of the stack: the `and`/`or`/`not` above it
        steps = _WALK
        deepest, first_over = 0, None
        while stack:
            node = stack.pop()
            depth = depths.pop()
            if isinstance(node, _BOOLEAN):
                depth += 1
                if depth > deepest:
                    deepest = depth
                    if depth == ast.MAX_NESTING + 1 and first_over is None:
                        first_over = node
            step = steps.get(type(node), _UNKNOWN)
            if step is _UNKNOWN:
                step = _walk_step(type(node))
            if step is not None:
                size = len(stack)
                step(self, node, scope, stack)
                depths += [depth] * (len(stack) - size)
        if first_over is not None:
            self.emit(error(
                "ROO126",
                f"`and`/`or`/`not` nest {deepest} deep here: too deep to evaluate (at most {ast.MAX_NESTING})",
                self.spans.first_token(first_over.span),
                "write it with fewer levels: `not not A` is `A`, and `A or (B or C)` is `A or B or C`",
            ))

    def _walk_operands(self, node: ast.And | ast.Or, scope: Scope, stack: list) -> None:
        stack.extend(node.operands)

    def _walk_operand(self, node: ast.Not, scope: Scope, stack: list) -> None:
        stack.append(node.operand)

    def _walk_origin(self, node: ast.OriginIn, scope: Scope, stack: list) -> None:
        self._countries(node.countries, scope)

    def _walk_hs(self, node: ast.HsIn, scope: Scope, stack: list) -> None:
        self._hs_set(node.hs, scope)

    def _walk_kind(self, node: ast.KindIn, scope: Scope, stack: list) -> None:
        for word in node.kinds.words:
            self.emit(literals.check_kind(word))

    def _walk_fact(self, node: ast.FactIn, scope: Scope, stack: list) -> None:
        if node.fact in ("produced_in", "imported_from"):
            self._countries(node.values, scope)
        elif isinstance(node.values, ast.SetRef):
            self._resolve(node.values, scope, "words")

    def _walk_change(self, node: ast.Change, scope: Scope, stack: list) -> None:
        for source in node.sources:
            if isinstance(source, ast.Where):
                self._hs_item(source.item, scope)
            elif not isinstance(source, ast.AnyOther):
                self._hs_item(source, scope)
        if node.except_ is not None:
            self._hs_set(node.except_, scope)
        self._except_groups(node, scope)

    def _walk_comparison(self, node: ast.Comparison, scope: Scope, stack: list) -> None:
        self.emit(literals.check_percent(node.share))
        self._part_units(node)
        stack.append(node.measure)
        if node.base is not None:
            stack.append(node.base)

    def _walk_sum(self, node: ast.Sum, scope: Scope, stack: list) -> None:
        if node.part is not None and node.measure != "weight":
            self.emit(error(
                "ROO125", f"`{node.measure}({node.part} of ...)`: the BOM declares the weight of a "
                f"material's {node.part} content, not its {node.measure}", node.span,
                f"write `weight({node.part} of ...)`, or `{node.measure}(...)` for whole materials",
            ))
        if node.filter is not None:
            stack.append(node.filter)

    def _walk_rvc(self, node: ast.Rvc, scope: Scope, stack: list) -> None:
        if node.focus is not None:
            self._hs_set(node.focus, scope)

    def _walk_performed(self, node: ast.Performed, scope: Scope, stack: list) -> None:
        self._countries(node.where, scope)

    def _part_units(self, node: ast.Comparison) -> None:
        """ROO125: a part of the materials (``weight(polymer of ...)``) is kilograms; compared
        with a share of money (``of transaction_value``, ``of value(...)``), or money with a
        share of it, the line compares kilograms with dollars."""
        measure, base = node.measure, node.base
        sums = [s for s in (measure, base) if isinstance(s, ast.Sum)]
        if not any(s.part is not None for s in sums) or base is None or not isinstance(measure, ast.Sum):
            return
        if any(s.part is not None and s.measure != "weight" for s in sums):
            return  # `value(polymer of ...)` is reported once, where it is written
        money = lambda x: (x.measure == "value") if isinstance(x, ast.Sum) else x.name not in ("weight", "component_weight")  # noqa: E731
        if money(measure) != money(base):
            self.emit(error(
                "ROO125", "a weight of a part of the materials is compared with a share of an amount of money"
                if not money(measure) else "an amount of money is compared with a share of a weight of a part of the materials",
                base.span, "compare kilograms with kilograms: `weight(polymer of ...) >= 50% of weight(polymer of ...)`",
            ))

    # ---- competing rules -----------------------------------------------------------------------

    def _overlaps(self, rules: list[ast.Rule], effective: date | None) -> None:
        entries = []
        for rule in rules:
            scope = self.rule_scope.get(id(rule))
            if scope is not None:
                entries.append(RuleEntry(rule, covered(rule.selector, scope, self.decl_scope)))
        clause = lambda rule, keyword: self.spans.header_clause(rule.span, keyword)  # noqa: E731
        self.diags.extend(find_overlaps(entries, self.overlaps_reported, effective, clause))


#: What nests: the levels :meth:`Checker._walk` counts (ROO126).
_BOOLEAN = (ast.And, ast.Or, ast.Not)

#: The steps of :meth:`Checker._walk`, in the order a chain of ``isinstance`` tests takes them.
_WALK_ORDER: tuple[tuple[tuple[type, ...], object], ...] = (
    ((ast.And, ast.Or), Checker._walk_operands),
    ((ast.Not,), Checker._walk_operand),
    ((ast.OriginIn,), Checker._walk_origin),
    ((ast.HsIn,), Checker._walk_hs),
    ((ast.KindIn,), Checker._walk_kind),
    ((ast.FactIn,), Checker._walk_fact),
    ((ast.Change,), Checker._walk_change),
    ((ast.Comparison,), Checker._walk_comparison),
    ((ast.Sum,), Checker._walk_sum),
    ((ast.Rvc,), Checker._walk_rvc),
    ((ast.Performed,), Checker._walk_performed),
)
#: Exact class -> its step (None: nothing to check in it, as for a figure or a fact value).
_WALK: dict[type, object] = {cls: step for classes, step in _WALK_ORDER for cls in classes}
_UNKNOWN = object()


def _walk_step(cls: type):
    """The step of a class not in :data:`_WALK` (another node, or a subclass), remembered."""
    step = next((step for classes, step in _WALK_ORDER if issubclass(cls, classes)), None)
    _WALK[cls] = step
    return step
