"""`origin-rules fmt`: one canonical layout for rule files.

In: rule files or folders. Out, by mode: `--check` lists the files that would change (exit
1 if any); `--diff` prints a unified diff of the changes (exit 1 if any); `--write`
rewrites the files in place; with no mode, the formatted text of a single file is printed.
A file whose formatted text would not parse back to the same rules is refused, never
written, with the reason (exit 1). Unreadable or unparsable files are exit 2.
"""

from pathlib import Path
from typing import Annotated

import typer

from .root import app
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, err


@app.command()
def fmt(
    paths: Annotated[list[Path], typer.Argument(help="Rule files (.roo) or folders of them.", show_default=False)],
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if any file is not formatted; change nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print what would change as a unified diff; change nothing.")] = False,
    write: Annotated[bool, typer.Option("--write", "-w", help="Rewrite the files in place.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help=(
        "Parse every file again instead of skipping those whose bytes were found formatted before "
        "(the cache of formatted files, docs/performance.md); the cache is neither read nor written."))] = False,
) -> None:
    """Format rule files in the one canonical layout (comments kept)."""
    from ..files.atomic import write_text_atomically
    from ..files.text import universal_text
    from ..formatting.printer import check_format, unified_diff
    from ..model.render import render_text
    from ..rulebook.sources import discover
    from ..syntax.parser import parse

    if sum((check, diff, write)) > 1:
        err("error: choose one of --check, --diff and --write")
        raise typer.Exit(EXIT_USAGE)
    files, problems = discover(list(paths))
    if problems:
        for p in problems:
            err(f"error: {p.message}")
        raise typer.Exit(EXIT_USAGE)
    if not files:
        err("error: no .roo files found")
        raise typer.Exit(EXIT_USAGE)
    if not (check or diff or write) and len(files) > 1:
        err("error: without --check, --diff or --write, give one file (its formatted text is printed)")
        raise typer.Exit(EXIT_USAGE)

    known = None  # the files found formatted before (formatting.known): skipped without a parse
    if (check or diff or write) and not no_cache:
        from ..formatting.known import Known
        from ..rulebook.cache import cache_dir, code_digest

        known = Known(cache_dir(), code_digest())
    unparsable = False
    skipped = 0  # unreadable, unparsable or refused: neither formatted nor not
    refused = False
    changed: list[str] = []
    for file in files:
        try:
            data = Path(file).read_bytes()
            key = known.key(str(file), data) if known is not None else None
            if key is not None and key in known:
                continue  # these very bytes were found formatted by this formatter
            text = universal_text(data)  # (as read_text gives it)
        except (OSError, UnicodeDecodeError) as exc:
            err(f"error: cannot read `{file}`: {exc}")
            unparsable = True
            skipped += 1
            continue
        parsed = module, diags = parse(text, file)
        if module is None or any(d.is_error for d in diags):
            err(render_text([d for d in diags if d.is_error], {file: text}))
            err(f"{file}: not formatted: the file has syntax errors")
            unparsable = True
            skipped += 1
            continue
        result = check_format(text, file, parsed)
        if result.error:
            err(f"{file}: refusing to format: {result.error}")
            refused = True
            skipped += 1
            continue
        if not (check or diff or write):
            typer.echo(result.formatted, nl=False)
            continue
        if not result.changed:
            if key is not None:
                known.add(key)
            continue
        changed.append(file)
        if diff:
            typer.echo(unified_diff(text, result.formatted, file), nl=False)
        elif write:
            write_text_atomically(file, result.formatted)
            typer.echo(f"formatted {file}")
        else:
            typer.echo(f"would reformat {file}")

    if known is not None:
        known.save()
    if check or diff:
        n = len(changed)
        line = f"{_files(n)} would be reformatted, {len(files) - n - skipped} already formatted"
        if skipped:
            line += f", {_files(skipped)} could not be formatted"
        err(line)
    if unparsable:
        raise typer.Exit(EXIT_USAGE)
    if refused or ((check or diff) and changed):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"
