"""syntax.errors: golden cases of common mistakes (exact rendered text), and properties of
every syntax error (a position, words instead of terminal names, no exception).

Golden cases live in ``tests/golden/syntax/<case>/input.roo`` with the expected rendering in
``expected.txt``; run with ``UPDATE_GOLDEN=1`` to rewrite them after a deliberate change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from origin_rules.model.diagnostic_codes import TITLES
from origin_rules.model.render import render_text
from origin_rules.rulebook.sources import parse_texts
from origin_rules.syntax.errors import TERMINAL_WORDS, expected_words
from origin_rules.syntax.parser import build_strict, parse

GOLDEN = Path(__file__).parent / "golden" / "syntax"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())


def render_case(case: Path) -> str:
    text = (case / "input.roo").read_text(encoding="utf-8")
    parsed = parse_texts({"input.roo": text})
    return render_text(parsed.diagnostics, parsed.sources) + "\n"


def test_there_are_enough_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden(case):
    rendered = render_case(case)
    expected = case / "expected.txt"
    if UPDATE_GOLDEN or not expected.exists():
        expected.write_text(rendered, encoding="utf-8")
    assert rendered == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden_cases_report_one_problem_with_a_hint(case):
    parsed = parse_texts({"input.roo": (case / "input.roo").read_text(encoding="utf-8")})
    assert len(parsed.diagnostics) == 1
    d = parsed.diagnostics[0]
    assert d.code < "ROO100" and d.help


def test_grammar_is_conflict_free():
    build_strict()


def test_every_terminal_has_words():
    from origin_rules.syntax.parser import grammar_text

    names = set(re.findall(r"^([A-Z_]+)(?:\.\d+)?:", grammar_text(), re.M)) - {"COMMENT"}
    for name in names:
        words = expected_words({name})
        assert name not in words or name.lower() in words, name
        assert "__" not in words


def test_expected_words_groups():
    assert expected_words({"RBRACE"}) == "`}`"
    assert expected_words({"COMMA", "RSQB"}) == "`,` or `]`"
    assert expected_words({"GE", "LE", "GT", "LT", "EQ", "EQEQ"}) == "a comparison (`>=`, `<=`, `>` or `<`)"
    assert expected_words({"PERCENT", "CODE"}) == TERMINAL_WORDS["PERCENT"]
    assert expected_words(set()) == "nothing more"


def one(text: str):
    module, diags = parse(text, "t.roo")
    assert len(diags) == 1
    return diags[0]


def test_missing_brace_points_at_the_open_brace():
    d = one('agreement "A" {\n  parties = [US]\n  rule 87.03 {\n    CTH\n\n  rule 87.04 { CTH }\n}\n')
    assert d.code == "ROO004"
    assert (d.span.line, d.span.column) == (3, 14)
    assert "`rule` on line 6" in d.message


def test_misspelt_keyword_suggests_the_nearest():
    assert one('agreement "A" {\n  parties = [US]\n  rule 87.08 { chnage from any other heading }\n}\n').help \
        == "did you mean `change`?"


def test_unexpected_end_without_open_block():
    d = one('agreement "A"')
    assert d.code == "ROO002" and d.span.line == 1


def test_empty_file_is_fine():
    module, diags = parse("", "t.roo")
    assert module is not None and diags == []


FRAGMENTS = list('{}[]()"#,.=<>%-_;:\'\n ≥') + list("abcdefghinorstuwCTHUSMX0123456789") + [
    "rule ", "agreement ", "scenario ", "set ", "change from ", "any other ", "rvc(net_cost)", ">= 60%",
    '"X" ', "87.03", "..", "when ", "end_use in ", "value(", ", traced", "parties = ", "extends ",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_syntax_errors_never_raise_and_speak_in_words(text):
    module, diags = parse(text, "p.roo")
    for d in diags:
        assert d.code in TITLES
        assert d.span.line >= 1 and d.span.column >= 1, d
        assert not re.search(r"__ANON|\b(RBRACE|LBRACE|RPAR|LPAR|LSQB|RSQB|DOTDOT|NAME|CODE|STRING|\$END)\b",
                             d.message + (d.help or "")), d.message
    render_text(diags, {"p.roo": text})
