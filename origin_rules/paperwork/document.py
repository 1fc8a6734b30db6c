"""The certification of origin as data: the pydantic models of ``origin-rules certify``'s JSON.

In: what :mod:`origin_rules.paperwork.certify` assembles. Out: frozen models that serialize to
deterministic JSON (:meth:`CertificationOfOrigin.to_json`) and the JSON Schema of that JSON
(:func:`certification_json_schema`, ``origin-rules schema certification``).

One document certifies one good (one product of a BOM) under one agreement, for a blanket
period or a single shipment. ``form`` says which text it follows: ``usmca-annex-5-a`` (the
minimum data elements of USMCA Annex 5-A) or ``eu-uk-tca-statement-on-origin`` (the text of
TCA Annex ORIG-4). ``basis`` records the determination the document rests on, with the
evidence of each material, so that the paper can be traced back to the verdict.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Basis", "CertificationOfOrigin", "Good", "PartyText", "Signature", "certification_json_schema"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class PartyText(BaseModel):
    """A party's details, or the statement Annex 5-A allows instead (``statement``)."""

    model_config = _FROZEN
    name: str | None = None
    title: str | None = None
    company: str | None = None
    address: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None
    reference: str | None = None
    statement: str | None = Field(None, description="e.g. \"Various\", \"Available upon request by the importing "
                                                     "authorities\", \"Unknown\"")


class Good(BaseModel):
    """Annex 5-A "Description and HS Tariff Classification of the Good" and "Origin Criterion"."""

    model_config = _FROZEN
    product_id: str
    description: str
    hs: str = Field(description="the good's HS code as the BOM gives it (at least six digits)")
    hs6: str = Field(pattern=r"^\d{4}\.\d{2}$", description="the HS tariff classification to the six-digit level")
    origin_criterion: str | None = Field(None, pattern=r"^[ABCD]$", description="A, B, C or D (USMCA Art. 4.2)")
    origin_criterion_meaning: str | None = None
    invoice: str | None = Field(None, description="for a single shipment: the invoice number, if known")
    preferential_origin: str | None = Field(None, description="TCA: the origin stated, `EU` or `UK`")


class Signature(BaseModel):
    """Annex 5-A "Authorized Signature and Date": who signs, and a place left for the signature."""

    model_config = _FROZEN
    name: str
    title: str | None = None
    date: date
    place: str | None = None
    signature: None = Field(None, description="left empty: the certifier signs the printed page")


class EvidenceLine(BaseModel):
    model_config = _FROZEN
    material_id: str
    path: str
    basis: Literal["certification", "lapsed", "declared", "indirect", "sub_assembly"]
    text: str


class Basis(BaseModel):
    """The determination the document rests on (not part of the form: for the file)."""

    model_config = _FROZEN
    agreement: str
    as_of: date
    verdict: Literal["qualifies"]
    how: str = Field(description="how the good qualified: wholly_obtained, product_specific_rule, "
                                 "all_materials_originating, or the fallback that held")
    rule: str | None = None
    rule_source: str | None = None
    checked_from: date = Field(description="the good qualifies on every day from this date ...")
    checked_until: date = Field(description="... to this one (the blanket period, or the determination date)")
    rules_digest: str
    evidence: list[EvidenceLine] = []
    warnings: list[str] = []


class CertificationOfOrigin(BaseModel):
    """One certification of origin (docs/certify.md)."""

    model_config = _FROZEN
    form: Literal["usmca-annex-5-a", "eu-uk-tca-statement-on-origin"]
    title: str
    agreement: str
    certifier_role: Literal["exporter", "producer", "importer"] | None = None
    certifier: PartyText | None = None
    exporter: PartyText | None = None
    producer: PartyText | None = None
    importer: PartyText | None = None
    goods: list[Good] = Field(min_length=1)
    blanket_period: dict[Literal["from", "until"], date] | None = None
    statement: str
    statement_source: str
    signature: Signature
    basis: Basis

    def to_json(self, indent: int | None = 2) -> str:
        """Deterministic JSON: every field, in declared order."""
        return json.dumps(self.model_dump(mode="json"), indent=indent, ensure_ascii=False,
                          separators=None if indent else (",", ":"))


def certification_json_schema() -> dict[str, Any]:
    """The JSON Schema of a certification's JSON; a USMCA one carries every Annex 5-A element."""
    schema = CertificationOfOrigin.model_json_schema(mode="serialization")
    usmca = {"properties": {"form": {"const": "usmca-annex-5-a"}}}
    schema["if"] = usmca
    party = {"type": "object", "required": ["name", "address", "country"],
             "properties": {k: {"type": "string"} for k in ("name", "address", "country")}}
    stated = {"type": "object", "required": ["statement"], "properties": {"statement": {"type": "string"}}}
    schema["then"] = {
        "required": ["certifier_role", "certifier", "producer", "goods", "statement", "signature"],
        "properties": {"certifier_role": {"type": "string"}, "certifier": party,
                       "producer": {"anyOf": [party, stated]},
                       "goods": {"items": {"required": ["origin_criterion", "origin_criterion_meaning"],
                                           "properties": {"origin_criterion": {"type": "string"},
                                                          "origin_criterion_meaning": {"type": "string"}}}}},
    }
    return schema
