"""Property tests of the syntax layer and the formatter.

* generated AST -> print -> parse gives an equal AST, with no error;
* the formatter is idempotent, on generated modules and on every ``.roo`` file of the repo;
* comments dropped anywhere into valid text survive formatting, in order;
* ``parse`` never raises: random text, mutated valid text, very deep nesting;
* the grammar builds with ``strict=True``.
"""

from __future__ import annotations

import glob
import os
import random
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from origin_rules.formatting.printer import MAX_DEPTH, check_format, format_module, nesting
from origin_rules.syntax.parser import build_strict, parse
from origin_rules.model import ast as A
from origin_rules.model.hs import HsCode
from origin_rules.testing import conditions, criteria, modules

from conftest import examples

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = settings(max_examples=examples(100), suppress_health_check=list(HealthCheck))


#: The syntax-error fixtures (tests/golden/syntax/<case>/input.roo): broken on purpose.
BROKEN = os.path.join(ROOT, "tests", "golden", "syntax")
#: The language server's broken rulebook (tests/test_lsp.py): a syntax error on purpose.
LSP_BROKEN = os.path.join(ROOT, "tests", "data", "lsp", "broken", "rules", "syntax.roo")


def repo_roo_files() -> list[str]:
    """Every valid ``.roo`` file of the repository (the broken fixtures are :func:`broken_roo_files`)."""
    found: set[str] = set()
    for pattern in ("rules/**/*.roo", "tests/**/*.roo", "docs/**/*.roo"):
        found.update(glob.glob(os.path.join(ROOT, pattern), recursive=True))
    return sorted(p for p in found if not p.startswith(BROKEN + os.sep) and p != LSP_BROKEN)


def broken_roo_files() -> list[str]:
    return sorted(glob.glob(os.path.join(BROKEN, "*", "input.roo")))


def assert_parses_to(text: str, module) -> None:
    again, diags = parse(text, "<formatted>")
    assert again is not None, (text, diags)
    assert not [d for d in diags if d.is_error], (text, diags)
    assert again == module, text


# ---- round trips over generated ASTs ------------------------------------------------------------


@SETTINGS
@given(modules(shuffle=True))
def test_generated_module_round_trips_and_formats_idempotently(module):
    """One generated module, both properties: its printed text parses back to an equal AST,
    and formatting that text again (the parsed AST, or ``fmt --check``) changes nothing.
    (The members of an agreement come in any order: the declared-first order is one of them.)"""
    text = format_module(module)
    again, diags = parse(text, "<formatted>")
    assert again is not None and not [d for d in diags if d.is_error], (text, diags)
    assert again == module, text
    assert format_module(again) == text
    result = check_format(text, "generated.roo")
    assert result.error is None and not result.changed


@SETTINGS
@given(st.lists(criteria(max_leaves=25), min_size=1, max_size=3), conditions(max_leaves=8))
def test_big_criteria_and_conditions_round_trip(lines, when):
    selector = A.HsSetExpr((A.HsCodeLit(HsCode("8708")),))
    module = A.Module((A.Agreement("X", (A.Rule(selector, "t", when=when, lines=tuple(lines)),)),))
    text = format_module(module)
    assert_parses_to(text, module)
    assert format_module(parse(text)[0]) == text


# ---- every .roo file of the repository ----------------------------------------------------------


