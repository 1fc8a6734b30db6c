"""The formatter: one canonical layout for ``.roo`` files, printed from the AST.

In: a :class:`~origin_rules.model.ast.Module` (``format_module``) or a file's text
(``check_format``). Out: the formatted text; a :class:`FmtResult` saying whether it changed
or why it was refused; ``unified_diff`` for ``fmt --check``. Nothing here prints.

The layout (docs/language.md's examples are written in it), at most 88 columns where it can be:

* 2-space indentation, one declaration per line, one newline at the end of the file.
* A blank line between members (and between top-level items), except within a run of
  header lines (``parties``, ``effective``, ``hs_version``, ``cite``), of sets, of
  ``de_minimis`` lines, of rules sharing a selector, or of one-line rules or requirements.
  A blank line the source had between two members or body lines is kept (one at most).
* Headers: ``rule SELECTOR "title" from D until D when COND {``, ``require "title" for SET
  from D until D when COND {``; too wide, they wrap (greedily, between clauses and between
  the items of a set) onto continuation lines indented 4 more; ``de_minimis`` lines too.
  A long ``set`` or ``parties`` list wraps under its first item.
* One body line per criterion. An ``or`` that is the only criterion puts each alternative on
  its own line, the others starting with ``or``; among several criteria it is parenthesised
  (it is one of them). Too wide, an ``and`` breaks with ``and`` under the alternative's
  text, a comparison with ``>= N% of BASE`` on the next line, a parenthesised group inside.
* A rule or requirement with one criterion written on one line stays on one line
  (``rule 87.03 "..." until 2021-06-30 { rvc(net_cost) >= 66% }``) while its header and
  its criterion each fit; empty bodies are ``{}``.
* Aliases ``CC``/``CTH``/``CTSH`` as written; percentages exactly as their decimal
  (``62.5%``); HS codes dotted; strings quoted with ``\\"`` and ``\\\\`` escaped.
* Comments keep their order: one on its own line goes before the next construct (member,
  body line, alternative, closing brace) at its indentation; one after code stays at the
  end of the line of the construct that ends there. Blank lines around comment groups are
  kept; trailing whitespace is dropped.
"""

from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass

from ..model import ast as A
from ..syntax.parser import parse

WIDTH = 88
MAX_DEPTH = A.MAX_NESTING  # nesting of and/or/not that check_format accepts (the printer recurses; ROO126)
_BLOCKS = (A.Agreement, A.Scenario, A.Rule, A.Require, A.Fallback, A.Deemed)
_ALIASES = {"CC": 2, "CTH": 4, "CTSH": 6}


@dataclass(frozen=True, slots=True)
class FmtResult:
    """``formatted`` is the text to write (the input itself when ``error`` is set)."""

    formatted: str
    changed: bool
    error: str | None = None


# ---- flat printing --------------------------------------------------------------------------


