"""testrunner, coverage and the `test` command: the sample rulebook in
tests/data/testrunner/sample (4 cases, one failing on purpose), output formats, coverage
counts and --threshold, --run, bad test files with lines and field paths, --fail-on-empty."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app
from origin_rules.ruletests.runner import discover, run

DATA = Path(__file__).parent / "data" / "testrunner"
SAMPLE = DATA / "sample"
MINI = SAMPLE / "mini.roo"
PASSING = "^(brakes by|seat|polyethylene)"  # the three cases that pass
HEADER = '  bom: {product: {id: X, hs: "3901.10", produced_in: US}}\n'


def invoke(*args: str):
    return CliRunner().invoke(app, ["test", *args])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding a copy of mini.roo, for test files written by a test."""
    shutil.copy(MINI, tmp_path / "mini.roo")
    return tmp_path


# ---------------------------------------------------------------------------- running


def test_sample_verdicts():
    report = run([SAMPLE])
    assert [c.status for c in report.cases] == ["passed", "failed", "passed", "passed"]
    first = report.cases[0]
    assert [(k.agreement, k.expected, k.actual) for k in first.checks] == [
        ("Mini", "qualifies", "qualifies"), ("Mini review", "does_not_qualify", "does_not_qualify")]
    assert first.bom == str(SAMPLE / "boms" / "brakes.yaml")
    wrong = report.cases[1].checks[0]
    assert (wrong.expected, wrong.actual) == ("qualifies", "does_not_qualify")
    assert wrong.determination is not None and wrong.determination.verdict == "does_not_qualify"
    assert all(k.determination is None for k in first.checks)  # built for a failed check only
    assert not report.has_errors


def test_default_date_is_today(folder: Path):
    (folder / "t.test.yaml").write_text(
        "- name: before the agreement\n" + HEADER.replace("produced_in: US", "produced_in: US, transaction_value: 1")
        + "  expect: {Mini: does_not_qualify}\n")
    # Mini is in force from 2020-01-01: "today" decides the verdict
    assert run([folder], today=date(2019, 6, 1)).cases[0].status == "passed"
    case = run([folder], today=date(2026, 1, 1)).cases[0]
    assert case.as_of == date(2026, 1, 1) and case.checks[0].actual == "qualifies"


def test_rules_key_is_relative_to_the_test_file(tmp_path: Path):
    sub = tmp_path / "tests"
    sub.mkdir()
    (sub / "t.test.yaml").write_text(
        f"- name: a\n  rules: {MINI.resolve()}\n" + HEADER + "  expect: {Mini: qualifies}\n"
        "- name: b\n  rules: [../elsewhere/]\n" + HEADER + "  expect: {Mini: qualifies}\n")
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(MINI, tmp_path / "elsewhere" / "mini.roo")
    report = run([sub])
    assert [c.status for c in report.cases] == ["passed", "passed"], [str(p) for p in report.all_problems]


def test_discover_finds_test_files_recursively(tmp_path: Path):
    (tmp_path / "a").mkdir()
    for name in ("a/x.test.yaml", "y.test.yml", "z.yaml", "w.roo"):
        (tmp_path / name).write_text("")
    files, problems = discover([tmp_path, tmp_path / "missing"])
    assert sorted(f.name for f in files) == ["x.test.yaml", "y.test.yml"]
    assert [p.message for p in problems] == ["no such file or folder"]


# ---------------------------------------------------------------------------- the command, text


def test_cli_text_reports_pass_fail_and_explanation():
    result = invoke(str(SAMPLE))
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "PASS   brakes by tariff shift  (Mini: qualifies, Mini review: does_not_qualify)" in out
    assert "FAIL   deliberately wrong brakes expectation" in out
    assert "Mini: expected qualifies, got does_not_qualify" in out
    assert "DOES NOT QUALIFY" in out and "mini.roo:13" in out  # the explanation, with sources
    assert out.rstrip().splitlines()[-1] == "3 passed, 1 failed (4 cases, 5 verdicts checked, 1 test file)"


def test_cli_run_filters_cases():
    result = invoke(str(SAMPLE), "--run", PASSING)
    assert result.exit_code == 0, result.output
    assert "deliberately" not in result.stdout
    assert "3 passed, 0 failed" in result.stdout
    result = invoke(str(SAMPLE), "--run", "deliberately")
    assert result.exit_code == 1
    assert "0 passed, 1 failed" in result.stdout


def test_cli_quiet_hides_passing_cases():
    out = invoke(str(SAMPLE), "-q").stdout
    assert "PASS" not in out and "FAIL" in out


