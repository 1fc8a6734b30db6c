"""origin_rules.diff.normal, .structural and .describe: normal forms and changes in words."""

from __future__ import annotations

from pathlib import Path

import pytest

import origin_rules
from origin_rules.diff.compare import Side, normal_of
from origin_rules.diff.normal import NAny, normalize, nset_of, text
from origin_rules.diff.structural import structural_diff
from origin_rules.rulebook.book import loads

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "diff"


def program(text_: str, name: str = "Demo"):
    return normalize(loads({"x.roo": text_}).parsed.programs[name])


def diff_texts(old: str, new: str, old_name: str = "Demo", new_name: str | None = None):
    return structural_diff(program(old, old_name), program(new, new_name or old_name))


def diff_files(old: str, new: str):
    a, b = origin_rules.load(DATA / old), origin_rules.load(DATA / new)
    return structural_diff(normal_of(Side(a, "Demo", old)), normal_of(Side(b, "Demo", new)))


def summaries(d) -> list[str]:
    return [c.summary for c in d.changes]


def agreement(body: str, extra: str = "") -> str:
    return f'agreement "Demo" {{\n  parties = [US, MX, CA]\n{extra}{body}\n}}\n'


# ---- normal forms ---------------------------------------------------------------------------------


def test_hs_sets_merge_sort_and_drop_what_a_coarser_item_covers():
    assert str(nset_of("61.06..61.17, 61.01..61.05")) == "61.01..61.17"
    assert str(nset_of("87.08, 87")) == "87"
    assert str(nset_of("73, 72")) == "72, 73"
    assert str(nset_of("8708.30, 8708.10, 8708.30")) == "8708.10, 8708.30"
    assert nset_of("84, 85") == nset_of("85, 84")


def test_aliases_and_long_forms_are_one_normal_form():
    a = program(agreement('  rule 87.08 { CTH }'))
    b = program(agreement('  rule 87.08 { change from any other heading }'))
    assert a.same_meaning(b)


def test_or_and_operands_are_sorted_multisets():
    a = program(agreement('  rule 87.08 { CTH or rvc(net_cost) >= 50% and CTSH }'))
    b = program(agreement('  rule 87.08 { CTSH and rvc(net_cost) >= 50% or CTH }'))
    assert a.same_meaning(b)
    body = next(iter(a.rules.values()))[0].body
    assert isinstance(body, NAny) and len(body.ops) == 2


def test_sets_are_resolved_so_a_name_equals_its_codes():
    a = program(agreement('  rule 87.03 { value(hs in steel) <= 10% of transaction_value }', '  set steel = 72, 73\n'))
    b = program(agreement('  rule 87.03 { value(hs in 73, 72) <= 10% of transaction_value }'))
    assert a.same_meaning(b)
    assert text(next(iter(a.rules.values()))[0].body) == "value(hs in 72, 73) <= 10% of transaction_value"


def test_percentages_compare_as_exact_decimals():
    a = program(agreement('  rule 87.08 { rvc(build_down, fob) >= 60% }'))
    b = program(agreement('  rule 87.08 { rvc(build_down, fob) >= 60.00% }'))
    assert a.same_meaning(b)
    c = program(agreement('  rule 87.08 { rvc(build_down, fob) >= 60.01% }'))
    assert not a.same_meaning(c)


@pytest.mark.parametrize("threshold", ["60.000000000000000000000000001%", "60." + "0" * 39 + "1%", "59." + "9" * 40 + "%"])
def test_percentages_of_more_than_28_digits_compare_exactly(threshold):
    """Normalized under the default 28-digit context, these thresholds were 60%: no change."""
    a = program(agreement('  rule 87.08 { rvc(build_down, fob) >= 60% }'))
    b = program(agreement(f'  rule 87.08 {{ rvc(build_down, fob) >= {threshold} }}'))
    assert not a.same_meaning(b)
    assert summaries(structural_diff(a, b)) == [f"87.08: RVC (build-down, FOB) 60% -> {threshold}"]
    assert program(agreement(f'  rule 87.08 {{ rvc(build_down, fob) >= 00{threshold} }}')).same_meaning(b)


