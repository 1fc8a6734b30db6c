"""semantics.check: every code on a minimal example, the language examples, overlaps,
the `check` command, the speed of the overlap index, and no traceback on mutated text."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from origin_rules.cli import app
from origin_rules.model import ast
from origin_rules.model.diagnostic_codes import TITLES
from origin_rules.model.hs import Level, nomenclature
from origin_rules.semantics.check import check_modules
from origin_rules.semantics.literals import KINDS
from origin_rules.semantics.resolve import build_programs
from origin_rules.rulebook.sources import parse_paths, parse_texts
from origin_rules.syntax.errors import KEYWORDS
from origin_rules.syntax.parser import parse

from conftest import examples

HERE = Path(__file__).parent
LANGUAGE = HERE / "golden" / "language"
GOLDEN_CHECK = HERE / "golden" / "check"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"  # rewrite expected.txt files from the output

CLEAN = '''\
set non_market = [CN]

agreement "USMCA" {
  parties = [US, MX, CA]
  effective = 2020-07-01
  hs_version = 2022
  de_minimis value <= 10% of transaction_value

  set steel = 72, 73

  rule 87.08 "Parts of vehicles" { change from any other heading }
  rule 8708.30 "Brakes" when end_use in [passenger_vehicle] { rvc(net_cost) >= 60% }
  rule 8708.30 "Brakes, other" {
    change from any other subheading except steel
    value(non_originating and origin in non_market) <= 10% of transaction_value
  }
  rule 87.03 until 2021-06-30 { rvc(net_cost) >= 66% }
  rule 87.03 from 2021-07-01 { rvc(net_cost) >= 75% }
}

scenario "Review" extends "USMCA" {
  require for 87 { value(kind in [accessory], traced) <= 5% of net_cost }
  rule 87.03 { rvc(net_cost) >= 80% }
}
'''

#: code -> a rule file that triggers it exactly once (and nothing else).
EXAMPLES: dict[str, str] = {
    "ROO001": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { chnage from any other heading }\n}\n',
    "ROO002": 'agreement "A"\n',
    "ROO003": 'agreement "A" {\n  parties = [US];\n}\n',
    "ROO004": 'agreement "A" {\n  parties = [US]\n  rule 87.03 {\n    change from any other heading\n}\n',
    "ROO010": 'agreement "A" {\n  parties = [US]\n  rule 8708 { change from any other heading }\n}\n',
    "ROO011": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(net_cost) >= 60 }\n}\n',
    "ROO012": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(net_cost) = 60% }\n}\n',
    "ROO013": 'agreement "A" {\n  parties = [US]\n  effective = 2020-02-30\n}\n',
    "ROO014": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(net_cots) >= 60% }\n}\n',
    "ROO015": 'agreement "A" {\n  parties = [US]\n  rule 87.03 from 2021-01-01 from 2022-01-01 { rvc(net_cost) >= 60% }\n}\n',
    "ROO016": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { value(non_originating) <= 10% of transaction_valu }\n}\n',
    "ROO017": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(87.03) >= 60% }\n}\n',
    "ROO018": 'agreement "A" {\n  parties = [US]\n  rule 87.03 when end_uses in [bus] { rvc(net_cost) >= 60% }\n}\n',
    "ROO019": 'agreement "A" {\n  parties = [US]\n  hs_version = 20.22\n}\n',
    "ROO020": 'agreement "A" {\n  parties = [US]\n  de_minimis weight <= 10% of weight of which elastic <= 7%\n}\n',
    "ROO021": 'agreement "A" {\n  parties = [US]\n  rule 39.01 { weight(polymers of originating) >= 50% of weight(polymer) }\n}\n',
    "ROO022": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(net_cost) >= 62.' + "0" * 40 + '1% }\n}\n',
    "ROO101": 'agreement "A" {\n  parties = [US]\n  rule 8708.31 { change from any other heading }\n}\n',
    "ROO102": 'agreement "A" {\n  parties = [US]\n  rule 61.17..61.01 { change from any other chapter }\n}\n',
    "ROO103": 'agreement "A" {\n  parties = [US]\n  rule 61.01..6117.90 { change from any other chapter }\n}\n',
    "ROO104": 'agreement "A" {\n  parties = [US, XX]\n}\n',
    "ROO105": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(net_cost) >= 150% }\n}\n',
    "ROO106": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { rvc(net_cost) >= 60% }\n  rule 87.03 { rvc(net_cost) >= 70% }\n}\n',
    "ROO107": (
        'agreement "A" {\n  parties = [US]\n'
        '  rule 87.03 until 2022-12-31 { rvc(net_cost) >= 60% }\n'
        '  rule 87.03 from 2022-07-01 { rvc(net_cost) >= 70% }\n}\n'
    ),
    "ROO108": (
        'agreement "A" {\n  parties = [US]\n'
        '  rule 87.03 { rvc(net_cost) >= 60% }\n'
        '  rule 87.03 when end_use in [bus] { rvc(net_cost) >= 70% }\n}\n'
    ),
    "ROO109": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { change from any other heading except stel }\n}\n',
    "ROO110": (
        'set non_market = [CN]\n\nagreement "A" {\n  parties = [US]\n'
        '  rule 87.03 { change from any other heading except non_market }\n}\n'
    ),
    "ROO111": 'agreement "USMCA" {\n  parties = [US]\n}\n\nscenario "Review" extends "USMAC" {\n}\n',
    "ROO112": 'scenario "Loop" extends "Loop" {\n}\n',
    "ROO113": 'agreement "A" {\n  parties = [US]\n}\n\nagreement "A" {\n  parties = [MX]\n}\n',
    "ROO114": 'set steel = 72, 73\n\nagreement "A" {\n  parties = [US]\n}\n',
    "ROO115": 'agreement "A" {\n  rule 87.03 { rvc(net_cost) >= 60% }\n}\n',
    "ROO116": 'agreement "A" {\n  parties = [US]\n  effective = 2020-07-01\n  effective = 2021-07-01\n}\n',
    "ROO117": 'agreement "A" {\n  parties = [US]\n  rule 87.03 from 2023-01-01 until 2022-12-31 { rvc(net_cost) >= 60% }\n}\n',
    "ROO118": (
        'agreement "A" {\n  parties = [US]\n  effective = 2020-07-01\n'
        '  rule 87.03 from 2019-01-01 { rvc(net_cost) >= 60% }\n}\n'
    ),
    "ROO119": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { value(kind in [acessory]) <= 5% of transaction_value }\n}\n',
    "ROO120": (
        'set a = b, 72\nset b = a\n\nagreement "A" {\n  parties = [US]\n'
        '  rule 87.03 { change from any other heading except a }\n}\n'
    ),
    "ROO121": 'agreement "A" {\n  parties = [US, MX, US]\n}\n',
    "ROO122": 'agreement "A" {\n  parties = [US]\n  hs_version = 2017\n}\n',
    "ROO123": 'agreement "A" {\n  parties = [US]\n  rule 84.13 { change from any other heading except more than one of (8537.10) }\n}\n',
    "ROO124": 'agreement "A" {\n  parties = [US]\n  de_minimis weight <= 10% of weight of which elastomeric <= 7% of fob\n}\n',
    "ROO125": 'agreement "A" {\n  parties = [US]\n  rule 39.01 { value(polymer of non_originating) <= 50% of transaction_value }\n}\n',
    "ROO126": 'agreement "A" {\n  parties = [US]\n  rule 87.03 { ' + "not " * 101 + 'CTH }\n}\n',
}


def codes_of(text: str, name: str = "t.roo") -> list[str]:
    return [d.code for d in parse_texts({name: text}).diagnostics]


# ---- every code ------------------------------------------------------------------------------


def test_clean_rulebook_has_no_diagnostics():
    assert parse_texts({"clean.roo": CLEAN}).diagnostics == []


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_each_code_triggers_exactly_once(code):
    assert codes_of(EXAMPLES[code]) == [code]


def test_every_code_has_an_example():
    assert set(TITLES) - set(EXAMPLES) == {"ROO000"}


def test_missing_path_is_roo000(tmp_path):
    parsed = parse_paths([tmp_path / "nope.roo"])
    assert [d.code for d in parsed.diagnostics] == ["ROO000"]


def test_undecodable_file_is_roo000(tmp_path):
    bad = tmp_path / "bad.roo"
    bad.write_bytes(b"\xff\xfeagreement")
    assert [d.code for d in parse_paths([bad]).diagnostics] == ["ROO000"]


def test_kinds_match_the_bom_model():
    from origin_rules.model.bom import KINDS as BOM_KINDS

    assert tuple(KINDS) == tuple(BOM_KINDS)


def test_messages_follow_the_conventions():
    for code, text in EXAMPLES.items():
        for d in parse_texts({"t.roo": text}).diagnostics:
            assert d.message[0].islower() or d.message[0] in "`\"", (code, d.message)
            assert "`" in d.message, (code, d.message)
            assert d.help, code
            assert d.span.line >= 1 and d.span.end_line >= d.span.line, code


# ---- the rule language's own examples ---------------------------------------------------------


def test_language_examples_are_the_four_saved():
    # the same four examples are the formatter's fixpoints (tests/test_fmt.py checks the copies agree)
    assert [f.name for f in sorted(LANGUAGE.glob("*.roo"))] == ["agreement.roo", "dates.roo", "named-sets.roo", "scenario.roo"]


def test_language_examples_check_without_error():
    parsed = parse_paths([LANGUAGE])
    assert not parsed.has_errors, [d.message for d in parsed.diagnostics]
    unused = sorted(d.message for d in parsed.diagnostics)
    assert unused == ["set `auto_parts` is never used", "set `non_market_economies` is never used"]
    assert {d.code for d in parsed.diagnostics} == {"ROO114"}


# ---- a file with several mistakes: all reported -------------------------------------------------

FIVE = '''\
agreement "USMCA" {
  parties = [US, MX, XX]
  rule 8708.31 { rvc(net_cost) >= 60% }
  rule 87.03 { rvc(net_cost) >= 150% }
  rule 87.04 { change from any other heading except stel }
}
scenario "Review" extends "USMAC" {
}
'''


def test_five_mistakes_all_reported():
    codes = codes_of(FIVE)
    assert sorted(codes) == ["ROO101", "ROO104", "ROO105", "ROO109", "ROO111"]


def test_five_mistakes_from_the_command_line(tmp_path):
    f = tmp_path / "five.roo"
    f.write_text(FIVE, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(f)])
    assert result.exit_code == 1
    for code in ("ROO101", "ROO104", "ROO105", "ROO109", "ROO111"):
        assert f"error[{code}]" in result.output
    assert result.output.rstrip().endswith("5 errors, 0 warnings in 1 file")


# ---- messages say what would be right ---------------------------------------------------------------


def _one(text: str):
    diags = parse_texts({"t.roo": text}).diagnostics
    assert len(diags) == 1, [d.message for d in diags]
    return diags[0]


def test_missing_subheading_lists_the_existing_ones():
    d = _one(EXAMPLES["ROO101"])
    assert d.message == "`8708.31` is not a subheading of HS 2022"
    assert d.help.startswith("subheadings of 87.08 are 8708.10, 8708.21, ")
    assert (d.span.line, d.span.column, d.span.end_column) == (3, 8, 15)


def test_tariff_item_needs_its_subheading():
    d = _one('agreement "A" {\n  parties = [US]\n  rule 8708.31.10 { rvc(net_cost) >= 60% }\n}\n')
    assert d.code == "ROO101" and "`8708.31`" in d.message
    assert codes_of('agreement "A" {\n  parties = [US]\n  rule 8708.30.10 { rvc(net_cost) >= 60% }\n}\n') == []


def test_unknown_chapter():
    d = _one('agreement "A" {\n  parties = [US]\n  rule 77.01 { rvc(net_cost) >= 60% }\n}\n')
    assert "chapter `77` does not exist" in d.help


@pytest.mark.parametrize("word, meant", [("UK", "GB"), ("China", "CN"), ("CHN", "CN"), ("cn", "CN"), ("Germany", "DE")])
def test_country_suggestions(word, meant):
    d = _one(f'agreement "A" {{\n  parties = [US, {word}]\n}}\n')
    assert d.message == f"unknown country code `{word}`"
    assert f"did you mean `{meant}`?" in d.help


@pytest.mark.parametrize("where", [
    "rule 87.03 {{ value(origin in [{c}]) <= 10% of transaction_value }}",
    "rule 87.03 when produced_in in [{c}] {{ rvc(net_cost) >= 60% }}",
    'rule 87.03 {{ performed "assembly" in [{c}] }}',
    "set bad = [{c}]\n  rule 87.03 {{ value(origin in bad) <= 10% of transaction_value }}",
])
def test_countries_are_checked_everywhere(where):
    text = 'agreement "A" {\n  parties = [US]\n  ' + where.format(c="ZZ") + "\n}\n"
    assert codes_of(text) == ["ROO104"]


def test_end_use_words_are_not_countries():
    text = ('agreement "A" {\n  parties = [US]\n  set uses = [passenger_vehicle]\n'
            '  rule 87.03 when end_use in uses { rvc(net_cost) >= 60% }\n  rule 87.03 { CTH }\n}\n')
    assert codes_of(text) == []


def test_set_in_brackets_gets_a_hint():
    diags = parse_texts({"t.roo": 'set nm = [CN]\nagreement "A" {\n  parties = [US]\n'
                         '  rule 87.03 { value(origin in [nm]) <= 10% of transaction_value }\n}\n'}).diagnostics
    assert sorted(d.code for d in diags) == ["ROO104", "ROO114"]
    assert "without brackets" in next(d for d in diags if d.code == "ROO104").help


def test_hs_set_used_as_countries():
    d = _one('set steel = 72\nagreement "A" {\n  parties = [US]\n'
             '  rule 87.03 { value(origin in steel) <= 10% of transaction_value }\n}\n')
    assert d.code == "ROO110" and "set of HS codes" in d.message


def test_unknown_set_suggests_the_nearest():
    d = _one(EXAMPLES["ROO109"])
    assert d.help == "did you mean `steel`?" or "define it" in d.help


def test_scenario_sees_sets_of_its_base():
    text = ('agreement "A" {\n  parties = [US]\n  set steel = 72\n}\n'
            'scenario "B" extends "A" {\n  rule 87.03 { change from any other heading except steel }\n}\n')
    assert codes_of(text) == []


def test_two_scenarios_in_a_circle_reported_once():
    text = ('agreement "A" {\n  parties = [US]\n}\nscenario "B" extends "C" {\n}\nscenario "C" extends "B" {\n}\n'
            'scenario "D" extends "B" {\n}\n')
    diags = parse_texts({"t.roo": text}).diagnostics
    assert [d.code for d in diags] == ["ROO112"]
    assert "`B` -> `C` -> `B`" in diags[0].message


def test_duplicate_sets_in_one_scope_but_shadowing_allowed():
    text = ('set steel = 72\nagreement "A" {\n  parties = [US]\n  set steel = 73\n  set steel = 74\n'
            '  rule 87.03 { change from any other heading except steel }\n}\n')
    assert codes_of(text).count("ROO113") == 1


def test_duplicate_file_level_sets_across_files():
    parsed = parse_texts({"a.roo": "set steel = 72\n", "b.roo": "set steel = 73\n"})
    assert sorted(d.code for d in parsed.diagnostics) == ["ROO113", "ROO114"]


def test_incomplete_rulebook_does_not_blame_missing_names_on_the_good_files():
    modules = [parse('set steel = 72\nscenario "B" extends "A" {\n}\n', "b.roo")[0]]
    found = check_modules(modules, build_programs(modules), incomplete=True)
    assert [d.code for d in found] == ["ROO111"]
    assert "may define it" in found[0].help


# ---- competing rules -------------------------------------------------------------------------------

HEAD = 'agreement "A" {\n  parties = [US]\n  effective = 2020-01-01\n'


def rules(*lines: str) -> str:
    return HEAD + "".join(f"  {line}\n" for line in lines) + "}\n"


@pytest.mark.parametrize("lines, expected", [
    (("rule 87.03 { CTH }", "rule 8703.10 { CTH }"), []),  # different levels
    (("rule 87 { CTH }", "rule 87.03 { CTH }", "rule 8703.10 { CTH }"), []),
    (("rule 39.01..39.14 { CTH }", "rule 39.05 { CTSH }"), ["ROO106"]),  # range and code, one level
    (("rule 39.01..39.04 { CTH }", "rule 39.05..39.14 { CTSH }"), []),
    (("rule 39.01..39.05 { CTH }", "rule 39.05..39.14 { CTSH }"), ["ROO106"]),
    (("rule 87.03 until 2021-06-30 { CTH }", "rule 87.03 from 2021-07-01 { CTSH }"), []),
    (("rule 87.03 until 2021-07-01 { CTH }", "rule 87.03 from 2021-07-01 { CTSH }"), ["ROO107"]),  # inclusive
    (("rule 87.03 when end_use in [bus] { CTH }", "rule 87.03 { CTSH }"), []),
    (("rule 87.03 when end_use in [bus] { CTH }", "rule 87.03 when end_use in [car] { CTSH }"), []),
    (("rule 87.03 { CTH }", "rule 87.03 when end_use in [car] { CTSH }"), ["ROO108"]),
    (("rule 87.03 until 2020-12-31 { CTH }", "rule 87.03 from 2021-01-01 when end_use in [car] { CTSH }"), []),
    (("rule 87.03, 87.04 { CTH }", "rule 87.01..87.05 { CTSH }"), ["ROO106"]),  # one report per pair
    (("rule 87.03 { CTH }", "rule 87.03 { CTSH }", "rule 87.03 { CC }"), ["ROO106"] * 2),  # once per later rule
])
def test_overlaps(lines, expected):
    assert sorted(codes_of(rules(*lines))) == expected


def test_overlap_through_a_set_points_at_the_name():
    text = rules("set parts = 87.08", "rule 87.08 { CTH }", "rule parts { CTSH }")
    d = _one(text)
    assert d.code == "ROO106"
    assert (d.span.line, d.span.column, d.span.end_column) == (6, 8, 13)
    assert "line 5" in d.message


def test_scenario_rule_replaces_base_rules_of_its_selector():
    text = rules("rule 87.03 { CTH }") + 'scenario "B" extends "A" {\n  rule 87.03 { CTSH }\n}\n'
    assert codes_of(text) == []


def test_scenario_rule_overlapping_a_base_rule_is_reported_once():
    text = (rules("rule 87.03 { CTH }") + 'scenario "B" extends "A" {\n  rule 87.03, 87.04 { CTSH }\n}\n'
            + 'scenario "C" extends "B" {\n}\n')
    diags = parse_texts({"t.roo": text}).diagnostics
    assert [d.code for d in diags] == ["ROO106"]
    assert diags[0].span.line == 7


def test_base_conflict_not_repeated_for_each_scenario():
    text = rules("rule 87.03 { CTH }", "rule 87.03 { CTSH }") + 'scenario "B" extends "A" {\n}\n'
    assert codes_of(text) == ["ROO106"]


def test_invalid_dates_are_reported_once():
    text = rules("rule 87.03 from 2021-02-30 until 2022-13-01 { CTH }", "rule 87.03 until 2021-02-30 { CTSH }")
    assert codes_of(text) == ["ROO013"] * 3


def test_date_overlap_suggests_dates_that_meet():
    d = _one(EXAMPLES["ROO107"])
    assert "`from 2023-01-01`" in d.help
    assert (d.span.line, d.span.column, d.span.end_column) == (4, 14, 29)  # `from 2022-07-01`
    d = _one(rules("rule 87.03 from 2021-01-01 { CTH }", "rule 87.03 from 2022-01-01 { CTSH }"))
    assert "end `rule 87.03` the day before the other starts: `until 2021-12-31`" in d.help


def generated_rulebook(n: int = 5000, phased: int = 250) -> str:
    """``n`` rules: one per subheading, and for ``phased`` subheadings two rules dated apart."""
    subs = [str(c) for c in nomenclature().codes(Level.SUBHEADING)]
    out = ['set steel = 72, 73\n\nagreement "Big" {\n  parties = [US, MX, CA]\n  effective = 2020-07-01\n']
    body = "{ CTH except steel }"
    for i, code in enumerate(subs[: n - 2 * phased]):
        out.append(f'  rule {code} "r{i}" {body}\n')
    for code in subs[n - 2 * phased: n - phased]:
        out.append(f"  rule {code} until 2027-12-31 {body}\n  rule {code} from 2028-01-01 {body}\n")
    out.append("}\n")
    return "".join(out)


def test_checking_5000_rules_finds_nothing_wrong():
    """5,000 distinct rules and dated pairs: no false overlap. How long it takes is measured
    by the benchmark (`python -m bench --only check`), not here: a timed test fails on a
    loaded machine for no fault of the code."""
    text = generated_rulebook()
    assert text.count("  rule ") == 5000
    module, diags = parse(text, "big.roo")
    assert module is not None and diags == []
    programs = build_programs([module])
    assert check_modules([module], programs) == []


def test_many_rules_for_one_code_are_reported_without_blowing_up():
    lines = [f"rule 87.03 {{ rvc(net_cost) >= {i % 100}% }}" for i in range(300)]
    codes = codes_of(rules(*lines))
    assert codes == ["ROO106"] * 299


def _all_pairs(entries, effective=None):
    """The search before it looked only at the pairs it can report: every pair of rules sharing
    a code, with the first code and spans the sweep finds (the reference for the tests below)."""
    import heapq

    by_length: dict = {}
    for index, entry in enumerate(entries):
        for c in entry.items:
            by_length.setdefault(len(c.low), []).append((c.low, c.high, index, c.span))
    found: dict = {}
    for intervals in by_length.values():
        intervals.sort(key=lambda t: (t[0], t[1]))
        active: list = []
        for seq, (low, high, index, span) in enumerate(intervals):
            while active and active[0][0] < low:
                heapq.heappop(active)
            for _, _, other, other_span in active:
                if other == index:
                    continue
                key = (other, index) if other < index else (index, other)
                if key not in found:
                    first, second = (other_span, span) if other < index else (span, other_span)
                    found[key] = (low, first, second)
            heapq.heappush(active, (high, seq, index, span))
    return found


def _pairs_counted(monkeypatch) -> list[int]:
    """How many pairs of rules the overlap search takes up, for each program it searches."""
    from origin_rules.semantics import overlap

    counts: list[int] = []
    search = overlap._pairs

    def counted(*args):
        found = search(*args)
        counts.append(len(found))
        return found

    monkeypatch.setattr(overlap, "_pairs", counted)
    return counts


def test_copies_of_one_rule_are_not_compared_pair_by_pair(monkeypatch):
    """n copies of one rule: each later copy is reported once, against the first, and the
    search takes up n - 1 pairs, not the n(n - 1)/2 that share the code (4,000 copies took
    42 s, and the language server did not answer with 20,000). A count, not a time: timing
    is the benchmark's."""
    counts = _pairs_counted(monkeypatch)
    diags = parse_texts({"t.roo": rules(*["rule 87.03 { rvc(net_cost) >= 60% }"] * 2000)}).diagnostics
    assert [d.code for d in diags] == ["ROO106"] * 1999
    assert {d.message for d in diags} == {"`87.03` is covered by two rules at heading level: this one and "
                                          "`rule 87.03` at line 4"}
    assert counts == [1999]
    # without `when` before copies with it: each shadows the first of them (ROO108), and the
    # copies with `when` (which compete with nothing) are paired with nothing more
    counts.clear()
    lines = ["rule 87.03 { CTH }"] * 500 + ["rule 87.03 when end_use in [car] { CTSH }"] * 500
    diags = parse_texts({"t.roo": rules(*lines)}).diagnostics
    assert sorted(d.code for d in diags) == ["ROO106"] * 499 + ["ROO108"] * 500
    assert {d.message for d in diags if d.code == "ROO108"} == {
        "this rule has no `when` but is not the last rule for `87.03`: `rule 87.03` at line 504 comes after it "
        "and can never apply"}
    assert counts == [499 + 500]


