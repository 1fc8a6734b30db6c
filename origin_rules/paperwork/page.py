"""A certification of origin as one printable HTML page (A4 or Letter, no network).

In: a :class:`~origin_rules.paperwork.document.CertificationOfOrigin`. Out: HTML5 text: the
form's elements in the order of USMCA Annex 5-A (or the TCA statement on origin), the
statement, a signature line left blank, and, set apart as not part of the form, the
determination it rests on with the evidence of each material.

The HTML is the Jinja2 template ``templates/certification.html`` with autoescaping on: every
value (party names, descriptions, rule sources) is escaped, never markup.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .. import __version__
from .document import CertificationOfOrigin, PartyText

__all__ = ["render_certification", "render_index"]

ROLES = {"exporter": "Exporter", "producer": "Producer", "importer": "Importer"}


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("origin_rules.paperwork", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["lines"] = _party_lines
    return env


def _party_lines(party: PartyText | None) -> list[str]:
    """A party as the lines printed for it."""
    if party is None:
        return []
    if party.statement:
        return [party.statement]
    lines = [", ".join(x for x in (party.name, party.title) if x)]
    lines += [x for x in (party.company, party.address, party.country) if x]
    contact = "; ".join(x for x in (party.phone, party.email) if x)
    if contact:
        lines.append(contact)
    if party.reference:
        lines.append(f"Reference No {party.reference}")
    return lines


def render_certification(doc: CertificationOfOrigin) -> str:
    """The printable page of one certification."""
    return _environment().get_template("certification.html").render(
        doc=doc, good=doc.goods[0], roles=ROLES, version=__version__)


def render_index(rows: list[dict], refused: list[dict], title: str) -> str:
    """The index page of a batch of certifications: one row per file, then the refusals."""
    return _environment().get_template("index.html").render(rows=rows, refused=refused, title=title,
                                                             version=__version__)
