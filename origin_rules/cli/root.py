"""The ``origin-rules`` typer application itself, which every command module registers on.

``origin_rules.cli.app`` is this application with every command registered;
:func:`origin_rules.cli.main` registers only the command it runs (see there).
"""

from __future__ import annotations

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
