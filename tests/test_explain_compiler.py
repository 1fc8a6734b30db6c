"""One compiler for the deciding and the explaining code (origin_rules/engine/codegen.py).

The material filters, the sums of ``value(...)``/``weight(...)``, the test of a sum against
its share and the RVC/MaxNOM test are each emitted by one generator, for the deciding
functions (inline) and for the explaining closures (alone, with what is missing beside the
result). Here the two outputs are compared with each other and with an oracle written in
the test, independently of the generator: the hand-written traced filter and sum the
explaining closures used before (``_reference_filter``, ``_reference_sum``), and the
definitions of the two tests in exact fractions.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from types import SimpleNamespace

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import origin_rules
from origin_rules.engine import codegen
from origin_rules.engine import measures as M
from origin_rules.engine.criteria import Run
from origin_rules.engine.evaluate import EXACT
from origin_rules.engine.tariff_shift import policy_result
from origin_rules.engine.view import declared_word, good_of_bom, same_code
from origin_rules.model import ast
from origin_rules.model.bom import BOM
from origin_rules.model.hs import covers3
from origin_rules.testing.bom_strategies import boms_for, dates_for
from origin_rules.testing.rulebook_strategies import rulebooks

from conftest import examples

# ---- oracles ---------------------------------------------------------------------------------------


def _reference_filter(compiler, node, part) -> tuple[bool | None, str | None]:
    """A material filter on one material, as docs/language.md reads it: three-valued, with
    the field whose absence leaves it unknown (the first unknown operand's)."""
    if node is None:
        return True, None
    if isinstance(node, ast.IsOriginating):
        return part.originating is (not node.negated), None
    if isinstance(node, ast.OriginIn):
        if part.origin is None:
            return None, f"{part.path}.origin"
        return part.origin in compiler.countries(node.countries), None
    if isinstance(node, ast.HsIn):
        r = None if part.hs is None else covers3(compiler.hs(node.hs), part.hs)
        return r, (f"{part.path}.hs" if r is None else None)
    if isinstance(node, ast.KindIn):
        return part.kind in {w.text for w in node.kinds.words}, None
    if isinstance(node, ast.SameCode):
        return same_code(part, int(node.level))
    if isinstance(node, ast.FactIn):
        value = declared_word(part.facts, node.fact)
        if value is None:
            return None, f"{part.path}.facts.{node.fact}"
        return value in compiler.countries(node.values), None
    if isinstance(node, ast.Not):
        r, miss = _reference_filter(compiler, node.operand, part)
        return (None if r is None else not r), miss
    stop = isinstance(node, ast.Or)  # And stops at False, Or at True
    results = [_reference_filter(compiler, o, part) for o in node.operands]
    if any(r is stop for r, _ in results):
        return stop, None
    unknown = [miss for r, miss in results if r is None]
    return (None, unknown[0]) if unknown else (not stop, None)


def _reference_sum(compiler, node: ast.Sum, good) -> tuple:
    """(low, high or None, ids, missing): the materials that surely count add to both ends,
    those that may count to the high end; a missing amount is any amount >= 0 (a missing
    part weight, between 0 and the material's weight)."""
    kind = M.amount_kind(node.measure, node.part)
    low, high, ids, missing = Decimal(0), Decimal(0), [], []
    for part in M.traced_leaves(good.parts) if node.traced else good.parts:
        r, miss = _reference_filter(compiler, node.filter, part)
        if r is False:
            continue
        if r is None:
            missing.append(miss)
        ids.append(part.id)
        a_lo, a_hi = M.amount(part, kind)
        if a_hi != a_lo:
            missing.append(f"{part.path}.{M.AMOUNT_FIELDS[kind]}")
        if r:
            low += a_lo
        high = None if high is None or a_hi is None else high + a_hi
    return low, high, ids, missing


def _three(holds_somewhere: bool, holds_everywhere: bool) -> bool | None:
    return True if holds_everywhere else (None if holds_somewhere else False)


_OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}


# ---- the pieces of one compiler, on generated rulebooks and BOMs ------------------------------------


def _sums(node):
    """The sums of a criterion (its measure and base, through and/or/not)."""
    if isinstance(node, (ast.And, ast.Or)):
        for o in node.operands:
            yield from _sums(o)
    elif isinstance(node, ast.Not):
        yield from _sums(node.operand)
    elif isinstance(node, ast.Comparison):
        for side in (node.measure, node.base):
            if isinstance(side, ast.Sum):
                yield side


def _filters(node):
    """A material filter and each of its operands, at every depth."""
    if node is None:
        return
    yield node
    if isinstance(node, (ast.And, ast.Or)):
        for o in node.operands:
            yield from _filters(o)
    elif isinstance(node, ast.Not):
        yield from _filters(node.operand)


