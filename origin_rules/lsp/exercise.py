"""Which rule-test cases exercise each rule: the ``*.test.yaml`` files of a rulebook run
with coverage, away from the server's process.

In: a rulebook folder. Out: :class:`Exercised`: for every rule, requirement, fallback and
``or`` alternative at ``(absolute file, line, column)`` of the files as saved on disk, the
cases that exercised it (``file:line name [AGREEMENT]``), as ``origin-rules test
--coverage`` counts them (:mod:`origin_rules.ruletests.coverage`). The tests run in one
worker process (spawned, its standard output sent to standard error: the server's standard
output carries the protocol), so that a long run never holds up diagnostics.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..model import ast
from ..ruletests.runner import TEST_SUFFIXES


def has_tests(root: Path) -> bool:
    """Whether a folder holds rule tests (``*.test.yaml``), searched recursively."""
    return any(root.rglob(f"*{TEST_SUFFIXES[0]}")) or any(root.rglob(f"*{TEST_SUFFIXES[1]}"))


def quiet() -> None:
    """The worker's initializer: its standard output goes to standard error."""
    os.dup2(2, 1)


def exercised(root: str, base: str | None = None) -> dict[tuple[str, int, int], list[str]]:
    """Run the rule tests under ``root`` (absolute) with coverage: item -> cases, in the worker;
    the test files in the cases' names are relative to ``base`` when they lie under it."""
    from ..ruletests.runner import run

    report = run([root], coverage=True, cache=True)
    coverage = report.coverage
    if coverage is None:
        return {}
    prefix = os.path.join(base, "") if base else None

    def shown(case: str) -> str:
        return case[len(prefix):] if prefix and case.startswith(prefix) else case

    return {(os.path.normpath(item.file), item.line, item.column): [shown(c) for c in item.by]
            for item in coverage.items.values() if item.by}


@dataclass
class Exercised:
    """The last run's findings for one rulebook folder, and whether a run is under way."""

    root: Path
    cases: dict[tuple[str, int, int], list[str]] = field(default_factory=dict)
    running: bool = False
    done: bool = False
    finished: str | None = None  # HH:MM:SS of the last run
    error: str | None = None
    again: bool = False  # files were saved while it ran: run once more

    def cases_of(self, span: ast.Span, path: Path | None = None) -> list[str]:
        file = os.path.normpath(str(path if path is not None else self.root / span.file))
        return self.cases.get((file, span.line, span.column), [])

    def finish(self, cases: dict | None, error: str | None = None) -> None:
        self.running = False
        self.done = True
        self.finished = time.strftime("%H:%M:%S")
        self.error = error
        if cases is not None:
            self.cases = cases
