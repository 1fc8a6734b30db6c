"""`origin-rules diff`: outputs, the counterexample YAML, `--expect`, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "diff"
RULES = str(ROOT / "rules")
BOMS = str(ROOT / "examples" / "boms")
ON = "2026-07-01"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["diff", *args])


def pair(edited: str, *more: str):
    return run(str(DATA / "base.roo"), str(DATA / edited), "--as-of", ON, *more)


def counterexamples(text: str) -> list[str]:
    """The YAML documents of the report: from a `# counterexample` line to the next blank line."""
    out, current = [], None
    for line in text.splitlines():
        if line.startswith("# counterexample"):
            current = [line]
        elif current is not None:
            if not line.strip():
                out.append("\n".join(current) + "\n")
                current = None
            else:
                current.append(line)
    return out


def test_raised_threshold_text_report_and_expectation_met():
    result = pair("raised.roo", "--expect", "stricter")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert '8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 65%' in out
    assert "Verdict: stricter" in out
    assert "OK: expected stricter: holds" in out
    assert len(counterexamples(out)) == 1


def test_expect_violated_exits_1_and_prints_the_counterexample_with_both_verdicts():
    result = pair("mixed.roo", "--expect", "stricter")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "Verdict: mixed" in out
    assert "FAILED: expected stricter, but looser evidence was found" in out
    docs = counterexamples(out)
    looser = [d for d in docs if d.startswith("# counterexample (looser)")]
    assert looser
    assert "# old, Demo" in looser[0] and "# new, Demo" in looser[0]
    assert "does_not_qualify" in looser[0].splitlines()[1] and looser[0].splitlines()[2].endswith("qualifies")


@pytest.mark.parametrize("edited, expect, code", [
    ("lowered.roo", "stricter", 1),
    ("lowered.roo", "looser", 0),
    ("raised.roo", "looser", 1),
    ("raised.roo", "equivalent", 1),
    ("relayout.roo", "equivalent", 0),
    ("relayout.roo", "stricter", 0),
])
def test_expect_exit_codes(edited, expect, code):
    result = pair(edited, "--expect", expect, "--examples", "120")
    assert result.exit_code == code, result.output


def test_the_printed_counterexample_can_be_saved_and_evaluated(tmp_path):
    out = pair("exception-added.roo").stdout
    doc = counterexamples(out)[0]
    path = tmp_path / "counterexample.yaml"
    path.write_text(doc)
    for rules, line in ((DATA / "base.roo", 1), (DATA / "exception-added.roo", 2)):
        said = doc.splitlines()[line].split(": ", 1)[1].split(":")[0]
        evaluated = runner.invoke(app, ["evaluate", str(path), "--rules", str(rules), "--under", "Demo",
                                        "--as-of", ON, "--format", "json"])
        assert evaluated.exit_code == 0, evaluated.output
        assert json.loads(evaluated.stdout)["verdict"] == said


def test_relayout_is_no_change_in_meaning():
    result = pair("relayout.roo")
    assert result.exit_code == 0
    assert "No change in meaning" in result.stdout
    assert "Verdict: equivalent (no change in meaning" in result.stdout
    assert "Counterexample search" not in result.stdout


def test_json_for_ci():
    result = pair("mixed.roo", "--format", "json", "--expect", "looser", "--examples", "150")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "mixed" and doc["expect"] == "looser" and doc["expectation_met"] is False
    comp = doc["comparisons"][0]
    assert [c["kind"] for c in comp["changes"]] == ["rule_changed", "rule_changed"]
    search = comp["search"]
    assert search["proven"] is False and search["seed"] == 0
    directions = {f["direction"] for c in search["changes"] for f in c["findings"]}
    assert directions == {"stricter", "looser"}
    finding = search["changes"][0]["findings"][0]
    assert set(finding["bom"]) == {"product", "materials"}
    assert finding["old"]["verdict"] != finding["new"]["verdict"]


def test_seed_makes_runs_reproducible():
    a = pair("mixed.roo", "--format", "json", "--seed", "5", "--examples", "80")
    b = pair("mixed.roo", "--format", "json", "--seed", "5", "--examples", "80")
    assert a.stdout == b.stdout


def test_usmca_against_a_review_scenario_with_the_portfolio():
    result = run(RULES, "--under", "USMCA", "--vs", "USMCA review 2026: China content cap",
                 "--boms", BOMS, "--as-of", ON, "--examples", "60")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r'requirement (".*" )?for 84, 85, 87 added: value\(non_originating and origin in \[CN\]\) '
                     r"<= 10% of transaction_value", out), out
    assert re.search(r"Portfolio, as of 2026-07-01: \d+ of 16 BOMs change verdict: [1-9]\d* lose qualification, "
                     r"0 gain it", out)
    assert "BRK-100 (8708.30): qualifies -> does_not_qualify" in out
    assert "Verdict: stricter" in out


def test_the_review_file_and_the_agreement_files_as_one_rulebook():
    usmca = ROOT / "rules" / "usmca"
    parts = [str(usmca / "agreement.roo"), *sorted(str(p) for p in usmca.glob("section-*.roo"))]
    result = run(*parts, str(usmca / "review-2026.roo"),
                 "--under", "USMCA", "--vs", "USMCA review 2026: no de minimis for China",
                 "--boms", BOMS, "--as-of", ON, "--no-search", "--format", "json")  # the changes and the impact only
    assert result.exit_code == 0, result.output
    comp = json.loads(result.stdout)["comparisons"][0]
    # The scenario only denies de minimis to China-origin materials: every de minimis line of
    # the agreement (the general value and weight lines and the GN11(e)(ii) exception lines
    # of chapters 1-27 in rules/usmca/agreement.roo) must come out of the comparison with
    # `origin in [CN]` added to what it excludes, and nothing else may change.
    summaries = [c["summary"] for c in comp["changes"]]

    def only_adds_china(s: str) -> bool:
        return (s.startswith("de minimis (") and "origin in [CN]" in s
                and not any(w in s for w in (") removed", ") added", "now for every good", "now excepts", "now for ")))

    assert ("de minimis (weight <= 10% of weight of which elastomeric <= 7% of weight for 50..60, 96.19): "
            "now excludes origin in [CN]") in summaries
    assert ("de minimis (weight <= 10% of component_weight of which elastomeric <= 7% of component_weight "
            "for 61..63): now excludes origin in [CN]") in summaries
    assert all(only_adds_china(s) for s in summaries), [s for s in summaries if not only_adds_china(s)][:5]
    flips = {f["product_id"]: f for f in comp["impact"]["flips"]}
    assert flips["SB-210"]["old"]["verdict"] == "qualifies"  # saved by de minimis for its Chinese buckle: loses it
    # The T-shirt of knitted-apparel.yaml loses no qualification: its Chinese cotton sewing
    # thread is held to the sewing-thread requirement of the textile section (ch. 61 chapter
    # rule 3; SOR/2020-155 s. 5(10)) under USMCA itself, which no de minimis saves, so it does
    # not qualify under the agreement either (at best its verdict moves between the others).
    assert "TS-6109" not in flips or flips["TS-6109"]["old"]["verdict"] != "qualifies"


def test_under_alone_compares_the_agreement_with_every_scenario_built_on_it():
    result = run(RULES, "--under", "USMCA", "--no-search", "--format", "json", "--as-of", ON)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    names = [c["new"]["name"] for c in doc["comparisons"]]
    assert len(names) == 5 and all(n.startswith("USMCA review 2026") for n in names)
    assert all(c["search"] is None for c in doc["comparisons"])


def test_vs_alone_compares_the_scenario_with_its_agreement():
    result = run(RULES, "--vs", "USMCA review 2026: higher auto RVC", "--no-search", "--as-of", ON)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Comparing USMCA with USMCA review 2026: higher auto RVC")


def test_names_on_one_side_only_are_noted(tmp_path):
    other = tmp_path / "other.roo"
    other.write_text((DATA / "base.roo").read_text() + '\nagreement "Extra" {\n  parties = [US]\n}\n')
    result = run(str(DATA / "base.roo"), str(other), "--no-search")
    assert result.exit_code == 0, result.output
    assert "(added): Extra" in result.stdout


@pytest.mark.parametrize("args, message", [
    ([str(DATA / "base.roo")], "give two rulebooks"),
    ([str(DATA / "base.roo"), str(DATA / "raised.roo"), str(DATA / "lowered.roo")], "give two rulebooks"),
    ([RULES, "--under", "USMCAA", "--vs", "USMCA review 2026: combined"], "did you mean `USMCA`"),
    ([RULES, "--vs", "USMCA"], "is an agreement"),
    ([RULES, "--under", "USMCA review 2026: combined"], "no scenario of these rules is built on"),
    ([str(DATA / "base.roo"), str(DATA / "missing.roo")], "does not exist"),
])
def test_bad_usage_exits_2(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_rule_files_with_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.roo"
    bad.write_text('agreement "Demo" {\n  parties = [US, XX]\n  rule 87.08 { CTH }\n}\n')
    result = run(str(DATA / "base.roo"), str(bad))
    assert result.exit_code == 2
    assert "origin-rules check" in result.output


def test_unreadable_boms_exit_2(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("product: [unclosed\n")
    result = pair("raised.roo", "--boms", str(broken), "--no-search")
    assert result.exit_code == 2
    assert "invalid YAML" in result.output


def test_a_seed_gives_the_same_run_in_another_process():
    """Hypothesis may draw constants from the code loaded in a process; the search turns that
    off, so the command line and a test session (many more modules loaded) agree."""
    import subprocess
    import sys

    args = [str(DATA / "base.roo"), str(DATA / "mixed.roo"), "--as-of", ON, "--format", "json",
            "--seed", "3", "--examples", "60"]
    here = run(*args)
    there = subprocess.run([sys.executable, "-c", "from origin_rules.cli import main; main()", "diff", *args],
                           capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert there.returncode == here.exit_code
    assert json.loads(there.stdout)["comparisons"][0]["search"] == json.loads(here.stdout)["comparisons"][0]["search"]


# ---------------------------------------------------------------------------- grouped output

FAMILY = """\
agreement "Demo" {
  parties = [US, MX, CA]
  effective = 2020-07-01

  rule 8708.10 "Bumpers and parts thereof" {
    change from any other heading
  }

  rule 8708.30 "Brakes and servo-brakes; parts thereof" {
    change from any other heading
    or change from any other subheading and rvc(transaction_value) >= 60%
  }
}