def _owners(plan):
    found = {id(r): r for rules in plan.index.values() for r in rules}
    found.update({id(r): r for ranges in plan.wide.values() for _, r in ranges})
    return [*found.values(), *plan.requires, *plan.fallbacks]


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_filters_and_sums_are_one_code_on_both_paths(data):
    text = data.draw(rulebooks(max_groups=3), label="rules")
    book = origin_rules.loads({"rules.roo": text})
    bom = data.draw(boms_for(book), label="bom")
    note(bom.to_json())
    good = good_of_bom(bom)
    parts = [*good.parts, *M.traced_leaves(good.parts)]
    with localcontext(EXACT):
        for under in book.names:
            for owner in _owners(book.plan(under)):
                compiler = owner.compiler
                for line in owner.node.criteria:
                    for node in _sums(line):
                        explained = compiler.sum_fn(node)(good)
                        assert explained == _reference_sum(compiler, node, good), (under, node)
                        assert compiler.fast_sum(node)(good) == explained[:2], (under, node)
                        for f in _filters(node.filter):
                            traced, fast = compiler.filter(f), compiler.fast_filter(f)
                            for part in parts:
                                expected = _reference_filter(compiler, f, part)
                                assert traced(part) == expected, (under, f, part.path)
                                assert fast(part) is expected[0], (under, f, part.path)


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_both_paths_agree_on_every_verdict(data):
    """The verdict path (generated ``decide``) and the explaining path give one verdict."""
    text = data.draw(rulebooks(), label="rules")
    book = origin_rules.loads({"rules.roo": text})
    bom = data.draw(boms_for(book), label="bom")
    as_of = data.draw(dates_for(book), label="as_of")
    for under in book.names:
        assert book.verdict(bom, under, as_of) == book.outcome(bom, under, as_of).verdict, (under, bom.to_json())


# ---- the two tests, against their definitions in fractions ----------------------------------------------

_amounts = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(400))
@given(op=st.sampled_from([">=", ">", "<=", "<"]), share=st.sampled_from([Decimal(0), Decimal("10"), Decimal("12.5"), Decimal(100)]),
       total=st.tuples(_amounts, _amounts, st.booleans()), base=st.tuples(_amounts, _amounts, st.booleans()))
def test_sum_test_is_the_comparison_over_both_intervals(op, share, total, base):
    """A sum in [lo, hi] against share% of a base in [blo, bhi] (either end perhaps
    unbounded): True when it holds for every pair, False for none, else unknown."""
    lo, hi = sorted(total[:2])
    blo, bhi = sorted(base[:2])
    hi_known, bhi_known = total[2], base[2]
    judge = codegen.compile_sum_test(op, share)
    with localcontext(EXACT):
        got = judge(lo, hi if hi_known else None, hi_known, blo, bhi if bhi_known else None)
    holds = _OPS[op]
    r = Fraction(share) / 100
    # the extreme pairs: the comparison is monotone in each side
    worst_ceiling = (Fraction(hi) if hi_known else None, r * Fraction(blo))
    best_ceiling = (Fraction(lo), r * Fraction(bhi) if bhi_known else None)
    if op in ("<=", "<"):
        everywhere = worst_ceiling[0] is not None and holds(*worst_ceiling)
        somewhere = best_ceiling[1] is None or holds(*best_ceiling)
    else:  # a floor: worst with the least total and the greatest base
        everywhere = best_ceiling[1] is not None and holds(*best_ceiling)
        somewhere = worst_ceiling[0] is None or holds(*worst_ceiling)
    assert got is _three(somewhere, everywhere)


@settings(max_examples=examples(400))
@given(op=st.sampled_from([">=", ">", "<=", "<"]), direct=st.booleans(),
       threshold=st.sampled_from([Decimal(0), Decimal("35"), Decimal("60"), Decimal("62.5"), Decimal(100)]),
       whole=st.decimals(min_value="0.01", max_value=1000, places=2), amounts=st.tuples(_amounts, _amounts, st.booleans()))
def test_percentage_test_is_the_percentage_over_the_interval(op, direct, threshold, whole, amounts):
    """(amount / whole or (whole - amount) / whole) x 100 against the threshold, for an
    amount in [low, high] (high perhaps unbounded): True for every amount, False for none,
    else unknown."""
    low, high = sorted(amounts[:2])
    bounded = amounts[2]
    judge = codegen.compile_percentage_test(op, direct, threshold)
    with localcontext(EXACT):
        got = judge(whole, low, high if bounded else None)

    def percent(amount):
        if amount is None:  # unbounded: +inf direct, -inf otherwise
            return None
        return Fraction(amount if direct else whole - amount) * 100 / Fraction(whole)

    holds = _OPS[op]
    ends = [percent(low), percent(high if bounded else None)]
    t = Fraction(threshold)
    results = []
    for end in ends:
        if end is None:
            results.append(holds(1, 0) if direct else holds(-1, 0))  # +inf (direct) or -inf against t
        else:
            results.append(holds(end, t))
    # the percentage is monotone in the amount: both ends decide the interval
    assert got is _three(any(results), all(results))


