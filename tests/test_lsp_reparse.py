"""The language server re-parses only the rule being typed (origin_rules/lsp/workspace.py,
``reparse_member``): whatever it gives must be exactly what parsing the whole file gives,
spans, comments and diagnostics included; where it cannot be sure it gives None."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from origin_rules.lsp.workspace import reparse_member
from origin_rules.model import ast
from origin_rules.syntax.parser import parse

from conftest import examples

ROOT = Path(__file__).resolve().parent.parent
FILES = ["rules/usmca/section-17-transport.roo", "rules/cptpp.roo", "rules/usmca/review-2026.roo"]
TEXTS = {f: (ROOT / f).read_text(encoding="utf-8") for f in FILES}
MODULES = {f: parse(t, f) for f, t in TEXTS.items()}


def same(a, b, path="") -> None:
    """Deep equality that, unlike ``==`` on the AST, compares spans too."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, tuple):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            if f.name != "source":
                same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


EDITS = [
    (r"(\d+)%", lambda m: f"{int(m.group(1)) % 99 + 1}%"),          # a threshold
    (r"any other heading", lambda m: "any other subheading"),
    (r"rvc\(net_cost\)", lambda m: "rvc(transaction_value)"),
    (r"cite \"", lambda m: 'cite "x '),
    (r"\{ ", lambda m: "{  "),
    (r"(\d{4})\.(\d{2})", lambda m: f"{m.group(1)}.{m.group(2)}"),
    (r"change from", lambda m: "chnge from"),                        # a syntax error: never quick
    (r"% *$", lambda m: "%  # a comment"),
]


@settings(max_examples=examples(60))
@given(st.sampled_from(FILES), st.integers(0, len(EDITS) - 1), st.integers(0, 10_000))
def test_a_quick_reparse_is_exactly_the_whole_parse(file, which, nth):
    text = TEXTS[file]
    pattern, replace = EDITS[which]
    found = list(re.finditer(pattern, text, re.M))
    assume(found)
    m = found[nth % len(found)]
    new = text[: m.start()] + replace(m) + text[m.end():]
    module, diags = MODULES[file]
    quick = reparse_member(text, module, diags, new, file)
    whole, whole_diags = parse(new, file)
    if quick is None:
        return
    assert whole is not None and not any(d.is_error for d in whole_diags)
    same(quick[0], whole)
    assert quick[0].source == new
    assert quick[1] == whole_diags


def test_the_quick_path_is_taken_inside_a_rule_and_not_elsewhere():
    file = "rules/cptpp.roo"
    text = TEXTS[file]
    module, diags = MODULES[file]
    inside = text.replace("rvc(build_up, fob) >= 35%", "rvc(build_up, fob) >= 36%", 1)
    assert inside != text and reparse_member(text, module, diags, inside, file) is not None
    header = text.replace('agreement "CPTPP" {', 'agreement "CPTPP2" {', 1)
    assert reparse_member(text, module, diags, header, file) is None
    newline = text.replace("rvc(build_up, fob) >= 35%", "rvc(build_up, fob) >= 35%\n", 1)
    assert reparse_member(text, module, diags, newline, file) is None
    broken = text.replace("rvc(build_up, fob) >= 35%", "rvc(build_up, fob >= 35%", 1)
    assert reparse_member(text, module, diags, broken, file) is None
    assert isinstance(module.items[0], ast.Agreement)