def quote(text: str) -> str:
    """A string literal of the language: in double quotes, ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def percent(value) -> str:
    """A percentage literal: ``60%``, ``12.5%`` (exact, never through a float)."""
    return format(value, "f") + "%"


def word_list(words) -> str:
    """A list of words or country codes: ``[CN, MX]``."""
    return "[" + ", ".join(words) + "]"


def _change(c: A.Change) -> str:
    srcs = c.sources
    if (c.alias in _ALIASES and len(srcs) == 1 and isinstance(srcs[0], A.AnyOther)
            and int(srcs[0].level) == _ALIASES[c.alias]):
        text = c.alias
    else:
        text = "change from " + ", ".join(map(_flat, srcs))
    text += f" except {_flat(c.except_)}" if c.except_ is not None else ""
    if c.except_groups:
        text += " except more than one of " + ", ".join(f"({_flat(g)})" for g in c.except_groups)
    return text


def _rvc(m: A.Rvc) -> str:
    args = [m.method] + ([m.basis] if m.basis else []) + ([_flat(m.focus)] if m.focus else [])
    return f"rvc({', '.join(args)})"


def _threshold(c) -> str:
    """``>= 60% of BASE`` of a comparison (or a de minimis line)."""
    return f"{c.op} {_flat(c.share)}" + (f" of {_flat(c.base)}" if c.base is not None else "")


def _sum(n: A.Sum) -> str:
    """``value(F[, traced])``, ``weight(traced)``, ``weight(polymer of F[, traced])``."""
    inner = _flat(n.filter) if n.filter else ""
    if n.part is not None:
        inner = f"{n.part} of {inner}" if inner else n.part
    return f"{n.measure}({inner}{(', traced' if inner else 'traced') if n.traced else ''})"


_TEXT = {
    A.HsCodeLit: lambda n: str(n.code),
    A.HsRangeLit: lambda n: f"{n.low.code}..{n.high.code}",
    A.SetRef: lambda n: n.name,
    A.HsSetExpr: lambda n: ", ".join(map(_flat, n.items)),
    A.WordList: lambda n: word_list(w.text for w in n.words),
    A.Parties: lambda n: "parties",
    A.Percent: lambda n: percent(n.value),
    A.Figure: lambda n: n.name,
    A.AnyOther: lambda n: f"any other {n.level.word}",
    A.Sum: lambda n: _sum(n),
    A.Rvc: _rvc,
    A.MaxNom: lambda n: f"max_nom({n.basis})",
    A.FactValue: lambda n: f"fact({n.name})",
    A.Where: lambda n: f"{_flat(n.item)} where {n.fact} in {_flat(n.values)}",
    A.Change: _change,
    A.Comparison: lambda n: f"{_flat(n.measure)} {_threshold(n)}",
    A.Performed: lambda n: f"performed {quote(n.process)} in {_flat(n.where)}",
    A.WhollyObtained: lambda n: "wholly_obtained",
    A.IsOriginating: lambda n: "non_originating" if n.negated else "originating",
    A.OriginIn: lambda n: f"origin in {_flat(n.countries)}",
    A.HsIn: lambda n: f"hs in {_flat(n.hs)}",
    A.KindIn: lambda n: f"kind in {_flat(n.kinds)}",
    A.SameCode: lambda n: f"same {n.level.word}",
    A.FactIn: lambda n: f"{n.fact} in {_flat(n.values)}",
    A.Cite: lambda n: f"cite {quote(n.text)}",
    A.PartiesDecl: lambda n: f"parties = {_flat(n.countries)}",
    A.Effective: lambda n: f"effective = {n.on.isoformat()}",
    A.HsVersion: lambda n: f"hs_version = {n.year}",
    A.SetDecl: lambda n: f"set {n.name} = {_flat(n.value)}",
}


def _parens(child, parent) -> bool:
    """Whether ``child`` needs parentheses under ``parent`` (``and`` binds tighter)."""
    return isinstance(child, (A.Or, A.And)) and (isinstance(child, A.Or) or not isinstance(parent, A.Or))


def _wrap(child, parent) -> str:
    return f"({_flat(child)})" if _parens(child, parent) else _flat(child)


def _flat(n) -> str:
    """Any node but a block or a de minimis line, on one line."""
    if isinstance(n, (A.Or, A.And)):
        return (" or " if isinstance(n, A.Or) else " and ").join(_wrap(o, n) for o in n.operands)
    if isinstance(n, A.Not):
        return "not " + _wrap(n.operand, n)
    return _TEXT[type(n)](n)


def _items(word: str, s: A.HsSetExpr) -> list[str]:
    """``word`` and a set as wrappable parts: ``["for 84,", "85,", "87"]``."""
    parts = [_flat(i) + "," for i in s.items]
    parts[-1] = parts[-1][:-1]
    return [f"{word} {parts[0]}"] + parts[1:]


def _member_parts(m) -> list[list[str]]:
    """A member that is not a block, as clauses of wrappable parts."""
    if not isinstance(m, A.DeMinimis):
        return [[_flat(m)]]
    clauses = [[f"de_minimis {m.measure} {_threshold(m)}"]]
    if m.of_which is not None:  # written after the line's base (the grammar needs the base)
        clauses[0].append(f"of which {m.of_which.flag} {_threshold(m.of_which)}")
    clauses += [_items("for", m.for_)] if m.for_ is not None else []
    clauses += [_items("except", m.except_)] if m.except_ is not None else []
    return clauses + ([[f"exclude {_flat(m.exclude)}"]] if m.exclude is not None else [])


def _header(b) -> list[list[str]]:
    """A block's header (without ``{``) as clauses of wrappable parts."""
    if isinstance(b, A.Agreement):
        return [[f"agreement {quote(b.name)}"]]
    if isinstance(b, A.Scenario):
        return [[f"scenario {quote(b.name)} extends {quote(b.base)}"]]
    title = [[quote(b.title)]] if b.title is not None else []
    if isinstance(b, A.Rule):
        clauses = [_items("rule", b.selector)] + title
    else:
        keyword = {A.Fallback: "fallback", A.Deemed: "deemed originating"}.get(type(b), "require")
        clauses = [[keyword]] + title + ([_items("for", b.for_)] if b.for_ is not None else [])
        if isinstance(b, (A.Fallback, A.Deemed)) and b.except_ is not None:
            clauses.append(_items("except", b.except_))
    clauses += [[f"from {b.from_.isoformat()}"]] if b.from_ else []
    clauses += [[f"until {b.until.isoformat()}"]] if b.until else []
    return clauses + ([[f"when {_flat(b.when)}"]] if b.when is not None else [])


