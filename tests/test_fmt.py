"""The formatter: the language examples are fixpoints, golden pairs, refusals, diffs.

Golden cases live in ``tests/golden/fmt/``: ``language-md-N.roo`` are the ``roo`` blocks of
the language specification (formatting them must change nothing), and each
``<case>/input.roo`` formats to ``<case>/expected.roo``.
"""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal

import pytest

from origin_rules.model import ast as A
from origin_rules.formatting import printer as fmt
from origin_rules.formatting.printer import FmtResult, check_format, format_module, unified_diff
from origin_rules.model.hs import HsCode, Level
from origin_rules.syntax.parser import parse

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "fmt")
LANGUAGE_MD = sorted(f for f in os.listdir(GOLDEN) if f.startswith("language-md-"))
CASES = sorted(d for d in os.listdir(GOLDEN) if os.path.isdir(os.path.join(GOLDEN, d)))


def read(*parts: str) -> str:
    with open(os.path.join(GOLDEN, *parts), encoding="utf-8") as f:
        return f.read()


# ---- the language examples -------------------------------------------------------------------


def test_all_four_language_md_blocks_are_saved():
    assert LANGUAGE_MD == [f"language-md-{i}.roo" for i in range(1, 5)]


def test_saved_blocks_are_the_checker_fixtures():
    """The four examples of the language specification are saved twice, as formatter
    fixpoints here and as checker input in tests/golden/language: the copies agree."""
    language = os.path.join(os.path.dirname(GOLDEN), "language")
    names = ["agreement.roo", "dates.roo", "named-sets.roo", "scenario.roo"]
    copies = []
    for name in names:
        with open(os.path.join(language, name), encoding="utf-8") as f:
            copies.append(f.read())
    assert [read(name) for name in LANGUAGE_MD] == copies


@pytest.mark.parametrize("name", LANGUAGE_MD)
def test_language_md_examples_are_already_formatted(name):
    text = read(name)
    result = check_format(text, name)
    assert result == FmtResult(text, False, None)
    module, _ = parse(text, name)
    assert format_module(module) == text


# ---- golden pairs -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case):
    source, expected = read(case, "input.roo"), read(case, "expected.roo")
    result = check_format(source, f"{case}/input.roo")
    assert result.error is None
    assert result.formatted == expected
    assert result.changed == (source != expected)
    assert check_format(expected) == FmtResult(expected, False, None)


def test_there_are_golden_cases_for_the_hard_layouts():
    assert {"comments-everywhere", "odd-indentation", "one-line-file", "aliases", "nested-parens",
            "long-or-chains"} <= set(CASES)


# ---- small cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("source, expected", [
    ("", ""),
    ("\n\n  \n", ""),
    ("# only a comment", "# only a comment\n"),
    ("  # a\n\n\n  # b   \n", "# a\n\n# b\n"),
    ('set a = 72 set b = [CN]', "set a = 72\nset b = [CN]\n"),
    ('agreement "X" {}', 'agreement "X" {}\n'),
    ('agreement "X" {\r\n  parties = [US]  # crlf\r\n}\r\n', 'agreement "X" {\n  parties = [US]  # crlf\n}\n'),
    ('agreement "X" {\n\tparties = [US]\n\trule 87 {\n\t\tCTH\n\t}\n}', 'agreement "X" {\n  parties = [US]\n\n  rule 87 {\n    CTH\n  }\n}\n'),
])
def test_small_inputs(source, expected):
    result = check_format(source)
    assert result.error is None
    assert result.formatted == expected
    assert result.changed == (source != expected)


def test_one_line_rule_stays_one_line_only_if_written_so():
    one = 'agreement "X" {\n  parties = [US]\n\n  rule 87.03 "Cars" { rvc(net_cost) >= 75% }\n}\n'
    block = 'agreement "X" {\n  parties = [US]\n\n  rule 87.03 "Cars" {\n    rvc(net_cost) >= 75%\n  }\n}\n'
    assert check_format(one).formatted == one
    assert check_format(block).formatted == block


def test_a_lone_or_is_broken_even_when_short_and_parenthesised_among_several():
    text = 'agreement "X" { rule 87 {\n CTH or CC } rule 88 {\n CTH\n CC or CTSH } }'
    assert check_format(text).formatted == (
        'agreement "X" {\n  rule 87 {\n    CTH\n    or CC\n  }\n\n'
        '  rule 88 {\n    CTH\n    (CC or CTSH)\n  }\n}\n')


# ---- printing ASTs that were not parsed -------------------------------------------------------


def _rule(*lines, **kw) -> A.Module:
    selector = A.HsSetExpr((A.HsCodeLit(HsCode("8703")),))
    return A.Module((A.Agreement("X", (A.Rule(selector, "t", lines=tuple(lines), **kw),)),))


