"""Completeness evidence (origin_rules.rulebook.completeness, `origin-rules rulebook coverage`): the
GN11(o) cite parser form by form, the manifest validation, the coverage arithmetic, the CLI's
exit codes and JSON shape, and the generated table of docs/rulebooks.md being current."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app
from origin_rules.rulebook.completeness import (
    ManifestError, compact, compute, coverage_of_paths, markdown, parse_cite, parse_rule_list, read_manifest, text,
)
from origin_rules.rulebook.sources import parse_texts

ROOT = Path(__file__).resolve().parent.parent


def rules(cite: str) -> list[tuple[int, int]]:
    return list(parse_cite(cite).rules)


# ---------------------------------------------------------------------------- the cite parser


@pytest.mark.parametrize("cite, expected", [
    ("HTSUS GN11(o), ch. 15, rule 2", [(15, 2)]),
    ("HTSUS GN11(o), ch. 84, rules 4 and 5", [(84, 4), (84, 5)]),
    ("HTSUS GN11(o), ch. 84, rules 1, 2 and 3", [(84, 1), (84, 2), (84, 3)]),
    ("HTSUS GN11(o), ch. 84, rules 1, 2, and 3", [(84, 1), (84, 2), (84, 3)]),
    ("HTSUS GN11(o), ch. 84, rules 4-6", [(84, 4), (84, 5), (84, 6)]),
    ("HTSUS GN11(o), ch. 84, rules 4\u20136", [(84, 4), (84, 5), (84, 6)]),
    ("HTSUS GN11(o), ch. 87, rule 7(A)", [(87, 7)]),
    ("HTSUS GN11(o), ch. 87, rule 7(A)-(B)", [(87, 7)]),
    ("HTSUS GN11(o), ch. 87, rule 9(D)-(G) (8708.50)", [(87, 9)]),
    ("HTSUS GN11(o), ch. 87, rules 9(A) and 9(C)", [(87, 9), (87, 9)]),
    ("HTSUS GN11(o), ch. 87, rules 24, 25(A)", [(87, 24), (87, 25)]),
    ("HTSUS GN11(o), ch. 87, rule 28 (8708.30)", [(87, 28)]),
    ("HTSUS GN11(o), ch. 87, rule 27 (tariff item 8708.99.03)", [(87, 27)]),
    ("HTSUS GN11(o), ch. 84, rules 1 and 2 (USMCA Annex 4-B, 8471.30, 8471.41-8471.49)", [(84, 1), (84, 2)]),
    ("HTSUS GN11(o), ch. 84, rules 3 and 4 (tariff items 8471.80.10, 8471.80.40)", [(84, 3), (84, 4)]),
])
def test_numbered_forms(cite, expected):
    assert rules(cite) == expected
    assert parse_cite(cite).unreadable == ()


def test_lettered_alternatives_count_as_their_rule():
    assert rules("HTSUS GN11(o), ch. 20, rule 6(B)") == [(20, 6)]
    assert parse_rule_list("7(A)") == [7]
    assert parse_rule_list("7 (A)") == [7]


def test_several_chapters_in_one_cite():
    assert rules("HTSUS GN11(o), ch. 87, rule 3; ch. 27 chapter rule 1") == [(87, 3)]
    assert parse_cite("HTSUS GN11(o), ch. 87, rule 3; ch. 27 chapter rule 1").unnumbered == ((27, "chapter rule 1"),)
    assert rules("HTSUS GN11(o), ch. 84, rule 5; ch. 85, rules 7 and 8") == [(84, 5), (85, 7), (85, 8)]
    assert rules("HTSUS GN11(o), ch. 84, rule 5 and ch. 85, rule 3") == [(84, 5), (85, 3)]


def test_a_later_part_starting_with_rule_keeps_the_chapter():
    assert rules("HTSUS GN11(o), ch. 87, rule 5(C); rule 5(A) for 87.03 and 87.04 vehicle kinds") == [(87, 5), (87, 5)]
    assert rules("HTSUS GN11(o), ch. 88, rule 1; rule 3 for unmanned non-powered aircraft (conservative)") == [(88, 1), (88, 3)]


def test_other_sources_after_a_semicolon_are_not_read():
    assert rules("HTSUS GN11(o), ch. 87, rule 4; GN11(k) (Automotive Appendix Art. 3); SOR/2020-155 (3.3)(c)") == [(87, 4)]
    assert rules("HTSUS GN11(o), ch. 61, chapter rule 3 (sewing thread); SOR/2020-155, Sch. 1 s. 2(b), s. 5(10)") == []
    assert rules("HTSUS GN11(o), ch. 84, rules 3-7; HS 2012 heading 84.69, see the comment above") == [
        (84, 3), (84, 4), (84, 5), (84, 6), (84, 7)]
    assert rules("HTSUS GN11(o), ch. 84, rule 5; (C) and (D) applied to every good (conservative)") == [(84, 5)]
    assert rules("HTSUS GN11(k)(iii)(B)(1) and (C); Automotive Appendix Table A.1") == []
    assert rules("USMCA Chapter 4 and Annex 4-B; HTSUS General Note 11; 19 U.S.C. 4531") == []
    assert rules("HYPOTHETICAL scenario parameter, not law: passenger vehicle RVC 80% net cost") == []


def test_semicolons_inside_parentheses_do_not_split():
    parsed = parse_cite("HTSUS GN11(o), ch. 51, subheading rule 5112.11 (all other trade; Canada-US (b))")
    assert parsed.rules == () and parsed.unreadable == ()
    assert parsed.unnumbered[0][0] == 51


@pytest.mark.parametrize("cite", [
    "HTSUS GN11(o), ch. 73, heading rule for 73.05-73.07 (unnumbered), from 2023-07-01",
    "HTSUS GN11(o), ch. 73, rule for heading 73.13 (unnumbered), 2020-07-01 to 2023-07-01",
    "HTSUS GN11(o), ch. 85, unnumbered subheading rule for 8504.90, from 2025-07-01",
    "HTSUS GN11(o), ch. 57, heading rule 5704 (Mexico-US and all other trade, the stricter of both)",
    "HTSUS GN11(o), ch. 20, subheading rule (2008.19-2008.99)",
    "HTSUS GN11(o), ch. 62, chapter rule 4 (sewing thread)",
])
def test_unnumbered_forms_name_no_number_and_are_not_errors(cite):
    parsed = parse_cite(cite)
    assert parsed.rules == () and parsed.unreadable == () and len(parsed.unnumbered) == 1


@pytest.mark.parametrize("cite", [
    "HTSUS GN11(o), rule 5",  # no chapter
    "HTSUS GN11(o), ch. 84",  # no rule
    "HTSUS GN11(o), ch. 84, rlue 5",  # a typo
])
def test_gn11o_cites_without_a_readable_rule_are_unreadable(cite):
    assert parse_cite(cite).unreadable


def test_rule_lists():
    assert parse_rule_list("4") == [4]
    assert parse_rule_list("4-6") == [4, 5, 6]
    assert parse_rule_list("1, 2 and 3") == [1, 2, 3]
    assert parse_rule_list("6-4") is None
    assert parse_rule_list("for heading 73.13") is None
    assert compact([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert compact([]) == ""


# ---------------------------------------------------------------------------- manifests and coverage


def write(tmp: Path, name: str, body: str) -> Path:
    path = tmp / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_manifest_errors_name_the_file_and_the_field(tmp_path):
    bad = write(tmp_path, "a.gn11.yaml", "chapters: {15: [1, 2]}\nnot_encoded: [{chapter: 15, rule: 2}]\n")
    with pytest.raises(ManifestError) as exc:
        read_manifest(bad)
    assert str(bad) in str(exc.value) and "not_encoded.0.why" in str(exc.value)
    bad = write(tmp_path, "b.gn11.yaml", "chapters: {15: [1, 2]}\nnot_encoded: [{chapter: 16, rule: 1, why: x}]\n")
    with pytest.raises(ManifestError, match=r"not_encoded\.0.*chapter 16"):
        read_manifest(bad)
    bad = write(tmp_path, "c.gn11.yaml", "chapters: {15: [1, 2]}\nnot_encoded: [{chapter: 15, rule: '3(A)', why: x}]\n")
    with pytest.raises(ManifestError, match="no rule 3"):
        read_manifest(bad)
    bad = write(tmp_path, "d.gn11.yaml", "chapter: {15: [1]}\n")
    with pytest.raises(ManifestError, match="chapter"):
        read_manifest(bad)
    bad = write(tmp_path, "e.gn11.yaml", "chapters: [1, 2\n")
    with pytest.raises(ManifestError, match="not YAML"):
        read_manifest(bad)


RULES = '''\
agreement "X" {
  parties = [US, MX]
  rule 15.01 {
    cite "HTSUS GN11(o), ch. 15, rule 1"
    change from any other chapter
  }
  rule 15.02 {
    cite "HTSUS GN11(o), ch. 15, rule 2(B)"
    change from any other chapter
  }
  rule 15.04 {
    cite "HTSUS GN11(o), ch. 15, rule 9"
    change from any other chapter
  }
  require for 15.01 {
    cite "HTSUS GN11(o), ch. 16, rules 1-2"
    rvc(net_cost) >= 50%
  }
}
scenario "Y" extends "X" {
  rule 15.05 {
    cite "HTSUS GN11(o), ch. 15, rule 5"
    change from any other chapter
  }
}
'''


def test_coverage_arithmetic(tmp_path):
    m = write(tmp_path, "x.gn11.yaml", """\
        chapters: {15: [1, 2, 3, 4, 5], 16: [1, 2], 17: []}
        not_encoded:
          - {chapter: 15, rule: 3, why: "no fact"}
          - {chapter: 15, rule: "2(A)", why: "(A) only"}
          - {chapter: 15, rule: "chapter rule 1", why: "a note"}
          - {chapter: 17, rule: 0, why: "text not found"}
        """)
    parsed = parse_texts({"x.roo": RULES}, check=False)
    cov = compute(parsed.modules, {str(m): read_manifest(m)})
    ch15, ch16, ch17 = cov.chapters
    assert (ch15.source, ch15.encoded, ch15.not_encoded, ch15.missing) == ([1, 2, 3, 4, 5], [1, 2], [3], [4, 5])
    assert [(u.chapter, u.rule, u.where) for u in ch15.unknown] == [(15, 9, "x.roo:12")]
    assert ch16.encoded == [1, 2] and ch16.missing == []
    assert ch17.whole_chapter_not_encoded and ch17.source == []
    assert (cov.in_source, cov.encoded, cov.not_encoded, cov.missing) == (7, 4, 1, 2)
    assert [g.partly_encoded for g in cov.gaps] == [False, True, False, False]
    assert len(cov.failures(0)) == 1  # the unknown rule 9 fails whatever the threshold
    assert any("below the threshold" in f for f in cov.failures(100))
    assert "| 15 | 5: 1-5 | 2: 1-2 | 1: 3 | 2: 4-5 | 40% |" in markdown(cov)
    assert "ch. 15: rules 4-5" in text(cov)


def test_a_chapter_in_two_manifests_is_an_error(tmp_path):
    a = write(tmp_path, "a.gn11.yaml", "chapters: {15: [1]}\n")
    b = write(tmp_path, "b.gn11.yaml", "chapters: {15: [1]}\n")
    with pytest.raises(ManifestError, match="also listed"):
        compute([], {str(a): read_manifest(a), str(b): read_manifest(b)})


def test_the_shipped_usmca_rulebook_has_no_cite_errors():
    cov = coverage_of_paths([ROOT / "rules"])
    assert cov.errors == [] and cov.unreadable == []
    assert cov.in_source > 1000 and cov.missing == 0
    assert coverage_of_paths([ROOT / "rules"], cache=True).to_json(100) == cov.to_json(100)  # (the CLI's way)


@pytest.mark.parametrize("cache", [False, True])
def test_rule_files_are_refused_for_their_text_not_for_their_meaning(tmp_path, monkeypatch, cache):
    """Read through the rulebook cache (checked) or parsed alone, the same files are refused:
    a syntax error (ROO0xx) is, an error of meaning (ROO1xx, an HS code not in HS 2022) is not."""
    monkeypatch.setenv("ORIGIN_RULES_CACHE_DIR", str(tmp_path / "cache"))
    write(tmp_path, "x.gn11.yaml", "chapters: {87: [1]}\n")
    rules = write(tmp_path, "x.roo", 'agreement "X" {\n  parties = [US]\n\n  rule 8708.31 "Parts" { CTH }\n}\n')
    cov = coverage_of_paths([tmp_path], cache=cache)
    assert cov.in_source == 1
    rules.write_text('agreement "X" { parties = [US\n', encoding="utf-8")
    with pytest.raises(ManifestError, match="error"):
        coverage_of_paths([tmp_path], cache=cache)


# ---------------------------------------------------------------------------- the CLI


def invoke(*args: str):
    return CliRunner().invoke(app, ["rulebook", "coverage", *args])


def test_cli_json_shape_and_exit_0():
    result = invoke(str(ROOT / "rules"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"chapters", "not_encoded", "totals", "errors", "threshold", "ok", "failures"}
    ch = next(c for c in data["chapters"] if c["chapter"] == 84)
    assert set(ch) >= {"chapter", "manifest", "in_source", "encoded", "not_encoded", "missing", "percent_encoded",
                       "cited_not_in_source", "whole_chapter_not_encoded"}
    assert 198 in ch["not_encoded"] and 198 not in ch["encoded"]
    assert data["totals"]["missing"] == 0 and data["ok"] is True
    assert {"chapter", "rule", "why", "manifest", "partly_encoded"} <= set(data["not_encoded"][0])


def test_cli_exit_1_on_missing_rules_and_unknown_cites(tmp_path):
    write(tmp_path, "x.roo", RULES)
    write(tmp_path, "x.gn11.yaml", "chapters: {15: [1, 2, 3, 9], 16: [1, 2]}\n")
    result = invoke(str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "missing" in result.output and "ch. 15: rules 3" in result.output
    assert invoke(str(tmp_path), "--threshold", "75").exit_code == 0  # 5 of 6 accounted for
    write(tmp_path, "x.gn11.yaml", "chapters: {15: [1, 2, 3], 16: [1, 2]}\n")
    result = invoke(str(tmp_path), "--threshold", "0", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"]["cited_not_in_source"][0]["rule"] == 9


def test_cli_exit_2_on_unreadable_input(tmp_path):
    assert invoke(str(tmp_path / "nowhere")).exit_code == 2
    assert invoke(str(tmp_path)).exit_code == 2  # no manifest
    write(tmp_path, "x.gn11.yaml", "chapters: {15: [one]}\n")
    result = invoke(str(tmp_path))
    assert result.exit_code == 2 and "x.gn11.yaml" in result.output and "chapters.15" in result.output
    assert invoke(str(ROOT / "rules"), "--threshold", "101").exit_code == 2
    write(tmp_path, "x.gn11.yaml", "chapters: {15: [1]}\n")
    write(tmp_path, "x.roo", 'agreement "X" { parties = [US\n')
    assert invoke(str(tmp_path)).exit_code == 2


# ---------------------------------------------------------------------------- the generated docs


def test_the_coverage_table_in_docs_rulebooks_md_is_current():
    spec = importlib.util.spec_from_file_location("gen_rulebook_coverage", ROOT / "scripts" / "gen_rulebook_coverage.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    page = gen.PAGE.read_text(encoding="utf-8")
    assert gen.START in page and gen.END in page and gen.FACTS_START in page and gen.FACTS_END in page
    assert gen.regenerated(page) == page, (
        "a generated table of docs/rulebooks.md is stale: run `.venv/bin/python scripts/gen_rulebook_coverage.py`")