def test_cli_bad_regex_is_usage_error():
    result = invoke(str(SAMPLE), "--run", "(")
    assert result.exit_code == 2
    assert "not a regular expression" in result.stderr


def test_cli_missing_path_is_usage_error(tmp_path: Path):
    assert invoke(str(tmp_path / "nope")).exit_code == 2


# ---------------------------------------------------------------------------- JSON and JUnit


def test_cli_json():
    result = invoke(str(SAMPLE), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {"cases": 4, "passed": 3, "failed": 1, "errors": 0, "verdicts": 5,
                               "verdicts_failed": 1, "test_files": 1}
    cases = data["files"][0]["cases"]
    assert [c["status"] for c in cases] == ["passed", "failed", "passed", "passed"]
    failed = cases[1]["results"][0]
    assert (failed["expected"], failed["actual"], failed["passed"]) == ("qualifies", "does_not_qualify", False)
    assert failed["determination"]["verdict"] == "does_not_qualify"
    assert cases[0]["results"][0]["determination"] is None
    assert data["coverage"] is None


def test_cli_junit_is_valid_xml():
    result = invoke(str(SAMPLE), "--format", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "1", "0")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(SAMPLE / "mini.test.yaml")]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == [
        "brakes by tariff shift [Mini]", "brakes by tariff shift [Mini review]",
        "deliberately wrong brakes expectation [Mini]", "seat belt without end use [Mini]",
        "polyethylene of originating materials only [Mini]"]
    failures = [c.find("failure") for c in cases]
    assert [f is not None for f in failures] == [False, False, True, False, False]
    assert failures[2].get("message") == "Mini: expected qualifies, got does_not_qualify"
    assert "DOES NOT QUALIFY" in failures[2].text


def test_cli_junit_reports_errors(folder: Path):
    (folder / "t.test.yaml").write_text("- name: x\n" + HEADER + "  expect: {Mini: qualify}\n")
    result = invoke(str(folder), "--format", "junit")
    assert result.exit_code == 2
    root = ET.fromstring(result.stdout)
    assert root.get("errors") == "1"
    error = root.find("testsuite/testcase/error")
    assert error is not None and "t.test.yaml:3" in error.get("message")


# ---------------------------------------------------------------------------- coverage


def test_coverage_counts():
    cov = run([SAMPLE], coverage=True, pattern=PASSING).coverage
    kinds = cov.by_kind()
    assert kinds == {"rule": (3, 4), "alternative": (1, 2), "require": (1, 1), "fallback": (0, 0),
                     "deemed": (0, 0)}
    assert (cov.exercised, cov.total, cov.percent_text()) == (5, 7, "71.4")
    missed = {i.where.split(":", 1)[1]: i.label for i in cov.items.values() if not i.exercised}
    assert missed == {
        "8:3": 'rule 39.01 "Polyethylene"',  # only originating materials: no rule applied
        "14:8": "or #2 of rule 8708.30: rvc(transaction_value) >= 60%",  # RVC 50%: never true
    }


FALLBACK_RULES = """
agreement "Fb" {
  parties = [US, MX, CA]
  rule 87.14 "Parts" { change from any other heading }
  fallback "Same subheading" for 87.14 { rvc(transaction_value) >= 60% }
}
"""


@pytest.mark.parametrize("vnm, exercised", [("400", True), ("401", False)])
def test_coverage_counts_a_fallback_when_it_held(tmp_path: Path, vnm: str, exercised: bool):
    """The rule fails (a material of the same heading); the fallback decides: it is exercised
    only by the case in which it held (RVC(TV) 60%), not by the one where it was tried and failed."""
    (tmp_path / "fb.roo").write_text(FALLBACK_RULES)
    (tmp_path / "fb.test.yaml").write_text(f"""
- name: part from a part of the same heading
  bom:
    product: {{id: P, hs: "8714.10", produced_in: MX, transaction_value: "1000"}}
    materials: [{{id: M, hs: "8714.91", origin: CN, originating: false, value: "{vnm}"}}]
  expect: {{Fb: {"qualifies" if exercised else "does_not_qualify"}}}
""")
    report = run([tmp_path], coverage=True)
    assert report.coverage.by_kind()["fallback"] == ((1 if exercised else 0), 1)
    result = invoke(str(tmp_path), "--coverage")
    assert f"fallbacks {1 if exercised else 0}/1" in result.stdout


