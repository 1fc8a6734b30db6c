"""`origin-rules certify`: a certification of origin for a BOM that qualifies, or the reason not.

In: BOM files or folders, the rule files, the agreement (``--under``), the determination date,
the party profile (``--profile``, docs/certify.md), a blanket period (``--from``/``--until``,
default the profile's) or a single shipment (``--invoice``). Out: for one BOM, the
certification as JSON (``--format json``, default) or a printable HTML page
(``--format html``) on stdout or in ``--out FILE``; with ``--out-dir DIR``, one JSON and one
HTML file per product and period for every record that qualifies, and ``index.json`` /
``index.html`` listing them and every record not certified with the reason.
Exit codes: 0 certified (with ``--out-dir``: the index written); 1 refused (the reason on
stderr); 2 bad input.
"""

from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import (EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, err, load_rules, no_cache_option, parse_date, read_rates_option,
                     read_records)


class Format(str, Enum):
    json = "json"
    html = "html"


@app.command()
def certify(
    boms: Annotated[list[Path], typer.Argument(help="BOM files (YAML, JSON, JSON Lines, CSV) or folders of them.", show_default=False)],
    profile: Annotated[Path, typer.Option("--profile", "-p", help="The parties: certifier and its role, exporter, producer, importer (YAML, docs/certify.md).", show_default=False)],
    rules: Annotated[list[Path], typer.Option("--rules", "-r", help="Rule files or folders (repeatable).")] = [Path("rules")],
    under: Annotated[Optional[list[str]], typer.Option("--under", "-u", help="Agreement (or scenario) to certify under (repeatable with --out-dir). Default: the one agreement with a form here whose parties include the country of production.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Date of the determination, YYYY-MM-DD. Default: today.")] = None,
    start: Annotated[Optional[str], typer.Option("--from", help="First day of the blanket period, YYYY-MM-DD. Default: the profile's blanket_period.", show_default=False)] = None,
    end: Annotated[Optional[str], typer.Option("--until", help="Last day of the blanket period (at most 12 months for USMCA).", show_default=False)] = None,
    invoice: Annotated[Optional[str], typer.Option("--invoice", help="A single shipment: its invoice number (no blanket period).", show_default=False)] = None,
    signed: Annotated[Optional[str], typer.Option("--signed", help="Date the certification is made out. Default: the determination date.", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="json (the data, docs/certify.md) or html (the printable page).")] = Format.json,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the certification here instead of stdout.", show_default=False)] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out-dir", help="Certify every record: one JSON and one HTML file per product and period, and index.json / index.html.", show_default=False)] = None,
    rates: Annotated[Optional[Path], typer.Option("--rates", help="Exchange rates for materials priced in another currency (docs/bom.md, Currencies).", show_default=False)] = None,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    """Make out a certification of origin (USMCA Annex 5-A, or the EU-UK TCA statement on origin)
    for a good that qualifies; refuse, with the reason, one that does not."""
    from ..files.atomic import write_text_atomically
    from ..model.bom import BomError
    from ..model.currency import with_rates
    from ..paperwork.bulk import certify_all
    from ..paperwork.certify import Refused, Request, certify as make_out, form_of
    from ..paperwork.page import render_certification
    from ..paperwork.profile import read_profile
    from ..rulebook.book import UnknownAgreement

    on = parse_date(as_of)
    try:
        parties = read_profile(profile)
    except BomError as exc:
        err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    if invoice is not None and (start or end):
        err("error: --invoice certifies a single shipment: give it without --from/--until")
        raise typer.Exit(EXIT_USAGE)
    first, last = (parse_date(start, "--from") if start else None), (parse_date(end, "--until") if end else None)
    if (first is None) != (last is None):
        err("error: a blanket period needs both --from and --until")
        raise typer.Exit(EXIT_USAGE)
    if first is not None and last is not None and last < first:
        err(f"error: `--until {last.isoformat()}` is before `--from {first.isoformat()}`: the blanket period ends "
            "before it starts")
        raise typer.Exit(EXIT_USAGE)
    if first is None and invoice is None and parties.blanket_period is not None:
        first, last = parties.blanket_period.start, parties.blanket_period.end
    request = Request(on, first, last, invoice, parse_date(signed, "--signed") if signed else None)
    extra_rates = read_rates_option(rates)
    book = load_rules(rules, cache=not no_cache)
    for name in under or []:
        if name not in book.names:
            err(f"error: {UnknownAgreement(name, book.names)}")
            raise typer.Exit(EXIT_USAGE)

    def records():
        for record in read_records(boms):
            if not isinstance(record, Exception) and record.ok and extra_rates:
                record = replace(record, bom=with_rates(record.bom, extra_rates))
            yield record

    if out_dir is not None:
        try:
            index = certify_all(book, records(), parties, request, out_dir, list(under) if under else None)
        except OSError as exc:  # (the folder or the index: a record's own files are listed as not certified)
            err(f"error: cannot write into `--out-dir {out_dir}`: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USAGE)
        typer.echo(f"{len(index.certified)} certification{'s' if len(index.certified) != 1 else ''} written to "
                   f"{out_dir}, {len(index.refused)} not certified (the reasons are in {out_dir / 'index.html'})")
        raise typer.Exit(EXIT_OK)

    found = list(records())
    bad = [r for r in found if isinstance(r, Exception) or not r.ok]
    for r in bad:
        err(f"error: {r if isinstance(r, Exception) else r.error}")
    if bad:
        raise typer.Exit(EXIT_USAGE)
    if len(found) != 1:
        err(f"error: {len(found)} BOMs: certify one at a time, or give --out-dir for one file per product")
        raise typer.Exit(EXIT_USAGE)
    bom = found[0].bom
    if under and len(under) > 1:
        err("error: one --under at a time without --out-dir")
        raise typer.Exit(EXIT_USAGE)
    if under:
        name = under[0]
    else:
        names = [n for n in book.applicable(bom) if n in book.agreements and form_of(book, n) is not None]
        if len(names) != 1:
            err(f"error: give --under: {'no agreement with a certification form' if not names else ', '.join(names)}"
                f" for a good produced in {bom.product.produced_in or 'an unknown country'}")
            raise typer.Exit(EXIT_USAGE)
        name = names[0]
    try:
        doc = make_out(book, bom, name, parties, request)
    except Refused as exc:
        err(f"refused: {str(exc).replace('`', '')}")
        raise typer.Exit(EXIT_FINDINGS)
    text = doc.to_json() if format is Format.json else render_certification(doc)
    if out is None:
        typer.echo(text)
    else:
        try:
            write_text_atomically(out, text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            err(f"error: cannot write `{out}`: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_OK)
