"""The parser's fast loop (issue 14 item 6 of the parse): Lark's contextual lexers and LALR
table driven by one loop of ours (``syntax.parser._Fast``). For every text it must give what
Lark's own parse gives: the same module (nodes, spans, comments) and the same diagnostics;
and it must step aside (None) for every text Lark refuses, so that Lark words the error.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from origin_rules.formatting.printer import format_module
from origin_rules.model import ast as A
from origin_rules.syntax import parser as P
from origin_rules.testing import modules

from conftest import examples

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROO_FILES = sorted(glob.glob(os.path.join(ROOT, "**", "*.roo"), recursive=True))


def lark_parse(text: str, file: str):
    """What :func:`parse` gave before the fast loop: Lark's own parse."""
    saved = P._fast
    P._fast = lambda: None
    try:
        return P.parse(text, file)
    finally:
        P._fast = saved


def fast_run(text: str, file: str):
    with P._LOCK:
        P._builder().reset(file)
        return P._fast().run(text)


def spans(node, out: list) -> list:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            out.append(value) if isinstance(value, A.Span) else spans(value, out)
    elif isinstance(node, tuple):
        for item in node:
            spans(item, out)
    return out


def same_as_lark(text: str, file: str = "t.roo") -> bool:
    """Asserts the two parses agree; True when the fast loop parsed the text itself."""
    fast_module, fast_diags = P.parse(text, file)
    module, diags = lark_parse(text, file)
    assert fast_module == module
    assert [(d.code, d.message, d.span) for d in fast_diags] == [(d.code, d.message, d.span) for d in diags]
    if module is not None:
        assert spans(fast_module, []) == spans(module, [])  # spans take no part in equality
        assert [(c.text, c.span) for c in fast_module.comments] == [(c.text, c.span) for c in module.comments]
    ran = fast_run(text, file) is not None
    assert ran == (module is not None)  # it steps aside exactly for what Lark refuses
    return ran


def test_the_fast_loop_is_on():
    assert P._fast() is not None


@pytest.mark.parametrize("path", ROO_FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_roo_file_of_the_repository_parses_as_lark_parses_it(path):
    with open(path, encoding="utf-8") as handle:
        same_as_lark(handle.read(), path)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
@given(module=modules())
def test_generated_modules_parse_as_lark_parses_them(module):
    assert same_as_lark(format_module(module))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), cuts=st.integers(1, 4))
def test_damaged_rule_files_parse_or_fail_as_lark_says(seed, cuts):
    """Bits cut, doubled or moved in a real rule file: keywords become names, braces go
    missing, codes lose their dots. Either both parse, alike, or both leave it to Lark."""
    rnd = random.Random(seed)
    with open(rnd.choice(ROO_FILES), encoding="utf-8") as handle:
        text = handle.read()[:4000]
    for _ in range(cuts):
        if not text:
            break
        i = rnd.randrange(len(text))
        j = min(len(text), i + rnd.randrange(1, 12))
        choice = rnd.randrange(4)
        if choice == 0:
            text = text[:i] + text[j:]
        elif choice == 1:
            text = text[:i] + text[i:j] * 2 + text[j:]
        elif choice == 2:
            k = rnd.randrange(len(text))
            text = text[:k] + text[i:j] + text[k:]
        else:
            text = text[:i] + rnd.choice(["value", "CTH", " rule ", "#", "\n", "..", ", traced", "from", "(", "}"]) + text[i:]
    same_as_lark(text)


@pytest.mark.parametrize("text", [
    "", "   \n", "# only a comment\n",
    'agreement "A" { parties = [US] }',
    'agreement "A" {\n  rule 87.08 { value(originating , traced) >= 10% of transaction_value }\n}',
    'agreement "A" {\n  set value = [x]\n}',          # a keyword where a name is wanted: Lark's contextual lexer reads it
    'agreement "A" {\n  rule 87.08 { CTH or CC }\n}',  # CTH/CC: names to the basic lexer, keywords here
    'agreement "A" {\r\n  rule 8708 { CTH }\r\n}',    # a code without dots: parsed, with a diagnostic
    'agreement "A" { rule 87.08 { CTH }',             # unclosed
    # line breaks and comments before `(` and before `traced`; `of weight` then a line `(...)`
    'agreement "A" {\n  rule 87.08 {\n    value # c\n  (originating, # d\n traced) >= 10% of value\n(hs in 72)\n  }\n}',
    'agreement "A" {\n  rule 87.08 {\n    fact\n(lvc) >= 1% weight\n\t(originating) >= 1% of weight\n (CTH)\n  }\n}',
    'agreement "A" {\n  rule 87.08 {\n    value # ( a parenthesis in a comment\n  }\n}',
])
def test_edge_texts(text):
    same_as_lark(text)