_SELECTORS = ["87.03", "87.01..87.05", "87.04", "8703.21", "8703.10..8703.40", "87.03, 87.01..87.05",
              "parts", "87.05..87.08", "8703.21, 8703.22"]
_DATES = ["", "from 2020-01-01", "until 2021-06-30", "from 2021-01-01 until 2022-12-31", "from 2023-01-01",
          "until 2019-01-01"]
_WHEN = ["", "when end_use in [car]"]


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_SELECTORS), st.sampled_from(_DATES), st.sampled_from(_WHEN)),
                min_size=1, max_size=14),
       st.lists(st.tuples(st.sampled_from(_SELECTORS), st.sampled_from(_DATES), st.sampled_from(_WHEN)), max_size=4),
       st.booleans())
def test_the_overlap_search_reports_what_comparing_every_pair_reports(base, scenario, copies):
    """Any mix of equal and overlapping selectors (codes, ranges, several items, a set of
    overlapping intervals), dates and `when`, in an agreement and a scenario over it: exactly
    the diagnostics of the search over every pair, messages and spans included."""
    from origin_rules.semantics import overlap

    if copies:
        base = base * 3
    lines = ["set parts = 87.03..87.06, 87.04, 8703.21"] + [
        " ".join(x for x in (f"rule {sel}", dates, when) if x) + " { CTH }" for sel, dates, when in base]
    text = rules(*lines) + 'scenario "S" extends "A" {\n' + "".join(
        "  " + " ".join(x for x in (f"rule {sel}", dates, when) if x) + " { CTSH }\n" for sel, dates, when in scenario
    ) + "}\n"
    got = parse_texts({"t.roo": text}).diagnostics
    search = overlap._pairs
    overlap._pairs = _all_pairs
    try:
        expected = parse_texts({"t.roo": text}).diagnostics
    finally:
        overlap._pairs = search
    assert got == expected


