"""Rule files on disk -> parsed, resolved and checked modules.

In: paths (files or folders; folders are searched for ``*.roo`` recursively, in sorted order).
Out: a :class:`Parsed` bundle: the modules that parsed, the programs built from them, every
diagnostic (syntax and meaning, sorted), the source texts by file name (for carets), and a
sha256 digest of the rule files' contents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..model import ast
from ..model.diagnostics import Diagnostic, error
from ..semantics.resolve import Program, build_programs, merge_agreement_parts
from ..syntax.parser import parse_file


@dataclass
class Parsed:
    modules: list[ast.Module] = field(default_factory=list)
    programs: dict[str, Program] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    digest: str = ""

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def _deferred(name: str, doc: str) -> property:
    """A field of :class:`Parsed` that may hold, instead of its value, a function giving it
    (a rulebook read from the cache: rulebook.cache), called when the value is first read."""
    key = "_" + name

    def get(parsed: Parsed):
        value = parsed.__dict__[key]
        if callable(value):
            value = parsed.__dict__[key] = value()
        return value

    def put(parsed: Parsed, value) -> None:
        parsed.__dict__[key] = value

    return property(get, put, doc=doc)


# Read from the cache, the programs are read for the commands that evaluate and the modules
# for those that use them (`diff`, the rule tests): `check` needs neither, `evaluate` no module.
Parsed.programs = _deferred("programs", "The agreements and scenarios, by name.")  # type: ignore[assignment]
Parsed.modules = _deferred("modules", "The modules that parsed, in rulebook order.")  # type: ignore[assignment]


def discover(paths: list[str | Path]) -> tuple[list[str], list[Diagnostic]]:
    """Expand folders into their ``.roo`` files; a missing path is a diagnostic (ROO000)."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(str(p) for p in sorted(path.rglob("*.roo")) if p.is_file())
        elif path.is_file():
            files.append(str(path))
        else:
            problems.append(error("ROO000", f"`{raw}` does not exist", ast.Span(str(raw), 0, 0, 0, 0)))
    seen: set[str] = set()
    unique = [f for f in files if not (f in seen or seen.add(f))]
    return unique, problems


def digest_of(sources: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode())
        h.update(b"\0")
        h.update(sources[name].encode())
        h.update(b"\0")
    return h.hexdigest()


def parse_paths(paths: list[str | Path], *, check: bool = True) -> Parsed:
    """Read, parse, resolve and (by default) check every rule file under ``paths``."""
    files, problems = discover(paths)
    parsed = Parsed(diagnostics=list(problems))
    for file in files:
        module, diags, text = parse_file(file)
        _add(parsed, file, text, module, diags)
    return _finish(parsed, check)


def parse_texts(texts: dict[str, str], *, check: bool = True) -> Parsed:
    """The same from texts in memory (tests, generated rulebooks): ``{file name: text}``."""
    from ..syntax.parser import parse

    parsed = Parsed()
    for file, text in texts.items():
        module, diags = parse(text, file)
        _add(parsed, file, text, module, diags)
    return _finish(parsed, check)


def assemble(files: list[tuple[str, str, ast.Module | None, list[Diagnostic]]], *, check: bool = True) -> Parsed:
    """The same from files already parsed, in rulebook order: ``(file name, text, module or
    None, its syntax diagnostics)`` each (the language server keeps each file's parse and
    re-parses only the file that changed); the result is what :func:`parse_paths` gives."""
    parsed = Parsed()
    for file, text, module, diags in files:
        _add(parsed, file, text, module, list(diags))
    return _finish(parsed, check)


def _add(parsed: Parsed, file: str, text: str, module: ast.Module | None, diags: list[Diagnostic]) -> None:
    parsed.sources[file] = text
    parsed.diagnostics.extend(diags)
    if module is not None:
        parsed.modules.append(module)


def _finish(parsed: Parsed, check: bool) -> Parsed:
    """Resolve the programs, check (some file may not have parsed), sort, digest."""
    parsed.modules = merge_agreement_parts(parsed.modules)
    parsed.programs = build_programs(parsed.modules)
    if check:
        from ..semantics.check import check_modules

        incomplete = len(parsed.modules) < len(parsed.sources)
        parsed.diagnostics.extend(check_modules(parsed.modules, parsed.programs, incomplete=incomplete))
    parsed.diagnostics.sort(key=Diagnostic.sort_key)
    parsed.digest = digest_of(parsed.sources)
    return parsed
