"""The VS Code extension (editors/vscode/): its TextMate grammar against the language.

Always run (no npm needed): the grammar's patterns, tokenized the TextMate way (at each
point the pattern whose match starts first wins, ties to the earlier pattern) by a small
tokenizer here, meet the scope assertions of editors/vscode/tests/language.roo-test
(vscode-tmgrammar-test's format); every keyword of grammar.lark is coloured in every
```roo example of docs/language.md; the manifest names the grammar and the configuration.

With the npm tooling installed (`make -C editors/vscode test` installs it), the same
assertions also run through vscode-tmgrammar-test itself, VS Code's own tokenizer
(vscode-textmate with Oniguruma); without it that test is skipped, also under CI=true: the
npm step is not part of `make test` (docs/editor.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from origin_rules.lsp.complete import keywords

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = json.loads((VSCODE / "syntaxes" / "roo.tmLanguage.json").read_text(encoding="utf-8"))
ASSERTIONS = VSCODE / "tests" / "language.roo-test"


def _patterns() -> list[tuple[str, dict]]:
    """The top-level patterns in order, includes resolved: (name of the rule, the rule)."""
    out = []
    for ref in GRAMMAR["patterns"]:
        key = ref["include"].lstrip("#")
        rule = GRAMMAR["repository"][key]
        for sub in ([rule] if "match" in rule or "begin" in rule else rule["patterns"]):
            out.append((key, sub))
    return out


PATTERNS = _patterns()


def tokenize(line: str) -> list[str | None]:
    """The scope of each character of one line (None: no scope), the TextMate way for a
    grammar whose only multi-token rule (a string) ends on its line."""
    scopes: list[str | None] = [None] * len(line)
    i = 0
    while i < len(line):
        best = None
        for _, rule in PATTERNS:
            regex = re.compile(rule.get("match") or rule["begin"])
            m = regex.search(line, i)
            if m is not None and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, rule)
        if best is None:
            break
        m, rule = best
        end = m.end()
        if "begin" in rule:
            close = re.compile(rule["end"]).search(line, end)
            end = close.end() if close else len(line)
        for k in range(m.start(), end):
            scopes[k] = rule["name"]
        i = end
    return scopes


def assertions(path: Path) -> list[tuple[int, str, int, int, str]]:
    """vscode-tmgrammar-test's assertions: (source line number, its text, first column,
    last column + 1, expected scope) for each `#   ^^^ scope` or `# <--- scope` line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    out = []
    source: tuple[int, str] | None = None
    for number, line in enumerate(lines[1:], 2):
        m = re.match(r"#(\s*)(\^+|<-+)\s+(\S+)", line)
        if m and source is not None:
            if m.group(2).startswith("<"):
                start, end = 0, len(m.group(2)) - 1  # `<---`: the first three characters
            else:
                start = 1 + len(m.group(1))
                end = start + len(m.group(2))
            out.append((source[0], source[1], start, end, m.group(3)))
        elif not line.startswith("#"):
            source = (number, line)
    return out


def test_the_grammar_meets_the_assertions_of_the_language_examples():
    checked = assertions(ASSERTIONS)
    assert len(checked) > 50
    failures = []
    for number, line, start, end, scope in checked:
        got = tokenize(line)
        wrong = {got[k] for k in range(start, end) if got[k] != scope}
        if wrong:
            failures.append(f"line {number} columns {start}-{end}: expected {scope}, got {sorted(map(str, wrong))}")
    assert failures == []


def test_every_keyword_of_the_grammar_is_coloured_in_the_language_examples():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```roo\n(.*?)```", text, re.S)
    assert blocks
    words = set(keywords())
    seen: set[str] = set()
    uncoloured = []
    for block in blocks:
        for line in block.split("\n"):
            scopes = tokenize(line)
            for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", line):
                if m.group() in words and scopes[m.start()] is None:
                    uncoloured.append(f"`{m.group()}` in: {line.strip()}")
                if m.group() in words:
                    seen.add(m.group())
    assert uncoloured == []
    assert len(seen) > 30  # the examples use most of the language


def test_every_keyword_has_a_pattern():
    context = {"tariff": "tariff item", "item": "tariff item", "rvc": "rvc(", "max_nom": "max_nom(", "fact": "fact("}
    missing = [w for w in keywords() if tokenize(context.get(w, w))[0] is None]
    assert missing == []


def test_the_manifest_names_the_grammar_the_configuration_and_the_server():
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    contributes = manifest["contributes"]
    assert contributes["languages"][0]["extensions"] == [".roo"]
    assert contributes["grammars"][0]["scopeName"] == GRAMMAR["scopeName"] == "source.roo"
    assert (VSCODE / contributes["grammars"][0]["path"]).is_file()
    configuration = json.loads((VSCODE / contributes["languages"][0]["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"]["lineComment"] == "#"
    assert contributes["configuration"]["properties"]["origin-rules.server.command"]["default"] == ["origin-rules", "lsp"]
    assert "node_modules/" in (VSCODE / ".gitignore").read_text(encoding="utf-8")


def test_vscode_tmgrammar_test_accepts_the_grammar():
    tool = VSCODE / "node_modules" / ".bin" / "vscode-tmgrammar-test"
    if not tool.exists() or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("vscode-tmgrammar-test is not installed: `make test` installs it with npm (make editor-tools)")
        pytest.skip("vscode-tmgrammar-test is not installed: `make -C editors/vscode test` installs it with npm "
                    "and runs it (the npm step is not part of `make test`)")
    run = subprocess.run([str(tool), "-g", "syntaxes/roo.tmLanguage.json", "tests/language.roo-test"],
                         cwd=VSCODE, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
