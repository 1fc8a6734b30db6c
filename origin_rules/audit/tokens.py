"""API tokens of the service, kept in the audit store: stored hashed, shown once.

In: a :class:`~origin_rules.audit.store.Store`; a holder's name and role (``analyst``,
``lead``, ``admin``; docs/service.md); a secret presented with a request. Out: a new token
(:func:`create_token`: the secret, returned once, and its row, which holds only
``sha256:`` of the secret), the tokens (:func:`list_tokens`), a revocation
(:func:`revoke_token`), and the token a secret belongs to (:func:`find_token`, None for an
unknown secret; a revoked token is returned with ``revoked_at`` set, so the refusal can
say so).

A secret is ``ort_`` and 32 random bytes (``secrets.token_urlsafe``): with 256 bits of
entropy a plain sha256 is enough (no salt or slow hash is needed against guessing), and
it makes the lookup one indexed query. Tokens and revocations are append-only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from .store import Store, StoreError, refuse_nul
from .tables import ROLES, ApiToken, TokenRevocation

__all__ = ["PREFIX", "ROLES", "Token", "create_token", "find_token", "get_token", "hash_secret", "list_tokens", "revoke_token"]

PREFIX = "ort_"

#: The largest token id: the column is a 32-bit INTEGER on PostgreSQL, which refuses a
#: larger number even in a comparison.
MAX_TOKEN_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Token:
    """A token as stored (no secret)."""

    id: int
    name: str
    role: str
    token_hash: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict:
        def moment(value: datetime | None) -> str | None:
            return _utc(value).isoformat().replace("+00:00", "Z") if value is not None else None

        return {"id": self.id, "name": self.name, "role": self.role, "created_at": moment(self.created_at),
                "created_by": self.created_by, "revoked_at": moment(self.revoked_at), "revoked_by": self.revoked_by}


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def hash_secret(secret: str) -> str:
    """``sha256:`` and the hex digest of the secret (what the store keeps)."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _query():
    return (select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.token_hash, ApiToken.created_at,
                   ApiToken.created_by, TokenRevocation.revoked_at, TokenRevocation.revoked_by)
            .join(TokenRevocation, TokenRevocation.token_id == ApiToken.id, isouter=True))


def _token(row) -> Token:
    return Token(*row)


def create_token(store: Store, name: str, role: str, *, created_by: str) -> tuple[str, Token]:
    """A new token for ``name`` with ``role``: ``(secret, token)``. The secret is not kept:
    hand it over now."""
    name = name.strip()
    if not name or len(name) > 200:
        raise StoreError("a token needs a name (who holds it), 1 to 200 characters")
    refuse_nul(name, "the token's name")
    if role not in ROLES:
        raise StoreError(f"unknown role `{role}`: expected {', '.join(ROLES)}")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = dict(name=name, role=role, token_hash=hash_secret(secret), created_at=datetime.now(timezone.utc),
               created_by=created_by[:200])
    with store.writing(), store.engine.begin() as connection:
        token_id = int(connection.execute(ApiToken.__table__.insert().values(**row)).inserted_primary_key[0])
    return secret, Token(token_id, **row)


def list_tokens(store: Store) -> list[Token]:
    """Every token, oldest first, revoked ones included."""
    with store.engine.connect() as connection:
        return [_token(row) for row in connection.execute(_query().order_by(ApiToken.id))]


def get_token(store: Store, token_id: int) -> Token | None:
    """The token ``token_id``, None when there is none (an id past :data:`MAX_TOKEN_ID` too)."""
    if not 0 < token_id <= MAX_TOKEN_ID:
        return None
    with store.engine.connect() as connection:
        row = connection.execute(_query().where(ApiToken.id == token_id)).first()
    return _token(row) if row is not None else None


def find_token(store: Store, secret: str) -> Token | None:
    """The token whose secret this is (revoked or not), or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    with store.engine.connect() as connection:
        row = connection.execute(_query().where(ApiToken.token_hash == hash_secret(secret))).first()
    return _token(row) if row is not None else None


def revoke_token(store: Store, token_id: int, *, revoked_by: str) -> Token:
    """Revoke a token (from now on it is refused); an unknown or already revoked token is a
    :class:`StoreError`."""
    token = get_token(store, token_id)
    if token is None:
        raise StoreError(f"no token {token_id}")
    if not token.active:
        raise StoreError(f"token {token_id} ({token.name}) was already revoked on {token.to_dict()['revoked_at']}")
    row = dict(token_id=token_id, revoked_at=datetime.now(timezone.utc), revoked_by=revoked_by[:200])
    with store.writing(), store.engine.begin() as connection:
        connection.execute(TokenRevocation.__table__.insert().values(**row))
    return get_token(store, token_id)
