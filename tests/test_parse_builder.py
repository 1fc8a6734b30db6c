"""The faster parse (issue 14): the AST builder's spans and the scanner against what they were.

``Builder.extent`` gives a node its span from its children. It used to compute each child's
bounds as tuples; it now reads them from the tokens and spans themselves and gives a lone
positioned child's span to its parent as it is. The reference below is the old computation,
word for word: every call of ``extent`` while the repository's rule files, generated modules
and damaged rule files are parsed must give what it gives.

The scanner skips whitespace as a prefix of each state's expression, which is exact only if
no terminal but whitespace can begin with a whitespace character:
``_may_begin_with_whitespace`` decides that from each terminal's expression. The fast loop
makes its tokens itself and the builder its spans through the slots' setters: every field
of the tokens the builder reads is compared with Lark's lexer's, and the spans with the
dataclass's own.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pickle
import random
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Token

from origin_rules.formatting.printer import format_module
from origin_rules.model import ast as A
from origin_rules.syntax import build
from origin_rules.syntax import parser as P
from origin_rules.syntax.build import Builder
from origin_rules.testing import modules

from conftest import examples
from test_syntax_fast import same_as_lark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROO_FILES = sorted(glob.glob(os.path.join(ROOT, "**", "*.roo"), recursive=True))


def reference_ends(item) -> tuple | None:
    """(line, column, end_line, end_column) of a child, or None: the builder's old ``_ends``."""
    if type(item) is Token:
        return (item.line, item.column, item.end_line, item.end_column)
    span = getattr(item, "span", None)
    if type(span) is A.Span:
        return (span.line, span.column, span.end_line, span.end_column) if span.line else None
    if isinstance(item, tuple):
        found = [e for e in map(reference_ends, item) if e is not None]
        if found:
            start = min((e[0], e[1]) for e in found)
            end = max((e[2], e[3]) for e in found)
            return (start[0], start[1], end[0], end[1])
    return None


def reference_extent(file: str, children) -> A.Span:
    """The builder's old ``extent``."""
    first = last = None
    for child in children:
        if type(child) is Token:
            first = (child.line, child.column)
            break
        found = reference_ends(child)
        if found is not None:
            first = found
            break
    if first is None:
        return A.Span(file, 0, 0, 0, 0)
    for child in reversed(children):
        if type(child) is Token:
            last = (child.end_line, child.end_column)
            break
        found = reference_ends(child)
        if found is not None:
            last = found[2:]
            break
    return A.Span(file, first[0], first[1], last[0], last[1])


@contextmanager
def extents_checked():
    """Every ``extent`` of the parses inside compared with the reference; yields the number
    of calls compared (so that a test cannot pass by comparing nothing)."""
    calls = [0]
    new_extent = Builder.extent

    def extent(self, children):
        span = new_extent(self, children)
        assert span == reference_extent(self.file, children), children
        calls[0] += 1
        return span

    Builder.extent = extent
    try:
        yield calls
    finally:
        Builder.extent = new_extent


def parse_both_ways(text: str, file: str = "t.roo"):
    """Parse with the fast loop; Lark's own parse must agree (modules, spans, comments,
    diagnostics: ``test_syntax_fast.same_as_lark``)."""
    same_as_lark(text, file)
    return P.parse(text, file)


