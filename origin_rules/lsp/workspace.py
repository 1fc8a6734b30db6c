"""The files the language server sees, grouped into rulebooks, and their analysis.

In: the workspace folders, the texts of open documents (they win over the files on disk),
and optionally the rulebook folders configured by the editor (initialization option
``rulebooks``). Out: for each rulebook, an :class:`Analysis`: the
:class:`~origin_rules.rulebook.sources.Parsed` bundle that ``origin-rules check`` builds
for the same files under the same names (so the same diagnostics, messages included), and
each file's own module (before an agreement written over several files is joined).

Which files make one rulebook, the files ``check`` would be given one folder of:

- the innermost configured rulebook folder that holds the file;
- else the outermost folder reached from the file's own folder by going up while the
  folder above holds ``.roo`` files itself, never above the workspace folder: in this
  repository ``rules/usmca/agreement.roo`` belongs to ``rules/`` (which holds
  ``cptpp.roo``), and each ``tests/golden/syntax/NAME/input.roo`` is a rulebook alone.

File names are relative to the workspace folder (``rules/usmca/agreement.roo``), as
``check`` names them when run there; a file outside every workspace folder is named by its
absolute path. Each file's parse is kept until its text changes: an edit re-parses one file
and checks the rulebook again.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import ast
from ..model.diagnostics import Diagnostic, error
from ..rulebook.sources import Parsed, assemble, discover
from ..syntax.parser import parse

#: Folders never searched for rule files when the workspace is scanned (a rulebook folder
#: itself is read as ``check`` reads it).
SKIPPED = frozenset({"node_modules", "__pycache__", "site-packages"})


@dataclass
class Analysis:
    """One rulebook checked: its folder, the ``Parsed`` bundle, each file's own module."""

    root: Path
    parsed: Parsed
    paths: dict[str, Path]  # file name -> absolute path
    modules: dict[str, ast.Module | None]  # file name -> its module as parsed (None: did not parse)
    cache: dict = field(default_factory=dict, repr=False)  # file name -> FileIndex, shared between analyses
    _index: object = field(default=None, repr=False)

    def diagnostics_by_file(self) -> dict[str, list[Diagnostic]]:
        """Every file of the rulebook (with none: an empty list) -> its diagnostics, sorted."""
        out: dict[str, list[Diagnostic]] = {name: [] for name in self.paths}
        for d in self.parsed.diagnostics:
            out.setdefault(d.span.file, []).append(d)
        return out

    @property
    def index(self):
        """The names of the rulebook and where they are used (:mod:`origin_rules.lsp.index`)."""
        if self._index is None:
            from .index import Index

            self._index = Index(self, self.cache)
        return self._index