def _greedy(indent: int, clauses: list[list[str]], end: str = "", hang: int = 4) -> list[list]:
    """Clauses joined on a line while they fit, else each on a continuation line (at
    ``indent + hang``); a clause too wide even there is filled part by part."""
    lines: list[list] = []

    def fits(text: str, tail: int) -> bool:
        return lines[-1][0] + len(lines[-1][1]) + 1 + len(text) + tail <= WIDTH

    for k, parts in enumerate(clauses):
        tail, whole = len(end) if k == len(clauses) - 1 else 0, " ".join(parts)
        if lines and fits(whole, tail):
            lines[-1][1] += " " + whole
        elif lines and indent + hang + len(whole) + tail <= WIDTH:
            lines.append([indent + hang, whole])
        else:
            for j, part in enumerate(parts):
                if not lines:
                    lines.append([indent, part])
                elif fits(part, tail if j == len(parts) - 1 else 0):
                    lines[-1][1] += " " + part
                else:
                    lines.append([indent + hang, part])
    lines[-1][1] += end
    return lines


def _fill(indent: int, m) -> list[list]:
    """A long ``set`` or ``parties`` list, continued under its first item."""
    words = m.countries if isinstance(m, A.PartiesDecl) else m.value
    if isinstance(words, A.WordList):
        prefix = "parties = [" if isinstance(m, A.PartiesDecl) else f"set {m.name} = ["
        items, end = [w.text for w in words.words], "]"
    else:
        prefix, items, end = f"set {m.name} = ", [_flat(i) for i in m.value.items], ""
    if len(items) < 2:
        return [[indent, _member_parts(m)[0][0]]]
    items = [prefix + items[0] + ","] + [i + "," for i in items[1:-1]] + [items[-1]]
    return _greedy(indent, [items], end, len(prefix))


# ---- where comments go ---------------------------------------------------------------------


class _Anchor:
    """A construct that starts an output line; comments attach to its slots."""

    __slots__ = ("node", "parent", "start", "end", "first_kid")

    def __init__(self, node, parent, start, end):
        self.node, self.parent, self.start, self.end, self.first_kid = node, parent, start, end, None


def _kids(block) -> tuple:
    return block.members if isinstance(block, (A.Agreement, A.Scenario)) else block.lines


def _line_level(block, line):
    """Members: None. Body lines: 0, or -1 for an ``or`` printed in parentheses (one of
    several criteria), whose alternatives take no comments of their own."""
    if not isinstance(block, (A.Rule, A.Require, A.Fallback, A.Deemed)):
        return None
    several = sum(not isinstance(x, A.Cite) for x in block.lines) > 1
    return -1 if isinstance(line, A.Or) and several else 0


def _op_level(node, level):
    """The level of the operands that take comments: of a body line (0), of an alternative (1)."""
    if level == 0 and isinstance(node, (A.Or, A.And)):
        return 1 if isinstance(node, A.Or) else 2
    return 2 if level == 1 and isinstance(node, A.And) else None