@pytest.mark.parametrize("path", repo_roo_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_fmt_is_idempotent_on_repo_files(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    module, diags = parse(text, path)
    assert module is not None and not [d for d in diags if d.is_error], diags
    result = check_format(text, path)
    assert result.error is None
    assert check_format(result.formatted, path).changed is False
    assert [c.text.rstrip() for c in parse(result.formatted)[0].comments] == [c.text.rstrip() for c in module.comments]


def test_the_broken_fixtures_are_found():
    assert len(broken_roo_files()) >= 40
    assert not set(broken_roo_files()) & set(repo_roo_files())


@pytest.mark.parametrize("path", broken_roo_files(), ids=lambda p: os.path.relpath(p, BROKEN))
def test_fmt_refuses_broken_repo_files(path):
    """A file with a syntax error is reported, never formatted, and nothing raises."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    module, diags = parse(text, path)
    assert [d for d in diags if d.is_error], path
    result = check_format(text, path)
    assert result.error is not None and result.error.startswith(f"`{path}` was not formatted: line "), result.error
    assert result.formatted == text and not result.changed


# ---- comments anywhere --------------------------------------------------------------------------


def _gaps(line: str) -> tuple[list[int], bool]:
    """Positions of spaces outside strings and comments where a line break (and a comment)
    may go, and whether the line already ends in a comment."""
    out, in_string, escaped = [], False, False
    for i, ch in enumerate(line):
        if in_string:
            in_string, escaped = (ch != '"' or escaped), (ch == "\\" and not escaped)
        elif ch == '"':
            in_string = True
        elif ch == "#":
            return out, True
        elif ch == " " and line[:i].strip() and not line[i:].lstrip().startswith("traced"):
            out.append(i)
    return out, False


def add_comments(text: str, rnd) -> tuple[str, list[str]]:
    """``text`` with comments at line ends, on their own lines and inside lines, odd
    indentation and blank lines; returns the text and the comments added, in order."""
    out, comments = [], []
    alphabet = "abc xyz #()\"\\{}é€😀\u2028\t"

    def comment() -> str:
        body = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        comments.append(f"# c{len(comments)} {body}".rstrip())
        return comments[-1]

    for line in text.split("\n"):
        if rnd.randint(0, 5) == 0:
            out.append(" " * rnd.randint(0, 9) + comment())
        if rnd.randint(0, 9) == 0:
            out.append("")
        gaps, has_comment = _gaps(line)
        if gaps and rnd.randint(0, 5) == 0:
            at = rnd.choice(gaps)
            out.append(line[:at] + "  " + comment())
            line = " " * rnd.randint(0, 9) + line[at + 1:]
        if line.strip() and not has_comment and rnd.randint(0, 4) == 0:
            line += " " + comment()
        out.append(" " * rnd.randint(0, 3) + line.lstrip() if rnd.random() < 0.5 else line)
    return "\n".join(out), comments


@SETTINGS
@given(st.randoms(use_true_random=False), modules(max_agreements=1))
def test_comments_anywhere_survive_formatting_in_order(rnd, module):
    text, comments = add_comments(format_module(module), rnd)
    result = check_format(text, "commented.roo")
    assert result.error is None, text
    formatted, _ = parse(result.formatted)
    assert formatted == module
    assert [c.text for c in formatted.comments] == comments
    assert check_format(result.formatted).changed is False


#: Examples of :func:`test_comments_anywhere_in_repo_files` for a file: 8 for a file of up to
#: about 900 lines, fewer for a longer one, so that each file has about 7,500 lines commented in
#: all (an example puts a comment beside nearly half of the lines: each line of a file gets
#: about four comments at random places, and the 60-odd files repeat the same constructs
#: between them), and at least 3. The longest files (the USMCA chapters 84, 85 and 87:
#: 2,300-3,700 lines) repeat a few constructs hundreds of times each: 3 examples still drop
#: comments around every one of them. The property over generated modules
#: (:func:`test_comments_anywhere_survive_formatting_in_order`) reaches the constructs the
#: files lack; ``make nightly`` gives five times as many examples here.
COMMENTED_LINES, MOST_EXAMPLES, FEWEST_EXAMPLES = 7_500, 8, 3


def comment_examples(source: str) -> int:
    lines = source.count("\n") + 1
    return max(FEWEST_EXAMPLES, min(MOST_EXAMPLES, COMMENTED_LINES // lines))


@pytest.mark.parametrize("path", [p for p in repo_roo_files() if "/fmt/" in p or "/rules/" in p],
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_comments_anywhere_in_repo_files(path):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    module, diags = parse(source, path)
    assert module is not None and not [d for d in diags if d.is_error], diags

    @settings(max_examples=examples(comment_examples(source)), suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 2**32))
    def run(seed):
        text, comments = add_comments(source, random.Random(seed))
        result = check_format(text, path)
        assert result.error is None, text
        kept = [c.text for c in parse(result.formatted)[0].comments]
        assert [c for c in kept if re.match(r"# c\d+ ", c + " ")] == comments

    run()


# ---- parse never raises -------------------------------------------------------------------------

SAMPLE = open(os.path.join(ROOT, "tests", "golden", "fmt", "language-md-1.roo"), encoding="utf-8").read()
TOKENS = re.findall(r'"[^"]*"|#[^\n]*|\w+(?:\.\w+)*%?|\.\.|[<>=]=|\S', SAMPLE)


def assert_never_raises(text: str) -> None:
    module, diags = parse(text, "fuzz.roo")
    assert module is not None or diags
    result = check_format(text, "fuzz.roo")
    if module is not None and not any(d.is_error for d in diags):
        assert result.error is None or nesting(module) > MAX_DEPTH, text


@settings(max_examples=examples(300))
@given(st.text(max_size=200))
@example("")
@example("\x00{")
@example('agreement "x" { rule 87 { value(, traced) >= 1% of fob } }')
def test_random_text_never_raises(text):
    assert_never_raises(text)


@settings(max_examples=examples(300))
@given(st.lists(st.sampled_from(TOKENS + ["(", ")", "{", "}", "not", "or", "and", ",", "\n"]), max_size=60))
def test_random_token_soup_never_raises(tokens):
    assert_never_raises(" ".join(tokens))


@st.composite
def mutated(draw) -> str:
    """The first example of the language specification (tests/golden/fmt/language-md-1.roo) with characters or tokens deleted, inserted or swapped."""
    if draw(st.booleans()):
        chars = list(SAMPLE)
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(chars) - 1))
            op = draw(st.sampled_from(["delete", "insert", "swap"]))
            if op == "delete":
                del chars[i]
            elif op == "insert":
                chars.insert(i, draw(st.sampled_from(list('(){}[],."#%=<>\n ') + ["a", "7", "\\"])))
            else:
                j = draw(st.integers(0, len(chars) - 1))
                chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    tokens = list(TOKENS)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "insert", "swap"]))
        if op == "delete":
            del tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(st.sampled_from(TOKENS)))
        else:
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return "\n".join(tokens)


@settings(max_examples=examples(400))
@given(mutated())
def test_mutated_valid_text_never_raises(text):
    assert_never_raises(text)


RULE = 'agreement "X" {{ parties = [US] rule 87.03 "r" {{ {} }} }}'


@pytest.mark.parametrize("text", [
    "(" * 5000,
    RULE.format("(" * 5000 + "CTH" + ")" * 5000),
    RULE.format("not " * 3000 + "CTH"),
    "not " * 3000,
    RULE.format("value(" + "not " * 3000 + "originating) >= 1% of fob"),
    RULE.format("value(" + "(" * 5000 + "originating" + ")" * 5000 + ") >= 1% of fob"),
    'agreement "X" { rule 87 when ' + "not " * 3000 + "end_use in [a] { CTH } }",
    RULE.format(" or ".join(["CTH"] * 3000)),
    "{" * 5000,
    "[" * 5000,
], ids=["parens", "parens-in-rule", "nots-in-rule", "nots", "nots-in-filter", "parens-in-filter",
        "nots-in-when", "long-or", "braces", "brackets"])
def test_deep_nesting_gives_diagnostics_not_tracebacks(text):
    assert_never_raises(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH])
def test_nesting_up_to_the_limit_formats(depth):
    text = RULE.format("not " * (depth // 2) + "(CTH and " * (depth - depth // 2 - 1) + "(CC or CTSH)"
                       + ")" * (depth - depth // 2 - 1))
    assert nesting(parse(text)[0]) == depth
    result = check_format(text)
    assert result.error is None and parse(result.formatted)[0] == parse(text)[0]


def test_nesting_beyond_the_limit_is_refused_in_words():
    result = check_format(RULE.format("not " * (MAX_DEPTH + 1) + "CTH"), "deep.roo")
    assert result.error == f"`deep.roo` nests `and`/`or`/`not` {MAX_DEPTH + 1} deep: too deep to format (at most {MAX_DEPTH})"


def test_grammar_builds_strict():
    assert build_strict() is not None


@settings(max_examples=examples(40), suppress_health_check=list(HealthCheck))
@given(modules(max_agreements=2, max_scenarios=2))
def test_generated_modules_pass_the_checker(module):
    """The strategies are meant for generating rulebooks: no check errors (warnings, such as
    an unused set, are allowed)."""
    from origin_rules.rulebook.sources import parse_texts

    parsed = parse_texts({"generated.roo": format_module(module)})
    assert [d.message for d in parsed.diagnostics if d.is_error] == []
