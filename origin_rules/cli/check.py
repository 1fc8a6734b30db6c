"""`origin-rules check PATH...`: parse and check rule files, report every problem.

In: files or folders (folders are searched for ``*.roo``), an output format, a cap on the
errors shown, and ``--strict``. Out on stdout: the diagnostics (text with source lines and
carets followed by a summary line, or JSON, GitHub annotations, SARIF). Exit code: 0 clean
(warnings allowed unless ``--strict``), 1 problems found, 2 bad usage or a path that does not
exist or cannot be read (ROO000).
"""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .root import app
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, fail_usage, no_cache_option


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


def _shown(diags: list, max_errors: int) -> list:
    """The diagnostics to print: everything up to and including the ``max_errors``-th error."""
    if max_errors <= 0:
        return diags
    out, errors = [], 0
    for d in diags:
        if d.is_error:
            if errors == max_errors:
                break
            errors += 1
        out.append(d)
    return out


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="Rule files or folders (searched for *.roo).", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people; json, github or sarif for machines.")] = Format.text,
    max_errors: Annotated[int, typer.Option("--max-errors", min=0, help="Show at most N errors (0: all); the summary counts all.")] = 100,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the check too.")] = False,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    """Check rule files: names, sets, HS codes, countries, dates and competing rules."""
    from ..model.render import render_github, render_json_report, render_sarif, render_text, summary_line
    from ..rulebook.cache import parse_cached
    from ..rulebook.sources import parse_paths

    parsed = parse_paths(paths) if no_cache else parse_cached(paths)
    diags = parsed.diagnostics
    files = len(parsed.sources)
    unreadable = any(d.code == "ROO000" for d in diags)
    if not files and not unreadable:
        fail_usage(f"no rule files (*.roo) in {', '.join(str(p) for p in paths)}")
    shown = _shown(diags, max_errors)

    if format is Format.text:
        if shown:
            typer.echo(render_text(shown, parsed.sources))
            typer.echo()
        summary = summary_line(diags, files)
        if len(shown) < len(diags):
            summary += f" (the first {max_errors} errors shown: use --max-errors 0 to see all)"
        typer.echo(summary)
    elif format is Format.json:
        typer.echo(render_json_report(diags, files, shown))
    elif format is Format.github:
        if shown:
            typer.echo(render_github(shown))
    else:
        from .. import __version__

        typer.echo(render_sarif(shown, __version__))

    if unreadable:
        raise typer.Exit(EXIT_USAGE)
    failing = any(d.is_error for d in diags) or (strict and bool(diags))
    raise typer.Exit(EXIT_FINDINGS if failing else EXIT_OK)
