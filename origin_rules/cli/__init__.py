"""The command-line interface (the only module tree that imports typer and prints).

In: argv. Out: text or JSON on stdout, diagnostics on stderr, and an exit code:
0 success, 1 findings (check errors, failed tests, a disallowed diff), 2 bad usage or
unreadable input. Each command lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

import gc
import importlib

import typer
from typer.core import TyperGroup


class Group(TyperGroup):
    """Lists each command with the whole first paragraph of its help, wrapped (click would
    cut it at the first full stop or at one line: "Evaluate many BOMs (e.g.")."""

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            text = command.short_help or (command.help or "").split("\n\n")[0]
            rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="origin-rules",
    cls=Group,
    help="Rules of origin as code: check, format and test rule files; evaluate bills of materials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help and usage errors: rich's help renderer alone costs more than 150 ms at start
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"origin-rules {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    pass


# Each module defines its command(s) with @app.command(); order is the order in --help.
COMMAND_MODULES = ("check", "fmt", "evaluate", "batch", "report", "certify", "diff", "schema", "test_cmd", "rulebook", "serve",
                   "audit", "lsp")

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a command still being written must not break the others
        if exc.name != f"{__name__}.{_name}":
            raise


from .common import install_help_names  # noqa: E402

install_help_names()


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
    tune_gc()
    app()