class _Comments:
    """Assigns each comment to a slot of an anchor, in source order.

    Slots, in printing order: ``lead`` (own lines before an anchor), ``head`` (after the
    ``{`` of a block), ``close`` (own lines before a ``}`` or the end of the file) and
    ``trail`` (after an anchor's last line). ``busy``: nodes that a comment inside keeps
    from being printed on one line.
    """

    def __init__(self, module: A.Module):
        self.src = module.source.split("\n") if module.source else []
        self.anchors: list[_Anchor] = []
        self.by_id: dict[int, _Anchor] = {}
        self.starts: list[int] = []
        self.ends: dict[int, list[_Anchor]] = {}
        self.order: list[tuple[str, int]] = []
        self.leads: list[tuple[str, int]] = []
        self.lead_lines: list[int] = []
        self.slots: dict[tuple[str, int], list[A.Comment]] = {}
        self.busy: set[int] = set()
        for item in module.items:
            self._walk(item, None, None)
        self._slot("close", id(module), 10**9)
        self.index = {s: i for i, s in enumerate(self.order)}
        self.last = -1
        for c in sorted(module.comments, key=lambda c: (c.span.line, c.span.column)):
            self._assign(c)

    def _slot(self, kind, key, start=None):
        self.order.append((kind, key))
        if start is not None:
            self.leads.append((kind, key))
            self.lead_lines.append(start)

    def _ext_end(self, span: A.Span) -> tuple[int, int]:
        """The end of a span, past the closing parentheses that wrap it."""
        line, col, end = span.end_line, span.end_column, (span.end_line, span.end_column)
        while 0 < line <= len(self.src):
            text = self.src[line - 1]
            while col <= len(text) and text[col - 1] in " \t\r)":
                col += 1
                end = (line, col) if text[col - 2] == ")" else end
            if col <= len(text) and text[col - 1] != "#":
                break
            line, col = line + 1, 1
        return end

    def _walk(self, node, parent: _Anchor | None, level):
        sp, block = node.span, isinstance(node, _BLOCKS)
        a = _Anchor(node, parent, (sp.line, sp.column),
                    (sp.end_line, sp.end_column) if block or level is None else self._ext_end(sp))
        self.anchors.append(a)
        self.starts.append(sp.line)
        self.ends.setdefault(a.end[0], []).append(a)
        self.by_id[id(node)] = a
        if parent is not None and parent.first_kid is None:
            parent.first_kid = sp.line
        self._slot("lead", id(node), sp.line)
        if block:
            self._slot("head", id(node))
            for child in _kids(node):
                self._walk(child, a, _line_level(node, child))
            self._slot("close", id(node), sp.end_line)
        elif (sub := _op_level(node, level)) is not None:
            for op in node.operands:
                self._walk(op, a, sub)
        self._slot("trail", id(node))

    @staticmethod
    def _owner(a: _Anchor) -> _Anchor:
        """The outermost construct ending on the same line (a trailing comment goes to it)."""
        while a.parent and not isinstance(a.parent.node, _BLOCKS) and a.parent.end[0] == a.end[0]:
            a = a.parent
        return a

    def _candidates(self, line: int, col: int):
        """Slots for a comment after code on ``line``, best first."""
        ending = [a for a in self.ends.get(line, ()) if a.end[1] <= col]
        if ending:
            yield "trail", self._owner(max(ending, key=lambda a: a.end[1]))
        inner = None
        for i in range(bisect.bisect_right(self.starts, line) - 1, -1, -1):
            a = self.anchors[i]
            if a.end[0] < line:
                continue
            if isinstance(a.node, _BLOCKS):  # the innermost block around the line
                if line < (a.first_kid or a.end[0]):
                    yield "head", a
                break
            inner = inner or a
        if inner is not None:
            yield "trail", self._owner(inner)

    def _assign(self, c: A.Comment) -> None:
        line, col = c.span.line, c.span.column
        slot = None
        if 0 < line <= len(self.src) and self.src[line - 1][: col - 1].strip():
            for kind, a in self._candidates(line, col):
                if (kind, id(a.node)) not in self.slots and self.index[(kind, id(a.node))] > self.last:
                    slot = (kind, id(a.node))
                    break
        if slot is None:  # on its own line, or no better place: before what comes next
            slot = self.leads[bisect.bisect_right(self.lead_lines, line)]
            if self.index[slot] < self.last:
                slot = next(s for s in self.leads if self.index[s] >= self.last)
            if slot[0] == "lead":  # the outermost construct starting there owns it
                a = self.by_id[slot[1]]
                while a.parent and not isinstance(a.parent.node, _BLOCKS) and a.parent.start == a.start:
                    a = a.parent
                slot = ("lead", id(a.node))
        self.slots.setdefault(slot, []).append(c)
        self.last = self.index[slot]
        a = self.by_id.get(slot[1])
        if slot[0] in ("head", "close") and a is not None:
            self.busy.add(id(a.node))
        while a is not None and a.parent is not None:
            a = a.parent
            self.busy.add(id(a.node))

    def get(self, kind: str, node) -> list[A.Comment]:
        return self.slots.get((kind, id(node)), [])

    def blank_between(self, a: int, b: int) -> bool:
        """Whether a source line strictly between lines ``a`` and ``b`` is blank."""
        return any(not self.src[i - 1].strip() for i in range(max(a + 1, 1), min(b, len(self.src) + 1)))


