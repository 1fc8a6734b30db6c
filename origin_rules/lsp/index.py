"""The names of a rulebook and where they are used: what the cursor is on, definitions,
references and the outline of a file.

In: an :class:`~origin_rules.lsp.workspace.Analysis`. Out: per file, the
:class:`Occurrence` of every HS code, range, set name (declared or used), agreement and
scenario name, ``extends`` target, country code and rule, requirement or fallback header,
with its span; :meth:`Index.at` finds the innermost one at a position;
:meth:`Index.definition` and :meth:`Index.references` follow set names (by the checker's
scope: the agreement or scenario, its bases, then the file-level sets) and agreement and
scenario names across the files of the rulebook; :meth:`Index.symbols` is a file's outline.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from ..model import ast
from ..semantics.literals import is_country
from ..semantics.resolve import Program
from ..semantics.spans import SpanFinder

_STRING = re.compile(r'"([^"\\\n]|\\.)*"')
_BLOCK = re.compile(r'^\s*(?:agreement|scenario)\s+"((?:[^"\\\n]|\\.)*)"', re.M)

KINDS = ("code", "range", "set", "set_decl", "agreement", "scenario", "base", "rule", "require",
         "fallback", "country")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A thing the cursor can be on: its kind (one of ``KINDS``), the span of its text, the
    AST node, and the agreement or scenario it is written in (None: at file level)."""

    kind: str
    span: ast.Span
    node: object
    block: str | None


@dataclass
class Symbol:
    """One entry of a file's outline: the span of the whole and of its name."""

    name: str
    detail: str
    kind: str  # agreement | scenario | set | rule | require | fallback | de_minimis
    span: ast.Span
    name_span: ast.Span
    children: list["Symbol"] = field(default_factory=list)


def _contains(span: ast.Span, line: int, column: int) -> bool:
    """Whether (line, column) lies in the span or just after its end (a cursor after a word)."""
    if span.line < 1:
        return False
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _size(span: ast.Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


@dataclass
class FileIndex:
    """What one file's module holds (kept while the module is the same object)."""

    module: ast.Module
    occurrences: list[Occurrence]
    blocks: list[tuple[ast.Agreement | ast.Scenario, ast.Span]]
    decl_names: dict[int, ast.Span]


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(node) -> tuple[str, ...]:
    names = _FIELDS.get(type(node))
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node) if f.name != "span")
        _FIELDS[type(node)] = names
    return names


