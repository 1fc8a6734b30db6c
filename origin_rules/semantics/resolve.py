"""Names and scenario chains: parsed modules -> one program per agreement or scenario.

In: the ASTs of every file of a rulebook. Out: a :class:`Program` for each agreement and
scenario, flattened along its chain (a scenario is its base with edits): the parties, the
effective date, the rules in order, the requirements, the de minimis policy, and the scope
in which set names are looked up. Resolution trusts its input as far as it can and records
what it cannot resolve in ``Program.problems``; ``semantics.check`` reports those properly.

Scope of a set name: the scenario or agreement that uses it, then its bases in chain order,
then the file-level sets of every file of the rulebook.

One agreement may be written over several files (a large agreement, one file per HS
section): the block that declares ``parties`` is its head, and every other block of the same
name that declares no ``parties`` is a part whose members join the head's, in file order
(:func:`merge_agreement_parts`). Two blocks of one name that both declare parties are two
agreements with one name (ROO113).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable

from ..model import ast
from ..model.hs import HsCode, HsRange, HsSet


@dataclass(frozen=True, slots=True)
class Placed:
    """A member of a program with the name of the agreement or scenario that wrote it, and
    the program in whose scope its set names are looked up (the one that wrote it). The
    scope refers back to a program holding this member: it is left out of equality and
    hashing (two loads of the same rules compare equal instead of recursing without end)."""

    node: object
    layer: str
    is_scenario: bool
    scope: "Program | None" = field(default=None, compare=False)


@dataclass
class Program:
    """One agreement or scenario, flattened: what evaluation and lookup need."""

    name: str
    is_scenario: bool
    chain: tuple[str, ...]  # this program first, its agreement last
    parties: frozenset[str]
    effective: date | None
    rules: list[Placed]  # Placed(ast.Rule), file order, base rules replaced by scenario ones
    requires: list[Placed]  # Placed(ast.Require)
    de_minimis: list[Placed]  # Placed(ast.DeMinimis)
    cites: tuple[str, ...]
    scopes: list[dict[str, ast.SetDecl]]  # innermost first, file-level last
    node: ast.Agreement | ast.Scenario
    problems: list[str] = field(default_factory=list)
    fallbacks: list[Placed] = field(default_factory=list)  # Placed(ast.Fallback), file order
    deemed: list[Placed] = field(default_factory=list)  # Placed(ast.Deemed), file order

    # ---- set lookup -----------------------------------------------------------------------

    def lookup(self, name: str) -> ast.SetDecl | None:
        for scope in self.scopes:
            if name in scope:
                return scope[name]
        return None

    def hs_set(self, expr: ast.HsSetExpr) -> HsSet:
        """Resolve an HS set expression in this program's scope (:func:`resolve_hs_set`)."""
        return resolve_hs_set(expr, self.lookup)

    def countries(self, expr: ast.CountrySetExpr) -> frozenset[str]:
        """Resolve ``[CN, ...]``, a country set name, or ``parties``."""
        if isinstance(expr, ast.Parties):
            return self.parties
        if isinstance(expr, ast.WordList):
            return frozenset(w.text for w in expr.words)
        decl = self.lookup(expr.name)
        if decl is None or not isinstance(decl.value, ast.WordList):
            return frozenset()
        return frozenset(w.text for w in decl.value.words)


def selector_key(rule: ast.Rule, program: Program) -> HsSet:
    return program.hs_set(rule.selector)


def _members(node, kind) -> list:
    return [m for m in node.members if isinstance(m, kind)]


def merge_agreement_parts(modules: list[ast.Module]) -> list[ast.Module]:
    """Join the parts of each agreement to its head: the first block of that name that
    declares ``parties`` (or, without one, the first block of that name). The merged
    agreement takes the head's place; the parts' members follow the head's, in file order,
    and keep their own spans. Modules whose items do not change are returned as they are."""
    blocks: dict[str, list[ast.Agreement]] = {}
    for module in modules:
        for item in module.items:
            if isinstance(item, ast.Agreement):
                blocks.setdefault(item.name, []).append(item)
    merged: dict[int, ast.Agreement] = {}  # id(head) -> merged head
    dropped: set[int] = set()
    for group in blocks.values():
        if len(group) < 2:
            continue
        head = next((b for b in group if b.parties is not None), group[0])
        parts = [b for b in group if b is not head and b.parties is None]
        if not parts:
            continue
        members = head.members + tuple(m for part in parts for m in part.members)
        merged[id(head)] = replace(head, members=members)
        dropped.update(id(part) for part in parts)
    if not merged:
        return modules
    out = []
    for module in modules:
        items = tuple(merged.get(id(i), i) for i in module.items if id(i) not in dropped)
        out.append(module if items == module.items and all(a is b for a, b in zip(items, module.items))
                   else replace(module, items=items))
    return out


