"""The layering rules, checked on the source: the layers of docs/architecture.md import only
downwards and without cycles (import-linter's contracts in pyproject.toml, on grimp's graph,
which counts imports inside functions too), no module imports another's private names, no
module lies loose at the package root; only the syntax layer imports lark, only the CLI
imports typer, and nothing outside the CLI prints."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "origin_rules"


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


def lint_imports() -> subprocess.CompletedProcess:
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_layers_import_only_downwards_and_nothing_imports_in_a_cycle():
    run = lint_imports()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def test_the_graph_counts_imports_inside_functions():
    # cli/check.py imports the sources only inside its command function (a fast --help):
    # a graph that missed it would let a lower layer import a higher one unseen.
    graph = grimp.build_graph("origin_rules", cache_dir=None)
    assert graph.direct_import_exists(importer="origin_rules.cli.check", imported="origin_rules.rulebook.sources")
    tree = ast.parse((PACKAGE / "cli" / "check.py").read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert "rulebook.sources" not in top


def test_the_layers_contract_lists_every_subpackage_and_the_docs_show_them():
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    layers = config.split('type = "layers"', 1)[1].split("]", 2)[1]
    listed = set(re.findall(r"[a-z_]+", layers.split("[", 1)[1])) - {"layers"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert listed == packages
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [p for p in sorted(packages) if f"`origin_rules/{p}/`" not in readme] == []
    assert [p for p in sorted(packages) if f"`{p}`" not in architecture] == []


def test_no_module_lies_loose_at_the_package_root():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("origin_rules")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    offenders.append(f"{name}:{node.lineno} {private}")
    assert offenders == []
