"""The evidence of each material's originating status under one agreement on one date.

In: a validated :class:`~origin_rules.model.bom.BOM`, the chain of names of the agreement or
scenario it is evaluated under (the scenario first, its base agreement last) and the
determination date. Out: a :class:`Resolved`: the BOM with every material's ``originating``
resolved to true/false/null for that chain and date, what each material's status rests on
(:class:`Evidence`, shown in the explanation), and the warnings (``BOM108`` a certification
not valid on the date, ``BOM109`` a certification for another agreement).

The rule (docs/bom.md, Supplier certifications): a material that cites a certification for
the agreement (or the agreement a scenario builds on) is originating when one of them is
valid on the determination date (within its blanket period; a single-shipment certification
from its date of issue), and otherwise counts as non-originating, whatever its
``originating`` says, with a warning naming the certification. A certification for another
agreement changes nothing; it is named in a warning when the material does not originate.
Without a certification for the agreement, ``originating`` decides as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

from .bom import BOM, Certification, Material
from .plausibility import Finding, originating_under

__all__ = ["Evidence", "Resolved", "has_certifications", "resolve", "short"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one material's status rests on: ``basis`` is ``certification`` (a valid one),
    ``lapsed`` (certifications for the agreement, none valid on the date), ``declared``
    (the BOM's ``originating``), ``indirect`` or ``sub_assembly`` (its own determination)."""

    path: str
    id: str
    originating: bool | None
    basis: str
    text: str
    certification: Certification | None = None
    why: str = ""  # for ``lapsed``: which certifications do not count, and why


@dataclass(frozen=True, slots=True)
class Resolved:
    bom: BOM
    evidence: tuple[Evidence, ...]
    findings: tuple[Finding, ...]


def has_certifications(materials: Sequence[Material]) -> bool:
    """Whether any material, at any depth, cites a certification."""
    return any(m.certifications or (m.materials and has_certifications(m.materials)) for m in materials)


def _why_not(cert: Certification, on: date) -> str:
    """``expired on 2026-12-31, before the determination date 2027-01-01``."""
    if cert.status_on(on) == "expired":
        return f"expired on {cert.end.isoformat()}, before the determination date {on.isoformat()}"
    first = cert.issued if cert.shipment is not None else cert.start
    return f"is not valid before {first.isoformat()}, after the determination date {on.isoformat()}"


def short(cert: Certification) -> str:
    """``certification SUP-2026-17 (Acme Castings Inc., USMCA)``: how warnings name it."""
    return f"certification {cert.reference} ({cert.issuer}, {cert.agreement})"


def _one(material: Material, path: str, chain: Sequence[str], name: str, on: date,
         evidence: list[Evidence], findings: list[Finding]) -> Material:
    update: dict = {}
    slot = len(evidence)  # the material before its own materials
    if material.materials:
        update["materials"] = tuple(_one(m, f"{path}.materials[{i}]", chain, name, on, evidence, findings)
                                    for i, m in enumerate(material.materials))
    declared = originating_under(material, chain)
    relevant = [(i, c) for i, c in enumerate(material.certifications) if c.covers(chain)]
    valid = [(i, c) for i, c in relevant if c.status_on(on) == "valid"]
    status: bool | None = declared
    if material.kind == "indirect":
        evidence.insert(slot, Evidence(path, material.id, True, "indirect", "counts as originating: an indirect material"))
    elif material.materials:
        evidence.insert(slot, Evidence(path, material.id, None, "sub_assembly",
                                 "a sub-assembly: originating when its own determination qualifies"))
    elif valid:
        status = True
        cert = valid[0][1]
        evidence.insert(slot, Evidence(path, material.id, True, "certification",
                                 f"originating under {name} on the supplier's {cert.describe()}, "
                                 f"valid on {on.isoformat()}", cert))
    elif relevant:
        status = None
        for i, cert in relevant:
            findings.append(Finding(
                "BOM108", f"{short(cert)} {_why_not(cert, on)}: `{material.id}` counts as "
                f"non-originating under {name}" + (" although the BOM declares it originating" if declared else ""),
                f"{path}.certifications[{i}]", "warning"))
        why = "; ".join(f"{short(c)} {_why_not(c, on)}" for _, c in relevant)
        evidence.insert(slot, Evidence(path, material.id, None, "lapsed", f"non-originating under {name}: {why}",
                                       relevant[0][1], why))
    else:
        if declared is True:
            text = f"originating under {name} as the BOM declares (no certification cited)"
        elif declared is False:
            text = f"non-originating under {name} as the BOM declares"
        else:
            text = f"origin not declared under {name}: counted as non-originating"
        if declared is not True:
            for i, cert in enumerate(material.certifications):
                findings.append(Finding(
                    "BOM109", f"{short(cert)} certifies origin under {cert.agreement}, not under {name}: it does "
                    f"not make `{material.id}` originating under {name}", f"{path}.certifications[{i}]", "warning"))
        evidence.insert(slot, Evidence(path, material.id, declared, "declared", text))
    if status is not material.originating:
        update["originating"] = status
    return material.model_copy(update=update) if update else material


def resolve(bom: BOM, chain: Sequence[str], on: date) -> Resolved:
    """Each material's status under ``chain`` (``[scenario, ..., agreement]``) on ``on``,
    what it rests on, and the warnings about certifications that do not count."""
    name = chain[0] if chain else ""
    evidence: list[Evidence] = []
    findings: list[Finding] = []
    materials = tuple(_one(m, f"materials[{i}]", chain, name, on, evidence, findings)
                      for i, m in enumerate(bom.materials))
    resolved = bom.model_copy(update={"materials": materials})
    return Resolved(resolved, tuple(evidence), tuple(findings))
