"""The diff sees fallbacks (GN11(n) process rules, GN11(b)(iv)): an edit of a fallback alone
is a change in meaning, described in words, found by the counterexample search and by the
proof; a new title or another order of the fallbacks is wording only."""

from __future__ import annotations

from datetime import date

from origin_rules.diff.normal import normalize
from origin_rules.diff.structural import structural_diff
from origin_rules.rulebook.book import loads

RULE = '  rule 28.01..38.26 "Chemicals" {\n    change from any other heading\n  }\n'
REACTION = ('  fallback "Chemical reaction" for 28.01..38.26 {\n'
            '    performed "chemical reaction" in parties\n  }\n')
PURIFY = ('  fallback "Purification" for 28.01..38.26 except 38.23 {\n'
          '    performed "purification" in parties\n  }\n')


def agreement(*parts: str) -> str:
    return 'agreement "Demo" {\n  parties = [US, MX, CA]\n  effective = 2020-07-01\n' + "".join(parts) + "}\n"


def diff(old: str, new: str):
    a = normalize(loads({"old.roo": old}).parsed.programs["Demo"])
    b = normalize(loads({"new.roo": new}).parsed.programs["Demo"])
    return structural_diff(a, b)


def test_a_fallback_whose_body_changed_is_a_change_in_meaning():
    d = diff(agreement(RULE, REACTION), agreement(RULE, REACTION.replace("in parties", "in [US]")))
    (change,) = d.changes
    assert change.kind == "fallback_changed"
    assert change.summary == ('fallback "Chemical reaction" for 28.01..38.26: '
                              '`performed "chemical reaction" in [CA, MX, US]` -> `performed "chemical reaction" in [US]`')
    assert change.old_source.startswith("old.roo:") and change.new_source.startswith("new.roo:")


def test_fallbacks_added_removed_and_narrowed():
    added = diff(agreement(RULE, REACTION), agreement(RULE, REACTION, PURIFY))
    assert [(c.kind, c.subject) for c in added.changes] == [
        ("fallback_added", 'fallback "Purification" for 28.01..38.26 except 38.23')]
    removed = diff(agreement(RULE, REACTION, PURIFY), agreement(RULE, PURIFY))
    assert [c.kind for c in removed.changes] == ["fallback_removed"]
    assert removed.changes[0].details == ['performed "chemical reaction" in [CA, MX, US]']
    narrowed = diff(agreement(RULE, PURIFY), agreement(RULE, PURIFY.replace("except 38.23", "except 38.23, 38.24")))
    (change,) = narrowed.changes
    assert change.kind == "fallback_changed" and "38.24" in change.summary


def test_a_new_title_or_order_of_fallbacks_is_wording_only():
    retitled = diff(agreement(RULE, REACTION), agreement(RULE, REACTION.replace('"Chemical reaction"', '"Reaction"')))
    assert retitled.changes == []
    assert retitled.wording == ['fallback "Chemical reaction" for 28.01..38.26: title "Chemical reaction" -> "Reaction"']
    reordered = diff(agreement(RULE, REACTION, PURIFY), agreement(RULE, PURIFY, REACTION))
    assert reordered.changes == []
    assert reordered.wording == ["fallbacks: their order changed (the first that holds is the one reported)"]


def test_the_search_and_the_proof_find_a_bom_the_narrowed_fallback_no_longer_qualifies(tmp_path):
    from typer.testing import CliRunner

    from origin_rules.cli import app

    old, new = tmp_path / "old.roo", tmp_path / "new.roo"
    old.write_text(agreement(RULE, REACTION), encoding="utf-8")
    new.write_text(agreement(RULE, REACTION.replace("in parties", "in [US]")), encoding="utf-8")
    for extra in ([], ["--prove"]):
        result = CliRunner().invoke(app, ["diff", str(old), str(new), "--as-of", date(2026, 7, 1).isoformat(),
                                          "--expect", "stricter", *extra])
        assert result.exit_code == 0, result.output
        assert "Verdict: stricter" in result.output
        assert "# new, Demo" in result.output and "does_not_qualify" in result.output
