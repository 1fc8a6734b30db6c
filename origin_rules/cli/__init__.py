"""The command-line interface (the only module tree that imports typer and prints).

In: argv. Out: text or JSON on stdout, diagnostics on stderr, and an exit code:
0 success, 1 findings (check errors, failed tests, a disallowed diff), 2 bad usage or
unreadable input. Each command lives in its own module and registers itself on ``app``.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="origin-rules",
    help="Rules of origin as code: check, format and test rule files; evaluate bills of materials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
COMMAND_MODULES = ("check", "fmt", "evaluate", "batch", "report", "diff", "schema", "test_cmd", "rulebook", "serve", "audit")

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a command still being written must not break the others
        if exc.name != f"{__name__}.{_name}":
            raise


from .common import install_help_names  # noqa: E402

install_help_names()


def main() -> None:
    app()
