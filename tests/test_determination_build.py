"""Determinations built without validating again give what validated construction gives.

``engine.output.to_determination`` builds its models with ``model.slots.assemble`` (no
validator runs); ``Rulebook.evaluate`` asks it for plain texts (``plain=True``) instead of a
second pass over the tree. Checked here against the way they were built before, kept in this
file as the reference: the same function with every model validated, then the backticks
taken out by copying the models. Compared: the values and their types, the order of each
model's fields, ``model_fields_set`` (what ``model_dump(exclude_unset=True)`` writes) and the
JSON, over the example BOMs under every agreement and scenario, and over generated
rulebooks and BOMs.

Also: ``assemble`` itself, ``money``/``decimal_text`` at any size and their refusals, and
``check_under`` (one walk) against its former two walks.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Iterable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import origin_rules
from origin_rules.engine import output
from origin_rules.engine.measures import money
from origin_rules.files.boms import read_bom
from origin_rules.model.bom import BOM, Material
from origin_rules.model.determination import (
    Determination, ExplanationNode, FailedMaterial, Headroom, InputWarning, RuleRef, assemble, decimal_text,
)
from origin_rules.model.plausibility import Finding, check_under, originating_under
from origin_rules.testing.bom_strategies import boms, boms_for, dates_for
from origin_rules.testing.rulebook_strategies import rulebooks

from conftest import examples

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "boms").glob("*.yaml"))
SETTINGS = settings(max_examples=examples(40), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- the reference: every model validated, then made plain by copies --------------------------------


@contextmanager
def validated():
    """``to_determination`` with every model built by ``cls(**values)`` (validated): the
    determination (``assemble``), the rule (``assemble_all``) and the makers of the
    explanation nodes, headroom and failed materials (``slots.maker``)."""
    makers = {"_explanation_node": ExplanationNode, "_headroom": Headroom, "_failed_material": FailedMaterial}
    saved = {name: getattr(output, name) for name in ("assemble", "assemble_all", *makers)}
    output.assemble = output.assemble_all = lambda cls, values: cls(**values)
    for name, cls in makers.items():
        setattr(output, name, lambda values, cls=cls: cls(**values))
    try:
        yield
    finally:
        for name, fast in saved.items():
            setattr(output, name, fast)


def _plain_node(node: ExplanationNode) -> ExplanationNode:
    update: dict = {}
    if "`" in node.text:
        update["text"] = node.text.replace("`", "")
    children = [_plain_node(c) for c in node.children]
    if any(a is not b for a, b in zip(children, node.children)):
        update["children"] = children
    if node.sub_determination is not None:
        sub = _plain(node.sub_determination)
        if sub is not node.sub_determination:
            update["sub_determination"] = sub
    return node.model_copy(update=update) if update else node


def _plain(det: Determination) -> Determination:
    """What ``Rulebook.evaluate`` did before ``plain=True`` (rulebook/book.py, until this change)."""
    update: dict = {}
    if det.explanation is not None:
        plain = _plain_node(det.explanation)
        if plain is not det.explanation:
            update["explanation"] = plain
    if any("`" in f.reason for f in det.failed_materials):
        update["failed_materials"] = [f.model_copy(update={"reason": f.reason.replace("`", "")})
                                      for f in det.failed_materials]
    return det.model_copy(update=update) if update else det


def reference(out, full: bool, plain: bool) -> Determination:
    with validated():
        det = output.to_determination(out, full=full)
    return _plain(det) if plain else det


def assert_same(fast: object, slow: object, where: str = "determination") -> None:
    """The same values of the same types, fields in the same order, the same fields set."""
    assert type(fast) is type(slow), f"{where}: {type(fast).__name__} vs {type(slow).__name__}"
    if isinstance(fast, BaseModel):
        assert list(fast.__dict__) == list(slow.__dict__), where
        assert fast.model_fields_set == slow.model_fields_set, where
        assert fast.__pydantic_extra__ is None and fast.__pydantic_private__ is None, where
        for name in fast.__dict__:
            assert_same(fast.__dict__[name], slow.__dict__[name], f"{where}.{name}")
    elif isinstance(fast, list):
        assert len(fast) == len(slow), where
        for index, (a, b) in enumerate(zip(fast, slow)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(fast, dict):
        assert list(fast.items()) == list(slow.items()), where
        for a, b in zip(fast.values(), slow.values()):
            assert type(a) is type(b), where
    else:
        assert fast == slow, f"{where}: {fast!r} vs {slow!r}"


def check(out, *, plain: bool) -> int:
    """Both ways, summary and full: the same models, dumps and JSON. Returns the nodes seen."""
    seen = 0
    for full in (False, True):
        fast, slow = output.to_determination(out, full=full, plain=plain), reference(out, full, plain)
        assert_same(fast, slow)
        assert fast == slow
        assert fast.to_json() == slow.to_json()
        assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
        assert repr(fast) == repr(slow)
        assert Determination.model_validate_json(fast.to_json()) == fast  # what it holds validates
        seen += sum(1 for _ in _nodes(fast.explanation))
    return seen


def _nodes(node: ExplanationNode | None) -> Iterable[ExplanationNode]:
    if node is not None:
        yield node
        for child in node.children:
            yield from _nodes(child)


# ---- the example BOMs under every agreement and scenario ------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_boms_built_as_validated(shipped_rulebook, path):
    bom = read_bom(path)
    seen = 0
    for name in shipped_rulebook.names:
        for as_of in (date(2026, 1, 1), date(2026, 7, 1)):
            out = shipped_rulebook.outcome(bom, name, as_of)
            seen += check(out, plain=True) + check(out, plain=False)
    assert seen > 0


def test_evaluate_is_the_former_pipeline(shipped_rulebook):
    """``Rulebook.evaluate`` as it was: validated, made plain, warnings set by a copy."""
    compared = 0
    for path in EXAMPLES:
        bom = read_bom(path)
        for name in shipped_rulebook.applicable(bom):
            det = shipped_rulebook.evaluate(bom, name, as_of=date(2026, 7, 1), explain="full")
            slow = reference(shipped_rulebook.outcome(bom, name, date(2026, 7, 1)), True, True)
            if det.warnings:
                slow = slow.model_copy(update={"warnings": list(det.warnings)})
            if det.explanation != slow.explanation:  # certifications and conversions add nodes after
                assert det.explanation.children[:len(slow.explanation.children)] == slow.explanation.children
                continue
            assert_same(det, slow)
            assert det.to_json() == slow.to_json()
            assert det.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
            compared += 1
    assert compared >= len(EXAMPLES)


def test_plain_texts_have_no_backticks_and_the_others_keep_theirs(shipped_rulebook):
    bom = read_bom(ROOT / "examples" / "boms" / "brake-assembly.yaml")
    out = shipped_rulebook.outcome(bom, "USMCA", date(2026, 1, 1))
    quoted = output.to_determination(out, full=True)
    plain = output.to_determination(out, full=True, plain=True)
    assert any("`" in n.text for n in _nodes(quoted.explanation))  # else this test shows nothing
    assert not any("`" in n.text for n in _nodes(plain.explanation))
    assert [n.text.replace("`", "") for n in _nodes(quoted.explanation)] == [n.text for n in _nodes(plain.explanation)]


# ---- generated rulebooks and BOMs --------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_generated_determinations_built_as_validated(data):
    text = data.draw(rulebooks(max_groups=3), label="rules")
    book = origin_rules.loads({"rules.roo": text})
    bom = data.draw(boms_for(book), label="bom")
    as_of = data.draw(dates_for(book), label="as_of")
    for name in book.names:
        check(book.outcome(bom, name, as_of), plain=True)


# ---- assemble ------------------------------------------------------------------------------------------


def test_assemble_takes_defaults_as_construction_does():
    fast = assemble(FailedMaterial, {"reason": "r", "id": "M1"})
    slow = FailedMaterial(reason="r", id="M1")
    assert_same(fast, slow)
    assert fast.model_fields_set == {"id", "reason"}
    assert list(fast.__dict__) == ["id", "hs", "reason"]  # declared order, whatever the order given


def test_assemble_copies_mutable_defaults():
    a = assemble(ExplanationNode, {"text": "a", "result": "true"})
    b = assemble(ExplanationNode, {"text": "b", "result": "true"})
    assert a.children == [] and a.children is not b.children
    assert a.children is not ExplanationNode.model_fields["children"].default
    assert_same(a, ExplanationNode(text="a", result="true"))


def test_assemble_refuses_unknown_and_missing_fields():
    with pytest.raises(TypeError, match="no field 'colour'"):
        assemble(FailedMaterial, {"id": "M1", "reason": "r", "colour": "red"})
    with pytest.raises(TypeError, match="required field 'reason'"):
        assemble(FailedMaterial, {"id": "M1"})
    with pytest.raises(TypeError, match="required field 'message'"):
        assemble(InputWarning, {"code": "BOM101", "path": "product"})


def test_assembled_models_are_frozen_and_copy_like_validated_ones():
    rule = assemble(RuleRef, {"selector": "8708.30", "title": None, "source": "r.roo:1", "cite": None})
    with pytest.raises(Exception):
        rule.selector = "8708.40"  # type: ignore[misc]
    copied = rule.model_copy(update={"title": "Brakes"})
    assert copied.title == "Brakes" and rule.title is None
    assert hash(rule.model_dump_json()) == hash(RuleRef(selector="8708.30", source="r.roo:1", title=None,
                                                        cite=None).model_dump_json())


def test_assemble_refuses_a_model_with_validators_across_fields():
    from pydantic import model_validator

    class Checked(BaseModel):
        a: int

        @model_validator(mode="after")
        def positive(self):
            return self

    with pytest.raises(TypeError, match="build it with validation"):
        assemble(Checked, {"a": 1})


def test_headroom_built_as_validated():
    values = {"criterion": "rvc", "source": None, "figure": "rvc_net_cost", "value": "61.00", "threshold": "60",
              "comparison": ">=", "margin": "1.00", "flip_value": "12.50", "holds": True}
    assert_same(assemble(Headroom, dict(values)), Headroom(**values))


# ---- money and decimal_text ----------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    ("10", "10.00"), ("390.5", "390.50"), ("12.345", "12.345"), ("12.3450", "12.345"), ("1.000", "1.00"),
    ("-12.300", "-12.30"), ("-0", "-0.00"), ("0E+3", "0.00"), ("1E-8", "0.00000001"), ("0.0000001000", "0.0000001"),
    ("1E+40", "1" + "0" * 40 + ".00"), ("123456789012345678901234567890123456789.5", "123456789012345678901234567890123456789.50"),
])
def test_money(value, text):
    assert money(Decimal(value)) == text


def test_money_of_amounts_at_and_above_1e38():
    """quantize() under 40 digits of precision raised InvalidOperation from 1E+38 up."""
    for exponent in (37, 38, 39, 60):
        assert money(Decimal(f"1E+{exponent}")) == "1" + "0" * exponent + ".00"
        assert money(Decimal(f"-7.5E+{exponent}")) == "-75" + "0" * (exponent - 1) + ".00"


@pytest.mark.parametrize("bad", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_money_and_decimal_text_refuse_what_is_no_number(bad):
    with pytest.raises(ValueError, match="finite"):
        money(Decimal(bad))
    with pytest.raises(ValueError, match="finite"):
        decimal_text(Decimal(bad))


@settings(max_examples=examples(300))
@given(st.decimals(min_value=-10**45, max_value=10**45, allow_nan=False, allow_infinity=False)
       | st.builds(lambda d, e: d.scaleb(e), st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False,
                                                        allow_infinity=False), st.integers(-50, 50)))
def test_money_and_decimal_text_are_exact(value):
    text = decimal_text(value)
    assert text == format(value, "f")
    shown = money(value)
    assert "E" not in shown and "e" not in shown
    assert Decimal(shown) == value  # nothing rounded
    decimals = shown.partition(".")[2]
    assert len(decimals) >= 2
    assert len(decimals) == 2 or not decimals.endswith("0")
    if value.as_tuple().exponent >= -2:  # what the former quantize() gave, where it did not raise
        with localcontext(Context(prec=1000)):
            assert shown == str(value.quantize(Decimal("0.01")))


def test_decimal_text_under_a_lower_case_context():
    with localcontext(Context(capitals=0)):
        assert decimal_text(Decimal("1E+3")) == "1000"
        assert money(Decimal("1E-7")) == "0.0000001"


# ---- check_under: one walk, as its former two ----------------------------------------------------------


def _named(bom: BOM):
    for path, material in bom.walk():
        declared = material.originating
        if isinstance(declared, tuple):
            yield from ((f"{path}.originating", n) for n in declared)
        elif isinstance(declared, dict):
            yield from ((f"{path}.originating", n) for n in declared)


def former_check_under(bom: BOM, name: str, chain: Sequence[str], parties: frozenset[str],
                       known: Sequence[str]) -> list[Finding]:
    """``plausibility.check_under`` until this change (two walks over the materials)."""
    out: list[Finding] = []
    lowered = {k.lower() for k in known}
    reported: set[tuple[str, str]] = set()
    for path, agreement in _named(bom):
        if agreement.lower() not in lowered and (path, agreement) not in reported:
            reported.add((path, agreement))
            out.append(Finding("BOM105", f"`originating` names `{agreement}`, which is no agreement or scenario "
                               f"of the rules used; known: {', '.join(known)}", path, "warning"))
    if not parties:
        return out
    for path, material in bom.walk():
        if material.kind in ("indirect", "shipping_packing"):
            continue
        origin = material.origin
        if origin is None or origin == "unknown" or origin in parties:
            continue
        if originating_under(material, chain) is True:
            out.append(Finding("BOM104", f"declared originating under {name} but its origin {origin} is not a party "
                               f"({', '.join(sorted(parties))}): possible when marking rules give a non-party origin "
                               "to an originating good, but rare: confirm it", f"{path}.originating", "warning"))
    return out


NAMES = ["USMCA", "usmca", "CPTPP", "Review", "Atlantis", "atlantis"]
STATUSES = st.one_of(st.none(), st.booleans(), st.lists(st.sampled_from(NAMES), max_size=3, unique_by=str.lower),
                     st.lists(st.tuples(st.sampled_from(NAMES), st.one_of(st.none(), st.booleans())), max_size=3,
                              unique_by=lambda pair: pair[0].lower()).map(dict))  # (each agreement once, in any case)


@st.composite
def boms_declaring_per_agreement(draw) -> BOM:
    bom = draw(boms(max_materials=4, max_depth=2))

    def restate(material: Material) -> Material:
        update: dict = {"originating": draw(STATUSES)}
        if material.materials:
            update["materials"] = tuple(restate(m) for m in material.materials)
        return Material.model_validate({**material.model_dump(exclude_unset=True), **update})

    return bom.model_copy(update={"materials": tuple(restate(m) for m in bom.materials)})


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boms_declaring_per_agreement(), st.sampled_from([("USMCA",), ("Review", "USMCA"), ("CPTPP",)]),
       st.sampled_from([frozenset({"US", "MX", "CA"}), frozenset(), frozenset({"JP", "VN"})]))
def test_check_under_in_one_walk_is_the_former_two(bom, chain, parties):
    known = ["USMCA", "Review", "CPTPP"]
    assert check_under(bom, chain[0], chain, parties, known) == former_check_under(bom, chain[0], chain, parties, known)


# ---- check_bom once per BOM object ---------------------------------------------------------------------


def test_findings_remembered_per_bom_are_the_same_every_time(shipped_rulebook):
    """``check_bom`` runs once per BOM object (rulebook/book.py ``_checked``): a second
    evaluation, under every agreement, and a copy of the BOM (another object) give the same
    warnings, and adding to one determination's findings does not reach the next."""
    bom = read_bom(ROOT / "examples" / "boms" / "bumper.yaml")
    first = [d.warnings for d in shipped_rulebook.evaluate_all(bom, as_of=date(2026, 1, 1))]
    assert any(first)  # BOM103, materials heavier than the good: else this test shows nothing
    again = [d.warnings for d in shipped_rulebook.evaluate_all(bom, as_of=date(2026, 1, 1))]
    copy = bom.model_copy(deep=True)
    assert copy is not bom
    fresh = [d.warnings for d in shipped_rulebook.evaluate_all(copy, as_of=date(2026, 1, 1))]
    assert first == again == fresh
    found = shipped_rulebook.findings(bom)
    found.append(Finding("BOM999", "added by the caller", "product", "warning"))
    assert "BOM999" not in {f.code for f in shipped_rulebook.findings(bom)}


