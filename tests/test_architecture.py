"""The layering rules of STYLE.md, checked on the source: only the syntax layer imports
lark, only the CLI imports typer, and nothing outside the CLI prints."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "origin_rules"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_syntax_layer_imports_lark():
    offenders = [name for name, tree in modules() if "lark" in imported(tree) and not name.startswith("syntax/")]
    assert offenders == []


def test_only_the_cli_imports_typer():
    offenders = [name for name, tree in modules() if "typer" in imported(tree) and not name.startswith("cli/")]
    assert offenders == []


def test_nothing_outside_the_cli_prints():
    offenders = []
    for name, tree in modules():
        if name.startswith("cli/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_every_module_says_what_goes_in_and_out():
    missing = [name for name, tree in modules() if not ast.get_docstring(tree) and not name.endswith("__init__.py")]
    assert missing == []