# ---- layout ------------------------------------------------------------------------------------


_GROUPS = {A.PartiesDecl: "header", A.Effective: "header", A.HsVersion: "header", A.Cite: "header",
           A.SetDecl: "set", A.DeMinimis: "de_minimis"}


def _together(prev, cur, both_one_line: bool) -> bool:
    """Whether two neighbouring members (or top-level items) go without a blank line."""
    if _GROUPS.get(type(prev), 0) == _GROUPS.get(type(cur)):
        return True
    if isinstance(prev, A.Rule) and isinstance(cur, A.Rule) and prev.selector == cur.selector:
        return True
    return type(prev) is type(cur) and isinstance(cur, (A.Rule, A.Require, A.Fallback, A.Deemed)) and both_one_line


class _Printer:
    """Builds the output as [indent, text] lines; indent None: as the next line's."""

    def __init__(self, module: A.Module):
        self.c = _Comments(module)
        self.module = module

    def comments(self, comments, before: int) -> list[list]:
        out: list[list] = []
        for k, c in enumerate(comments):
            if k and self.c.blank_between(comments[k - 1].span.line, c.span.line):
                out.append([0, ""])
            out.append([None, c.text.rstrip()])
        return out + ([[0, ""]] if comments and self.c.blank_between(comments[-1].span.line, before) else [])

    def lead(self, node) -> list[list]:
        return self.comments(self.c.get("lead", node), node.span.line)

    def trail(self, lines: list[list], node, kind: str = "trail") -> list[list]:
        for c in self.c.get(kind, node):
            lines[-1][1] += "  " + c.text.rstrip()
        return lines

    def gap(self, prev, cur) -> list[list]:
        """A blank line where the source had one between two members or body lines."""
        lead = self.c.get("lead", cur)
        return [[0, ""]] if self.c.blank_between(prev.span.end_line, (lead[0] if lead else cur).span.line) else []

    def criterion(self, node, col: int, hang: int, level, force: bool = False) -> list[list]:
        """Lines of a criterion starting at ``col``, continuation lines at ``hang``; ``level``
        says whether its operands take comments; ``force`` breaks an ``or`` that would fit."""
        flat = _flat(node)
        if not force and col + len(flat) <= WIDTH and not (level is not None and id(node) in self.c.busy):
            return [[col, flat]]
        if isinstance(node, (A.Or, A.And)):
            word = "or " if isinstance(node, A.Or) else "and "
            sub, step, out = _op_level(node, level), len(word), []
            for k, op in enumerate(node.operands):
                lines = self.operand(op, node, col if k == 0 else hang + step, hang + step, sub)
                if k:
                    first = next(i for i, (ind, t) in enumerate(lines) if ind is not None and t)
                    lines[first] = [hang, word + lines[first][1]]
                out += self.lead(op) + self.trail(lines, op) if sub is not None else lines
            return out
        if isinstance(node, A.Not):
            lines = self.operand(node.operand, node, col + 4, hang + 4, None)
            return [[col, "not " + lines[0][1]]] + lines[1:]
        if isinstance(node, A.Comparison):
            return [[col, _flat(node.measure)], [hang, _threshold(node)]]
        return [[col, flat]]

    def operand(self, op, parent, col: int, hang: int, level) -> list[list]:
        return self.group(op, col) if _parens(op, parent) else self.criterion(op, col, hang, level)

    def group(self, node, col: int) -> list[list]:
        """A criterion in parentheses, broken inside them when too wide."""
        if col + len(_flat(node)) + 2 <= WIDTH:
            return [[col, f"({_flat(node)})"]]
        lines = self.criterion(node, col + 1, col + 1, None)
        lines[-1][1] += ")"
        return [[col, "(" + lines[0][1]]] + lines[1:]

    def block(self, b, indent: int) -> tuple[list[list], bool]:
        """A block's lines (without its leading comments), and whether it is one line."""
        inner, kids, busy = indent + 2, _kids(b), id(b) in self.c.busy
        head = _greedy(indent, _header(b), " {")
        if isinstance(b, (A.Rule, A.Require, A.Fallback, A.Deemed)) and len(kids) == 1 and not busy and len(head) == 1 \
                and 0 < b.span.line == b.span.end_line and inner + len(_flat(kids[0])) <= WIDTH:
            return self.trail([[indent, f"{head[0][1][:-2]} {{ {_flat(kids[0])} }}"]], b), True
        if not kids and not busy:
            head[-1][1] += "}"
            return self.trail(head, b), False
        out = self.trail(head, b, "head")
        if isinstance(b, (A.Rule, A.Require, A.Fallback, A.Deemed)):
            for k, line in enumerate(kids):
                if isinstance(line, A.Cite):
                    body = [[inner, _flat(line)]]
                elif _line_level(b, line) == -1:
                    body = self.group(line, inner)
                else:
                    hang = inner + 4 if isinstance(line, A.Comparison) else inner
                    body = self.criterion(line, inner, hang, 0, force=isinstance(line, A.Or))
                out += (self.gap(kids[k - 1], line) if k else []) + self.lead(line) + self.trail(body, line)
        else:
            out += self.sequence(kids, inner)
        return out + self.closing(b, kids, inner) + self.trail([[indent, "}"]], b), False

    def closing(self, owner, kids, indent: int) -> list[list]:
        """The comments before a closing brace (or the end of the file)."""
        comments = self.c.get("close", owner)
        gap = bool(comments and kids) and self.c.blank_between(kids[-1].span.end_line, comments[0].span.line)
        lines = [[indent if ind is None else ind, t] for ind, t in self.comments(comments, 0)]
        return ([[0, ""]] if gap else []) + lines

    def member(self, m, indent: int) -> tuple[list[list], bool]:
        if isinstance(m, _BLOCKS):
            return self.block(m, indent)
        parts = _member_parts(m)
        lines = _fill(indent, m) if isinstance(m, (A.SetDecl, A.PartiesDecl)) \
            and indent + len(parts[0][0]) > WIDTH else _greedy(indent, parts)
        return self.trail(lines, m), True

    def sequence(self, items, indent: int) -> list[list]:
        out: list[list] = []
        prev = prev_one = None
        for m in items:
            lines, one = self.member(m, indent)
            if prev is not None:
                out += self.gap(prev, m) or ([] if _together(prev, m, prev_one and one) else [[0, ""]])
            out += self.lead(m) + lines
            prev, prev_one = m, one
        return out

    def render(self) -> str:
        lines = self.sequence(self.module.items, 0) + self.closing(self.module, self.module.items, 0)
        text, nxt = [], 0
        for ind, t in reversed(lines):  # resolve "as the next line" indents
            ind = nxt if ind is None else ind
            nxt = ind if t else nxt
            text.append(" " * ind + t if t else "")
        return "\n".join(reversed(text)) + "\n" if text else ""


