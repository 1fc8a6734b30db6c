"""The deciding path is generated Python source (origin_rules/engine/codegen.py): built from the
AST only, its values looked up in a constant table, never pasted from rule text; and it decides
as the explaining closures do (the verdicts are compared over generated rulebooks and the
shipped rules in tests/test_differential.py; here, hostile rule text and the source check)."""

from __future__ import annotations

from datetime import date

import pytest

import origin_rules
from origin_rules.engine import codegen
from origin_rules.engine.criteria import Run
from origin_rules.engine.evaluate import EXACT
from origin_rules.engine.view import good_of_bom
from origin_rules.model.bom import BOM

# Quotes, escaped newlines, `__import__` and `#` wherever the language lets a rule file put
# text or a name: the agreement's name, a set's name, a fact's name and its words, titles,
# a citation, a process.
HOSTILE = r'''agreement "A\"); __import__(\"os\").system(\"echo pwned\") #" {
  parties = [US, MX, CA]
  effective = 2020-07-01
  set __import__ = [CN, KP]
  require for 87 "x\n\"); __import__('os') #" when __import__ in [yes] {
    value(non_originating and origin in __import__ and __import__ in [__class__]) <= 10% of transaction_value
  }
  rule 8708.30 "Brakes\"); __import__(\"os\").system(\"echo pwned\")\n#" {
    cite "\"; __import__('os') #"
    change from any other heading
    or performed "x\"); __import__(\"os\") #" in parties
    or value(__import__ in [__globals__] and hs in 87.08) <= 10% of transaction_value
  }
}
'''
AS_OF = date(2026, 1, 1)
FORBIDDEN = ('"', "'", "#", "\\", "__", "import", "system", "pwned", "os.")


def _bom(material_facts: dict, product_facts: dict, origin: str = "CN", hs: str = "8708.99") -> BOM:
    """A brake (8708.30) made in MX of one non-originating material worth 20 of 100; the
    BOM lists a process, not the rule's (so `performed` is false, not unknown)."""
    return BOM.model_validate({
        "product": {"id": "P", "hs": "8708.30", "produced_in": "MX", "transaction_value": "100",
                    "facts": product_facts, "processes": [{"name": "assembled", "country": "MX"}]},
        "materials": [{"id": "M", "hs": hs, "origin": origin, "originating": False, "value": "20",
                       "facts": material_facts}],
    })


BOMS = [
    # the requirement applies (__import__: yes) and the CN material's fact is __class__: 20 > 10, fails
    (_bom({"__import__": "__class__"}, {"__import__": "yes"}), "does_not_qualify"),
    # the requirement does not apply; 87.08 -> 87.08 fails the shift, and the material's
    # fact __globals__ puts its 20 in the sum of the third line (20 > 10): does not qualify
    (_bom({"__import__": "__globals__"}, {"__import__": "no"}), "does_not_qualify"),
    # the same material from another heading: the change of heading holds
    (_bom({"__import__": "__globals__"}, {"__import__": "no"}, hs="7318.15"), "qualifies"),
    # the material declares no fact: the third line's sum is 0..20 against 10, and the
    # requirement applies with the material in the sum or not (0..20 against 10): unknown
    (_bom({}, {"__import__": "yes"}), "insufficient_data"),
]


@pytest.fixture()
def compiled_sources(monkeypatch) -> list[str]:
    """Every source ``codegen`` hands to ``compile`` while the test runs."""
    seen: list[str] = []

    def spy(source, filename, mode, *args, **kwargs):
        seen.append(source)
        return compile(source, filename, mode, *args, **kwargs)

    monkeypatch.setattr(codegen, "compile", spy, raising=False)
    monkeypatch.setattr(codegen, "_CODE", {})  # (code compiled by other tests is not compiled again)
    return seen


def test_hostile_rule_text_never_reaches_compile(compiled_sources):
    book = origin_rules.loads({"hostile.roo": HOSTILE})
    (name,) = book.names
    for bom, verdict in BOMS:
        assert book.verdict(bom, name, AS_OF) == verdict  # the deciding path: generated code
        assert book.evaluate(bom, name, AS_OF).verdict == verdict  # the explaining path
    plan = book.plan(name)
    owners = [*plan.index["870830"], *plan.requires]
    for owner in owners:
        assert owner.fast  # one generated function per line, too
    # each owner's `decide` and per-line functions, and the sums with their filters, compiled
    # for the explaining closures (the same loop, the materials and missing fields beside it)
    assert len(owners) == 2 and len(compiled_sources) >= 2 * len(owners)
    assert sum(s.startswith("def total(good)") for s in compiled_sources) >= 2
    for source in compiled_sources:
        for text in FORBIDDEN:
            assert text not in source, (text, source)
    # the rule's words are data in the constant table, read as K[i]
    rule = plan.index["870830"][0]
    constants = rule.decide.__globals__["K"]
    assert frozenset({"__globals__"}) in constants and "__import__" in constants
    assert "K[" in rule.decide.source and "__globals__" not in rule.decide.source