def test_coverage_when_fact_missing_counts_every_rule_evaluated():
    cov = run([SAMPLE], coverage=True, pattern="seat").coverage
    exercised = sorted(i.label for i in cov.items.values() if i.exercised)
    assert exercised == ['rule 8708.21 "Seat belts, for passenger vehicles"', 'rule 8708.21 "Seat belts, other"']


def test_coverage_text_and_threshold():
    result = invoke(str(SAMPLE), "--run", PASSING, "--coverage")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "coverage: 71.4% (5 of 7 items: rules 3/4, or-alternatives 1/2, requirements 1/1)" in out
    assert "✗ " + str(MINI) + ":14:8" in out and "✓ " + str(MINI) + ":13:5" in out
    assert invoke(str(SAMPLE), "--run", PASSING, "--threshold", "71.4").exit_code == 0
    below = invoke(str(SAMPLE), "--run", PASSING, "--threshold", "71.5")
    assert below.exit_code == 1
    assert "below the threshold of 71.5%" in below.stderr
    assert invoke(str(SAMPLE), "--threshold", "101").exit_code == 2


def test_coverage_json():
    data = json.loads(invoke(str(SAMPLE), "--run", PASSING, "--format", "json", "--coverage").stdout)
    cov = data["coverage"]
    assert (cov["exercised"], cov["total"], cov["percent"]) == (5, 7, "71.4")
    assert {i["kind"] for i in cov["items"]} == {"rule", "alternative", "require"}
    assert all(i["source"].startswith(str(MINI)) for i in cov["items"])


def test_coverage_includes_untested_rule_files_in_folders(folder: Path):
    (folder / "sub").mkdir()
    (folder / "sub" / "other.roo").write_text('agreement "Other" {\n  parties = [US]\n  rule 39.01 { CTH }\n}\n')
    (folder / "t.test.yaml").write_text("- name: x\n" + HEADER + "  expect: {Mini: qualifies}\n")
    cov = run([folder], coverage=True).coverage
    assert cov.total == 8
    assert any(i.program == "Other" and not i.exercised for i in cov.items.values())


# ---------------------------------------------------------------------------- bad test files


BAD = """\
- name: misspelt key
  bom: {product: {id: X, hs: "3901.10", produced_in: US}}
  expcet:
    Mini: qualifies
- name: bad verdict
  bom: {product: {id: X, hs: "3901.10", produced_in: US}}
  expect:
    Mini: qualify
- name: bad date
  as_of: 2026-13-01
  bom: {product: {id: X, hs: "3901.10", produced_in: US}}
  expect: {Mini: qualifies}
- name: bad inline bom
  bom:
    product: {id: X, hs: "3901.10", produced_in: US}
    materials:
      - {id: A, value: "abc"}
  expect: {Mini: qualifies}
- name: missing bom file
  bom: nope.yaml
  expect: {Mini: qualifies}
- name: unknown agreement
  bom: {product: {id: X, hs: "3901.10", produced_in: US}}
  expect: {Minu: qualifies}
- name: good
  as_of: 2026-01-01
  bom: {product: {id: X, hs: "3901.10", produced_in: US}}
  expect: {Mini: qualifies}
- name: good
  bom: {product: {id: X, hs: "3901.10", produced_in: US}}
  expect: {Mini: qualifies}
"""


def test_bad_cases_name_line_and_field(folder: Path):
    (folder / "bad.test.yaml").write_text(BAD)
    report = run([folder])
    f = str(folder / "bad.test.yaml")
    messages = [(str(p.line), p.path, p.message) for c in report.cases for p in c.problems]
    assert ("3", "[0].expcet", "unknown field `expcet` (did you mean `expect`?); a case has `name`, `bom`, "
            "`expect`, `as_of`, `rules`") in messages
    assert ("8", "[1].expect.Mini", "`qualify` is not a verdict (did you mean `qualifies`?): expected one of "
            "qualifies, does_not_qualify, insufficient_data, no_rule") in messages
    assert any(line == "10" and path == "[2].as_of" and "not a date" in m for line, path, m in messages)
    assert any(line == "17" and path == "[3].bom.materials[0].value" for line, path, _ in messages)
    assert any(line == "20" and path == "[4].bom" and "nope.yaml" in m for line, path, m in messages)
    assert any(line == "24" and path == "[5].expect.Minu" and "did you mean `Mini`?" in m for line, path, m in messages)
    assert any(line == "29" and path == "[7].name" and "line 25" in m for line, path, m in messages)
    assert [c.status for c in report.cases] == ["error"] * 6 + ["passed", "error"]
    assert str(report.cases[0].problems[-1]).startswith(f"{f}:3: [0].expcet: unknown field")


