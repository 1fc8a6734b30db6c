"""render: text with source line and caret, the summary line, JSON, GitHub annotations, SARIF."""

from __future__ import annotations

import json

from origin_rules.model.ast import Span
from origin_rules.model.diagnostics import error, warning
from origin_rules.model.render import (
    render_github,
    render_json,
    render_json_report,
    render_one,
    render_sarif,
    render_text,
    summary_line,
)

SOURCE = 'agreement "A" {\n  parties = [US, XX]\n\trule 8708.31 { CTH }\n}\n'
XX = error("ROO104", "unknown country code `XX`", Span("a.roo", 2, 18, 2, 20), "countries are alpha-2 codes")
TAB = error("ROO101", "`8708.31` is not a subheading of HS 2022", Span("a.roo", 3, 7, 3, 14))
WIDE = warning("ROO114", "set `x` is never used", Span("a.roo", 1, 11, 4, 2))
MISSING = error("ROO000", "`nope.roo` does not exist", Span("nope.roo", 0, 0, 0, 0))


def test_text_has_location_source_line_caret_and_help():
    assert render_one(XX, {"a.roo": SOURCE}) == (
        "a.roo:2:18: error[ROO104]: unknown country code `XX`\n"
        "   2 |   parties = [US, XX]\n"
        "                        ^^\n"
        "     = help: countries are alpha-2 codes"
    )


def test_tabs_count_as_one_column():
    lines = render_one(TAB, {"a.roo": SOURCE}).splitlines()
    assert lines[1] == "   3 |  rule 8708.31 { CTH }"
    assert lines[2].index("^") == lines[1].index("8708.31") and lines[2].count("^") == 7


def test_span_over_several_lines_is_underlined_to_the_end_of_its_first_line():
    lines = render_one(WIDE, {"a.roo": SOURCE}).splitlines()
    assert lines[0].startswith("a.roo:1:11: warning[ROO114]")
    assert lines[2].strip() == "^" * len('"A" {')


def test_no_position_no_caret():
    assert render_one(MISSING, {}) == "nope.roo: error[ROO000]: `nope.roo` does not exist"


def test_unknown_source_gives_the_head_only():
    assert render_one(XX, {}).splitlines()[0] == "a.roo:2:18: error[ROO104]: unknown country code `XX`"
    assert len(render_one(XX, {}).splitlines()) == 2  # head and help


def test_text_separates_diagnostics_with_a_blank_line():
    assert render_text([XX, TAB], {"a.roo": SOURCE}).count("\n\n") == 1


def test_summary_line():
    assert summary_line([]) == "0 errors, 0 warnings"
    assert summary_line([XX, WIDE], 1) == "1 error, 1 warning in 1 file"
    assert summary_line([XX, TAB, WIDE, WIDE], 3) == "2 errors, 2 warnings in 3 files"


def test_json():
    data = json.loads(render_json([XX]))
    assert data == [{
        "code": "ROO104", "severity": "error", "message": "unknown country code `XX`", "file": "a.roo",
        "line": 2, "column": 18, "end_line": 2, "end_column": 20, "help": "countries are alpha-2 codes",
    }]
    report = json.loads(render_json_report([XX, WIDE], 2, shown=[XX]))
    assert (report["files"], report["errors"], report["warnings"]) == (2, 1, 1)
    assert [d["code"] for d in report["diagnostics"]] == ["ROO104"]


def test_github_annotations_escape_their_data():
    d = error("ROO105", "`150%` is outside 0-100%", Span("dir,x/a:b.roo", 3, 5, 3, 9), "line one\nline two")
    line = render_github([d, WIDE])
    first, second = line.splitlines()
    assert first.startswith("::error file=dir%2Cx/a%3Ab.roo,line=3,col=5,endLine=3,endColumn=9,title=ROO105::")
    assert "`150%25` is outside 0-100%25 (help: line one%0Aline two)" in first
    assert second.startswith("::warning file=a.roo,line=1,col=11,")
    assert render_github([MISSING]) == "::error file=nope.roo,title=ROO000::`nope.roo` does not exist"


def test_sarif():
    log = json.loads(render_sarif([XX, WIDE, MISSING], "9.9"))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["version"] == "9.9"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["ROO000", "ROO104", "ROO114"]
    assert run["tool"]["driver"]["rules"][1]["shortDescription"]["text"] == "unknown country code"
    levels = [r["level"] for r in run["results"]]
    assert levels == ["error", "warning", "error"]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 18, "endLine": 2, "endColumn": 20}
    assert "endLine" not in run["results"][2]["locations"][0]["physicalLocation"]["region"]
