"""Rule tests: run the `*.test.yaml` cases that live beside the rules.

In: paths of test files or folders (folders are searched recursively for ``*.test.yaml``
and ``*.test.yml``), an optional regular expression on case names, and whether to measure
coverage. Out: a :class:`Report`: per test file, per case, per expected agreement or
scenario, the expected and the actual verdict with the determination; every problem with a
test file (file, line, field path, what was expected); and, on request, a
:class:`~origin_rules.ruletests.coverage.Coverage`. Nothing here prints.

A test file is a YAML list of cases (docs/testing-rules.md)::

    - name: brake assembly with Chinese pads      # required, unique in the file
      bom: ../examples/boms/brake-assembly.yaml   # a path relative to this file, or an
                                                  # inline mapping in the docs/bom.md format
      as_of: 2026-01-01                           # optional; default: the day the tests run
      rules: [usmca.roo, ../scenarios/]           # optional; files or folders relative to
                                                  # this file; default: the .roo files in
                                                  # this file's folder (not its subfolders)
      expect:                                     # at least one agreement or scenario
        USMCA: qualifies                          # qualifies | does_not_qualify |
        "USMCA review 2026: China content": does_not_qualify   # insufficient_data | no_rule

Cases are validated by strict models: an unknown key (``expcet``), a missing ``name``, a
verdict that is not one of the four words, or a date that is not YYYY-MM-DD is a problem
reported with the test file's line and the field path (``[2].expect.USMCA``); so are BOM
errors in an inline BOM (``[2].bom.materials[0].value``), BOM files that cannot be read,
rule files with errors, and agreement names the rules do not define. A bad case never
stops the other cases. Numbers in inline BOMs are read exactly (YAML ``12.5`` is
``Decimal('12.5')``), as in BOM files.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..model.bom import BOM, BomError, bom_from_data, path_text
from ..model.dates import iso_date
from ..files.boms import node_lines, read_bom, yaml_documents  # exact decimals and line numbers
from .coverage import Coverage
from ..model.determination import VERDICTS, Determination
from ..model.diagnostics import RulebookError
from ..model.render import render_text, summary_line

TEST_SUFFIXES = (".test.yaml", ".test.yml")

Verdict = Literal["qualifies", "does_not_qualify", "insufficient_data", "no_rule"]


# ---------------------------------------------------------------------------- the file format


class Case(BaseModel):
    """One test case, as written in a ``*.test.yaml`` file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = Field(min_length=1)
    bom: str | dict[str, Any]
    expect: dict[str, Verdict] = Field(min_length=1)
    as_of: date | None = None
    rules: list[str] | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return iso_date(value.strip())
            except ValueError:
                raise ValueError(f"`{value}` is not a date: write YYYY-MM-DD, e.g. 2026-07-01") from None
        return value

    @field_validator("rules", mode="before")
    @classmethod
    def _one_path(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("bom")
    @classmethod
    def _bom_path(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("expected a path to a BOM file or an inline BOM mapping")
        return value


FIELDS = tuple(Case.model_fields)


# ---------------------------------------------------------------------------- results


@dataclass(slots=True)
class Problem:
    """Something wrong with a test file or what it refers to; ``path`` is the field path."""

    message: str
    file: str
    line: int | None = None
    path: str = ""
    detail: str | None = None  # e.g. the rendered diagnostics of rule files with errors

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        return ": ".join(p for p in (where, self.path, self.message) if p)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message,
                "detail": self.detail}


@dataclass(slots=True)
class Check:
    """One expectation of a case: the verdict under one agreement or scenario."""

    agreement: str
    expected: str
    actual: str | None = None  # None when it could not be evaluated
    determination: Determination | None = None  # of a failed check only

    @property
    def passed(self) -> bool:
        return self.actual == self.expected


@dataclass(slots=True)
class CaseResult:
    name: str
    file: str
    line: int
    index: int
    as_of: date | None = None
    bom: str | None = None  # the BOM file, or None for an inline BOM
    checks: list[Check] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``passed``, ``failed`` (a verdict differs) or ``error`` (the case could not run)."""
        if self.problems:
            return "error"
        return "passed" if all(c.passed for c in self.checks) else "failed"


@dataclass(slots=True)
class FileResult:
    file: str
    cases: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the file as a whole could not be read

    @property
    def status(self) -> str:
        if self.problems or any(c.status == "error" for c in self.cases):
            return "error"
        return "failed" if any(c.status == "failed" for c in self.cases) else "passed"


@dataclass(slots=True)
class Report:
    files: list[FileResult] = field(default_factory=list)
    coverage: Coverage | None = None
    problems: list[Problem] = field(default_factory=list)  # not tied to one test file

    @property
    def cases(self) -> list[CaseResult]:
        return [c for f in self.files for c in f.cases]

    def count(self, status: str) -> int:
        return sum(1 for c in self.cases if c.status == status)

    @property
    def checked(self) -> list[Check]:
        """The expectations whose verdict was evaluated (the "verdicts checked" of every
        format): not those of a case that could not run, nor an unknown agreement's."""
        return [k for c in self.cases for k in c.checks if k.actual is not None]

    @property
    def all_problems(self) -> list[Problem]:
        return self.problems + [p for f in self.files for p in f.problems] + [
            p for c in self.cases for p in c.problems]

    @property
    def has_errors(self) -> bool:
        return bool(self.all_problems)

    @property
    def empty(self) -> bool:
        return not self.cases and not self.has_errors


# ---------------------------------------------------------------------------- discovery


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def discover(paths: list[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Test files under ``paths`` (sorted within each folder); a missing path is a problem."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_test_file(p)))
        elif path.is_file():
            if path.suffix.lower() not in (".yaml", ".yml"):
                problems.append(Problem("not a test file: expected a `*.test.yaml` file or a folder", str(path)))
            else:
                files.append(path)
        else:
            problems.append(Problem("no such file or folder", str(path)))
    seen: set[Path] = set()
    return [f for f in files if not (f in seen or seen.add(f))], problems


def _norm(path: Path | str) -> str:
    return os.path.normpath(str(path))


# ---------------------------------------------------------------------------- running


class Runner:
    """Runs test files; caches rulebooks (by their rule paths) and BOM files across them."""

    def __init__(self, *, pattern: re.Pattern[str] | None = None, coverage: bool = False,
                 today: date | None = None, cache: bool = False):
        self.pattern = pattern
        self.cache = cache  # read rulebooks through the rulebook cache (rulebook/cache.py)
        self.today = today or date.today()
        self.coverage = Coverage() if coverage else None
        self._books: dict[tuple[str, ...], Any] = {}
        self._boms: dict[str, BOM | BomError] = {}
        # the .roo files of each folder, listed once per run (not once per case)
        self._beside: dict[Path, tuple[str, ...]] = {}
        # the source lines of each case's inline BOM, grouped once per file (by case index)
        self._bom_lines: tuple[dict, dict[int, dict]] | None = None

    def run(self, paths: list[str | Path]) -> Report:
        files, problems = discover(paths)
        report = Report(problems=problems)
        for file in files:
            report.files.append(self.run_file(file))
        if self.coverage is not None:
            self._cover_folders(paths, report)
            report.coverage = self.coverage
        return report

    # ---- one file -----------------------------------------------------------------------------

    def run_file(self, path: Path) -> FileResult:
        file = str(path)
        result = FileResult(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
            docs = yaml_documents(text, file, empty_ok=True)  # a test file may hold no case yet
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            result.problems.append(Problem(f"cannot read: {why}", file))
            return result
        except BomError as exc:
            result.problems.extend(Problem(p.message, file, p.line) for p in exc.problems)
            return result
        if not docs or (len(docs) == 1 and docs[0][0] is None):
            return result  # an empty file holds no cases
        if len(docs) > 1 or not isinstance(docs[0][0], list):
            line = docs[0][1].start_mark.line + 1 if docs[0][1] is not None else 1
            result.problems.append(Problem(
                "expected a YAML list of cases (`- name: ...`, `bom: ...`, `expect: ...`)", file, line))
            return result
        data, node = docs[0]
        lines = node_lines(node)
        names: dict[str, int] = {}
        for index, item in enumerate(data):
            case = self._case(path, index, item, lines, names)
            if case is not None:
                result.cases.append(case)
        return result

    def _case(self, path: Path, index: int, item: Any, lines: dict, names: dict[str, int]) -> CaseResult | None:
        file = str(path)
        line = lines.get((index,), 1)
        raw_name = item.get("name") if isinstance(item, dict) else None
        shown = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else f"case {index + 1}"
        result = CaseResult(shown, file, line, index)
        if not isinstance(item, dict):
            result.problems.append(Problem("expected a mapping with `name`, `bom` and `expect`", file, line, f"[{index}]"))
            return result
        try:
            case = Case.model_validate(item)
        except ValidationError as exc:
            result.problems.extend(_problems(exc, file, index, lines, line))
            return result
        if self.pattern is not None and not self.pattern.search(case.name):
            return None
        if case.name in names:
            result.problems.append(Problem(
                f"another case on line {names[case.name]} has the name `{case.name}`: names must be unique in a file",
                file, lines.get((index, "name"), line), f"[{index}].name"))
            return result
        names[case.name] = line
        result.as_of = case.as_of or self.today
        self._evaluate(path, index, case, result, lines)
        return result

    def _evaluate(self, path: Path, index: int, case: Case, result: CaseResult, lines: dict) -> None:
        file = str(path)
        book = self._rulebook(path, index, case, result, lines)
        bom = self._bom(path, index, case, result, lines)
        for agreement, expected in case.expect.items():
            check = Check(agreement, expected)
            result.checks.append(check)
            if book is None or bom is None:
                continue
            if agreement not in book.names:
                close = difflib.get_close_matches(agreement, book.names, n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                result.problems.append(Problem(
                    f"no agreement or scenario named `{agreement}` in the rules{hint}; "
                    f"known: {', '.join(book.names) or 'none'}",
                    file, lines.get((index, "expect", agreement)), f"[{index}].expect.{agreement}"))
                continue
            started = time.perf_counter()
            try:
                self._verdict(book, bom, agreement, result.as_of, check, f"{file}:{result.line} {case.name}")
            except Exception as exc:  # an engine bug must not hide the other cases
                result.problems.append(Problem(
                    f"internal error while evaluating under `{agreement}`: {type(exc).__name__}: {exc}",
                    file, result.line, f"[{index}]"))
            result.seconds += time.perf_counter() - started

    def _verdict(self, book, bom: BOM, agreement: str, on: date, check: Check, case: str | None = None) -> None:
        from ..engine.output import to_determination

        if self.coverage is None:  # the verdict alone (always evaluate's; a tenth of its cost or
            # less): the explained outcome only for a check that fails, to show it
            check.actual = book.verdict(bom, agreement, on)
            if not check.passed:
                check.determination = to_determination(book.outcome(bom, agreement, on))
            return
        outcome = book.outcome(bom, agreement, on)
        check.actual = outcome.verdict
        if not check.passed:  # shown for a failed check only (text, JSON, JUnit)
            check.determination = to_determination(outcome)
        if self.coverage is not None:
            self.coverage.record(outcome, None if case is None else f"{case} [{agreement}]")

    # ---- what a case refers to ---------------------------------------------------------------------

    def rule_paths(self, path: Path, case: Case) -> list[str]:
        """The rule files or folders of a case: its ``rules``, or the .roo files beside it."""
        if case.rules:
            return [_norm(path.parent / r) for r in case.rules]
        folder = path.parent
        if folder not in self._beside:
            self._beside[folder] = tuple(_norm(p) for p in sorted(folder.glob("*.roo")) if p.is_file())
        return list(self._beside[folder])

    def _rulebook(self, path: Path, index: int, case: Case, result: CaseResult, lines: dict):
        from ..rulebook.book import load

        file = str(path)
        rule_paths = self.rule_paths(path, case)
        where = lines.get((index, "rules"), result.line)
        if not rule_paths:
            result.problems.append(Problem(
                f"no rule files: the folder `{_norm(path.parent)}` holds no `.roo` file; "
                "list them under `rules:` (paths relative to the test file)", file, where, f"[{index}]"))
            return None
        key = tuple(rule_paths)
        if key not in self._books:
            try:
                book = load(list(key), cache=self.cache)
            except RulebookError as exc:
                self._books[key] = exc
            else:
                self._books[key] = book
                if self.coverage is not None:
                    self.coverage.add_modules(book.parsed.modules, book.parsed.sources)
            first = True
        else:
            first = False
        book = self._books[key]
        if isinstance(book, RulebookError):
            detail = render_text(book.diagnostics, book.sources) if first else None
            result.problems.append(Problem(
                f"the rule files {', '.join(key)} have problems ({summary_line(book.diagnostics)})"
                + ("" if first else "; shown above") + "; run `origin-rules check` on them",
                file, where, f"[{index}].rules" if case.rules else f"[{index}]", detail))
            return None
        return book

    def _inline_bom_lines(self, lines: dict) -> dict[int, dict]:
        """``{case index: {path under bom: line}}`` for the file whose lines these are."""
        if self._bom_lines is None or self._bom_lines[0] is not lines:
            grouped: dict[int, dict] = {}
            for loc, n in lines.items():
                if len(loc) >= 2 and loc[1] == "bom":
                    grouped.setdefault(loc[0], {})[loc[2:]] = n
            self._bom_lines = (lines, grouped)
        return self._bom_lines[1]

    def _bom(self, path: Path, index: int, case: Case, result: CaseResult, lines: dict) -> BOM | None:
        file = str(path)
        if isinstance(case.bom, dict):
            prefix = (index, "bom")
            sub = self._inline_bom_lines(lines).get(index, {})
            try:
                return bom_from_data(case.bom, file=file, lines=sub, line=lines.get(prefix, result.line))
            except BomError as exc:
                result.problems.extend(
                    Problem(p.message, file, p.line, f"[{index}].bom" + (f".{p.path}" if p.path else ""))
                    for p in exc.problems)
                return None
        bom_path = _norm(path.parent / case.bom)
        result.bom = bom_path
        if bom_path not in self._boms:
            try:
                self._boms[bom_path] = read_bom(bom_path)
            except BomError as exc:
                self._boms[bom_path] = exc
        found = self._boms[bom_path]
        if isinstance(found, BomError):
            where = lines.get((index, "bom"), result.line)
            result.problems.append(Problem(f"cannot use the BOM `{bom_path}`", file, where, f"[{index}].bom"))
            result.problems.extend(Problem(p.message, p.file or bom_path, p.line, p.path) for p in found.problems)
            return None
        return found

    # ---- coverage of rule files no test loaded ------------------------------------------------------

    def _cover_folders(self, paths: list[str | Path], report: Report) -> None:
        """Rule files under the folders tested count too, even when no test loads them."""
        from ..syntax.parser import parse_file

        assert self.coverage is not None
        for raw in paths:
            folder = Path(raw)
            if not folder.is_dir():
                continue
            for roo in sorted(folder.rglob("*.roo")):
                name = _norm(roo)
                if name in self.coverage.files or not roo.is_file():
                    continue
                module, diags, text = parse_file(name)
                errors = [d for d in diags if d.is_error]
                if module is None or errors:
                    report.problems.append(Problem(
                        f"cannot measure the coverage of this rule file ({summary_line(diags)})", name,
                        detail=render_text(errors or diags, {name: text})))
                    continue
                self.coverage.add_modules([module], {name: text})


def _problems(exc: ValidationError, file: str, index: int, lines: dict, fallback: int) -> list[Problem]:
    """Pydantic's errors on one case as problems with lines, field paths and plain words."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "missing":
            message = f"missing field `{loc[-1]}`" + (
                ": every case needs `name`, `bom` and `expect`" if len(loc) == 1 else "")
        elif kind == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), FIELDS, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            message = f"unknown field `{loc[-1]}`{hint}; a case has {', '.join(f'`{f}`' for f in FIELDS)}"
        elif kind == "literal_error" and loc[:1] == ("expect",):
            word = err.get("input")
            close = difflib.get_close_matches(str(word), VERDICTS, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            message = f"`{word}` is not a verdict{hint}: expected one of {', '.join(VERDICTS)}"
        elif loc == ("bom",) or (loc[:1] == ("bom",) and kind in ("string_type", "dict_type")):
            message = "expected a path to a BOM file (relative to the test file) or an inline BOM mapping"
            loc = ("bom",)
        elif kind == "too_short" and loc == ("expect",):
            message = "expect names no agreement: write `expect: {AGREEMENT: verdict}`"
        else:
            text = err["msg"]
            if text.startswith("Value error, "):
                text = text[len("Value error, "):]
            message = text[:1].lower() + text[1:]
        full = (index,) + loc
        line = fallback
        for cut in range(len(full), 0, -1):
            if full[:cut] in lines:
                line = lines[full[:cut]]
                break
        problem = Problem(message, file, line, path_text(full))
        if str(problem) not in {str(p) for p in out}:
            out.append(problem)
    return out


def run(paths: list[str | Path], *, pattern: str | re.Pattern[str] | None = None, coverage: bool = False,
        today: date | None = None, cache: bool = False) -> Report:
    """Run the rule tests under ``paths``; ``pattern`` (a regular expression) selects cases by
    name (``re.search``); ``today`` is the date of cases without ``as_of``; ``cache`` reads
    the rule files through the rulebook cache."""
    if isinstance(pattern, str):
        pattern = re.compile(pattern)
    return Runner(pattern=pattern, coverage=coverage, today=today, cache=cache).run(paths)