class Index:
    def __init__(self, analysis, cache: dict[str, FileIndex] | None = None):
        self.analysis = analysis
        self.parsed = analysis.parsed
        self.finder = SpanFinder(self.parsed.sources)
        self._lines: dict[str, list[str]] = {}
        self.by_file: dict[str, list[Occurrence]] = {}
        self.file_sets: dict[str, ast.SetDecl] = {}
        self.blocks: dict[str, list[tuple[ast.Agreement | ast.Scenario, ast.Span]]] = {}
        self.decl_names: dict[int, ast.Span] = {}
        cache = {} if cache is None else cache
        for name, module in analysis.modules.items():
            if module is None:
                self.by_file[name] = []
                cache.pop(name, None)
                continue
            for item in module.items:
                if isinstance(item, ast.SetDecl):
                    self.file_sets.setdefault(item.name, item)
            entry = cache.get(name)
            if entry is None or entry.module is not module:
                entry = self._file(module)
                cache[name] = entry
            self.by_file[name] = entry.occurrences
            self.decl_names.update(entry.decl_names)
            for block, span in entry.blocks:
                self.blocks.setdefault(block.name, []).append((block, span))
        for name in [n for n in cache if n not in analysis.modules]:
            del cache[name]
        for group in self.blocks.values():  # an agreement's head (the block with parties) first
            group.sort(key=lambda b: not (isinstance(b[0], ast.Agreement) and b[0].parties is not None))

    # ---- building -------------------------------------------------------------------------------

    def _file(self, module: ast.Module) -> FileIndex:
        entry = FileIndex(module, [], [], {})
        for item in module.items:
            if isinstance(item, ast.SetDecl):
                self._walk(item, None, entry)
                continue
            name_span = self.finder.quoted_name(item.span)
            kind = "agreement" if isinstance(item, ast.Agreement) else "scenario"
            entry.blocks.append((item, name_span))
            entry.occurrences.append(Occurrence(kind, name_span, item, item.name))
            if isinstance(item, ast.Scenario) and item.base_span.line >= 1:
                entry.occurrences.append(Occurrence("base", item.base_span, item, item.name))
            for member in item.members:
                self._walk(member, item.name, entry)
        return entry

    def _walk(self, node, block: str | None, entry: FileIndex) -> None:
        out = entry.occurrences
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, tuple):
                stack.extend(n)
                continue
            span = getattr(n, "span", None)
            if span is None:
                continue
            if isinstance(n, ast.SetRef):
                out.append(Occurrence("set", span, n, block))
                continue
            if isinstance(n, ast.HsCodeLit):
                if span.line >= 1:
                    out.append(Occurrence("code", span, n, block))
                continue
            if isinstance(n, ast.Word):
                if span.line >= 1 and len(n.text) == 2 and is_country(n.text):
                    out.append(Occurrence("country", span, n, block))
                continue
            if isinstance(n, ast.HsRangeLit):
                out.append(Occurrence("range", span, n, block))
            elif isinstance(n, ast.SetDecl):
                name_span = self.finder.set_name(n)
                entry.decl_names[id(n)] = name_span
                out.append(Occurrence("set_decl", name_span, n, block))
            elif isinstance(n, (ast.Rule, ast.Require, ast.Fallback)) and span.line >= 1:
                kind = {ast.Rule: "rule", ast.Require: "require", ast.Fallback: "fallback"}[type(n)]
                out.append(Occurrence(kind, self.header(span), n, block))
            for name in _fields(n):
                value = getattr(n, name)
                if isinstance(value, tuple) or hasattr(value, "span"):
                    stack.append(value)

    def rows(self, file: str) -> list[str]:
        """The lines of a file's text (split once: the outline of a file of n rules asks n times)."""
        lines = self._lines.get(file)
        if lines is None:
            lines = self._lines[file] = self.parsed.sources.get(file, "").split("\n")
        return lines

    def header(self, span: ast.Span) -> ast.Span:
        """The span of a block's header: from its start to its ``{`` (strings and comments skipped)."""
        lines = self.rows(span.file)
        line, column = span.line, span.column
        while line <= min(span.end_line, len(lines)):
            row = lines[line - 1]
            i = column - 1
            while i < len(row):
                ch = row[i]
                if ch == '"':
                    m = _STRING.match(row, i)
                    i = m.end() if m else i + 1
                    continue
                if ch == "#":
                    break
                if ch == "{":
                    return ast.Span(span.file, span.line, span.column, line, i + 1)
                i += 1
            line, column = line + 1, 1
        return span

    # ---- queries ----------------------------------------------------------------------------------

    def at(self, file: str, line: int, column: int) -> Occurrence | None:
        """The innermost occurrence at a position (1-based line and column)."""
        found = [o for o in self.by_file.get(file, ()) if _contains(o.span, line, column)]
        if not found:
            return None
        # a cursor just after one word and just before the next: the one it is inside wins
        return min(found, key=lambda o: ((o.span.end_line, o.span.end_column) == (line, column), _size(o.span)))

    def program(self, block: str | None) -> Program | None:
        return self.parsed.programs.get(block) if block is not None else None

    def resolve_set(self, occurrence: Occurrence) -> ast.SetDecl | None:
        """The declaration a set name stands for where it is written (the checker's scope)."""
        if occurrence.kind == "set_decl":
            return occurrence.node
        if occurrence.kind != "set":
            return None
        name = occurrence.node.name
        program = self.program(occurrence.block)
        if program is not None:
            return program.lookup(name)
        return self.file_sets.get(name)

    def set_name_span(self, decl: ast.SetDecl) -> ast.Span:
        return self.decl_names.get(id(decl)) or self.finder.set_name(decl)

    def target(self, occurrence: Occurrence) -> str | None:
        """The agreement or scenario name an occurrence is about (its name, or ``extends``)."""
        if occurrence.kind in ("agreement", "scenario"):
            return occurrence.node.name
        if occurrence.kind == "base":
            return occurrence.node.base
        return None

    def definition(self, occurrence: Occurrence) -> list[ast.Span]:
        decl = self.resolve_set(occurrence)
        if decl is not None:
            return [self.set_name_span(decl)]
        name = self.target(occurrence)
        if name is not None:
            return [span for _, span in self.blocks.get(name, ())]
        return []

    def references(self, occurrence: Occurrence, include_declaration: bool = True) -> list[ast.Span]:
        out: list[ast.Span] = []
        decl = self.resolve_set(occurrence)
        if decl is not None:
            if include_declaration:
                out.append(self.set_name_span(decl))
            for occurrences in self.by_file.values():
                out += [o.span for o in occurrences if o.kind == "set" and self.resolve_set(o) is decl]
            return out
        name = self.target(occurrence)
        if name is None:
            return []
        if include_declaration:
            out += [span for _, span in self.blocks.get(name, ())]
        for occurrences in self.by_file.values():
            out += [o.span for o in occurrences if o.kind == "base" and o.node.base == name]
        return out

    def visible_sets(self, block: str | None) -> dict[str, ast.SetDecl]:
        """The set names usable in a block (or at file level), innermost scope first."""
        program = self.program(block)
        scopes = program.scopes if program is not None else [self.file_sets]
        out: dict[str, ast.SetDecl] = {}
        for scope in scopes:
            for name, decl in scope.items():
                out.setdefault(name, decl)
        for name, decl in self.file_sets.items():
            out.setdefault(name, decl)
        return out

    def block_at(self, file: str, line: int) -> str | None:
        """The agreement or scenario whose block holds a line of a file (in a file that does
        not parse as it stands: the last block opened above the line)."""
        module = self.analysis.modules.get(file)
        if module is None:
            text = "\n".join(self.parsed.sources.get(file, "").split("\n")[:line])
            opened = _BLOCK.findall(text)
            return opened[-1] if opened else None
        for item in module.items:
            if isinstance(item, (ast.Agreement, ast.Scenario)) and item.span.line <= line <= item.span.end_line:
                return item.name
        return None

    # ---- the outline ------------------------------------------------------------------------------

    def symbols(self, file: str) -> list[Symbol]:
        module = self.analysis.modules.get(file)
        if module is None:
            return []
        out = []
        for item in module.items:
            if isinstance(item, ast.SetDecl):
                out.append(self._set_symbol(item))
                continue
            name_span = self.finder.quoted_name(item.span)
            if isinstance(item, ast.Scenario):
                block = Symbol(item.name, f'scenario, extends "{item.base}"', "scenario", item.span, name_span)
            else:
                parties = item.parties
                detail = "agreement" + (f": {', '.join(w.text for w in parties.countries.words)}" if parties else "")
                block = Symbol(item.name, detail, "agreement", item.span, name_span)
            for member in item.members:
                symbol = self._member_symbol(member)
                if symbol is not None:
                    block.children.append(symbol)
            out.append(block)
        return out

    def _set_symbol(self, decl: ast.SetDecl) -> Symbol:
        kind = "countries" if isinstance(decl.value, ast.WordList) else "HS codes"
        return Symbol(decl.name, f"set of {kind}", "set", decl.span, self.set_name_span(decl))

    def _member_symbol(self, member) -> Symbol | None:
        rows = self.rows(member.span.file)
        if isinstance(member, ast.SetDecl):
            return self._set_symbol(member)
        if isinstance(member, ast.Rule):
            selector = span_text(rows, member.selector.span) or "rule"
            return Symbol(f"rule {selector}", member.title or "", "rule", member.span, member.selector.span)
        if isinstance(member, (ast.Require, ast.Fallback)):
            word = "require" if isinstance(member, ast.Require) else "fallback"
            where = f" for {span_text(rows, member.for_.span)}" if member.for_ is not None else ""
            head = self.header(member.span)
            return Symbol(f"{word}{where}", member.title or "", word, member.span, head)
        if isinstance(member, ast.DeMinimis):
            return Symbol("de_minimis", f"{member.measure} {member.op} {member.share.value}%", "de_minimis",
                          member.span, member.span)
        return None


def source_text(text: str, span: ast.Span) -> str:
    """The source text of a span (lines joined by a space)."""
    return span_text(text.split("\n"), span)


def span_text(rows: list[str], span: ast.Span) -> str:
    """The same from the text's lines."""
    if span.line < 1:
        return ""
    lines = rows[span.line - 1: span.end_line]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0][span.column - 1: span.end_column - 1]
    parts = [lines[0][span.column - 1:], *lines[1:-1], lines[-1][: span.end_column - 1]]
    return " ".join(p.strip() for p in parts)