def _body(module: A.Module) -> list[str]:
    return [line.strip() for line in format_module(module).splitlines()[2:-2]]


def test_alias_is_printed_only_when_it_matches_the_sources():
    chapter = A.AnyOther(Level.CHAPTER)
    assert _body(_rule(A.Change((chapter,), alias="CC"))) == ["CC"]
    assert _body(_rule(A.Change((chapter,), alias="CTH"))) == ["change from any other chapter"]
    assert _body(_rule(A.Change((A.AnyOther(Level.TARIFF_ITEM),), alias=None))) == [
        "change from any other tariff item"]


@pytest.mark.parametrize("value, text", [
    (Decimal("60"), "60%"), (Decimal("62.5"), "62.5%"), (Decimal("62.50"), "62.50%"),
    (Decimal("1E+1"), "10%"), (Decimal("0.0000001"), "0.0000001%"), (Decimal("0"), "0%"),
])
def test_percentages_are_printed_exactly_and_never_in_exponent_form(value, text):
    module = _rule(A.Comparison(A.Rvc("net_cost"), ">=", A.Percent(value)))
    assert _body(module) == [f"rvc(net_cost) >= {text}"]
    again, diags = parse(format_module(module))
    assert again == module and not diags


@pytest.mark.parametrize("title", ['plain', 'with "quotes"', "back\\slash", 'end\\', '\\"', "# not a comment", ""])
def test_strings_round_trip(title):
    module = A.Module((A.Agreement(title, (A.Cite(title),)),))
    again, diags = parse(format_module(module))
    assert again == module and not diags


def test_sums_without_filter_and_traced():
    base = A.Sum("value", None, True)
    module = _rule(A.Comparison(A.Sum("weight"), "<=", A.Percent(Decimal(5)), base))
    assert _body(module) == ["weight() <= 5% of value(traced)"]
    assert parse(format_module(module))[0] == module


_LAYOUT_HEAD = 'agreement "A" {\n  parties = [US]\n\n  rule 87.03 {\n'


@pytest.mark.parametrize("body, canonical", [
    ("    value\n      (non_originating) <= 10% of transaction_value\n",
     "    value(non_originating) <= 10% of transaction_value\n"),
    ("    value  # the materials\n      (non_originating) <= 10% of transaction_value\n",
     "    value(non_originating) <= 10% of transaction_value  # the materials\n"),
    ("    value(non_originating,  # sub-assemblies too\n          traced) <= 10% of transaction_value\n",
     "    value(non_originating, traced) <= 10% of transaction_value  # sub-assemblies too\n"),
    ("    weight\n      (originating) >= 50% of weight(hs in 72, # steel\n traced)\n",
     "    weight(originating) >= 50% of weight(hs in 72, traced)  # steel\n"),
    ("    fact\n    # the producer's certified figure\n    (lvc) >= 40%\n",
     "    fact(lvc) >= 40%\n    # the producer's certified figure\n"),
    ("    rvc(net_cost) >= 50% or value\n      (non_originating) <= 10% of value\n      (hs in 72)\n",
     "    rvc(net_cost) >= 50%\n    or value(non_originating) <= 10% of value(hs in 72)\n"),
])
def test_line_breaks_and_comments_before_an_opening_parenthesis_or_traced(body, canonical):
    """Layout is free (docs/language.md): a line break or a comment between `value`, `weight`
    or `fact` and its `(`, or between the `,` and `traced`, was refused (ROO001: `unexpected
    'value'`, the lexer's tokens `value(` and `, traced` allowed only spaces within)."""
    text = _LAYOUT_HEAD + body + "  }\n}\n"
    module, diags = parse(text)
    assert diags == [] and module is not None
    result = check_format(text)
    assert result.error is None
    assert result.formatted == _LAYOUT_HEAD + canonical + "  }\n}\n"
    assert parse(result.formatted)[0] == module
    assert check_format(result.formatted).changed is False


def test_of_weight_at_the_end_of_a_line_stays_the_goods_weight():
    """After `of`, `weight` followed by `(` on a later line is the good's weight, then a line
    of the body that starts with `(`: as before line breaks were allowed before `(`."""
    text = _LAYOUT_HEAD + "    value(non_originating) <= 10% of weight\n    (CTH or CC)\n  }\n}\n"
    module, diags = parse(text)
    assert diags == []
    rule = module.items[0].members[1]
    assert [type(line).__name__ for line in rule.lines] == ["Comparison", "Or"]
    assert rule.lines[0].base == A.Figure("weight")