def test_assemble_all_keeps_the_values_it_is_given_and_sets_every_field():
    """``assemble_all`` (every field given, the dict made for the one instance) gives what
    validated construction gives, with the dict itself as the instance's values; with a
    field left out it is ``assemble`` (the default taken, the field not in the fields set)."""
    from origin_rules.model.determination import FailedMaterial, RuleRef
    from origin_rules.model.slots import assemble, assemble_all

    values = {"selector": "8708.30", "title": None, "source": "rules/x.roo:3", "cite": "GN11(o)"}
    made = assemble_all(RuleRef, values)
    assert made == RuleRef(**values) and made.model_fields_set == RuleRef(**values).model_fields_set
    assert made.__dict__ is values  # kept, not copied
    assert made.model_dump_json() == RuleRef(**values).model_dump_json()
    short = {"id": "M1", "hs": None}
    fewer = assemble_all(FailedMaterial, dict(short, reason="r"))
    assert fewer == FailedMaterial(id="M1", hs=None, reason="r")
    partial = assemble_all(RuleRef, {"selector": "87.08", "title": None, "source": "s"})  # cite left to its default
    assert partial == assemble(RuleRef, {"selector": "87.08", "title": None, "source": "s"}) == RuleRef(
        selector="87.08", title=None, source="s")
    assert partial.model_fields_set == {"selector", "title", "source"}


