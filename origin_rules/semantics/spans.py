"""Narrow spans found in the source text of a node whose AST keeps only the whole span.

In: the source texts by file name and a node's span. Out: the span of the quoted name of an
agreement or scenario, of the name of a ``set``, of a ``from DATE`` / ``until DATE``
clause in a rule header, or of the first word of a criterion, so that a diagnostic can point at exactly the thing it is about.
Falls back to the node's own span when the text is not where it should be.
"""

from __future__ import annotations

import bisect
import re

from ..model import ast

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r'"([^"\\\n]|\\.)*"')
_NEWLINE = re.compile("\n")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")


class SpanFinder:
    def __init__(self, sources: dict[str, str]):
        self._sources = sources
        self._starts: dict[str, list[int]] = {}

    def _line_starts(self, file: str) -> list[int]:
        starts = self._starts.get(file)
        if starts is None:
            text = self._sources.get(file, "")
            starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
            self._starts[file] = starts
        return starts

    def _offset(self, span: ast.Span) -> int | None:
        if span.line < 1 or span.file not in self._sources:
            return None
        starts = self._line_starts(span.file)
        if span.line > len(starts):
            return None
        return starts[span.line - 1] + span.column - 1

    def _span(self, file: str, start: int, end: int) -> ast.Span:
        starts = self._line_starts(file)
        line = bisect.bisect_right(starts, start)
        end_line = bisect.bisect_right(starts, end)
        return ast.Span(file, line, start - starts[line - 1] + 1, end_line, end - starts[end_line - 1] + 1)

    def quoted_name(self, node_span: ast.Span) -> ast.Span:
        """The first quoted text after the start of ``node_span`` (an agreement's name)."""
        start = self._offset(node_span)
        if start is None:
            return node_span
        m = _STRING.search(self._sources[node_span.file], start)
        if m is None:
            return node_span
        return self._span(node_span.file, m.start(), m.end())

    def first_token(self, node_span: ast.Span) -> ast.Span:
        """The first word (or sign) of a node: the `not` or `(` a criterion starts with."""
        start = self._offset(node_span)
        if start is None:
            return node_span
        m = _TOKEN.match(self._sources[node_span.file], start)
        if m is None:
            return node_span
        return self._span(node_span.file, m.start(), m.end())

    def set_name(self, decl: ast.SetDecl) -> ast.Span:
        """The name in ``set NAME = ...``."""
        start = self._offset(decl.span)
        if start is None:
            return decl.span
        text = self._sources[decl.span.file]
        m = _NAME.search(text, start + len("set"))
        if m is None or m.group() != decl.name:
            return decl.span
        return self._span(decl.span.file, m.start(), m.end())

    def header_clause(self, node_span: ast.Span, keyword: str) -> ast.Span:
        """``from DATE`` or ``until DATE`` in the header of a rule (before its ``{``)."""
        start = self._offset(node_span)
        if start is None:
            return node_span
        text = self._sources[node_span.file]
        pattern = re.compile(rf"\b{keyword}\s+\S+")
        i, n = start, len(text)
        while i < n:
            ch = text[i]
            if ch == '"':
                m = _STRING.match(text, i)
                i = m.end() if m else i + 1
                continue
            if ch == "#":
                nl = text.find("\n", i)
                i = n if nl < 0 else nl
                continue
            if ch == "{":
                break
            if ch == keyword[0]:
                m = pattern.match(text, i)
                if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                    end = m.end()
                    while end > m.start() and text[end - 1] == "{":
                        end -= 1
                    return self._span(node_span.file, m.start(), end)
            i += 1
        return node_span