# ---- the command line ----------------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(app, ["check", *args])


def test_cli_clean_folder_exits_0_with_warnings():
    result = invoke(str(LANGUAGE))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().splitlines()[-1] == "0 errors, 2 warnings in 4 files"


def test_cli_strict_fails_on_warnings():
    assert invoke(str(LANGUAGE), "--strict").exit_code == 1


def test_cli_missing_path_exits_2(tmp_path):
    result = invoke(str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "ROO000" in result.output


def test_cli_empty_folder_is_bad_usage(tmp_path):
    assert invoke(str(tmp_path)).exit_code == 2


def test_cli_bad_format_is_bad_usage():
    assert invoke(str(LANGUAGE), "--format", "xml").exit_code == 2


@pytest.fixture
def five(tmp_path) -> Path:
    f = tmp_path / "five.roo"
    f.write_text(FIVE, encoding="utf-8")
    return f


def test_cli_max_errors(five):
    result = invoke(str(five), "--max-errors", "2")
    assert result.exit_code == 1
    assert result.output.count("error[ROO") == 2
    assert "5 errors, 0 warnings in 1 file (the first 2 errors shown" in result.output


def test_cli_json(five):
    result = invoke(str(five), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["errors"] == 5 and report["files"] == 1
    assert {d["code"] for d in report["diagnostics"]} == {"ROO101", "ROO104", "ROO105", "ROO109", "ROO111"}


def test_cli_github(five):
    result = invoke(str(five), "-f", "github")
    lines = result.output.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("::error file=") for line in lines)


def test_cli_sarif(five):
    log = json.loads(invoke(str(five), "-f", "sarif").output)
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == 5


@pytest.mark.parametrize("name", ["sp ace/ü%2C,x.roo", "plain/a.roo"])
def test_sarif_names_each_file_by_a_uri_reference_that_leads_back_to_it(tmp_path, monkeypatch, name):
    """SARIF's artifactLocation.uri is a URI reference (RFC 3986): the raw path `sp
    ace/ü%2C,x.roo` was written as is, which a reader decodes to another file's name."""
    from urllib.parse import unquote, urlsplit

    path = tmp_path / name
    path.parent.mkdir(parents=True)
    path.write_text('agreement "B" { parties = [US]  rule 9999.98 { rvc(net_cost) >= 60% } }\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for given in (name.split("/")[0], str(path.parent)):  # relative, then absolute
        log = json.loads(invoke(given, "-f", "sarif").output)
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
        assert uris, log
        for uri in uris:
            assert " " not in uri and uri.isascii()
            parts = urlsplit(uri)
            back = unquote(parts.path)
            assert (Path(back) if parts.scheme == "file" else tmp_path / back) == path


# ---- golden check outputs -----------------------------------------------------------------------------


def golden_cases() -> list[Path]:
    return sorted(p for p in GOLDEN_CHECK.iterdir() if p.is_dir()) if GOLDEN_CHECK.exists() else []


@pytest.mark.parametrize("case", golden_cases(), ids=lambda p: p.name)
def test_golden_check(case):
    from origin_rules.model.render import render_text

    text = (case / "input.roo").read_text(encoding="utf-8")
    parsed = parse_texts({"input.roo": text})
    rendered = render_text(parsed.diagnostics, parsed.sources) + "\n"
    expected = case / "expected.txt"
    if UPDATE_GOLDEN:
        expected.write_text(rendered, encoding="utf-8")
    assert rendered == expected.read_text(encoding="utf-8")


# ---- no traceback, whatever the text ---------------------------------------------------------------------

SEEDS = [p.read_text(encoding="utf-8") for p in sorted(LANGUAGE.glob("*.roo"))] + [CLEAN, *EXAMPLES.values()]
TOKENS = re.compile(r'\d{4}-\d{2}-\d{2}|"[^"\n]*"|\d[\d.]*%?|\.\.|[<>=]=|[A-Za-z_]\w*|[^\s#]')
COMMENTS = re.compile(r"#[^\n]*")
VOCAB = [
    "87", "87.03", "8708.31", "99.99", "77", "0101.21.10", "61.17..61.01", "61.01..6117.90", "150%", "0%",
    "[XX]", "[CN, CN]", "[]", "steel", "non_market", "parties", "when", "until", "from", "2019-01-01",
    "2030-12-31", "rule", "set", "{", "}", "(", ")", ",", "and", "or", "not", "except", "hs in", "origin in",
    '"USMCA"', '"X"', "extends", "scenario", "agreement", "require", "for", "end_use in [bus]", "kind in [x]",
    "value(", "weight(", ", traced", "rvc(net_cost)", ">=", "<=", "=", "CTH", "set x = x",
]


#: Tokens of the same class, so that a mutant often still parses and reaches the checker.
CLASSES: list[tuple[re.Pattern, list[str]]] = [
    (re.compile(r"\d{4}-\d{2}-\d{2}$"), ["2019-01-01", "2020-07-01", "2021-06-30", "2030-12-31"]),
    (re.compile(r"\d[\d.]*%$"), ["0%", "60%", "100%", "150%", "62.5%"]),
    (re.compile(r"\d[\d.]*$"), ["87", "87.03", "8708.31", "8708.30", "99.99", "77", "0101.21.10", "72",
                                 "61.17..61.01", "61.01..6117.90", "87.01..87.05"]),
    (re.compile(r'".*"$'), ['"USMCA"', '"X"', '"Loop"', '"USMCA review 2026: China content"']),
    (re.compile(r"[A-Z]{2}$"), ["XX", "CN", "US", "UK", "MX", "cn"]),
    (re.compile(r"[a-z_]\w*$"), ["steel", "non_market", "x", "stel", "auto_parts", "non_market_economies"]),
]


def same_class(token: str) -> list[str]:
    if token in KEYWORDS or not (token[0].isalnum() or token[0] in '"_'):
        return [token]  # keywords and punctuation stay: only literals and names are swapped
    for pattern, options in CLASSES:
        if pattern.match(token):
            return options
    return VOCAB


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SEEDS))
    tokens = TOKENS.findall(COMMENTS.sub("", text))
    for _ in range(draw(st.integers(1, 6))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["swap", "swap", "swap", "replace", "insert", "delete", "duplicate"]))
        if op == "swap":
            tokens[i] = draw(st.sampled_from(same_class(tokens[i])))
        elif op == "replace":
            tokens[i] = draw(st.sampled_from(VOCAB))
        elif op == "insert":
            tokens.insert(i, draw(st.sampled_from(VOCAB)))
        elif op == "delete":
            del tokens[i]
        else:
            j = draw(st.integers(i, min(len(tokens), i + 12)))
            tokens[i:i] = tokens[i:j]
    return " ".join(tokens)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_check_never_raises_on_mutated_rules(text):
    module, diags = parse(text, "m.roo")
    modules = [module] if module is not None else []
    found = check_modules(modules, build_programs(modules))
    for d in found + diags:
        assert d.code in TITLES
        assert d.message and "__ANON" not in d.message


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('{}[]()"#,.=<>%-_ \n') + list("aeiourstn") + list("0123456789")),
               max_size=120))