def test_header_clauses_in_canonical_order():
    when = A.FactIn("end_use", A.WordList((A.Word("bus"),)))
    module = _rule(A.WhollyObtained(), until=date(2030, 1, 1), from_=date(2029, 1, 1), when=when)
    assert format_module(module).splitlines()[1] == (
        '  rule 87.03 "t" from 2029-01-01 until 2030-01-01 when end_use in [bus] {')


# ---- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    'agreement "X" {',
    'agreement "X" { rule 8708 { CTH } }',
    'agreement "X" { effective = 2020-13-01 }',
    'agreement "X" { rule 87 { rvc(net_cost) >= 60 } }',
])
def test_text_with_errors_is_not_formatted(source):
    result = check_format(source, "bad.roo")
    assert result.formatted == source and result.changed is False
    first = [d for d in parse(source, "bad.roo")[1] if d.is_error][0]
    assert result.error.startswith(f"`bad.roo` was not formatted: line {first.span.line}: {first.message}")


def test_refuses_when_the_output_would_mean_something_else(monkeypatch):
    source = read("language-md-1.roo")
    monkeypatch.setattr(fmt, "format_module", lambda m: source.replace("rvc(net_cost) >= 50%", "rvc(net_cost) >= 5%"))
    result = check_format(source, "section-17-transport.roo")
    assert result.formatted == source and not result.changed
    assert "would change the meaning of `rule 8708.30" in result.error and "line 17" in result.error
    assert "formatter bug" in result.error


@pytest.mark.parametrize("broken, words", [
    (lambda text: text.replace("# Art. 4.12", "# Art 4.12"), "would lose or reorder comments"),
    (lambda text: text.replace("rule 39.01..39.14", "rule {"), "does not parse"),
])
def test_refuses_lost_comments_and_unparsable_output(monkeypatch, broken, words):
    source = read("language-md-1.roo")
    monkeypatch.setattr(fmt, "format_module", lambda m: broken(source))
    result = check_format(source, "section-17-transport.roo")
    assert words in result.error and result.formatted == source


def test_refuses_unstable_output(monkeypatch):
    # (a text the formatter changes: formatted text is taken as it is, see below)
    source = read("language-md-3.roo").replace(" = ", " =  ")
    calls = iter(["set non_market_economies = [CN]\nset auto_parts = 84.07, 84.08, 85.07, 87.06..87.08\n",
                  "set non_market_economies = [CN]\n\nset auto_parts = 84.07, 84.08, 85.07, 87.06..87.08\n"])
    monkeypatch.setattr(fmt, "format_module", lambda m: next(calls))
    assert "twice would not give the same text" in check_format(source).error


def test_formatted_text_costs_one_parse_and_changed_text_is_still_checked(monkeypatch):
    """Formatted text needs no checks of its output (it is the input, parsed already); a
    parse the caller has is not done again; a text that changes is parsed back and formatted
    again as ever (the refusals above rest on it)."""
    formatted = check_format(read("language-md-1.roo")).formatted
    messy = formatted.replace("\n\n", "\n\n\n", 1)
    assert check_format(messy).changed
    parses = []
    real = fmt.parse
    monkeypatch.setattr(fmt, "parse", lambda text, file="<string>": parses.append(text) or real(text, file))
    assert check_format(formatted) == FmtResult(formatted, False) and parses == [formatted]
    parses.clear()
    assert check_format(formatted, "x.roo", real(formatted, "x.roo")) == FmtResult(formatted, False) and parses == []
    assert check_format(messy) == FmtResult(formatted, True) and parses == [messy, formatted]


def test_nothing_is_printed(capsys):
    check_format(read("language-md-1.roo"))
    check_format("agreement {")
    format_module(parse(read("language-md-4.roo"))[0])
    assert capsys.readouterr() == ("", "")


# ---- diffs ------------------------------------------------------------------------------------


def test_unified_diff():
    assert unified_diff("a\n", "a\n", "x.roo") == ""
    diff = unified_diff("set a = 72\n", "set a = 72, 73\n", "x.roo")
    assert diff.splitlines() == ["--- x.roo", "+++ x.roo (formatted)", "@@ -1 +1 @@", "-set a = 72", "+set a = 72, 73"]


def test_unified_diff_marks_a_missing_final_newline():
    diff = unified_diff("set a = 72", "set a = 72\n", "x.roo")
    assert "-set a = 72\n\\ No newline at end of file\n+set a = 72\n" in diff


def test_unified_diff_splits_on_newlines_only():
    diff = unified_diff('cite "a\u2028b"\n', 'cite "a\u2028c"\n', "x.roo")
    assert len(diff.splitlines(keepends=False)) >= 5
    assert diff.count("\n") == 5
