"""HS-set coverage as the engine asks it: ``covers3`` remembers its answers per set and code.

The answers must be those of the definition (a code is covered when its first digits lie in a
span; unknown when it is coarser than a span it overlaps), on the first asking and on every
later one, for sets equal in value but distinct in identity, and after the memo is emptied.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from origin_rules.model import hs
from origin_rules.model.hs import HsCode, HsRange, HsSet, covers3

from conftest import examples

LEVELS = (2, 4, 6, 8)


@st.composite
def codes(draw, n: int | None = None) -> HsCode:
    n = draw(st.sampled_from(LEVELS)) if n is None else n
    # few digits per place, so that sets and codes overlap often
    return HsCode("".join(draw(st.sampled_from("0178")) for _ in range(n)))


@st.composite
def items(draw):
    low = draw(codes())
    if draw(st.booleans()):
        return low
    high = draw(codes(len(low.digits)))
    low, high = sorted([low, high], key=lambda c: c.digits)
    return HsRange(low, high)


def defined(hs_set: HsSet, code: HsCode) -> bool | None:
    """The definition, item by item (no shared helper)."""
    digits, unknown = code.digits, False
    for item in hs_set.items:
        low, high = (item.digits, item.digits) if isinstance(item, HsCode) else (item.low.digits, item.high.digits)
        n = len(low)
        if len(digits) >= n and low <= digits[:n] <= high:
            return True
        if len(digits) < n and low[:len(digits)] <= digits <= high[:len(digits)]:
            unknown = True
    return None if unknown else False


@given(st.lists(items(), min_size=1, max_size=5), st.lists(codes(), min_size=1, max_size=8))
@settings(max_examples=examples(200))
def test_remembered_answers_are_the_definitions(members, asked):
    one, twin = HsSet(tuple(members)), HsSet(tuple(members))
    for _ in range(2):  # the second round is answered from the memo
        for code in asked:
            assert covers3(one, code) == defined(one, code)
            assert covers3(twin, code) == defined(twin, code)


def test_answers_survive_the_memo_being_emptied(monkeypatch):
    monkeypatch.setattr(hs, "_MAX_SETS", 2)
    monkeypatch.setattr(hs, "_ANSWERS", {})
    sets = [HsSet((HsCode("87"),)), HsSet((HsRange(HsCode("8701"), HsCode("8705")),)), HsSet((HsCode("870830"),))]
    for _ in range(3):
        assert [covers3(s, HsCode("8703")) for s in sets] == [True, True, False]
        assert [covers3(s, HsCode("87")) for s in sets] == [True, None, None]
        assert len(hs._ANSWERS) <= 2


def test_codes_beyond_the_cap_are_still_answered(monkeypatch):
    monkeypatch.setattr(hs, "_MAX_CODES", 1)
    chapter = HsSet((HsCode("84"),))
    asked = [HsCode(c) for c in ("8401", "8501", "8471", "84")]
    for _ in range(2):
        assert [covers3(chapter, c) for c in asked] == [True, False, True, True]
    assert len(hs._ANSWERS[id(chapter)][1]) == 1
