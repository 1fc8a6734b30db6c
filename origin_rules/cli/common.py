"""Shared pieces of the CLI: exit codes, loading rules and BOMs with clear errors.

In: paths from the command line. Out: a loaded Rulebook or BOM records; on bad input the
problem is printed to stderr (file, line or field path, what was expected) and the command
exits with code 2. No traceback reaches the user.
"""

from __future__ import annotations

import gc
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import typer

from ..model.dates import iso_date

# Nothing heavy at the top: every command module imports this one, and `--help` must not
# pay for pydantic or Lark (the model and the layers above are imported where they are used).

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

BOM_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".ndjson", ".csv")


def err(text: str) -> None:
    typer.echo(text, err=True)


def fail_usage(text: str) -> "typer.Exit":
    err(f"error: {text}")
    raise typer.Exit(EXIT_USAGE)


NO_CACHE_HELP = ("Parse and check the rule files again instead of reading them from the rulebook "
                 "cache (docs/performance.md); the cache is neither read nor written.")


def no_cache_option():
    """``--no-cache``, shared by the commands that load rules."""
    return typer.Option("--no-cache", help=NO_CACHE_HELP)


@contextmanager
def kept() -> Iterator[None]:
    """For what is built inside and lives as long as the command (a rulebook: tens of
    thousands of objects): no cyclic garbage collection while it is built, then frozen out of
    the collector's sight (``gc.freeze``) before collection resumes. Otherwise each collection
    walks them again (while the plans are compiled from them too) and never frees one, and
    the first one after ``gc.enable`` walks them all: this halves a one-BOM `evaluate`
    (docs/performance.md). Frozen on success only; the collector is left as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()


def load_rules(paths: list[Path], cache: bool = True):
    """Load a rulebook (from the rulebook cache unless ``cache`` is false), or print every
    diagnostic and exit 2."""
    from ..model.diagnostics import RulebookError
    from ..model.render import render_text, summary_line
    from ..rulebook.book import load

    with kept():
        try:
            book = load([str(p) for p in paths], cache=cache)
        except RulebookError as exc:
            err(render_text(exc.diagnostics, exc.sources))
            err(f"\nthe rule files have problems ({summary_line(exc.diagnostics)}); run `origin-rules check` on them")
            raise typer.Exit(EXIT_USAGE)
        if not book.parsed.sources:
            shown = ", ".join(f"`{p}`" for p in paths)
            fail_usage(f"no rule file (`*.roo`) found in {shown}: give rule files or folders holding them with --rules")
        if not book.names:  # (from the cache: the programs are read here)
            fail_usage(f"the rule files in {', '.join(f'`{p}`' for p in paths)} define no agreement or scenario")
    return book


def cpus() -> int:
    """The CPUs this process may run on (the default of ``--workers``)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_date(text: str | None, option: str = "--as-of") -> date:
    """The date given to ``option`` (none: today); a text that is no date exits 2 naming the option."""
    if text is None:
        return date.today()
    try:
        return iso_date(text)
    except ValueError:
        fail_usage(f"`{option} {text}` is not a date: write YYYY-MM-DD, e.g. 2026-07-01")


def check_output_path(out: Path, flag: str = "--out") -> None:
    """An output file's folder exists and the path is not a folder, or exit 2 saying so."""
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        fail_usage(f"`{flag} {out}`: the folder `{out.parent}` does not exist")
    if out.is_dir():
        fail_usage(f"`{flag} {out}` is a folder; give a file name")


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
    from ..files.boms import read_boms
    from ..model.bom import BomError, BomProblem

    for path in bom_files(paths):
        try:
            count = 0
            for record in read_boms(path):
                count += 1
                yield record
            if count == 0:
                yield BomError(BomProblem("the file holds no BOM (it is empty)", "", str(path)))
        except BomError as exc:
            yield exc


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


_TYPE_NAMES = {"Path": "PATH", "str": "TEXT", "int": "INTEGER", "float": "NUMBER", "bool": ""}


def install_help_names() -> None:
    """Placeholders in ``--help`` as a user reads them (``PATH``, ``TEXT``, ``text|json``,
    nothing for a flag) instead of the Python types newer typer versions print
    (``<list[Path]>``, ``<bool>``, ``{paths}...``). A no-op on typer versions without them."""
    from typer import core

    param = getattr(core, "_TyperParameter", None)
    if param is None or not hasattr(param, "display_type") or getattr(param, "_origin_rules_names", False):
        return
    original = param.display_type

    def display_type(self, ctx):
        if getattr(self, "is_flag", False):
            return ""
        text = original(self, ctx)
        if not isinstance(text, str):
            return text
        label = text[1:-1] if text.startswith("<") and text.endswith(">") else text
        if label.startswith("list[") and label.endswith("]"):
            label = label[5:-1]
        return _TYPE_NAMES.get(label, label)

    def display_type_rich(self, ctx):
        if self.metavar is not None:
            return self.metavar
        text = display_type(self, ctx)
        return text or None

    param.display_type = display_type
    param.display_type_rich = display_type_rich
    option = getattr(core, "TyperOption", None)
    if option is not None and "display_type_rich" in vars(option):
        original_option = option.display_type_rich

        def option_type_rich(self, ctx):
            if self.metavar is not None:
                return self.metavar
            if getattr(self, "is_flag", False):
                return None
            text = display_type(self, ctx)
            if not text:
                return None
            return text + ("..." if self.nargs != 1 else "")

        option.display_type_rich = option_type_rich
        option._origin_rules_original = original_option
    argument = getattr(core, "TyperArgument", None)
    if argument is not None and "_usage_display_name" in vars(argument):

        def usage_name(self):
            name = (self.metavar or self.name or "").upper()
            name = name if self.required else f"[{name}]"
            return name + ("..." if self.nargs != 1 else "")

        def rich_name(self):
            return (self.metavar or self.name or "").upper() + ("..." if self.metavar is None and self.nargs != 1 else "")

        argument._usage_display_name = usage_name
        argument._rich_display_name = rich_name
    param._origin_rules_names = True


def read_rates_option(path: Path | None) -> tuple:
    """The rates of ``--rates FILE`` (empty without it); exit 2 naming the problem."""
    if path is None:
        return ()
    from ..files.rates import read_rates
    from ..model.bom import BomError

    try:
        return read_rates(path)
    except BomError as error:
        err(f"error: {error}")
        raise typer.Exit(EXIT_USAGE)
