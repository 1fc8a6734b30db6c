"""The command-line interface (the only module tree that imports typer and prints).

In: argv. Out: text or JSON on stdout, diagnostics on stderr, and an exit code:
0 success, 1 findings (check errors, failed tests, a disallowed diff), 2 bad usage or
unreadable input. Each command lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any

# Each module defines its command(s) with @app.command(); order is the order in --help.
COMMAND_MODULES = ("check", "fmt", "evaluate", "batch", "report", "certify", "diff", "schema", "test_cmd", "rulebook", "serve",
                   "audit", "lsp")
#: The command each module defines, where its name is not the module's.
_COMMAND_NAMES = {"test_cmd": "test"}


def register(modules: tuple[str, ...] = COMMAND_MODULES) -> None:
    """Import command modules, each registering its command(s) on the application."""
    for name in modules:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a command still being written must not break the others
            if exc.name != f"{__name__}.{name}":
                raise
    from .common import install_help_names

    install_help_names()


def __getattr__(name: str) -> Any:
    """``app``: the typer application with every command registered (``Group``, its class of
    command groups, as before ``root`` held them)."""
    if name == "app":
        register()
        from .root import app

        return app
    if name == "Group":
        from .root import Group

        return Group
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_modules(argv: list[str]) -> tuple[str, ...]:
    """The module of the command ``argv`` runs, or every module (``--help``, ``--version``,
    no command, a misspelt one: the group's help and suggestions name them all)."""
    by_name = {_COMMAND_NAMES.get(module, module): module for module in COMMAND_MODULES}
    first = argv[0] if argv else ""
    return (by_name[first],) if first in by_name else COMMAND_MODULES


#: The collector's thresholds for a command's process (:func:`tune_gc`): a young collection
#: after 50,000 new container objects instead of CPython's 700.
GC_THRESHOLDS = (50_000, 10, 10)


def tune_gc() -> None:
    """Collect garbage less often: reading a large BOM or parsing a large rule file creates
    millions of objects that all stay alive, and CPython's default thresholds re-scan them
    over and over (half the time of reading 50,000 materials from YAML went to the
    collector). Cycles are still collected, in fewer, larger passes. For the command's own
    process only (:func:`main`); the library never changes the collector of its caller."""
    gc.set_threshold(*GC_THRESHOLDS)


def main() -> None:
    """The console script: registers only the command it runs (importing and converting the
    others' options is a tenth of a warm ``evaluate``), and leaves pydantic's plugins
    unloaded unless asked for (finding them reads every installed package's metadata)."""
    tune_gc()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    register(_command_modules(sys.argv[1:]))
    from .root import app

    try:
        app()
    finally:
        # the command is done and the process ends: the interpreter's collections at exit
        # need not walk what the command built (a rulebook, a test run's cases: 15-70 ms)
        gc.freeze()