class Workspace:
    """Open documents, files on disk and the analysis of each rulebook, kept up to date."""

    def __init__(self, folders: list[Path] | None = None, rulebooks: list[Path] | None = None):
        self.folders = sorted({Path(f).resolve() for f in folders or []}, key=lambda p: len(p.parts), reverse=True)
        self.rulebooks = [Path(r).resolve() for r in rulebooks or []]
        self.open: dict[Path, str] = {}
        self._parses: dict[Path, tuple[str, str, ast.Module | None, list[Diagnostic]]] = {}
        self._files: dict[Path, list[Path]] = {}  # rulebook folder -> its files (cached listing)
        self._analyses: dict[Path, Analysis] = {}
        self._indexes: dict[Path, dict] = {}  # rulebook folder -> each file's index, reused while unchanged
        self.dirty: set[Path] = set()
        self._rulebook_of: dict[Path, Path] = {}  # forgotten when files are added or removed

    # ---- names and rulebooks ------------------------------------------------------------------

    def folder_of(self, path: Path) -> Path | None:
        """The (innermost) workspace folder that holds ``path``."""
        for folder in self.folders:
            if path == folder or folder in path.parents:
                return folder
        return None

    def name_of(self, path: Path) -> str:
        folder = self.folder_of(path)
        return path.relative_to(folder).as_posix() if folder is not None else str(path)

    def rulebook_of(self, path: Path) -> Path:
        """The folder whose ``.roo`` files (searched recursively) form the file's rulebook."""
        found = self._rulebook_of.get(path)
        if found is None:
            found = self._rulebook_of[path] = self._find_rulebook(path)
        return found

    def _find_rulebook(self, path: Path) -> Path:
        configured = [r for r in self.rulebooks if r in path.parents]
        if configured:
            return max(configured, key=lambda r: len(r.parts))
        bound = self.folder_of(path)
        root = path.parent
        while root != bound and root.parent != root:
            if not any(p.is_file() for p in root.parent.glob("*.roo")):
                break
            root = root.parent
        return root

    def scan(self) -> list[Path]:
        """Every rulebook folder of the workspace: the configured ones, else one per folder of
        rule files found (hidden folders, ``node_modules`` and the like skipped)."""
        if self.rulebooks:
            return [r for r in self.rulebooks if r.is_dir()]
        roots: set[Path] = set()
        for folder in self.folders:
            for here, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
                if any(f.endswith(".roo") for f in files):
                    roots.add(self.rulebook_of(Path(here) / "x.roo"))
        return sorted(roots)

    # ---- texts ----------------------------------------------------------------------------------

    def files_of(self, root: Path) -> list[Path]:
        """The rulebook's files in ``check``'s order (on disk, and open documents not yet saved)."""
        files = self._files.get(root)
        if files is None:
            found, _ = discover([root])
            files = [Path(f) for f in found]
            self._files[root] = files
        extra = [p for p in self.open if p not in files and self.rulebook_of(p) == root]
        return sorted([*files, *extra]) if extra else files

    def set_text(self, path: Path, text: str | None) -> Path:
        """An open document's text (None: closed, the file on disk counts again); returns the
        rulebook folder to check again."""
        if text is None:
            self.open.pop(path, None)
        else:
            self.open[path] = text
        return self.touch(path)

    def touch(self, path: Path, listing: bool = False) -> Path:
        """Mark the rulebook of ``path`` to be checked again (``listing``: files were added or removed)."""
        if listing:
            self._rulebook_of.clear()
        root = self.rulebook_of(path)
        if listing:
            self._files.pop(root, None)
        self.dirty.add(root)
        return root

    def _parse(self, path: Path, name: str) -> tuple[str, ast.Module | None, list[Diagnostic]]:
        text = self.open.get(path)
        if text is None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self._parses.pop(path, None)
                return "", None, [error("ROO000", f"cannot read `{name}`: {reason}", ast.Span(name, 0, 0, 0, 0))]
        elif not text.isascii():
            bad = unencodable(text, name)
            if bad is not None:  # as `check` finds the file its bytes would make: unreadable
                self._parses.pop(path, None)
                return _SURROGATE.sub("\ufffd", text), None, [bad]
        cached = self._parses.get(path)
        if cached is not None and cached[0] == name and cached[1] == text:
            return text, cached[2], cached[3]
        quick = None
        if cached is not None and cached[0] == name and cached[2] is not None and not any(d.is_error for d in cached[3]):
            quick = reparse_member(cached[1], cached[2], cached[3], text, name)
        module, diags = quick if quick is not None else parse(text, name)
        self._parses[path] = (name, text, module, diags)
        return text, module, diags

    # ---- analysis -------------------------------------------------------------------------------

    def analysis(self, root: Path) -> Analysis:
        """The rulebook checked (again, when something changed since the last time)."""
        found = self._analyses.get(root)
        if found is not None and root not in self.dirty:
            return found
        self.dirty.discard(root)
        files = []
        paths: dict[str, Path] = {}
        modules: dict[str, ast.Module | None] = {}
        for path in self.files_of(root):
            name = self.name_of(path)
            text, module, diags = self._parse(path, name)
            files.append((name, text, module, diags))
            paths[name] = path
            modules[name] = module
        cache = self._indexes.setdefault(root, {})
        found = Analysis(root, assemble(files), paths, modules, cache)
        self._analyses[root] = found
        return found

    def analysis_of(self, path: Path) -> Analysis:
        return self.analysis(self.rulebook_of(path))

    def text_of(self, path: Path) -> str:
        if path in self.open:
            return self.open[path]
        cached = self._parses.get(path)
        if cached is not None:
            return cached[1]
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""