agreement "Other" {
  parties = [US, JP]
  rule 8708.30 "Brakes" { change from any other heading }
}

scenario "Demo review: China cap" extends "Demo" {
  require for 87 {
    value(non_originating and origin in [CN]) <= 10% of transaction_value
  }
}

scenario "Demo review: bumpers" extends "Demo" {
  rule 8708.10 "Bumpers and parts thereof (review)" {
    change from any other heading and rvc(transaction_value) >= 50%
  }
}

scenario "Demo review: brakes" extends "Demo review: China cap" {
  rule 8708.30 "Brakes (review)" { change from any other heading }
}
"""
RAISED = '8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 65%'


@pytest.fixture
def family(tmp_path) -> tuple[str, str]:
    before, after = tmp_path / "before.roo", tmp_path / "after.roo"
    before.write_text(FAMILY, encoding="utf-8")
    after.write_text(FAMILY.replace(">= 60%", ">= 65%"), encoding="utf-8")
    return str(before), str(after)


def test_an_agreement_edit_is_shown_once_with_the_scenarios_that_inherit_it(family):
    result = run(*family, "--as-of", ON, "--no-search")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # "Demo review: brakes" replaces the 8708.30 rule: it does not inherit the edit
    assert out.count(RAISED) == 1, out
    assert "Changes in meaning (1):" in out
    assert ("under Demo and the 2 scenarios built on it (Demo review: China cap, Demo review: bumpers)\n"
            in out.split(RAISED, 1)[1])
    assert "No change in meaning under Other; Demo review: brakes:" in out
    assert "=" * 88 not in out and out.count("Comparing") == 1
    assert "Overall verdict: not searched" in out


def test_a_shared_search_result_is_shown_once(family):
    result = run(*family, "--as-of", ON, "--examples", "40", "-u", "Demo")
    single = result.stdout
    assert result.exit_code == 0 and single.startswith("Comparing Demo (")  # one comparison: as before
    out = run(*family, "--as-of", ON, "--examples", "40").stdout
    search = out.split("Counterexample search", 1)[1]
    assert "1 change under 3 names" in search.splitlines()[0]
    assert f"  {RAISED}: stricter (under Demo and the 2 scenarios built on it (" in search
    docs = counterexamples(out)
    assert 1 <= len(docs) < 3  # found under 3 names, shown once for each distinct BOM
    assert any("# the same under" in d for d in docs)
    assert "Verdicts:\n  stricter: under Demo and the 2 scenarios built on it" in out


def test_grouped_changes_in_json(family):
    doc = json.loads(run(*family, "--as-of", ON, "--no-search", "--format", "json").stdout)
    (change,) = doc["changes"]
    assert change["summary"] == RAISED and change["group"] == 0
    assert change["under"] == ["Demo"]
    assert change["inherited_by"] == ["Demo review: China cap", "Demo review: bumpers"]
    assert [p["names"] for p in change["places"]] == [["Demo", "Demo review: China cap", "Demo review: bumpers"]]
    by_name = {c["new"]["name"]: c["changes"] for c in doc["comparisons"]}
    assert by_name["Other"] == [] and by_name["Demo review: brakes"] == []
    assert all(c["changes"] == [dict(change_dict, group=0) for change_dict in [
        {k: change[k] for k in ("kind", "subject", "details", "summary", "old_source", "new_source")}]]
        for name, c in zip(by_name, doc["comparisons"]) if name.startswith("Demo") and name != "Demo review: brakes")


def test_an_edit_restated_by_two_scenarios_is_one_change_with_two_places(tmp_path):
    rules = tmp_path / "rules.roo"
    cap = "  require for 87 {\n    value(non_originating and origin in [CN]) <= 10% of transaction_value\n  }\n"
    rules.write_text(FAMILY + '\nscenario "Demo review: cap again" extends "Demo" {\n' + cap + "}\n", encoding="utf-8")
    result = run(str(rules), "--under", "Demo", "--no-search", "--as-of", ON)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Comparing Demo with each of: Demo review: China cap; Demo review: bumpers; "
                          "Demo review: brakes; Demo review: cap again\n")
    line = "requirement for 87 added: value(non_originating and origin in [CN]) <= 10% of transaction_value"
    assert out.count(line) == 1, out
    places = out.split(line + "\n", 1)[1].splitlines()[:2]
    first, second = [n for n, text in enumerate(rules.read_text().splitlines(), 1) if "require for 87" in text]
    assert places[0] == f"      [new {rules}:{first}] under Demo review: China cap and the scenario built on it (Demo review: brakes)"
    assert places[1] == f"      [new {rules}:{second}] under Demo review: cap again"
    doc = json.loads(run(str(rules), "--under", "Demo", "--no-search", "--as-of", ON, "--format", "json").stdout)
    (change,) = [c for c in doc["changes"] if c["summary"] == line]
    assert change["under"] == ["Demo review: China cap", "Demo review: cap again"]
    assert change["inherited_by"] == ["Demo review: brakes"]
    assert [p["names"] for p in change["places"]] == [["Demo review: China cap", "Demo review: brakes"],
                                                      ["Demo review: cap again"]]


THIN = "60.000000000000000000000000001%"  # 29 significant digits: one more than Decimal's default context keeps


@pytest.mark.parametrize("prove", [[], ["--prove"]])
def test_a_threshold_raised_beyond_28_digits_is_stricter_not_identical(tmp_path, prove):
    """`share()` normalized thresholds under the default 28-digit context: 60% and
    60.000000000000000000000000001% were one value, and `--expect equivalent` held ("No change
    in meaning: the normalized rules are identical", exit 0), though a good at exactly 60%
    qualifies under the old rule only."""
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, threshold in ((old, "60%"), (new, THIN)):
        folder.mkdir()
        (folder / "a.roo").write_text(
            f'agreement "A" {{\n  parties = [US]\n  rule 87.03 {{ rvc(net_cost) >= {threshold} }}\n}}\n', encoding="utf-8")
    result = run(str(old), str(new), "--as-of", "2025-01-01", "--expect", "equivalent", *prove)
    assert result.exit_code == 1, result.output
    assert "the normalized rules are identical" not in result.output
    assert f"87.03: RVC (net cost) 60% -> {THIN[:-1]}%" in result.output
    assert re.search(r"^Verdict: stricter\b", result.output, re.M)
    assert "FAILED: expected equivalent, but stricter evidence was found" in result.output
    (found,) = counterexamples(result.output)
    assert "# old, A" in found and ": qualifies" in found and "does_not_qualify" in found


DEMO = '''agreement "Demo" {
  parties = [US, MX, CA]
  effective = 2020-07-01
  rule 8708.30 "Brakes" {
    change from any other heading
    or change from any other subheading and rvc(transaction_value) >= 60%
  }
}
'''
OTHER = 'agreement "Other" {\n  parties = [US, MX]\n  effective = 2020-07-01\n  rule 8708.10 { change from any other heading }\n}\n'
CAPPED = 'scenario "S" extends "Demo" {\n  require for 87 { value(non_originating and origin in [CN]) <= 10% of transaction_value }\n}\n'
LONE_BOMS = {  # P1 qualifies under Other only; P2 under Demo, not under S (380 of Chinese content > 100)
    "b1.yaml": 'product: {id: P1, hs: "8708.10", produced_in: US, transaction_value: 1000}\n'
               'materials:\n  - {id: M1, hs: "7208.10", origin: CN, originating: false, value: 400}\n',
    "b2.yaml": 'product: {id: P2, hs: "8708.30", produced_in: CA, transaction_value: 1000}\n'
               'materials:\n  - {id: M1, hs: "8708.10", origin: CN, originating: false, value: 380}\n',
}


def lone(tmp_path, old: str, new: str, *more: str):
    """diff of two rulebooks in tmp_path (old.roo, new.roo), with the BOMs of LONE_BOMS."""
    (tmp_path / "old.roo").write_text(old, encoding="utf-8")
    (tmp_path / "new.roo").write_text(new, encoding="utf-8")
    boms = tmp_path / "boms"
    boms.mkdir(exist_ok=True)
    for name, text in LONE_BOMS.items():
        (boms / name).write_text(text, encoding="utf-8")
    return run(str(tmp_path / "old.roo"), str(tmp_path / "new.roo"), "--as-of", ON, "--boms", str(boms), *more)


@pytest.mark.parametrize("prove", [[], ["--prove"]])
def test_a_removed_agreement_and_an_added_scenario_are_no_equivalence(tmp_path, prove):
    """Names on one side only were notes: `--expect equivalent` held (`Verdict: equivalent`,
    `0 of 2 BOMs change verdict`, exit 0, with or without --prove) though P1 qualifies under
    `Other`, which the new rulebook removed."""
    result = lone(tmp_path, DEMO + OTHER, DEMO + CAPPED, "--expect", "equivalent", *prove)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert not re.search(r"^Verdict: ", out, re.M)
    portfolio = out.split("Portfolio, as of 2026-07-01:\n", 1)[1].split("\n\n", 1)[0]
    assert portfolio.splitlines() == [
        "  under Demo: 0 of 2 BOMs change verdict: 0 lose qualification, 0 gain it, 0 change otherwise",
        "  under Other (removed): 1 of 2 BOMs change verdict: 1 lose qualification, 0 gain it, 0 change otherwise",
        f"    P1 (8708.10): qualifies -> no verdict  [{tmp_path / 'boms' / 'b1.yaml'}]",
        "        old: qualifies",
        f"        new: no verdict: `Other` is not in {tmp_path / 'new.roo'}",
        # P2 does not qualify under S: no verdict ranks with does_not_qualify, nothing it had is lost
        "  under S (added): 0 of 2 BOMs change verdict: 0 lose qualification, 0 gain it, 0 change otherwise",
    ]
    assert out.split("Verdicts:\n", 1)[1].splitlines()[:3] == [
        "  equivalent (no change in meaning: the normalized rules are identical): under Demo",
        "  stricter (removed: goods that had a verdict under it have none): under Other",
        "  looser (added: goods that had no verdict under it have one): under S",
    ]
    assert out.rstrip().splitlines()[-2:] == [
        "Overall verdict: mixed",
        "FAILED: expected equivalent, but `Other` was removed (stricter) and `S` was added (looser)",
    ]


@pytest.mark.parametrize("old, new, expect, code, message", [
    (DEMO + OTHER, DEMO, "stricter", 0, "OK: expected stricter: holds"),
    (DEMO + OTHER, DEMO, "looser", 1, "FAILED: expected looser, but `Other` was removed (stricter)"),
    (DEMO + OTHER, DEMO, "equivalent", 1, "FAILED: expected equivalent, but `Other` was removed (stricter)"),
    (DEMO, DEMO + CAPPED, "looser", 0, "OK: expected looser: holds"),
    (DEMO, DEMO + CAPPED, "stricter", 1, "FAILED: expected stricter, but `S` was added (looser)"),
], ids=["removed-stricter", "removed-looser", "removed-equivalent", "added-looser", "added-stricter"])
def test_a_removed_name_is_stricter_and_an_added_one_looser(tmp_path, old, new, expect, code, message):
    result = lone(tmp_path, old, new, "--expect", expect)
    assert result.exit_code == code, result.output
    assert result.stdout.rstrip().splitlines()[-1] == message
    assert f"Overall verdict: {'stricter' if OTHER in old else 'looser'}\n" in result.stdout


def test_names_on_one_side_only_in_json(tmp_path):
    result = lone(tmp_path, DEMO + OTHER, DEMO + CAPPED, "--expect", "equivalent", "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert (doc["verdict"], doc["expectation_met"]) == ("mixed", False)
    [comparison] = doc["comparisons"]
    assert (comparison["new"]["name"], comparison["verdict"]) == ("Demo", "equivalent")
    [removed], [added] = doc["removed"], doc["added"]
    assert (removed["name"], removed["verdict"], added["name"], added["verdict"]) == ("Other", "stricter", "S", "looser")
    impact = removed["impact"]
    assert {k: impact[k] for k in ("evaluated", "changed", "lost", "gained", "other")} == {
        "evaluated": 2, "changed": 1, "lost": 1, "gained": 0, "other": 0}
    assert impact["flips"][0]["old"]["verdict"] == "qualifies" and impact["flips"][0]["new"]["verdict"] is None
    assert added["impact"]["changed"] == 0
    assert doc["notes"] == [f"only in {tmp_path / 'old.roo'} (removed): Other", f"only in {tmp_path / 'new.roo'} (added): S"]