def test_check_never_raises_on_random_text(text):
    module, _ = parse(text, "r.roo")
    modules = [module] if module is not None else []
    check_modules(modules, build_programs(modules))


# ---- docs/errors.md: a section per code, and its example triggers the code ------------------------

ERRORS_MD = HERE.parent / "docs" / "errors.md"


def error_sections() -> dict[str, str]:
    text = ERRORS_MD.read_text(encoding="utf-8")
    parts = re.split(r"^## (ROO\d{3})\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_code_has_a_section_in_the_docs():
    sections = error_sections()
    assert sorted(sections) == sorted(TITLES)


@pytest.mark.parametrize("code", sorted(c for c in TITLES if c != "ROO000"))
def test_docs_example_triggers_its_code(code):
    section = error_sections()[code]
    m = re.match(r"\s*```roo\n(.*?)```", section, re.S)
    assert m, f"the section of {code} has no ```roo example right under its heading"
    assert codes_of(m.group(1), f"{code}.roo").count(code) == 1


# ---- docs/language.md: its examples form a rulebook that checks, and it names every keyword -----------

LANGUAGE_MD = HERE.parent / "docs" / "language.md"


def test_language_doc_examples_check_without_error():
    blocks = re.findall(r"```roo\n(.*?)```", LANGUAGE_MD.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 10
    parsed = parse_texts({f"language-{i}.roo": block for i, block in enumerate(blocks)})
    assert not parsed.has_errors, [(d.span.file, d.message) for d in parsed.diagnostics]


def test_language_doc_shows_every_keyword():
    text = LANGUAGE_MD.read_text(encoding="utf-8")
    examples = "\n".join(re.findall(r"```roo\n(.*?)```", text, re.S))
    for word in KEYWORDS:
        assert re.search(rf"(?<![\w.]){word}(?!\w)", examples), f"no example uses `{word}`"


# ---- how deep `and`/`or`/`not` nest (ROO126) ---------------------------------------------------

MAX_NESTING = 100  # the limit docs/errors.md gives (ROO126), fmt's too


def test_the_nesting_limit_is_the_documented_one_and_fmts():
    from origin_rules.formatting.printer import MAX_DEPTH

    assert getattr(ast, "MAX_NESTING", None) == MAX_NESTING == MAX_DEPTH

def _alternating(depth: int, leaf: str) -> str:
    """``(LEAF or (LEAF and (LEAF or ...)))``: ``depth`` levels of `and`/`or`, the deepest last."""
    text = leaf
    for i in range(depth):
        text = f"({leaf} {'or' if i % 2 else 'and'} {text})"
    return text


#: Where `and`/`or`/`not` nest: each gives the line of a rulebook of ``depth`` levels, and the
#: text each level starts with (the level MAX_NESTING + 1 starts at its MAX_NESTING + 1-th).
NESTINGS = {
    "nots": lambda d: (f'  rule 87.03 {{ {"not " * d}CTH }}\n', "not "),
    "alternating": lambda d: (f"  rule 87.03 {{ {_alternating(d, 'CTH')} }}\n", "(CTH "),
    "filter": lambda d: (f"  rule 87.03 {{ value({_alternating(d, 'originating')}) <= 10% of transaction_value }}\n",
                         "(originating "),
    "when": lambda d: (f'  rule 87.03 when {"not " * d}end_use in [bus] {{ CTH }}\n  rule 87.03 {{ CC }}\n', "not "),
    "criterion and filter": lambda d: (
        f'  rule 87.03 {{ {"not " * (d - 50)}value({"not " * 50}originating, traced) <= 10% of weight }}\n',
        "not "),
    "de minimis exclude": lambda d: (
        f"  de_minimis value <= 10% of transaction_value exclude {_alternating(d, 'originating')}\n", "(originating "),
    "sub-limit base": lambda d: (
        "  de_minimis weight <= 10% of weight of which elastomeric <= 7% of "
        f"weight({'not ' * d}originating)\n", "not "),
}


@pytest.mark.parametrize("shape", sorted(NESTINGS))
def test_nesting_up_to_the_limit_is_accepted_and_deeper_is_roo126(shape):
    """`check` accepted any depth (`not` 500 times: 0 errors); evaluate, diff and test then
    ended in a RecursionError (or Python refused the generated code). Up to MAX_NESTING levels
    pass; one more is one ROO126 at the first word of the level past the limit."""
    text = lambda depth: 'agreement "A" {\n  parties = [US]\n' + NESTINGS[shape](depth)[0] + "}\n"  # noqa: E731
    assert parse_texts({"t.roo": text(MAX_NESTING)}).diagnostics == []
    (d,) = parse_texts({"t.roo": text(MAX_NESTING + 1)}).diagnostics
    line, level = NESTINGS[shape](MAX_NESTING + 1)
    column = 0
    for _ in range(MAX_NESTING + 1):
        column = line.index(level, column) + 1
    width = 3 if level == "not " else 1  # `not`, or `(`
    assert d.code == "ROO126" and d.is_error
    assert d.message == f"`and`/`or`/`not` nest {MAX_NESTING + 1} deep here: too deep to evaluate (at most {MAX_NESTING})"
    assert (d.span.line, d.span.column, d.span.end_line, d.span.end_column) == (3, column, 3, column + width)
    assert d.help == "write it with fewer levels: `not not A` is `A`, and `A or (B or C)` is `A or B or C`"


def test_roo126_says_how_deep_once_per_criterion():
    text = ('agreement "A" {\n  parties = [US]\n  rule 87.03 when ' + "not " * 300 + "end_use in [bus] {\n"
            "    " + "not " * 500 + "CTH\n    " + _alternating(101, "CC") + " or " + "not " * 200 + "CTSH\n  }\n"
            "  rule 87.03 { CC }\n}\n")
    diags = parse_texts({"t.roo": text}).diagnostics
    assert [(d.code, d.span.line, d.message.split(" deep")[0]) for d in diags] == [
        ("ROO126", 3, "`and`/`or`/`not` nest 300"), ("ROO126", 4, "`and`/`or`/`not` nest 500"),
        ("ROO126", 5, "`and`/`or`/`not` nest 201")]


def test_nesting_too_deep_is_refused_by_evaluate_diff_and_test_with_its_place(tmp_path):
    """They ended in RecursionError tracebacks (the rule tests: an internal error)."""
    rules, other = tmp_path / "rules", tmp_path / "other"
    rules.mkdir()
    other.mkdir()
    deep = 'agreement "A" {\n  parties = [US]\n  rule 87.03 { ' + "not " * 500 + "CTH }\n}\n"
    (rules / "a.roo").write_text(deep, encoding="utf-8")
    (other / "a.roo").write_text(deep.replace("CTH", "CC"), encoding="utf-8")
    bom = tmp_path / "bom.yaml"
    bom.write_text('product: {id: P, hs: "8703.21", produced_in: US, transaction_value: "1000.00"}\n'
                   'materials:\n  - {id: M1, hs: "8708.99", origin: CN, originating: false, value: "400.00"}\n',
                   encoding="utf-8")
    (rules / "a.test.yaml").write_text(f"- name: one\n  as_of: 2025-01-01\n  bom: {bom}\n  expect:\n    A: qualifies\n",
                                       encoding="utf-8")
    runner = CliRunner()
    where = f"{rules / 'a.roo'}:3:{16 + 4 * MAX_NESTING}: error[ROO126]: `and`/`or`/`not` nest 500 deep here"
    for args in (["evaluate", str(bom), "--rules", str(rules), "--as-of", "2025-01-01"],
                 ["diff", str(rules), str(other), "--as-of", "2025-01-01"],
                 ["test", str(rules)],
                 ["check", str(rules)]):
        result = runner.invoke(app, args)
        assert isinstance(result.exception, SystemExit) and result.exit_code != 0, (args, result.output)
        assert where in result.output, (args, result.output)
        assert "Traceback" not in result.output and "RecursionError" not in result.output


def test_the_base_of_a_sub_limit_is_checked_as_other_filters_are():
    """`of which elastomeric <= 7% of weight(FILTER)`: a set the filter names was never
    looked up (an unknown one passed `check` without a word)."""
    text = ('agreement "A" {\n  parties = [US]\n'
            "  de_minimis weight <= 10% of weight of which elastomeric <= 7% of weight(origin in nosuch)\n}\n")
    (d,) = parse_texts({"t.roo": text}).diagnostics
    column = text.splitlines()[2].index("nosuch") + 1
    assert (d.code, d.message, d.span.line, d.span.column) == ("ROO109", "unknown set `nosuch`", 3, column)


# ---- the size of numbers (ROO022) ----------------------------------------------------------------

_BOM_AT_60 = ('product: {id: P, hs: "8703.21", produced_in: US, transaction_value: "1000.00", net_cost: "1000.00"}\n'
              'materials:\n  - {id: M1, hs: "8708.99", origin: CN, originating: false, value: "400.00"}\n')


@pytest.mark.parametrize("literal, message", [
    ("60." + "0" * 40 + "1%", "`60.000000000...00001%` has 41 decimal places: numbers have at most 40"),
    ("5." + "1" * 60 + "%", "`5.1111111111...11111%` has 60 decimal places: numbers have at most 40"),
    ("60." + "0" * 59 + "%", "`60.000000000...00000%` has 59 decimal places: numbers have at most 40"),
    ("1" * 42 + "%", "`111111111111...11111%` has 42 digits before the point: numbers are below 10^41"),
])
def test_a_percentage_with_too_many_digits_is_roo022_at_its_place(literal, message):
    """`check` accepted a threshold of 60 decimal places; evaluate and diff then ended in
    decimal.Inexact (the engine's exact context has 60 digits). The BOM readers' bound."""
    text = f'agreement "A" {{\n  parties = [US]\n  rule 87.03 {{ rvc(net_cost) >= {literal} }}\n}}\n'
    (d,) = parse_texts({"t.roo": text}).diagnostics
    assert (d.code, d.message) == ("ROO022", message)
    assert (d.span.line, d.span.column, d.span.end_line, d.span.end_column) == (3, 33, 3, 33 + len(literal))


def test_forty_decimal_places_evaluate_exactly_and_more_are_refused_by_evaluate_and_diff(tmp_path):
    forty, more = tmp_path / "forty", tmp_path / "more"
    forty.mkdir()
    more.mkdir()
    rule = 'agreement "A" {{\n  parties = [US]\n  rule 87.03 {{ rvc(net_cost) >= {} }}\n}}\n'
    (forty / "a.roo").write_text(rule.format("60." + "0" * 39 + "1%"), encoding="utf-8")
    (more / "a.roo").write_text(rule.format("5." + "1" * 60 + "%"), encoding="utf-8")
    bom = tmp_path / "bom.yaml"
    bom.write_text(_BOM_AT_60, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(bom), "--rules", str(forty), "--as-of", "2025-01-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verdict"] == "does_not_qualify"  # RVC 60% exactly, below the threshold
    for args in (["evaluate", str(bom), "--rules", str(more), "--as-of", "2025-01-01"],
                 ["diff", str(forty), str(more), "--as-of", "2025-01-01"]):
        result = runner.invoke(app, args)
        assert isinstance(result.exception, SystemExit) and result.exit_code != 0, (args, result.output)
        assert f"{more / 'a.roo'}:3:33: error[ROO022]: `5.1111111111...11111%` has 60 decimal places" in result.output


def test_an_hs_edition_of_thousands_of_digits_is_roo022_not_a_traceback():
    """int() refused the digits (Python's limit of 4300): a ValueError traceback from `check`."""
    text = 'agreement "A" {\n  parties = [US]\n  hs_version = ' + "1" * 5000 + "\n}\n"
    (d,) = parse_texts({"t.roo": text}).diagnostics
    assert (d.code, d.message) == ("ROO022", "`111111111111...111111` has 5000 digits before the point: numbers are below 10^41")
    assert codes_of('agreement "A" {\n  parties = [US]\n  hs_version = ' + "0" * 5000 + "2022\n}\n") == []