# ---- the public functions -------------------------------------------------------------------


def format_module(module: A.Module) -> str:
    """The canonical text of a module, its comments in place (see the module docstring).
    Recursive: a module nested deeper than ``MAX_DEPTH`` may raise ``RecursionError``
    (``check_format`` refuses those first)."""
    return _Printer(module).render()


#: What :func:`nesting` walks into (a tuple made once: a union written in its loop was made
#: again for every value it tested, a tenth of `fmt --check` on the shipped rules).
_NESTED = (A.Node, A.Rule, A.Require, A.Fallback, A.Deemed, A.Agreement, A.Scenario, A.Sum, A.Comparison, A.DeMinimis)
_BOOLEAN = (A.And, A.Or, A.Not)


def nesting(module: A.Module) -> int:
    """How deep ``and``/``or``/``not`` nest in a module (counted without recursion)."""
    deepest, todo = 0, [(item, 0) for item in module.items]
    while todo:
        node, depth = todo.pop()
        depth += isinstance(node, _BOOLEAN)
        deepest = max(deepest, depth)
        for name in getattr(node, "__slots__", ()):
            value = getattr(node, name)
            todo += [(v, depth) for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, _NESTED)]
    return deepest


def _first_difference(old: A.Module, new: A.Module) -> str:
    """Where two ASTs first differ, in words (for a refusal)."""
    def name(node) -> str:
        text = " ".join(" ".join(c) for c in (_header(node) if isinstance(node, _BLOCKS) else _member_parts(node)))
        return f"`{text[:60]}` (line {node.span.line})"

    for a, b in zip(old.items, new.items):
        if a != b:
            if isinstance(a, (A.Agreement, A.Scenario)) and type(a) is type(b):
                return next((name(m) for m, n in zip(a.members, b.members) if m != n), name(a))
            return name(a)
    return f"the file ({len(old.items)} declarations become {len(new.items)})"