def test_cli_bad_test_file_exits_2(folder: Path):
    (folder / "bad.test.yaml").write_text(BAD)
    result = invoke(str(folder))
    assert result.exit_code == 2
    assert "bad.test.yaml:8: [1].expect.Mini: `qualify` is not a verdict" in result.stdout


def test_verdicts_checked_leave_out_cases_in_error_in_every_format(folder: Path):
    # of the 8 cases of BAD only `good` runs: one verdict checked, the same in text and JSON
    # (JSON counted the expectations of the cases in error too: 4 here)
    (folder / "bad.test.yaml").write_text(BAD)
    text = invoke(str(folder))
    assert text.exit_code == 2
    assert text.stdout.rstrip().splitlines()[-1] == "1 passed, 0 failed, 7 errors (8 cases, 1 verdict checked, 1 test file)"
    result = invoke(str(folder), "--format", "json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["summary"] == {"cases": 8, "passed": 1, "failed": 0, "errors": 7, "verdicts": 1,
                                                    "verdicts_failed": 0, "test_files": 1}


@pytest.mark.parametrize("text, line, words", [
    ("name: x\n", 1, "expected a YAML list of cases"),
    ("- name: [x\n", 2, "invalid YAML"),
    ("- name: a\n  name: b\n", 2, "duplicate key `name`"),
])
def test_unreadable_test_file(folder: Path, text: str, line: int, words: str):
    (folder / "t.test.yaml").write_text(text)
    report = run([folder])
    [problem] = report.files[0].problems
    assert problem.line == line and words in problem.message
    assert invoke(str(folder)).exit_code == 2


def test_rule_files_with_errors_exit_2(tmp_path: Path):
    (tmp_path / "b.roo").write_text('agreement "B" {\n  parties = [US, XX]\n  rule 39.01 { CTH }\n}\n')
    (tmp_path / "t.test.yaml").write_text("- name: x\n" + HEADER + "  expect: {B: qualifies}\n")
    result = invoke(str(tmp_path))
    assert result.exit_code == 2
    assert "unknown country code `XX`" in result.stdout


def test_no_rule_files_beside_the_test(tmp_path: Path):
    (tmp_path / "t.test.yaml").write_text("- name: x\n" + HEADER + "  expect: {B: qualifies}\n")
    [problem] = run([tmp_path]).cases[0].problems
    assert "no rule files" in problem.message


# ---------------------------------------------------------------------------- nothing to run


def test_no_tests_found(tmp_path: Path):
    result = invoke(str(tmp_path))
    assert result.exit_code == 0
    assert "no test cases found" in result.stderr
    assert invoke(str(tmp_path), "--fail-on-empty").exit_code == 1
    assert invoke(str(SAMPLE), "--run", "matches nothing", "--fail-on-empty").exit_code == 1
    assert invoke(str(SAMPLE), "--run", "matches nothing").exit_code == 0


def test_empty_test_file_holds_no_cases(tmp_path: Path):
    (tmp_path / "t.test.yaml").write_text("# nothing yet\n")
    report = run([tmp_path])
    assert report.empty and report.files[0].cases == []


def test_the_verdict_path_gives_each_check_what_the_explained_outcome_gives():
    """Without coverage a check is run on the verdict path (``Rulebook.verdict``), with it on
    the explained outcome: over the shipped rules' tests, every check's verdict the same."""
    rules = Path(__file__).resolve().parent.parent / "rules"
    fast, explained = run([rules], cache=True), run([rules], coverage=True, cache=True)
    verdicts = [[(k.agreement, k.actual) for k in c.checks] for c in fast.cases]
    assert verdicts == [[(k.agreement, k.actual) for k in c.checks] for c in explained.cases]
    assert sum(map(len, verdicts)) > 4_000 and not fast.all_problems
    assert {a for case in verdicts for _, a in case} >= {"qualifies", "does_not_qualify", "insufficient_data", "no_rule"}


def test_a_test_file_that_cannot_be_read_counts_as_an_error_in_every_format(folder: Path):
    """The text counted it, the JSON summary's `errors` counted only cases (0)."""
    (folder / "bad.test.yaml").write_text("- name: [\n", encoding="utf-8")
    text = invoke(str(folder))
    assert text.exit_code == 2 and "1 error (0 cases" in text.output
    data = json.loads(invoke(str(folder), "--format", "json").stdout)
    assert data["summary"]["errors"] == 1
