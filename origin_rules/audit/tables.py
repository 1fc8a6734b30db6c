"""The audit store's tables, as SQLAlchemy 2 declarative models.

In: nothing (definitions). Out: :class:`RuleSet` (the rule files of one rules digest, kept
so that a record can be re-evaluated under the rules it was made with) and :class:`Record`
(one determination: the BOM as received, its hash, the rules digest, the date, who asked,
when, the verdict and the full determination JSON), :class:`ApiToken` and
:class:`TokenRevocation` (the service's tokens, stored hashed). All are append-only: the store has no
update or delete, and the migrations add triggers that refuse UPDATE and DELETE in the
database itself. JSON is kept as text, byte for byte as written (PostgreSQL's JSONB would
reorder keys), so what is exported is what was recorded.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ApiToken", "Base", "RECORD_COLUMNS", "ROLES", "Record", "RuleSet", "TokenRevocation"]


class Base(DeclarativeBase):
    pass


class RuleSet(Base):
    """The rule files behind one rules digest: ``{file name: text}`` as JSON."""

    __tablename__ = "rule_sets"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    files: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Record(Base):
    """One determination: a product under one agreement or scenario as of a date."""

    __tablename__ = "determinations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(40))
    bom_received: Mapped[str] = mapped_column(Text)
    bom_format: Mapped[str] = mapped_column(String(20))
    bom_hash: Mapped[str] = mapped_column(String(80), index=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    hs: Mapped[str | None] = mapped_column(String(20), nullable=True)
    rules_digest: Mapped[str] = mapped_column(String(80), ForeignKey("rule_sets.digest"))
    agreement: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[date] = mapped_column(Date)
    explain: Mapped[str] = mapped_column(String(10))
    verdict: Mapped[str] = mapped_column(String(30))
    determination: Mapped[str] = mapped_column(Text)


#: The columns of an exported record, in order (CSV header; JSON Lines keys).
RECORD_COLUMNS = (
    "id", "request_id", "recorded_at", "requested_by", "channel", "product_id", "hs", "agreement", "as_of",
    "verdict", "rules_digest", "bom_hash", "bom_format", "explain", "bom_received", "determination",
)


#: The roles a token can have (docs/service.md, "Tokens and roles").
ROLES = ("analyst", "lead", "admin")


class ApiToken(Base):
    """An API token: its holder's name, role and the sha256 of the secret, never the secret
    (shown once, when it is created). Append-only like the records: revoking adds a
    :class:`TokenRevocation`."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class TokenRevocation(Base):
    """A token revoked: when and by whom (at most one per token)."""

    __tablename__ = "token_revocations"

    token_id: Mapped[int] = mapped_column(Integer, ForeignKey("api_tokens.id"), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str] = mapped_column(String(200))
