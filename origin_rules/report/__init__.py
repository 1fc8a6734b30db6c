"""The impact report: batch results in, one self-contained HTML page out.

In: the JSON Lines output of ``origin-rules batch``. Out: an HTML file a compliance lead
can open offline: verdicts per agreement and scenario, the products that lose
qualification under each scenario and why, the headroom to RVC thresholds, the origins
and HS headings behind the failures, and the records that could not be read.

Stages: ``aggregate`` (one streaming pass over the results) -> ``charts`` (plotly
figures) -> ``page`` (the HTML, from the Jinja2 template ``templates/page.html``, which
escapes every value it is given).

    from origin_rules.report import write_report
    write_report("results.jsonl", "report.html")
"""

from __future__ import annotations

from pathlib import Path

from .aggregate import Portfolio, ResultsError, read_results
from ..files.atomic import write_atomically
from .page import render_page

__all__ = ["Portfolio", "ResultsError", "read_results", "render_page", "write_report"]


def write_report(results: str | Path, html_path: str | Path, title: str | None = None) -> Portfolio:
    """Aggregate ``results`` and write the page to ``html_path`` (atomically)."""
    portfolio = read_results(results)
    page = render_page(portfolio, title)
    write_atomically(str(html_path), lambda handle: handle.write(page))
    return portfolio