def check_format(text: str, file: str = "<string>", parsed: tuple | None = None) -> FmtResult:
    """Format ``text``. Refuses (``error`` set, ``formatted`` is ``text``) when the text does not
    parse or has errors, or when the output would not parse back to the same AST and comments,
    or would format differently again. ``parsed``: what ``parse(text, file)`` gave, when the
    caller has it already.

    Text that is formatted already comes back as it is after one parse and one formatting:
    its formatted text is itself, which parses back to the same module (parsing is a function
    of the text) and formats again to the same text (formatting is a function of the module),
    so the checks of a changed text hold without being run."""
    def refuse(why: str) -> FmtResult:
        return FmtResult(text, False, why)

    module, diags = parsed if parsed is not None else parse(text, file)
    errors = [d for d in diags if d.is_error]
    if module is None or errors:
        d = errors[0] if errors else diags[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return refuse(f"`{file}` was not formatted: line {d.span.line}: {d.message}{more}")
    depth = nesting(module)
    if depth > MAX_DEPTH:
        return refuse(f"`{file}` nests `and`/`or`/`not` {depth} deep: too deep to format (at most {MAX_DEPTH})")
    formatted = format_module(module)
    if formatted == text:
        return FmtResult(formatted, False)
    again, _ = parse(formatted, file)
    twice = format_module(again) if again is not None else None
    bug = "; the file was left unchanged (a formatter bug: please report it with this file)"
    if again is None:
        return refuse(f"formatting `{file}` would give text that does not parse{bug}")
    if again != module:
        return refuse(f"formatting `{file}` would change the meaning of {_first_difference(module, again)}{bug}")
    if [c.text.rstrip() for c in again.comments] != [c.text.rstrip() for c in module.comments]:
        return refuse(f"formatting `{file}` would lose or reorder comments{bug}")
    if twice != formatted:
        return refuse(f"formatting `{file}` twice would not give the same text{bug}")
    return FmtResult(formatted, formatted != text)


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unified_diff(old: str, new: str, file: str) -> str:
    """A unified diff from ``old`` to ``new`` (``""`` when equal), for ``fmt --check --diff``."""
    out = difflib.unified_diff(_lines(old), _lines(new), fromfile=file, tofile=f"{file} (formatted)")
    return "".join(x if x.endswith("\n") else x + "\n\\ No newline at end of file\n" for x in out)
