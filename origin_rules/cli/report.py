"""`origin-rules report`: the impact report of a batch, as one self-contained HTML page.

In: the JSON Lines output of ``origin-rules batch``. Out: ``--html FILE``, a page that opens
offline (plotly.js inlined): verdicts per agreement and scenario, the products that lose
qualification under each scenario and why, the headroom to RVC thresholds, the origins and
HS headings of the materials behind the failures, the warnings about the input, and the
records that could not be read.
Exit codes: 0 written; 2 the results cannot be read or the page cannot be written.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import EXIT_OK, EXIT_USAGE, err, fail_usage


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="The JSON Lines or Parquet output of `origin-rules batch`.", show_default=False)],
    html: Annotated[Path, typer.Option("--html", help="Write the report here (one self-contained HTML file).", show_default=False)],
    title: Annotated[Optional[str], typer.Option("--title", help="Title of the page.")] = None,
) -> None:
    """Turn batch results into an HTML impact report for a compliance lead."""
    from ..report import ResultsError, write_report

    if not results.is_file():
        fail_usage(f"`{results}` does not exist or is not a file")
    if html.suffix.lower() not in (".html", ".htm"):
        fail_usage(f"`--html {html}`: give a file name ending in .html")
    if not (html.parent if str(html.parent) else Path(".")).is_dir():
        fail_usage(f"`--html {html}`: the folder `{html.parent}` does not exist")
    try:
        portfolio = write_report(results, html, title)
    except ResultsError as exc:
        err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    except OSError as exc:
        err(f"error: cannot write `{html}`: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE)
    from ..batch.summary import count

    err(f"wrote {html} ({count(portfolio.records, 'record')}, {count(len(portfolio.products), 'product')})")
    raise typer.Exit(EXIT_OK)
