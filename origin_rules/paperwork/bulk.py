"""Certifications for every qualifying record of a batch: one file per product and period, and an index.

In: BOM records (:class:`~origin_rules.files.boms.BomRecord`, or the errors of files that could
not be read), the rulebook, the agreements to certify under (default: every agreement with a
form here whose parties include the country of production; never a scenario, which is
hypothetical), the profile and the :class:`~origin_rules.paperwork.certify.Request` (the same
blanket period or shipment for every record), and an output folder.
Out: in the folder, for each certification ``PRODUCT_AGREEMENT_FROM_UNTIL.json`` and
``.html`` (``..._shipment_DATE`` for a single shipment), and ``index.json`` / ``index.html``
listing every file and every record not certified with the reason (does not qualify, no
form, a second record of a product already certified for the period, unreadable, a file
that cannot be written). Files are written atomically. Returns the :class:`Index`; an
``OSError`` only when the folder or the index cannot be written.

File names are safe whatever the BOM says (:func:`file_stem`): letters, digits, ``.`` and
``-``; a product id that is not such a name, and any part longer than :data:`PART`
characters, is cut and given a digest of the whole (``~`` and 16 hex digits), so that two
products never share a file and a name stays within the file system's 255 bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..files.atomic import write_text_atomically
from ..files.boms import BomRecord
from ..model.bom import BomError
from ..rulebook.book import Rulebook
from .certify import FORMS, Refused, Request, certify, form_of
from .page import render_certification, render_index
from .profile import Profile

__all__ = ["Index", "certify_all", "file_stem"]


@dataclass
class Index:
    """What was written, and what was not with why."""

    certified: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"certified": self.certified, "refused": self.refused}, indent=2, ensure_ascii=False)


#: The characters of a part of a file name (product, agreement, invoice) kept before its
#: digest: three such parts, the dates and the suffix stay far within 255 bytes.
PART = 48


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.") or "x"


def _part(text: str, exact: bool = False) -> str:
    """``text`` as part of a file name: its slug, cut to :data:`PART` characters and given a
    digest of ``text`` when longer, or (``exact``) when the slug is not ``text`` itself."""
    slug = _slug(text)
    if len(slug) <= PART and (slug == text or not exact):
        return slug
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{slug[:PART]}~{digest}"


def file_stem(product_id: str, agreement: str, request: Request) -> str:
    """``BRK-200_USMCA_2026-01-01_2026-12-31``: one name per product, agreement and period
    (the module's doc: a digest where the product id is no safe name or a part is long)."""
    span = f"{request.start.isoformat()}_{request.end.isoformat()}" if request.blanket \
        else f"shipment_{(request.invoice and _part(request.invoice) + '_') or ''}{request.on.isoformat()}"
    return f"{_part(product_id, exact=True)}_{_part(agreement)}_{span}"


def _write(out: Path, stem: str, doc) -> None:
    """The JSON and the HTML of a certification, both or neither: an OSError names the file
    that could not be written (not the temporary one)."""
    first = out / f"{stem}.json"
    for target, text in ((first, doc.to_json() + "\n"), (out / f"{stem}.html", render_certification(doc))):
        try:
            write_text_atomically(target, text)
        except OSError as exc:
            if target != first:
                first.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror or str(exc), target.name) from None


def _names(book: Rulebook, record: BomRecord, under: list[str] | None) -> list[str]:
    if under:
        return list(under)
    return [n for n in book.applicable(record.bom) if n in book.agreements and form_of(book, n) is not None]


def certify_all(book: Rulebook, records: Iterable[BomRecord | BomError], profile: Profile, request: Request,
                out: Path, under: list[str] | None = None) -> Index:
    """Certify every record that qualifies; write the files and the index into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    index = Index()
    written: dict[str, str] = {}
    for record in records:
        if isinstance(record, BomError):
            index.refused.append({"source": str(record).split(":")[0], "product_id": None, "agreement": None,
                                  "reason": f"unreadable: {record}"})
            continue
        where = f"{record.source}:{record.line}" if record.line else f"{record.source}#{record.position}"
        if not record.ok:
            index.refused.append({"source": where, "product_id": record.product_id, "agreement": None,
                                  "reason": f"invalid BOM: {record.error}"})
            continue
        names = _names(book, record, under)
        if not names:
            index.refused.append({"source": where, "product_id": record.product_id, "agreement": None,
                                  "reason": "no agreement with a certification form ("
                                            + ", ".join(FORMS) + ") has the country of production as a party"})
        for name in names:
            stem = file_stem(record.bom.product.id, name, request)
            if stem in written:
                index.refused.append({"source": where, "product_id": record.product_id, "agreement": name,
                                      "reason": f"product `{record.bom.product.id}` is already certified under {name} "
                                                f"for this period, from {written[stem]}"})
                continue
            try:
                doc = certify(book, record.bom, name, profile, request)
            except Refused as exc:
                index.refused.append({"source": where, "product_id": record.product_id, "agreement": name,
                                      "reason": str(exc).replace("`", "")})
                continue
            try:
                _write(out, stem, doc)
            except OSError as exc:  # (a folder in the way, a full disk: this record's files only)
                index.refused.append({"source": where, "product_id": record.product_id, "agreement": name,
                                      "reason": f"cannot write {exc.filename}: {exc.strerror}"})
                continue
            written[stem] = where
            index.certified.append({
                "source": where, "product_id": record.bom.product.id, "agreement": name,
                "period": f"{request.start.isoformat()} to {request.end.isoformat()}" if request.blanket
                else f"single shipment{' ' + request.invoice if request.invoice else ''}",
                "criterion": doc.goods[0].origin_criterion, "json": f"{stem}.json", "html": f"{stem}.html"})
    write_text_atomically(out / "index.json", index.to_json() + "\n")
    write_text_atomically(out / "index.html", render_index(index.certified, index.refused, "Certifications of origin"))
    return index