# ---- the summary's choice of children ------------------------------------------------------------------


def test_summary_keeps_the_children_that_decided_each_node(shipped_rulebook):
    """Below the root, a decided node keeps the children with its result, the unknown ones
    and those holding a sub-assembly's determination; a rule's node and an unknown node keep
    every child; the full explanation keeps them all."""
    from origin_rules.engine.trace import Trace

    bom = read_bom(EXAMPLES[0])
    sub = shipped_rulebook.outcome(bom, "USMCA", date(2026, 7, 1))

    def leaf(result, text, **kw):
        t = Trace(result, text)
        for key, value in kw.items():
            setattr(t, key, value)
        return t

    failing = Trace(False, "require", children=[leaf(True, "held"), leaf(False, "failed"), leaf(None, "open"),
                                                  leaf(True, "sub-assembly", sub=sub)])
    rule = Trace(True, "rule", children=[leaf(True, "met"), leaf(False, "not met")])
    rule.kind = "rule"
    unknown = Trace(None, "open node", children=[leaf(True, "a"), leaf(False, "b")])
    root = Trace(False, "root", children=[failing, rule, unknown, leaf(True, "at the root, kept")])

    def texts(node: ExplanationNode) -> list[str]:
        return [c.text for c in node.children]

    summary = output._node(root, {}, False, True)
    assert texts(summary) == ["require", "rule", "open node", "at the root, kept"]
    assert texts(summary.children[0]) == ["failed", "open", "sub-assembly"]
    assert summary.children[0].children[2].sub_determination is not None
    assert texts(summary.children[1]) == ["met", "not met"]
    assert texts(summary.children[2]) == ["a", "b"]
    full = output._node(root, {}, True, True)
    assert texts(full.children[0]) == ["held", "failed", "open", "sub-assembly"]
