"""The YAML of BOMs and rule tests built by ``files.boms._construct``: exactly what the
loader's own constructor (PyYAML's, with the project's scalars) builds, value and type, or
the same error; on generated documents full of plain scalars that look like numbers,
booleans or null, quoted strings, anchors and aliases, merge keys, explicit tags, keys that
are not strings and duplicate keys, through both loaders (libyaml's and the pure-Python one)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from origin_rules.files import boms

from conftest import examples

LOADERS = [cls for cls in (boms._FastLoader, boms._Loader) if cls is not None]

PLAIN = ["0101", "8708.30", "87", "12", "-7", "+3", "0", "-0", "007", "1e3", "1.5E-2", "3.", ".5", "1_000",
         "0x1F", "0o17", ".inf", "-.inf", ".NaN", ".nan", "true", "False", "TRUE", "yes", "no", "on", "off",
         "~", "null", "Null", "NULL", "CN", "MX", "a b", "2026-07-01", "12:30", "1" * 4100, "é", "x: y"]
QUOTED = ['"12"', "'0101'", '"true"', '""', "''", '"a\\tb"', "'it''s'", '"~"']
TAGGED = ["!!str 12", "!!int '7'", "!!float 1", "!!bool yes", "!!null ''", "!!binary aGk=", "!custom x"]


def scalars() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([p for p in PLAIN if ":" not in p]), st.sampled_from(QUOTED),
                     st.sampled_from(TAGGED))


@st.composite
def documents(draw, depth: int = 0) -> str:
    """A flow-style YAML value (anchors added at random; aliases to earlier anchors)."""
    kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        text = draw(scalars())
    elif kind == "seq":
        text = "[" + ", ".join(draw(st.lists(documents(depth + 1), max_size=4))) + "]"
    else:
        pairs = []
        for _ in range(draw(st.integers(0, 4))):
            key = draw(st.one_of(st.sampled_from(["id", "hs", "value", "origin", "materials", "a", "b"]),
                                 st.sampled_from(["12", "true", "~", "'q'", "[x]", "<<"])))
            value = draw(documents(depth + 1))
            if key == "<<":
                value = draw(st.sampled_from(["{id: base, value: 1.50}", "*m", "[*m]"]))
            pairs.append(f"{key}: {value}")
        text = "{" + ", ".join(pairs) + "}"
    if draw(st.integers(0, 5)) == 0:
        text = f"&m {text}"
    elif draw(st.integers(0, 7)) == 0:
        text = "*m"
    return text


def canonical(value, seen=None):
    """Value and type, all the way down (Decimal by its text: NaN is not equal to itself)."""
    if isinstance(value, dict):
        return ("dict", tuple((canonical(k), canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(canonical(v) for v in value))
    if isinstance(value, Decimal):
        return (type(value).__name__, str(value))
    return (type(value).__name__, repr(value))


def load(cls, text: str, fast: bool):
    loader = cls(text)
    try:
        out = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                out.append(boms._construct(loader, node) if fast else loader.construct_document(node))
        return ("ok", [canonical(d) for d in out])
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as err:
        return ("error", type(err).__name__, str(err))
    finally:
        loader.dispose()


@pytest.mark.parametrize("cls", LOADERS, ids=lambda c: c.__name__)
@settings(max_examples=examples(300))
@given(text=st.one_of(documents(), st.builds(lambda a, b: f"a: &m {a}\nb: {b}\n", documents(1), documents(1))))
def test_the_fast_construction_is_the_loaders(cls, text):
    assert load(cls, text, fast=True) == load(cls, text, fast=False)


@pytest.mark.parametrize("cls", LOADERS, ids=lambda c: c.__name__)
def test_an_alias_is_the_same_object_and_the_corner_cases_match(cls):
    loader = cls("a: &m [1, 2]\nb: *m\nc: {id: '0101', v: 0101, d: 1.10, n: ~, t: true}\n")
    try:
        data = boms._construct(loader, loader.get_single_node())
    finally:
        loader.dispose()
    assert data["a"] is data["b"]
    assert data["c"] == {"id": "0101", "v": "0101", "d": Decimal("1.10"), "n": None, "t": True}
    assert str(data["c"]["d"]) == "1.10"
    for text in ("a: 1\na: 2\n", "<<: {a: 1}\nb: 2\n", "!!set {a, b}\n", "&r [*r]\n", "? [k]\n: v\n"):
        assert load(cls, text, fast=True) == load(cls, text, fast=False), text


@pytest.mark.parametrize("cls", LOADERS, ids=lambda c: c.__name__)
@settings(max_examples=examples(100))
@given(value=st.one_of(st.sampled_from(PLAIN), st.text(alphabet="0123456789.-+eE_xabnulTRUEfals~ :", max_size=12)))
def test_remembered_tags_are_the_resolvers(cls, value):
    """A plain scalar's tag, remembered by its text, is the one the resolver gives, the first
    time and later."""
    loader = cls("")
    try:
        expected = yaml.resolver.BaseResolver.resolve(loader, yaml.ScalarNode, value, (True, False))
        for _ in range(2):
            assert loader.resolve(yaml.ScalarNode, value, (True, False)) == expected
        for kind, implicit in ((yaml.ScalarNode, (False, True)), (yaml.ScalarNode, (False, False)),
                               (yaml.MappingNode, (True, False)), (yaml.SequenceNode, (False, False))):
            assert loader.resolve(kind, value, implicit) == yaml.resolver.BaseResolver.resolve(loader, kind, value, implicit)
    finally:
        loader.dispose()


def test_field_lines_are_worked_out_when_first_read_and_pickle_as_a_dict(monkeypatch):
    import pickle

    text = "product: {id: P, hs: '8708.30'}\nmaterials:\n  - id: M1\n    value: 1.00\n"
    loader = LOADERS[0](text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    calls = []
    real = boms.node_lines
    monkeypatch.setattr(boms, "node_lines", lambda n, *a: calls.append(n) or real(n, *a))
    lines, first = boms._lines(node)
    assert calls == [] and first == 1
    assert lines.get(("materials", 0, "value")) == 4
    assert ("product", "hs") in lines and lines[("materials",)] == 2
    assert dict(lines) == real(node)
    assert [n for n in calls if n is node] == [node]  # worked out once (node_lines recurses)
    assert pickle.loads(pickle.dumps(lines)) == real(node)
    assert type(pickle.loads(pickle.dumps(lines))) is dict
