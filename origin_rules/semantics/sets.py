"""Named sets: where a name is looked up, sets defined in terms of themselves, and the code
intervals a rule's selector covers once its set names are expanded.

In: ``SetDecl`` nodes and the scope each was declared in (a :class:`Scope`: tables of
``name -> SetDecl``, innermost first). Out: lookups, ROO120 diagnostics for cycles, and
:class:`~origin_rules.semantics.overlap.Covered` intervals for the overlap index. Every walk
over chains of set names is iterative: a chain may be longer than Python's recursion limit.
"""

from __future__ import annotations

from ..model import ast
from ..model.diagnostics import Diagnostic, error
from .overlap import Covered


class Scope:
    """Where a set name is looked up: tables of ``name -> SetDecl``, innermost first."""

    def __init__(self, layers: list[dict[str, ast.SetDecl]]):
        self.layers = layers

    def lookup(self, name: str) -> ast.SetDecl | None:
        for layer in self.layers:
            decl = layer.get(name)
            if decl is not None:
                return decl
        return None

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for layer in self.layers:
            seen.update(dict.fromkeys(layer))
        return list(seen)


def _set_refs(decl: ast.SetDecl, decl_scope: dict[int, Scope]) -> list[tuple[ast.SetRef, ast.SetDecl]]:
    """The HS sets that an HS set names, each with the reference that names it."""
    scope = decl_scope.get(id(decl))
    if scope is None or not isinstance(decl.value, ast.HsSetExpr):
        return []
    out = []
    for item in decl.value.items:
        if isinstance(item, ast.SetRef):
            target = scope.lookup(item.name)
            if target is not None and isinstance(target.value, ast.HsSetExpr):
                out.append((item, target))
    return out


def set_cycles(all_sets: list[ast.SetDecl], decl_scope: dict[int, Scope]) -> list[Diagnostic]:
    """ROO120: a set of HS codes defined, directly or not, in terms of itself (once per cycle,
    at the reference that closes it; an iterative depth-first search)."""
    out: list[Diagnostic] = []
    state: dict[int, int] = {}  # 1 on the current path, 2 done
    reported: set[frozenset[int]] = set()
    for root in all_sets:
        if id(root) in state:
            continue
        path: list[ast.SetDecl] = [root]
        todo = [iter(_set_refs(root, decl_scope))]
        state[id(root)] = 1
        while todo:
            step = next(todo[-1], None)
            if step is None:
                state[id(path.pop())] = 2
                todo.pop()
                continue
            ref, target = step
            mark = state.get(id(target))
            if mark is None:
                state[id(target)] = 1
                path.append(target)
                todo.append(iter(_set_refs(target, decl_scope)))
            elif mark == 1:
                cycle = path[[id(d) for d in path].index(id(target)):]
                key = frozenset(id(d) for d in cycle)
                if key not in reported:
                    reported.add(key)
                    names = " -> ".join(f"`{d.name}`" for d in [*cycle, target])
                    out.append(error(
                        "ROO120",
                        f"set `{target.name}` is defined in terms of itself: {names}",
                        ref.span,
                        "write the codes out in one of the sets instead of naming the other",
                    ))
    return out


def covered(expr: ast.HsSetExpr, scope: Scope, decl_scope: dict[int, Scope]) -> list[Covered]:
    """The code intervals a selector covers, each with the span of the selector item (a
    literal, or the name of a set) that brings it in. Reversed or mixed-level ranges and
    unknown names cover nothing here (they are reported elsewhere)."""
    out: list[Covered] = []
    for item in expr.items:
        todo: list[tuple[object, Scope]] = [(item, scope)]
        seen: set[int] = set()
        while todo:
            node, where = todo.pop()
            if isinstance(node, ast.HsCodeLit):
                out.append(Covered(node.code.digits, node.code.digits, item.span))
            elif isinstance(node, ast.HsRangeLit):
                low, high = node.low.code.digits, node.high.code.digits
                if len(low) == len(high) and low <= high:
                    out.append(Covered(low, high, item.span))
            elif isinstance(node, ast.SetRef):
                decl = where.lookup(node.name)
                if decl is None or id(decl) in seen or not isinstance(decl.value, ast.HsSetExpr):
                    continue
                seen.add(id(decl))
                todo.extend((sub, decl_scope.get(id(decl), where)) for sub in decl.value.items)
    return out
