"""`origin-rules evaluate`: determinations for BOMs, for an analyst or a machine.

In: BOM files or folders, the rule files, agreements/scenarios (default: every one whose
parties include the country of production), a date. Out: for one BOM under one agreement,
the determination (text: verdict first, then why, figures, headroom, materials to look at);
for more, a table of verdicts with the reason for each product that loses qualification
under a scenario. ``--format json``: one determination object, or a list.
Warnings about a BOM (``docs/errors.md``, BOM input) are shown with its determination.
Exit codes: 0 ran (whatever the verdicts) unless ``--fail-on`` matches (1); 2 bad input,
or any warning with ``--strict``.
"""

import json
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import (EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, err, load_rules, no_cache_option, parse_date, read_rates_option,
                     read_records)


class Format(str, Enum):
    text = "text"
    json = "json"


class Explain(str, Enum):
    summary = "summary"
    full = "full"


class Verdict(str, Enum):
    qualifies = "qualifies"
    does_not_qualify = "does_not_qualify"
    insufficient_data = "insufficient_data"
    no_rule = "no_rule"


@app.command()
def evaluate(
    boms: Annotated[list[Path], typer.Argument(help="BOM files (YAML, JSON, JSON Lines, CSV) or folders of them.", show_default=False)],
    rules: Annotated[list[Path], typer.Option("--rules", "-r", help="Rule files or folders (repeatable).")] = [Path("rules")],
    under: Annotated[Optional[list[str]], typer.Option("--under", "-u", help="Agreement or scenario to evaluate under (repeatable). Default: every one whose parties include the country of production.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Date of the determination, YYYY-MM-DD. Default: today.")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines.")] = Format.text,
    explain: Annotated[Explain, typer.Option("--explain", help="summary: the decisive steps; full: every step and sub-assembly.")] = Explain.summary,
    fail_on: Annotated[Optional[list[Verdict]], typer.Option("--fail-on", help="Exit 1 when any determination has this verdict (repeatable).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 when any determination carries a warning about its BOM (docs/errors.md, BOM input).")] = False,
    record_them: Annotated[bool, typer.Option("--record", help="Append the determinations to the audit store ($ORIGIN_RULES_DB, else the user's data directory; docs/service.md).")] = False,
    rates: Annotated[Optional[Path], typer.Option("--rates", help="Exchange rates (YAML or JSON, docs/bom.md, Currencies) for materials priced in another currency than the product; a rate the BOM declares itself wins.", show_default=False)] = None,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    """Evaluate bills of materials: does each product qualify, and why."""
    from ..model.currency import with_rates
    from ..rulebook.explain import render
    from ..rulebook.book import UnknownAgreement

    on = parse_date(as_of)
    extra_rates = read_rates_option(rates)
    book = load_rules(rules, cache=not no_cache)
    if under:
        for name in under:
            if name not in book.names:
                err(f"error: {UnknownAgreement(name, book.names)}")
                raise typer.Exit(EXIT_USAGE)
    full = explain is Explain.full
    results = []  # (product_id, [determinations])
    bad_input = False
    for record in read_records(boms):
        if isinstance(record, Exception):
            err(f"error: {record}")
            bad_input = True
            continue
        if not record.ok:
            err(f"error: {record.error}")
            bad_input = True
            continue
        if extra_rates:  # the BOM as evaluated (and as recorded with --record: its replay needs the rates)
            record = replace(record, bom=with_rates(record.bom, extra_rates))
        names = list(under) if under else book.applicable(record.bom)
        dets = [book.evaluate(record.bom, under=n, as_of=on, explain=explain.value) for n in names]
        results.append((record, dets))

    all_dets = [d for _, dets in results for d in dets]
    if record_them and results:
        from .audit import record_evaluations

        record_evaluations(results, book, explain.value)
    if format is Format.json:
        from pydantic_core import PydanticSerializationError

        try:
            if len(all_dets) == 1:
                typer.echo(all_dets[0].to_json())
            else:
                typer.echo(json.dumps([json.loads(d.to_json(indent=None)) for d in all_dets], indent=2))
        except (PydanticSerializationError, RecursionError) as exc:
            err(f"error: the determinations cannot be written as JSON ({exc}): the BOM nests too deeply for "
                "`--explain full`; use `--explain summary`")
            raise typer.Exit(EXIT_USAGE)
    elif len(all_dets) == 1:
        typer.echo(render(all_dets[0], full=full))
    elif results:
        typer.echo(_table(results, book))
        warned = _warnings(results)
        if warned:
            typer.echo("\nWarnings (check these BOMs before relying on their verdicts):\n" + warned)
        if full:
            for d in all_dets:
                typer.echo("\n" + render(d, full=True))
    if not results and not bad_input:
        err(f"error: no BOM file (.yaml, .yml, .json, .jsonl, .ndjson, .csv) found in {', '.join(f'`{b}`' for b in boms)}")
        raise typer.Exit(EXIT_USAGE)
    if bad_input:
        raise typer.Exit(EXIT_USAGE)
    if strict and any(d.warnings for d in all_dets):
        count = len({(d.product_id, w.code, w.path) for d in all_dets for w in d.warnings})
        err(f"error: --strict: {count} warning{'s' if count != 1 else ''} about the input")
        raise typer.Exit(EXIT_USAGE)
    wanted = {v.value for v in fail_on or []}
    if wanted and any(d.verdict in wanted for d in all_dets):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _warnings(results) -> str:
    """Each product's warnings once (a warning that holds under every agreement is not
    repeated per agreement), naming the agreements when it holds under some only."""
    from ..rulebook.explain import warning_line

    lines: list[str] = []
    for record, dets in results:
        seen: dict[tuple[str, str, str], list[str]] = {}
        for d in dets:
            for w in d.warnings:
                seen.setdefault((w.code, w.path, w.message), []).append(d.agreement)
        if not seen:
            continue
        lines.append(f"  {record.bom.product.id}:")
        for (code, path, message), names in seen.items():
            from ..model.determination import InputWarning

            text = warning_line(InputWarning(code=code, message=message, path=path))
            if len(names) < len(dets):
                text += f" (under {', '.join(names)})"
            lines.append("  " + text)
    return "\n".join(lines)


SHORT = {"qualifies": "qualifies", "does_not_qualify": "FAILS", "insufficient_data": "missing data", "no_rule": "no rule"}


def _table(results, book) -> str:
    """Products down, agreements and scenarios across; then why each product loses."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    from ..rulebook.explain import one_line_reason

    columns: list[str] = []
    for _, dets in results:
        for d in dets:
            if d.agreement not in columns:
                columns.append(d.agreement)
    columns.sort(key=lambda n: (book.parsed.programs[n].chain[-1], len(book.parsed.programs[n].chain), n))
    table = Table(show_lines=False, header_style="bold")
    table.add_column("product")
    table.add_column("hs")
    for name in columns:
        table.add_column(name, overflow="fold")
    losses: list[str] = []
    for record, dets in results:
        by = {d.agreement: d for d in dets}
        row = [record.bom.product.id, record.bom.product.hs or ""]
        for name in columns:
            d = by.get(name)
            row.append(SHORT[d.verdict] if d else "—")
        table.add_row(*row)
        for d in dets:
            program = book.parsed.programs[d.agreement]
            if not program.is_scenario:
                continue
            base = by.get(program.chain[-1])
            if base is not None and base.verdict == "qualifies" and d.verdict != "qualifies":
                losses.append(f"  {record.bom.product.id} under {d.agreement}: {one_line_reason(d)}")
    buf = StringIO()
    Console(file=buf, width=160, force_terminal=False, color_system=None).print(table)
    out = buf.getvalue().rstrip()
    if losses:
        out += "\n\nLoses qualification under a scenario:\n" + "\n".join(losses)
    return out
