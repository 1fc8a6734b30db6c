"""``origin-rules certify``: a certification of origin for a good that qualifies, or the reason not.

In: a :class:`~origin_rules.rulebook.book.Rulebook`, a BOM, the agreement (or scenario) and
the determination date, the party :class:`~origin_rules.paperwork.profile.Profile`, and what
the certification covers (a blanket period, or a single shipment with its invoice number).
Out: a :class:`~origin_rules.paperwork.document.CertificationOfOrigin`, or :class:`Refused`
with the reason, which names the verdict and why.

The forms (docs/certify.md, with their sources):

- USMCA (and its scenarios): the minimum data elements of USMCA Annex 5-A, the origin
  criterion derived by :mod:`origin_rules.paperwork.criteria`, and the Annex's statement.
- EU-UK TCA: the statement on origin of TCA Annex ORIG-4, with the exporter's reference
  number, the period (for multiple shipments), place and date, and the exporter's name.

Refused: a good that does not qualify as of the date, or (for a blanket period) on any
day of the period; a good whose criterion cannot be derived; an agreement with no form here;
a profile or BOM lacking what the form needs (a description, an HS code of six digits, the
producer, the exporter). The document never states what the determination does not show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..model.bom import BOM
from ..rulebook.book import Rulebook
from ..rulebook.explain import one_line_reason
from .criteria import NotDerived, usmca_criterion
from .document import Basis, CertificationOfOrigin, EvidenceLine, Good, PartyText, Signature
from .profile import STATEMENTS, Party, Profile

__all__ = ["FORMS", "Refused", "Request", "USMCA_STATEMENT", "TCA_STATEMENT", "certify", "form_of"]

#: USMCA Annex 5-A, element "Authorized Signature and Date": the statement that must
#: accompany the certifier's signature and date (docs/certify.md, Sources).
USMCA_STATEMENT = (
    "I certify that: The goods described in this document qualify as originating and the information "
    "contained in this document is true and accurate. I assume responsibility for proving such "
    "representations and agree to maintain and present upon request or to make available during a "
    "verification visit, documentation necessary to support this certification."
)
USMCA_SOURCE = "USMCA Annex 5-A (Minimum Data Elements), 9. Authorized Signature and Date"

#: TCA Annex ORIG-4 "Text of the statement on origin", English version, its blanks filled
#: in (``{period}``, ``{reference}``, ``{origin}``); the footnotes are not reproduced.
TCA_STATEMENT = (
    "{period}The exporter of the products covered by this document (Exporter Reference No {reference}) "
    "declares that, except where otherwise clearly indicated, these products are of {origin} preferential origin."
)
TCA_SOURCE = "EU-UK TCA Annex ORIG-4 (Text of the statement on origin), English version"

#: The agreement (the last name of a scenario's chain) -> the form this module fills in.
FORMS = {"USMCA": "usmca-annex-5-a", "EU-UK TCA": "eu-uk-tca-statement-on-origin"}


class Refused(Exception):
    """No certification: the reason (what the verdict is and why, or what is lacking)."""


@dataclass(frozen=True, slots=True)
class Request:
    """What one certification covers: a blanket period (``start``-``end``), or a single
    shipment (``invoice``, if known); ``signed`` is the date it is made out (default: the
    determination date)."""

    on: date
    start: date | None = None
    end: date | None = None
    invoice: str | None = None
    signed: date | None = None

    @property
    def blanket(self) -> bool:
        return self.start is not None


def form_of(book: Rulebook, under: str) -> str | None:
    """The form for an agreement or scenario (``None``: no form here)."""
    program = book.parsed.programs.get(under)
    base = program.chain[-1] if program is not None else under
    return FORMS.get(base)


def _months_later(day: date, months: int) -> date | None:
    """The same day ``months`` later (the month's last day when it has fewer days); None
    when that is beyond the calendar (after 9999-12-31)."""
    year, month = divmod(day.month - 1 + months, 12)
    if day.year + year > date.max.year:
        return None
    target = date(day.year + year, month + 1, 1)
    last = ((target.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
    return target.replace(day=min(day.day, last))


def _role(profile: Profile, role: str) -> PartyText | None:
    """A party of the form: ``Same as certifier`` when the certifier holds the role (Annex 5-A
    asks for the exporter's and producer's details "if different from the certifier")."""
    if role == profile.certifier_role or getattr(profile, role) == "same as certifier":
        return PartyText(statement=STATEMENTS["same as certifier"])
    return _party(getattr(profile, role))


def _party(value: Party | str | None) -> PartyText | None:
    if value is None:
        return None
    if isinstance(value, str):
        return PartyText(statement=STATEMENTS[value])
    return PartyText(**value.model_dump())


def _check_days(book: Rulebook, bom: BOM, under: str, first: date, last: date) -> None:
    """Refuse unless the good qualifies on every day from ``first`` to ``last``."""
    day = first
    while day <= last:
        verdict = book.verdict(bom, under, day)
        if verdict != "qualifies":
            det = book.evaluate(bom, under=under, as_of=day)
            raise Refused(f"`{bom.product.id}` does not qualify under {under} on {day.isoformat()}, a day of the "
                          f"blanket period {first.isoformat()} to {last.isoformat()}: {verdict.replace('_', ' ')}"
                          + (f" ({one_line_reason(det)})" if one_line_reason(det) else ""))
        if day == last:  # (not one day past it: the last may be 9999-12-31, the calendar's last)
            break
        day += timedelta(days=1)


def certify(book: Rulebook, bom: BOM, under: str, profile: Profile, request: Request) -> CertificationOfOrigin:
    """The certification of origin of ``bom``'s product under ``under``, or :class:`Refused`."""
    product = bom.product
    form = form_of(book, under)
    if form is None:
        raise Refused(f"no certification form for {under} here: `origin-rules certify` fills in USMCA Annex 5-A "
                      "and the EU-UK TCA statement on origin (docs/certify.md)")
    det = book.evaluate(bom, under=under, as_of=request.on)
    if det.verdict != "qualifies":
        reason = one_line_reason(det)
        raise Refused(f"`{product.id}` does not qualify under {under} as of {request.on.isoformat()}: "
                      f"{det.verdict.replace('_', ' ')}" + (f" ({reason})" if reason else ""))
    if request.blanket and request.invoice is not None:
        raise Refused("a certification covers a blanket period or a single shipment (its invoice), not both")
    if request.blanket:
        if request.end < request.start:
            raise Refused("the blanket period ends before it starts")
        later = _months_later(request.start, 12)  # (None: beyond the calendar, so any end is within 12 months)
        if form == "usmca-annex-5-a" and later is not None and request.end >= later:
            raise Refused(f"the blanket period {request.start.isoformat()} to {request.end.isoformat()} is longer than "
                          "12 months (USMCA Annex 5-A, Blanket Period: \"a specified period of up to 12 months\")")
        _check_days(book, bom, under, request.start, request.end)
    if not product.description:
        raise Refused(f"`{product.id}` has no `product.description`: the certification describes the good")
    if not product.hs or len(product.hs.replace(".", "")) < 6:
        raise Refused(f"`{product.id}` has no HS code of six digits or more: the certification classifies the good "
                      "to the six-digit level")
    criterion = None
    outcome = book.outcome(bom, under, request.on)
    if form == "usmca-annex-5-a":
        try:
            criterion = usmca_criterion(outcome)
        except NotDerived as exc:
            raise Refused(f"`{product.id}` qualifies under {under}, but {exc}") from None
    papers = book.evidence(bom, under, request.on)
    evidence = [EvidenceLine(material_id=e.id, path=e.path, basis=e.basis, text=e.text)
                for e in (papers.resolved.evidence if papers.resolved is not None else ())]
    basis = Basis(
        agreement=under, as_of=request.on, verdict="qualifies",
        how=criterion.how if criterion is not None else (outcome.criterion or "qualifies"),
        rule=det.rule.selector if det.rule else None, rule_source=det.rule.source if det.rule else None,
        checked_from=request.start or request.on, checked_until=request.end or request.on,
        rules_digest=det.rules_digest, evidence=evidence,
        warnings=[f"{w.code} {w.path}: {w.message}" for w in det.warnings],
    )
    parties = book.parties(under)
    for role in ("exporter", "producer", "importer"):
        party = profile.party(role)
        if isinstance(party, Party) and party.country not in parties:
            # Annex 5-A: the exporter's address is the place of export, the producer's the
            # place of production, the importer's in a Party's territory
            raise Refused(f"the {role} in the profile, {party.name}, is in {party.country}, which is not a party to "
                          f"{under}: its address must be in a Party's territory")
    signed = request.signed or request.on
    hs6 = product.hs[:7]
    period = {"from": request.start, "until": request.end} if request.blanket else None
    if form == "usmca-annex-5-a":
        producer = profile.party("producer")
        if producer is None:
            raise Refused("the profile names no `producer` (USMCA Annex 5-A asks for the producer unless the certifier "
                          "is the producer: a party, `same as certifier`, `various` or `available upon request`)")
        return CertificationOfOrigin(
            form=form, title="USMCA certification of origin", agreement=under,
            certifier_role=profile.certifier_role, certifier=_party(profile.certifier),
            exporter=_role(profile, "exporter"), producer=_role(profile, "producer"),
            importer=_role(profile, "importer"),
            goods=[Good(product_id=product.id, description=product.description, hs=product.hs, hs6=hs6,
                        origin_criterion=criterion.letter, origin_criterion_meaning=criterion.meaning,
                        invoice=request.invoice)],
            blanket_period=period, statement=USMCA_STATEMENT, statement_source=USMCA_SOURCE,
            signature=Signature(name=profile.certifier.name, title=profile.certifier.title, date=signed,
                                place=profile.place),
            basis=basis,
        )
    exporter = profile.party("exporter")
    if not isinstance(exporter, Party):
        raise Refused("the profile names no exporter: the TCA statement on origin is made out by the exporter")
    origin = "UK" if product.produced_in == "GB" else "EU"
    lead = f"(Period: from {request.start.isoformat()} to {request.end.isoformat()}) " if request.blanket else ""
    statement = TCA_STATEMENT.format(period=lead, reference=exporter.reference or "...", origin=origin)
    return CertificationOfOrigin(
        form=form, title="Statement on origin (EU-UK Trade and Cooperation Agreement)", agreement=under,
        exporter=_party(exporter),
        goods=[Good(product_id=product.id, description=product.description, hs=product.hs, hs6=hs6,
                    invoice=request.invoice, preferential_origin=origin)],
        blanket_period=period, statement=statement, statement_source=TCA_SOURCE,
        # "(Name of the exporter)": the company when the profile names one, signed by the person
        signature=Signature(name=exporter.company or exporter.name,
                            title=", ".join(x for x in (exporter.name, exporter.title) if x) if exporter.company
                            else exporter.title, date=signed, place=profile.place),
        basis=basis,
    )