def test_the_explaining_filter_names_the_first_unknown_operand():
    """``origin in [CN] and hs in 87`` on a material of unknown origin and code: unknown,
    for want of its origin (the first operand), as the explanation has always named it."""
    book = origin_rules.loads({"a.roo": """agreement "A" {
  parties = [US, MX, CA]
  effective = 2020-07-01
  rule 8708.30 { value(origin in [CN] and hs in 87) <= 10% of transaction_value }
}
"""})
    plan = book.plan("A")
    (rule,) = plan.index["870830"]
    node = rule.node.criteria[0].measure.filter
    bom = BOM.model_validate({
        "product": {"id": "P", "hs": "8708.30", "produced_in": "MX", "transaction_value": "100"},
        "materials": [{"id": "M", "originating": False, "value": "20"}],
    })
    (part,) = good_of_bom(bom).parts
    assert rule.compiler.filter(node)(part) == (None, "materials[0].origin")
    assert rule.compiler.fast_filter(node)(part) is None
    assert book.verdict(bom, "A", date(2026, 1, 1)) == "insufficient_data"


# ---- de minimis: the share test of ``forgives`` and of the explanation ------------------------------------


def _reference_within_share(base, share, failing, unknown, why=()) -> tuple[bool | None, list[str]]:
    """The share test the explaining path wrote by hand before it used the generated one
    (``tariff_shift._within_share`` for a line without exclusions, base known): the result
    and the fields it names as missing."""
    low, missing = Decimal(0), []
    for p in failing:
        if p.value is None:
            missing.append(f"{p.path}.value")
        else:
            low += p.value
    high = low
    for p in unknown:
        if p.value is None:
            missing.append(f"{p.path}.value")
        else:
            high += p.value
    limit = base * share / 100
    if low > limit:
        return False, []
    if missing:
        return None, missing
    if high <= limit:
        return True, []
    return None, [why[i] if i < len(why) and why[i] else f"{p.path}.hs" for i, p in enumerate(unknown)]


def _exact_within_share(base, share, failing, unknown) -> bool | None:
    """De minimis by its definition, in fractions: the failing materials, each of any amount
    >= 0 when it is missing, together with any of the possibly failing ones, within share%
    of the base: True when every case is, False when none is, else unknown."""
    limit = Fraction(share) * Fraction(base) / 100
    least = sum(Fraction(p.value) for p in failing if p.value is not None)  # the best case
    if least > limit:
        return False
    if any(p.value is None for p in failing + unknown):
        return None  # a missing amount may be as large as any
    most = least + sum(Fraction(p.value) for p in unknown)
    return True if most <= limit else None


def _material(i: int, value) -> SimpleNamespace:
    return SimpleNamespace(id=f"M{i}", path=f"materials[{i}]", value=value, weight=None, hs=None,
                           source=SimpleNamespace(in_component=None))


_maybe_amounts = st.lists(st.one_of(st.none(), _amounts), max_size=4)


@settings(max_examples=examples(400))
@given(share=st.sampled_from([Decimal(0), Decimal("7"), Decimal("10"), Decimal("12.5"), Decimal(100)]),
       base=st.one_of(st.none(), _amounts), failing=_maybe_amounts, unknown=_maybe_amounts)
def test_de_minimis_share_test_is_one_code_on_both_paths(share, base, failing, unknown):
    """One de minimis line in value on the transaction value: the generated ``forgives``,
    the explaining ``policy_result`` (through ``compile_share_test``), the hand-written
    test it replaced and the definition in fractions give one result, and the explanation
    names the fields the old one named, with the limit it computed."""
    failing = [_material(i, v) for i, v in enumerate(failing)]
    unknown = [_material(len(failing) + i, v) for i, v in enumerate(unknown)]
    why = tuple(f"{p.path}.hs" for p in unknown)
    node = SimpleNamespace(measure="value", share=SimpleNamespace(value=share), exclude=None, of_which=None)
    policy = SimpleNamespace(node=node, base_name="transaction_value", exclude=None)
    policy.share_test = codegen.compile_share_test(share)
    figures = {} if base is None else {"transaction_value": base}
    good = SimpleNamespace(figures=figures, figure_path=lambda name: f"product.{name}")
    run = SimpleNamespace(good=good)
    with localcontext(EXACT):
        explained, info = policy_result(run, policy, failing, unknown, True, why)
        decided = codegen.compile_policy(policy)(run, failing, unknown, why)
        assert decided is explained
        if base is None:  # a base not given is some amount >= 0: failing materials worth nothing are within it
            amounts = [p.value for p in failing + unknown]
            if None not in amounts and sum(amounts) == 0:
                assert explained is True
            else:
                assert explained is None and info["missing"][0] == "product.transaction_value"
            return
        expected, missing = _reference_within_share(base, share, failing, unknown, why)
        assert explained is expected is _exact_within_share(base, share, failing, unknown)
        assert info.get("missing", []) == missing
        assert info["figures"]["de_minimis_limit"] == base * share / 100