def test_each_generated_line_decides_as_its_explaining_closure():
    book = origin_rules.loads({"hostile.roo": HOSTILE})
    (name,) = book.names
    plan = book.plan(name)
    from decimal import localcontext

    for bom, _ in BOMS:
        with localcontext(EXACT):
            for owner in [*plan.index["870830"], *plan.requires]:
                run, fresh = Run(good_of_bom(bom), plan, AS_OF), Run(good_of_bom(bom), plan, AS_OF)
                explained = [c(run).result for c in owner.criteria]
                assert [f(fresh) for f in owner.fast] == explained
                conjunction = False if False in explained else (None if None in explained else True)
                assert owner.decide(Run(good_of_bom(bom), plan, AS_OF)) is conjunction


@pytest.mark.parametrize("source", [
    'v1 = "a"\n',                # a string literal
    "v1 = __import__\n",         # a name outside the generator's own
    "v1 = good.__class__\n",     # an attribute outside them
    "v1 = 1.5\n",                # a number that is not an index or a digit count
    "v1 = 1  # note\n",          # a comment
    "v1 = K[1j]\n",              # a complex number
    "import v1\n",               # an import
    "v1 = .5\n",                 # a float without its 0
    "v1 = K[0]; v2 = K[1]\n",    # punctuation the generator never writes
    "v1 = \uff4f\uff50\uff45\uff4e\n",  # `open` in full-width letters (NFKC-equal to `open`)
    "@K\ndef v1(run):\n    return None\n",  # a decorator
    "def f(run):\n    return open\n",
])
def test_source_check_refuses_anything_but_generated_tokens(source):
    with pytest.raises(codegen.UnsafeSource):
        codegen.check_source(source)


def test_source_check_accepts_the_generated_code():
    book = origin_rules.loads({"hostile.roo": HOSTILE})
    rule = book.plan(book.names[0]).index["870830"][0]
    codegen.check_source(rule.decide.source)  # (it was checked before it was compiled, too)
    assert "def decide(run):" in rule.decide.source


def test_and_or_nested_to_the_checkers_limit_decide_as_their_explaining_closures():
    """`and`/`or` nested MAX_NESTING levels deep (ROO126 allows it): each operand after the
    first was inlined one `if` deeper, and Python refused the generated code (IndentationError:
    too many levels of indentation; evaluate, diff and test ended in a traceback). Past
    INLINE_DEPTH levels the deciding closure is called instead."""
    MAX_NESTING = 100  # origin_rules.model.ast.MAX_NESTING (tests/test_check.py)

    def alternating(leaf: str) -> str:
        text = leaf
        for i in range(MAX_NESTING):
            text = f"({leaf} {'or' if i % 2 else 'and'} {text})"
        return text

    book = origin_rules.loads({"deep.roo": 'agreement "A" {\n  parties = [MX]\n'
                               f"  rule 8708.30 {{ {alternating('CTH')} }}\n"
                               f"  rule 8708.99 {{ {alternating('rvc(transaction_value) >= 75%')} }}\n}}\n"})
    plan = book.plan("A")
    cases = [(_bom({}, {}), "does_not_qualify"), (_bom({}, {}, hs="7318.15"), "qualifies")]
    for bom, verdict in cases:
        assert book.verdict(bom, "A", AS_OF) == verdict
        assert book.evaluate(bom, "A", AS_OF).verdict == verdict
    (rule,) = plan.index["870830"]
    assert rule.decide.source.count("(run)") >= 1  # the levels past INLINE_DEPTH: the closure, through K
    max_indent = max(len(line) - len(line.lstrip(" ")) for line in rule.decide.source.splitlines()) // 4
    assert getattr(codegen, "INLINE_DEPTH", 0) < max_indent < 100
    worth = {"4": "qualifies", "30": "does_not_qualify"}  # RVC 96% and 70%, against 75%
    for value, verdict in worth.items():
        bom = BOM.model_validate({
            "product": {"id": "P", "hs": "8708.99", "produced_in": "MX", "transaction_value": "100"},
            "materials": [{"id": "M", "hs": "8708.99", "origin": "CN", "originating": False, "value": value}],
        })
        assert book.verdict(bom, "A", AS_OF) == verdict
        assert book.evaluate(bom, "A", AS_OF).verdict == verdict
