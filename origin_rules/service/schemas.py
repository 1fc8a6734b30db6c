"""The JSON shapes of the API's answers, as pydantic models (for the OpenAPI schema).

In: nothing. Out: response models; a determination is the model the CLI prints with
``--format json`` (:class:`~origin_rules.model.determination.Determination`), unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..model.determination import Determination

__all__ = ["Agreement", "ApiTokenInfo", "NewToken", "NewTokenRequest", "BatchJob", "Evaluation", "Health", "Progress", "RecordList", "Rulebooks", "StoredRecord"]


class Health(BaseModel):
    status: str
    version: str
    rules_digest: str
    store: str


class Agreement(BaseModel):
    """An agreement, or a scenario (hypothetical: a what-if layered on its agreement)."""

    name: str
    kind: str  # agreement | scenario
    base: str | None  # a scenario's agreement
    hypothetical: bool
    parties: list[str]
    effective: str | None
    rules: int
    rules_digest: str


class Rulebooks(BaseModel):
    rules_digest: str
    files: list[str]
    agreements: list[Agreement]


class Evaluation(BaseModel):
    """One BOM evaluated: its hash, the audit records made, one determination per agreement."""

    product_id: str
    bom_hash: str
    as_of: str
    rules_digest: str
    records: list[int]
    determinations: list[Determination]


class Progress(BaseModel):
    records: int
    bytes_done: int
    bytes_total: int


class BatchJob(BaseModel):
    id: str
    status: str  # queued | running | recording | done | failed
    as_of: str
    under: list[str] | None
    requested_by: str
    created_at: str
    finished_at: str | None
    progress: Progress
    recorded: int
    summary: dict[str, Any] | None
    error: str | None
    results: str | None
    report: str | None


class StoredRecord(BaseModel):
    """An audit record: the BOM as received and the full determination made on it."""

    id: int
    request_id: str
    recorded_at: str
    requested_by: str
    channel: str
    product_id: str
    hs: str | None
    agreement: str
    as_of: str
    verdict: str
    rules_digest: str
    bom_hash: str
    bom_format: str
    explain: str
    bom_received: str
    determination: dict[str, Any]


class RecordList(BaseModel):
    total: int
    records: list[StoredRecord]


class NewTokenRequest(BaseModel):
    """Who the token is for (kept as ``requested_by`` of the records made with it) and its role."""

    name: str = Field(min_length=1, max_length=200)
    role: Literal["analyst", "lead", "admin"]


class ApiTokenInfo(BaseModel):
    """An API token as stored: never its secret."""

    id: int
    name: str
    role: str
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None


class NewToken(ApiTokenInfo):
    """A token just made: ``token`` is the secret, shown this once."""

    token: str