@pytest.mark.parametrize("path", ROO_FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_spans_of_every_roo_file_are_the_old_ones(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with extents_checked() as calls:
        module, _ = parse_both_ways(text, path)
    assert module is None or not module.items or calls[0] > 0


@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
@given(module=modules())
def test_spans_of_generated_modules_are_the_old_ones(module):
    with extents_checked() as calls:
        parsed, diagnostics = parse_both_ways(format_module(module))
    assert parsed is not None, diagnostics
    assert not parsed.items or calls[0] > 0


@settings(max_examples=examples(100), deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_spans_of_damaged_rule_files_are_the_old_ones(seed):
    """Whitespace, comments and line breaks put in: spans on other lines and columns."""
    rnd = random.Random(seed)
    with open(rnd.choice(ROO_FILES), encoding="utf-8") as handle:
        text = handle.read()[:3000]
    for _ in range(3):
        i = rnd.randrange(len(text) + 1)
        text = text[:i] + rnd.choice([" ", "\n", "\t", "\r\n", "  # note\n", "\x0c", "\n\n   "]) + text[i:]
    with extents_checked():
        parse_both_ways(text)


def test_a_lone_childs_span_is_shared():
    module, _ = P.parse('agreement "A" {\n  rule 87.08 { CTH }\n}', "t.roo")
    rule = module.items[0].members[0]
    (code,) = rule.selector.items
    assert rule.selector.span is code.span
    assert rule.selector.span == A.Span("t.roo", 2, 8, 2, 13)


@pytest.mark.parametrize("regexp, may", [
    ("(?:[ \t\x0c\r\n])+", True),
    ("#[^\n]*", False),
    (r'"([^"\\\n]|\\.)*"', False),
    (r"\d+(\.\d+)*", False),
    (r"[A-Za-z_][A-Za-z0-9_]*", False),
    (r",[ \t\r\n]*traced\b", False),
    (r"value[ \t]*\(", False),
    (r"\s*x", True),          # may begin with a space
    (r"x?", True),            # may match nothing
    (r"[^x]", True),          # a negated set: may be a space
    (r".", True),
    (r"(?:a|\tb)", True),     # one branch begins with a tab
    (r"(?:a|b)?c", False),
    (r"(?:a|b)? c", True),    # the optional group may be skipped: then a space
    (r"\bq", False),
])
def test_which_terminals_may_begin_with_whitespace(regexp, may):
    assert P._may_begin_with_whitespace(regexp) is may


def test_the_grammar_passes_the_whitespace_check():
    """The fast loop is on: every terminal of the grammar but WS was found not to begin with
    whitespace (otherwise :func:`P._fast` would be None and Lark would parse everything)."""
    assert P._fast() is not None


@pytest.mark.parametrize("text", [
    "   \n\t ",                                        # whitespace only
    'agreement "A" { parties = [US] }   \n\n',         # whitespace after the last token
    '\r\n\r\nagreement "A" {\r\n  rule 87.08 { CTH } # c\r\n}',
    'agreement "A" {\x0c rule 87.08 {\tCTH}}',
    'agreement "A" {\n  rule 87.08 { value(originating ,\n   traced) >= 10% of transaction_value }\n}',
])
def test_whitespace_and_lines_as_lark_reads_them(text):
    assert same_as_lark(text)  # the fast loop parsed it, as Lark did


def test_the_builders_spans_are_spans():
    """Spans made through the slots' setters are the spans the dataclass makes."""
    made = build._new_span("f.roo", 1, 2, 3, 4)
    plain = A.Span("f.roo", 1, 2, 3, 4)
    assert type(made) is A.Span
    assert (made == plain, hash(made) == hash(plain), repr(made), str(made)) == (True, True, repr(plain), str(plain))
    assert pickle.loads(pickle.dumps(made)) == plain
    assert made != A.Span("f.roo", 1, 2, 3, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.line = 5  # type: ignore[misc]


def tokens_seen(text: str, fast: bool) -> list[tuple]:
    """Every token the builder is given a span of or an extent from, with all its fields."""
    seen: list[tuple] = []
    fields = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")

    def note(things):
        seen.extend(tuple(getattr(t, f) for f in fields) for t in things if type(t) is Token)

    span, extent, saved = Builder.span, Builder.extent, P._fast
    Builder.span = lambda self, where: (note([where]), span(self, where))[1]
    Builder.extent = lambda self, children: (note(children), extent(self, children))[1]
    if not fast:
        P._fast = lambda: None
    try:
        P.parse(text, "t.roo")
    finally:
        Builder.span, Builder.extent, P._fast = span, extent, saved
    return seen


@pytest.mark.parametrize("path", ROO_FILES[:12], ids=lambda p: os.path.relpath(p, ROOT))
def test_the_fast_loops_tokens_are_larks(path):
    """The loop makes its tokens itself (not through ``Token._future_new``): every field of
    every token the builder reads is what Lark's lexer gives it."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    fast = tokens_seen(text, fast=True)
    assert fast and fast == tokens_seen(text, fast=False)
