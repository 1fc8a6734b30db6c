"""GN11's "except from more than one of the following: (A) ..., (B) ...":
``change from ... except more than one of (SET), (SET), ...``.

Materials of one listed group pass; materials of two or more different groups all fail the
change (the stricter reading, docs/language.md), and de minimis weighs them all. Every
expected verdict below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

import origin_rules
import reference_evaluator as reference
from origin_rules.model import ast as A
from origin_rules.model.bom import BOM
from origin_rules.diff.compare import Side, normal_of
from origin_rules.diff.structural import structural_diff
from origin_rules.formatting.printer import check_format, format_module
from origin_rules.rulebook.sources import parse_texts
from origin_rules.syntax.parser import parse

ON = date(2026, 1, 1)
GROUPS = "(8413.50..8413.60), (8466.93.15, 8466.93.30, 8466.93.53), (8501.32, 8501.52), (8537.10)"

RULES = f"""agreement "A" {{
  parties = [US, MX, CA]

  de_minimis value <= 10% of transaction_value

  rule 84.57 {{
    change from any other heading except 84.59 except more than one of {GROUPS}
  }}

  rule 8458.11 {{
    change from any other heading except more than one of {GROUPS}
  }}
}}
"""


@pytest.fixture(scope="module")
def book():
    return origin_rules.loads({"r.roo": RULES})


def bom(hs: str, *materials: tuple[str, str | None, str]) -> BOM:
    """A good of ``hs`` made in MX, transaction value 1000.00; non-originating CN materials."""
    mats = []
    for mid, code, value in materials:
        m = {"id": mid, "origin": "CN", "originating": False, "value": value}
        if code is not None:
            m["hs"] = code
        mats.append(m)
    return BOM.model_validate({"product": {"id": "P", "hs": hs, "produced_in": "MX", "transaction_value": "1000.00"},
                               "materials": mats})


def change_of(text: str) -> A.Change:
    module, diags = parse(text, "t.roo")
    assert module is not None and not diags, diags
    agreement = next(i for i in module.items if isinstance(i, A.Agreement))
    rule = next(m for m in agreement.members if isinstance(m, A.Rule))
    return rule.criteria[0]


def item_text(item) -> str:
    if isinstance(item, A.HsRangeLit):
        return f"{item.low.code}..{item.high.code}"
    return str(item.code)


def one_rule(line: str) -> str:
    return f'agreement "A" {{\n  parties = [US, MX, CA]\n\n  rule 84.57 {{\n    {line}\n  }}\n}}\n'


# ---- syntax ------------------------------------------------------------------------------------------


def test_parses_the_groups_in_order():
    c = change_of(one_rule(f"change from any other heading except more than one of {GROUPS}"))
    assert c.except_ is None
    assert [item_text(g.items[0]) for g in c.except_groups] == ["8413.50..8413.60", "8466.93.15", "8501.32", "8537.10"]
    assert [len(g.items) for g in c.except_groups] == [1, 3, 2, 1]


def test_parses_a_plain_except_and_groups_together_and_after_an_alias():
    c = change_of(one_rule("change from any other heading except 84.59 except more than one of (8501.32), (8537.10)"))
    assert [item_text(i) for i in c.except_.items] == ["84.59"]
    assert len(c.except_groups) == 2
    alias = change_of(one_rule("CTH except more than one of (8501.32), (8537.10)"))
    assert alias.alias == "CTH" and alias.except_ is None and len(alias.except_groups) == 2


def test_words_may_be_split_by_comments_and_lines():
    c = change_of(one_rule("CTH except more # a comment\n      than one\n of (8501.32), (8537.10)"))
    assert len(c.except_groups) == 2


@pytest.mark.parametrize("line", [
    "CTH except more than one of 8501.32, 8537.10",   # groups need parentheses
    "CTH except more than one (8501.32), (8537.10)",  # `of` is part of the phrase
    "CTH except more than one of ()",
])
def test_malformed_groups_do_not_parse(line):
    module, diags = parse(one_rule(line), "t.roo")
    assert module is None and diags and diags[0].code.startswith("ROO0")


def test_format_round_trip():
    messy = one_rule(f"CTH  except 84.59   except more than   one of (8501.32,8501.52),(8537.10)")
    result = check_format(messy, "t.roo")
    assert result.error is None and result.changed
    assert "CTH except 84.59 except more than one of (8501.32, 8501.52), (8537.10)\n" in result.formatted
    module, _ = parse(messy, "t.roo")
    again, _ = parse(result.formatted, "t.roo")
    assert again == module
    assert format_module(again) == result.formatted
    assert check_format(RULES, "r.roo").changed is False


# ---- checker -----------------------------------------------------------------------------------------


def codes(text: str) -> list[str]:
    return [d.code for d in parse_texts({"t.roo": text}).diagnostics]


def test_two_groups_check_clean():
    assert codes(RULES) == []


def test_a_single_group_is_roo123_with_a_hint():
    diags = parse_texts({"t.roo": one_rule("change from any other heading except more than one of (8537.10)")}).diagnostics
    assert [d.code for d in diags] == ["ROO123"]
    assert "single group" in diags[0].message and "two" in diags[0].message
    assert diags[0].help and "except more than one of (" in diags[0].help


def test_set_names_in_groups_are_resolved():
    assert codes(one_rule("CTH except more than one of (pumps), (8537.10)")) == ["ROO109"]
    used = 'set motors = 8501.32, 8501.52\n' + one_rule("CTH except more than one of (motors), (8537.10)")
    assert codes(used) == []  # the set counts as used (no ROO114)
    assert codes('set c = [US]\n' + one_rule("CTH except more than one of (c), (8537.10)")) == ["ROO110"]


def test_codes_in_groups_are_checked():
    assert codes(one_rule("CTH except more than one of (8413.99), (8537.10)")) == ["ROO101"]


# ---- engine: hand-worked verdicts --------------------------------------------------------------------

# de minimis: 10% of 1000.00 = 100.00
CASES = [
    # no material of any group: a change from another heading (73.18) -> qualifies
    ("none", bom("8458.11", ("M1", "7318.15", "500.00")), "qualifies", []),
    # M1 8501.32 and M2 8501.52, both of group (C): one group -> qualifies
    ("one group, two materials", bom("8458.11", ("M1", "8501.32", "300.00"), ("M2", "8501.52", "200.00")), "qualifies", []),
    # M1 8501.32 (C) and M3 8537.10 (D): two groups, both fail; 300 + 200 = 500 > 100 -> does not qualify
    ("two groups", bom("8458.11", ("M1", "8501.32", "300.00"), ("M3", "8537.10", "200.00")), "does_not_qualify", []),
    # (C) and (D) again, 40 + 50 = 90 <= 100: de minimis forgives them -> qualifies
    ("two groups, de minimis", bom("8458.11", ("M1", "8501.32", "40.00"), ("M3", "8537.10", "50.00"),
                                   ("M4", "7318.15", "500.00")), "qualifies", []),
    # (C), (D) and (A): 40 + 50 + 20 = 110 > 100 -> does not qualify (every group's material counts)
    ("three groups, over de minimis", bom("8458.11", ("M1", "8501.32", "40.00"), ("M3", "8537.10", "50.00"),
                                          ("M5", "8413.50", "20.00")), "does_not_qualify", []),
    # 84.57 excepts 84.59 outright: M1 8459.10 fails alone, 300 > 100 -> does not qualify
    ("plain except", bom("8457.10", ("M1", "8459.10", "300.00")), "does_not_qualify", []),
    # 84.57, M1 8413.50 and M2 8413.60 of group (A) only -> qualifies
    ("plain except, one group", bom("8457.10", ("M1", "8413.50", "300.00"), ("M2", "8413.60", "200.00")), "qualifies", []),
    # M1 at six digits 8466.93: group (B) lists tariff items, so it is open. In (B): two groups,
    # 300 + 200 > 100 fails; not in (B): one group, holds -> insufficient_data, M1's code missing
    ("coarse code", bom("8458.11", ("M1", "8466.93", "300.00"), ("M3", "8537.10", "200.00")),
     "insufficient_data", ["materials[0].hs"]),
    # the same with 5 + 5: either way within de minimis -> qualifies
    ("coarse code, de minimis", bom("8458.11", ("M1", "8466.93", "5.00"), ("M3", "8537.10", "5.00"),
                                    ("M4", "7318.15", "500.00")), "qualifies", []),
    # M1 and M2 both at 8466.93: whatever their items, at most group (B) is used -> qualifies
    ("coarse codes of one group", bom("8458.11", ("M1", "8466.93", "300.00"), ("M2", "8466.93.30", "300.00")),
     "qualifies", []),
    # a non-originating material without a code fails as for any change: 300 > 100 -> does not qualify
    ("no code", bom("8458.11", ("M1", None, "300.00"), ("M3", "8537.10", "200.00")), "does_not_qualify", []),
]


@pytest.mark.parametrize("name, good, verdict, missing", CASES, ids=[c[0] for c in CASES])
def test_hand_worked_verdicts(book, name, good, verdict, missing):
    d = book.evaluate(good, under="A", as_of=ON)
    assert d.verdict == verdict
    assert sorted(d.missing) == missing
    assert book.verdict(good, under="A", as_of=ON) == verdict  # the fast path agrees


@pytest.mark.parametrize("name, good, verdict, missing", CASES, ids=[c[0] for c in CASES])
def test_reference_evaluator_agrees(book, name, good, verdict, missing):
    programs = book.parsed.programs
    ref = reference.Evaluation(programs, programs["A"], ON).determine(reference.good_of(good))
    assert ref.verdict == verdict
    assert sorted(ref.missing) == missing


def test_explanation_names_the_groups_used_and_their_materials(book):
    good = bom("8458.11", ("M1", "8413.50", "300.00"), ("M2", "7318.15", "10.00"), ("M3", "8537.10", "200.00"))
    d = book.evaluate(good, under="A", as_of=ON, explain="full")
    data = json.loads(d.to_json())
    summary = "materials of 2 of the listed groups: (8413.50..8413.60) M1; (8537.10) M3"
    assert summary in json.dumps(data["explanation"])
    failed = {f["id"]: f["reason"] for f in data["failed_materials"]}
    assert set(failed) == {"M1", "M3"}  # M2 of another heading and in no group passes
    assert failed["M1"].startswith("classified in 8413.50, in a listed group") and summary in failed["M1"]
    # the de minimis line weighs both: 300 + 200 = 500
    assert "500.00" in json.dumps(data["explanation"])


def test_explanation_shows_the_codes_of_named_groups():
    text = 'set motors = 8501.32, 8501.52\n' + one_rule("CTH except more than one of (motors), (8537.10)")
    book = origin_rules.loads({"t.roo": text})
    d = book.evaluate(bom("8457.10", ("M1", "8501.52", "300.00"), ("M3", "8537.10", "200.00")), under="A", as_of=ON)
    assert d.verdict == "does_not_qualify"
    assert "materials of 2 of the listed groups: (motors: 8501.32, 8501.52) M1; (8537.10) M3" in d.to_json()


# ---- diff --------------------------------------------------------------------------------------------


def test_diff_sees_groups_and_ignores_their_order():
    plain = origin_rules.loads({"a.roo": one_rule("CTH except 8501.32, 8537.10")})
    groups = origin_rules.loads({"b.roo": one_rule("CTH except more than one of (8501.32), (8537.10)")})
    swapped = origin_rules.loads({"c.roo": one_rule("CTH except more than one of (8537.10), (8501.32)")})
    a, b, c = (normal_of(Side(x, "A", n)) for x, n in ((plain, "a"), (groups, "b"), (swapped, "c")))
    changed = structural_diff(a, b)
    assert changed.changes and "more than one of" in " ".join(" ".join(ch.details) for ch in changed.changes)
    assert structural_diff(b, c).changes == []


def test_a_material_excepted_outright_keeps_its_own_reason():
    # 84.57 excepts 84.59 outright; the groups are (8459.10) and (8537.10) here. M1 8459.10 fails
    # for the plain except; M1 and M3 are of two groups, so M3 fails too: 300 + 200 > 100
    text = one_rule("CTH except 84.59 except more than one of (8459.10), (8537.10)")
    book = origin_rules.loads({"t.roo": text})
    d = book.evaluate(bom("8457.10", ("M1", "8459.10", "300.00"), ("M3", "8537.10", "200.00")), under="A", as_of=ON)
    assert d.verdict == "does_not_qualify"
    failed = {f["id"]: f["reason"] for f in json.loads(d.to_json())["failed_materials"]}
    assert "which the rule excepts (84.59)" in failed["M1"]
    assert failed["M3"].startswith("classified in 8537.10, in a listed group; materials of 2 of the listed groups")