def build_programs(modules: list[ast.Module]) -> dict[str, Program]:
    """Flatten every agreement and scenario of the rulebook into a program."""
    file_sets: dict[str, ast.SetDecl] = {}
    declared: dict[str, ast.Agreement | ast.Scenario] = {}
    for module in modules:
        for item in module.items:
            if isinstance(item, ast.SetDecl):
                file_sets.setdefault(item.name, item)
            elif item.name not in declared:
                declared[item.name] = item

    programs: dict[str, Program] = {}

    def build(name: str, visiting: tuple[str, ...]) -> Program | None:
        if name in programs:
            return programs[name]
        node = declared.get(name)
        if node is None or name in visiting:
            return None
        own_sets: dict[str, ast.SetDecl] = {}
        for decl in _members(node, ast.SetDecl):
            own_sets.setdefault(decl.name, decl)  # the first declaration wins, as in check
        if isinstance(node, ast.Agreement):
            placed = lambda kind: [Placed(m, name, False) for m in _members(node, kind)]  # noqa: E731
            parties = node.parties
            program = Program(
                name=name,
                is_scenario=False,
                chain=(name,),
                parties=frozenset(w.text for w in parties.countries.words) if parties else frozenset(),
                effective=node.effective,
                rules=placed(ast.Rule),
                requires=placed(ast.Require),
                fallbacks=placed(ast.Fallback),
                deemed=placed(ast.Deemed),
                de_minimis=placed(ast.DeMinimis),
                cites=node.cites,
                scopes=[own_sets, file_sets],
                node=node,
            )
        else:
            base = build(node.base, visiting + (name,))
            if base is None:
                program = Program(
                    name, True, (name,), frozenset(), None, [], [], [], node.cites,
                    [own_sets, file_sets], node, [f"base `{node.base}` cannot be resolved"],
                )
                programs[name] = program
                return program
            program = Program(
                name=name,
                is_scenario=True,
                chain=(name, *base.chain),
                parties=base.parties,
                effective=node.effective or base.effective,
                rules=list(base.rules),
                requires=list(base.requires),
                fallbacks=list(base.fallbacks),
                deemed=list(base.deemed),
                de_minimis=list(base.de_minimis),
                cites=node.cites or base.cites,
                scopes=[own_sets, *base.scopes],
                node=node,
            )
            if node.parties is not None:
                program.parties = frozenset(w.text for w in node.parties.countries.words)
            _apply_edits(program, node)
        for placed_list in (program.rules, program.requires, program.de_minimis, program.fallbacks, program.deemed):
            for i, p in enumerate(placed_list):
                if p.scope is None:
                    placed_list[i] = Placed(p.node, p.layer, p.is_scenario, program)
        programs[name] = program
        return program

    for name in declared:
        build(name, ())
    return programs


def _apply_edits(program: Program, scenario: ast.Scenario) -> None:
    """A scenario's rules replace base rules of the same selector; requires, fallbacks and
    deemings add; de minimis replaces."""
    new_rules = [m for m in scenario.members if isinstance(m, ast.Rule)]
    if new_rules:
        replaced = {program.hs_set(r.selector) for r in new_rules}
        kept = [p for p in program.rules if (p.scope or program).hs_set(p.node.selector) not in replaced]
        program.rules = kept + [Placed(r, scenario.name, True) for r in new_rules]
    program.requires = program.requires + [
        Placed(r, scenario.name, True) for r in scenario.members if isinstance(r, ast.Require)
    ]
    program.fallbacks = program.fallbacks + [
        Placed(f, scenario.name, True) for f in scenario.members if isinstance(f, ast.Fallback)
    ]
    program.deemed = program.deemed + [
        Placed(d, scenario.name, True) for d in scenario.members if isinstance(d, ast.Deemed)
    ]
    dm = [m for m in scenario.members if isinstance(m, ast.DeMinimis)]
    if dm:
        program.de_minimis = [Placed(d, scenario.name, True) for d in dm]


def resolve_hs_set(expr: ast.HsSetExpr, lookup: Callable[[str], ast.SetDecl | None]) -> HsSet:
    """The codes and ranges of an HS set expression, set names looked up with ``lookup``
    (iteratively: sets may name sets); unknown, wrong-kind or self-referring names
    contribute nothing (check reports them)."""
    items: list = []
    stack: list[tuple[ast.HsItemLit, frozenset[str]]] = [(i, frozenset()) for i in reversed(expr.items)]
    while stack:
        item, seen = stack.pop()
        if isinstance(item, ast.HsCodeLit):
            items.append(item.code)
        elif isinstance(item, ast.HsRangeLit):
            items.append(HsRange(item.low.code, item.high.code))
        else:
            decl = lookup(item.name)
            if decl is None or not isinstance(decl.value, ast.HsSetExpr) or item.name in seen:
                continue
            stack.extend((i, seen | {item.name}) for i in reversed(decl.value.items))
    return HsSet(tuple(items))


def code_of(item: HsCode | HsRange) -> HsCode:
    return item if isinstance(item, HsCode) else item.low