_SURROGATE = re.compile("[\ud800-\udfff]")


def unencodable(text: str, name: str) -> Diagnostic | None:
    """ROO000 at the first lone surrogate of an open document's text (JSON may carry one:
    ``"\\udcff"``), which UTF-8 cannot encode: no file holds that text, and what an editor
    saves instead is a file ``check`` cannot read (ROO000, and nothing else of the file)."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return error("ROO000", f"cannot read `{name}`: U+{ord(found.group()):04X} at line {line}, column {column} is a "
                 "lone surrogate, which UTF-8 cannot encode", ast.Span(name, line, column, line, column + 1),
                 "delete it: a surrogate stands only in a pair, for a character outside the Basic Multilingual Plane")


def _lines_changed(old: str, new: str) -> tuple[int, int] | None:
    """The first and last (1-based) lines that differ between two texts of the same number
    of lines; None when the number of lines differs or nothing does."""
    a, b = old.split("\n"), new.split("\n")
    if len(a) != len(b):
        return None
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    if first is None:
        return None
    last = next(i for i in range(len(a) - 1, -1, -1) if a[i] != b[i])
    return first + 1, last + 1


def reparse_member(old: str, module: ast.Module, diags: list[Diagnostic], new: str,
                   name: str) -> tuple[ast.Module, list[Diagnostic]] | None:
    """The module of ``new`` from the module of ``old`` when the edit changed no line count
    and lies within the lines of one member of an agreement or scenario (a rule being
    typed): only that member is parsed again, its lines in place, and put in the old one's
    stead. None (parse the whole file) whenever that is not exactly what a whole parse
    gives: other lines changed, something else shares the member's lines, or the member
    does not parse cleanly alone (its diagnostics come from the whole parse, as ``check``'s)."""
    changed = _lines_changed(old, new)
    if changed is None:
        return None
    first, last = changed
    items = list(module.items)
    for i, item in enumerate(items):
        if not isinstance(item, (ast.Agreement, ast.Scenario)):
            continue
        members = item.members
        for j, member in enumerate(members):
            span = member.span
            if not (span.line <= first and last <= span.end_line):
                continue
            if span.line < 2 or isinstance(member, (ast.PartiesDecl, ast.Effective, ast.HsVersion)):
                return None
            neighbours = [m.span for k, m in enumerate(members) if k != j]
            if any(s.end_line >= span.line and s.line <= span.end_line for s in neighbours):
                return None  # another member shares its lines
            if item.span.line >= span.line or item.span.end_line <= span.end_line:
                return None  # the block's own header or closing brace is on its lines
            rows = new.split("\n")
            region = rows[span.line - 1: span.end_line]
            if region[0][: span.column - 1].strip():
                return None
            wrapped = ('agreement "x" {' + "\n" * (span.line - 1) + " " * (span.column - 1)
                       + region[0][span.column - 1:] + "".join("\n" + r for r in region[1:]) + "\n}\n")
            again, found = parse(wrapped, name)
            if again is None or found or len(again.items) != 1 or len(again.items[0].members) != 1:
                return None
            fresh = again.items[0].members[0]
            if fresh.span.line != span.line or fresh.span.end_line != span.end_line:
                return None
            items[i] = _replace_member(item, j, fresh)
            inside = lambda s: span.line <= s.line <= span.end_line  # noqa: E731
            comments = sorted([c for c in module.comments if not inside(c.span)] + list(again.comments),
                              key=lambda c: (c.span.line, c.span.column))
            kept = [d for d in diags if not inside(d.span)]
            return ast.Module(tuple(items), tuple(comments), file=module.file, source=new), kept
    return None


def _replace_member(block, index: int, member):
    from dataclasses import replace

    members = block.members[:index] + (member,) + block.members[index + 1:]
    return replace(block, members=members)
