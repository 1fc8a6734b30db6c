"""Shared pieces of the CLI: exit codes, loading rules and BOMs with clear errors.

In: paths from the command line. Out: a loaded Rulebook or BOM records; on bad input the
problem is printed to stderr (file, line or field path, what was expected) and the command
exits with code 2. No traceback reaches the user.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Iterator

import typer

from ..bom import BomError
from ..diagnostics import RulebookError
from ..render import render_text, summary_line

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

BOM_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".ndjson", ".csv")


def err(text: str) -> None:
    typer.echo(text, err=True)


def fail_usage(text: str) -> "typer.Exit":
    err(f"error: {text}")
    raise typer.Exit(EXIT_USAGE)


def load_rules(paths: list[Path]):
    """Load a rulebook, or print every diagnostic and exit 2."""
    from ..rulebook import load

    try:
        return load([str(p) for p in paths])
    except RulebookError as exc:
        err(render_text(exc.diagnostics, exc.sources))
        err(f"\nthe rule files have problems ({summary_line(exc.diagnostics)}); run `origin-rules check` on them")
        raise typer.Exit(EXIT_USAGE)


def parse_date(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail_usage(f"`--as-of {text}` is not a date: write YYYY-MM-DD, e.g. 2026-07-01")


def bom_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in BOM_SUFFIXES and f.is_file()))
        elif p.exists():
            files.append(p)
        else:
            fail_usage(f"`{p}` does not exist")
    return files


def read_records(paths: list[Path]) -> Iterator:
    """Every BOM record of every file; a file that cannot be read is reported, then skipped."""
    from ..bom_io import read_boms

    for path in bom_files(paths):
        try:
            yield from read_boms(path)
        except BomError as exc:
            yield exc


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