def test_set_differences_in_words():
    from origin_rules.diff.describe import set_change

    assert set_change("exception", nset_of("51.06..51.13"), nset_of("51.06..51.12")) == ["exception 51.13 removed"]
    assert set_change("exception", nset_of("51"), nset_of("51.06..51.13")) == [
        "exception 51 (but not 51.06..51.13) removed"]
    assert set_change("exception", nset_of("72"), nset_of("73")) == ["exception 72 removed", "exception 73 added"]


def test_relayout_and_reorder_is_no_change_in_meaning():
    d = diff_files("base.roo", "relayout.roo")
    assert d.same_meaning, summaries(d)
    assert d.changes == []
    assert any("title" in w for w in d.wording)


def test_a_rulebook_against_itself_has_no_change(shipped_rulebook):
    book = shipped_rulebook
    for name in book.names:
        n = normal_of(Side(book, name, name))
        assert structural_diff(n, n).changes == []


def test_the_same_texts_in_another_folder_are_normalized_once(tmp_path, monkeypatch):
    """A branch that leaves the rules alone (the same texts, checked out elsewhere): one normal
    form serves both sides; one changed byte and both sides are normalized again."""
    from origin_rules.diff import compare as compare_module

    for folder in ("base", "head", "edited"):
        (tmp_path / folder).mkdir()
        for name in ("base.roo",):
            (tmp_path / folder / name).write_text((DATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    edited = tmp_path / "edited" / "base.roo"
    edited.write_text(edited.read_text(encoding="utf-8").replace("60%", "65%", 1), encoding="utf-8")
    calls = []
    real = compare_module.normalize
    monkeypatch.setattr(compare_module, "normalize", lambda program: calls.append(program) or real(program))
    base, head, changed = (origin_rules.load(tmp_path / f) for f in ("base", "head", "edited"))
    same = compare_module.compare(Side(base, "Demo", "base"), Side(head, "Demo", "head"), run_search=False)
    assert len(calls) == 1
    assert same.structural.changes == [] and same.structural.same_meaning
    other = compare_module.compare(Side(base, "Demo", "base"), Side(changed, "Demo", "edited"), run_search=False)
    assert len(calls) == 2  # the base side's normal form is remembered, the edited side's made
    assert summaries(other.structural) == ['8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 65%']


def test_two_programs_of_the_same_texts_are_both_normalized(shipped_rulebook):
    """Same files, another agreement or scenario: not the same program."""
    from origin_rules.diff.compare import compare

    result = compare(Side(shipped_rulebook, "USMCA", "USMCA"),
                     Side(shipped_rulebook, "USMCA review 2026: China content cap", "cap"), run_search=False)
    assert [c.summary for c in result.structural.changes]


# ---- changes in words -----------------------------------------------------------------------------


@pytest.mark.parametrize("edited, expected", [
    ("raised.roo", ['8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 65%']),
    ("lowered.roo", ['8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 55%']),
    ("alternative-removed.roo", ['8708.30 "Brakes and servo-brakes; parts thereof": alternative '
                                 '`change from any other subheading and rvc(net_cost) >= 50%` removed']),
    ("exception-added.roo", ['61.01..61.17 "Apparel, knitted": exception 52.04..52.12 added']),
    ("mixed.roo", ['8708.10 "Bumpers and parts thereof": alternative `rvc(net_cost) >= 90%` added',
                   '8708.30 "Brakes and servo-brakes; parts thereof": RVC (transaction value) 60% -> 65%']),
])
def test_seeded_edits_in_words(edited, expected):
    d = diff_files("base.roo", edited)
    assert summaries(d) == expected
    assert all(c.kind == "rule_changed" for c in d.changes)
    assert all(c.old_source and c.new_source for c in d.changes)


def test_rules_added_and_removed_by_selector_and_date():
    old = agreement('  rule 87.08 { CTH }\n  rule 39.01 { CC }')
    new = agreement('  rule 87.08 { CTH }\n  rule 94.03 from 2026-01-01 { CTSH }')
    d = diff_texts(old, new)
    assert summaries(d) == ["39.01 removed (was: change from any other chapter)",
                            "94.03 (from 2026-01-01) added: change from any other subheading"]
    assert [c.kind for c in d.changes] == ["rule_removed", "rule_added"]


def test_a_new_date_window_is_a_change_of_the_rule_not_a_new_rule():
    old = agreement('  rule 87.03 from 2023-07-01 { rvc(net_cost) >= 75% }')
    new = agreement('  rule 87.03 from 2024-01-01 { rvc(net_cost) >= 80% }')
    d = diff_texts(old, new)
    assert summaries(d) == ["87.03 (from 2023-07-01): in force from 2023-07-01 -> from 2024-01-01; "
                            "RVC (net cost) 75% -> 80%"]


def test_when_condition_change():
    old = agreement('  rule 8708.21 when end_use in [passenger_vehicle] { CTH }\n  rule 8708.21 { CC }')
    new = agreement('  rule 8708.21 when end_use in [passenger_vehicle, light_truck] { CTH }\n  rule 8708.21 { CC }')
    d = diff_texts(old, new)
    assert summaries(d) == ["8708.21 (when end_use in [passenger_vehicle]): applies when end_use in "
                            "[passenger_vehicle] -> when end_use in [light_truck, passenger_vehicle]"]


def test_when_variants_reordered_is_a_change():
    a = '  rule 8708.21 when end_use in [light_truck] { CTH }\n'
    b = '  rule 8708.21 when end_use in [passenger_vehicle] { CC }\n'
    d = diff_texts(agreement(a + b), agreement(b + a))
    assert [c.kind for c in d.changes] == ["rules_reordered"]


def test_a_selector_change_keeps_the_rule():
    old = agreement('  rule 61.01..61.17 "Apparel" { CC }')
    new = agreement('  rule 61.01..61.16 "Apparel" { CC }')
    d = diff_texts(old, new)
    assert summaries(d) == ['61.01..61.17 "Apparel": selector 61.01..61.17 -> 61.01..61.16']


def test_splitting_a_selector_into_rules_with_the_same_body_is_no_change():
    old = agreement('  rule 8708.10, 8708.30 { CTH }')
    new = agreement('  rule 8708.30 { CTH }\n  rule 8708.10 { CTH }')
    assert diff_texts(old, new).changes == []


def test_source_and_exception_changes():
    old = agreement('  rule 8708.10 { change from 8708.99, any other heading except 72, 73 }')
    new = agreement('  rule 8708.10 { change from 8708.99, 8708.29, any other chapter except 72 }')
    d = diff_texts(old, new)
    assert d.changes[0].details == [
        "change from any other heading -> change from any other chapter",
        "now also from 8708.29",
        "exception 73 removed",
    ]


def test_de_minimis_and_parties_and_effective():
    old = agreement('  effective = 2020-07-01\n  de_minimis value <= 10% of transaction_value\n  rule 87.08 { CTH }')
    new = ('agreement "Demo" {\n  parties = [US, MX]\n  effective = 2021-01-01\n'
           '  de_minimis value <= 7% of transaction_value exclude origin in [CN]\n  rule 87.08 { CTH }\n}\n')
    d = diff_texts(old, new)
    assert summaries(d) == [
        "parties: [CA, MX, US] -> [MX, US] (CA removed)",
        "in force: from 2020-07-01 -> from 2021-01-01",
        "de minimis (value <= 10% of transaction_value): <= 10% of transaction_value -> <= 7% of "
        "transaction_value; now excludes origin in [CN]",
    ]


def test_a_de_minimis_sub_limit_change_is_a_change_and_a_written_default_base_is_not():
    line = "  de_minimis weight <= 10% of weight{}\n  rule 61 {{ CC }}"
    old = agreement(line.format(" of which elastomeric <= 7%"))
    assert summaries(diff_texts(old, old)) == []
    assert summaries(diff_texts(old, agreement(line.format(" of which elastomeric <= 5%")))) == [
        "de minimis (weight <= 10% of weight of which elastomeric <= 7% of weight): of which elastomeric <= 7% "
        "of weight -> of which elastomeric <= 5% of weight"]
    assert summaries(diff_texts(old, agreement(line.format("")))) == [
        "de minimis (weight <= 10% of weight of which elastomeric <= 7% of weight): of which elastomeric <= 7% "
        "of weight -> no sub-limit"]
    # the sub-limit's base written out as the line's own is the same meaning; so is `of weight`
    # after a weight share, which is its default
    assert summaries(diff_texts(old, agreement(line.format(" of which elastomeric <= 7% of weight")))) == []
    assert summaries(diff_texts(agreement("  de_minimis weight <= 10%\n  rule 61 { CC }"),
                                agreement(line.format("")))) == []


def test_usmca_review_scenarios_in_words(shipped_rulebook):
    book = shipped_rulebook
    base = normal_of(Side(book, "USMCA", "USMCA"))

    def words(name: str) -> list[str]:
        return summaries(structural_diff(base, normal_of(Side(book, name, name))))

    assert words("USMCA review 2026: China content cap") == [
        'requirement "HYPOTHETICAL: China-origin content cap, 10% of transaction value" for 84, 85, 87 added: '
        "value(non_originating and origin in [CN]) <= 10% of transaction_value"]
    # the scenario restates every de minimis line of the agreement with China-origin
    # materials excluded: each line changes, and only by that exclusion
    nodm = words("USMCA review 2026: no de minimis for China")
    lines = len(book.parsed.programs["USMCA"].de_minimis)
    assert len(nodm) == lines > 2
    def adds_china(w: str) -> bool:  # a new exclusion, or one widened by `or origin in [CN]`
        if w.endswith("now excludes origin in [CN]"):
            return True
        before, _, after = w.rpartition("` -> `")
        return "origin in [CN]" in after and "origin in [CN]" not in before

    assert all(w.startswith("de minimis (") and adds_china(w) for w in nodm), nodm
    assert "de minimis (value <= 10% of transaction_value except 01..27, 50..63, 96.19): now excludes origin in [CN]" in nodm
    higher = words("USMCA review 2026: higher auto RVC")
    # vehicles, light trucks, and the Table A.1 core parts (with the ex items by their facts)
    assert len(higher) == 7 and all(w.endswith("added: rvc(net_cost) >= 80%") for w in higher)
    assert ('requirement "HYPOTHETICAL: passenger vehicles, RVC 80% net cost" for 8703.21..8703.90 '
            "when end_use in [passenger_vehicle] added: rvc(net_cost) >= 80%") in higher
    assert all('"HYPOTHETICAL: ' in w for w in higher)
    combined = words("USMCA review 2026: combined")
    # the cap, the seven RVC requirements, the traced cap, and every de minimis line
    assert len(combined) == 1 + len(higher) + 1 + lines


def test_requirement_changed_in_place():
    old = agreement('  require for 84, 85 { value(non_originating and origin in [CN]) <= 10% of transaction_value }\n'
                    '  rule 87.08 { CTH }')
    new = agreement('  require for 84, 85 { value(non_originating and origin in [CN, RU]) <= 5% of transaction_value }\n'
                    '  rule 87.08 { CTH }')
    d = diff_texts(old, new)
    assert [c.kind for c in d.changes] == ["require_changed"]
    assert d.changes[0].details == [
        "`value(non_originating and origin in [CN]) <= 10% of transaction_value` -> "
        "`value(non_originating and origin in [CN, RU]) <= 5% of transaction_value`"]


def test_a_quote_in_a_title_or_a_process_is_escaped_as_the_formatter_writes_it():
    # The language writes a quote inside a string as \" (docs/language.md); the diff prints
    # through the formatter's literals, so its text of a rule reads back as the same rule.
    old = agreement('  rule 87.08 "Brakes \\"heavy\\"" { CTH }')
    new = agreement('  rule 87.08 "Brakes \\"heavy\\"" { performed "heat \\"treat\\"" in [US] }')
    d = diff_texts(old, new)
    # CTH is the short form of `change from any other heading`; both strings keep their \".
    assert [c.summary for c in d.changes] == [
        '87.08 "Brakes \\"heavy\\"": `change from any other heading` -> `performed "heat \\"treat\\"" in [US]`']
