"""The party profile of ``origin-rules certify``: who certifies, exports, produces and imports.

In: a YAML file (docs/certify.md, The profile). Out: a frozen :class:`Profile`, or a
:class:`~origin_rules.model.bom.BomError` naming the file, the line when known, the field
path and what was expected (as for BOMs).

A party is a mapping (``name``, ``title``, ``company``, ``address``, ``country``, ``phone``, ``email``,
``reference``: a tax or exporter reference number); where USMCA Annex 5-A allows a
statement instead, one of the words of :data:`STATEMENTS` may stand in its place.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..files.boms import node_lines, yaml_file
from ..model.bom import BomError, BomProblem, Country, Text, problems_from_validation

__all__ = ["Party", "Period", "Profile", "STATEMENTS", "profile_from_data", "read_profile"]

_STRICT = ConfigDict(extra="forbid", frozen=True)

#: What Annex 5-A lets a certification say instead of a party's details (docs/certify.md).
STATEMENTS = {
    "same as certifier": "Same as certifier",
    "various": "Various",
    "available upon request": "Available upon request by the importing authorities",
    "unknown": "Unknown",
}


class Party(BaseModel):
    """A person or company on the certification: name and address (with country) are
    required; title, telephone, email and a reference number as known."""

    model_config = _STRICT
    name: Text
    title: Text | None = None
    company: Text | None = Field(None, description="the company a person (the certifier) acts for")
    address: Text
    country: Country
    phone: Text | None = None
    email: Text | None = None
    reference: Text | None = Field(None, description="a tax, EORI or exporter reference number")


class Period(BaseModel):
    """A blanket period, both ends inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: date = Field(alias="from")
    end: date = Field(alias="until")

    @model_validator(mode="after")
    def ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError("expected `until` on or after `from`")
        return self


PartyOrStatement = Union[Party, Literal["same as certifier", "various", "available upon request", "unknown"]]


class Profile(BaseModel):
    """The parties of a certification of origin, and optionally its blanket period and place."""

    model_config = _STRICT
    certifier_role: Literal["exporter", "producer", "importer"]
    certifier: Party
    exporter: PartyOrStatement | None = None
    producer: PartyOrStatement | None = None
    importer: PartyOrStatement | None = None
    blanket_period: Period | None = None
    place: Text | None = Field(None, description="where the certification is made out (the TCA statement's place)")

    @model_validator(mode="after")
    def roles(self) -> "Profile":
        if self.certifier_role != "exporter" and self.exporter is None and self.certifier_role != "producer":
            raise ValueError("expected `exporter` (a party, or `same as certifier`): only a producer that does not "
                             "know the exporter may leave it out (USMCA Annex 5-A, Exporter)")
        return self

    def party(self, role: str) -> Party | str | None:
        """The party in ``role`` (``exporter``, ``producer``, ``importer``): the certifier when
        it holds that role or is named ``same as certifier``, else the party or statement."""
        if role == self.certifier_role:
            return self.certifier
        found = getattr(self, role)
        if found == "same as certifier":
            return self.certifier
        return found


#: What a profile is, for the messages about a file that holds none (docs/certify.md, The profile).
EXPECTED = "a mapping with `certifier_role` and `certifier`"


def profile_from_data(data: Any, file: str = "<profile>", lines: dict | None = None) -> Profile:
    """Validate a parsed profile; BomError listing every problem with its field path."""
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        problems = problems_from_validation(error, file=file, lines=lines,
                                            root=f"a profile ({EXPECTED}, docs/certify.md)")
        raise BomError(_plain(problems)) from None


def _plain(problems: list[BomProblem]) -> list[BomProblem]:
    """Pydantic's union errors name the union's members; keep one message per field."""
    seen: dict[str, BomProblem] = {}
    for p in problems:
        key = p.path.split(".Party")[0].split(".literal")[0]
        seen.setdefault(key, BomProblem(p.message, key, p.file, p.line, p.column))
    return list(seen.values())


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """The profile in a YAML (or JSON) file; BomError when unreadable or invalid."""
    file, data, node = yaml_file(path, "profile", expected=f"{EXPECTED} (docs/certify.md, The profile)")
    return profile_from_data(data, file, node_lines(node) if node is not None else None)
