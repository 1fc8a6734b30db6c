"""The audit store: every determination kept, append-only, and replayable.

In: determinations made by the service or, with ``--record``, by ``origin-rules evaluate``
and ``batch``; a database URL (SQLite by default, PostgreSQL by URL). Out: records that
can be listed, shown, exported (JSON Lines, CSV) and replayed under the rules they were
made with (kept by digest in the store) or under today's rules.

Modules: ``tables`` (SQLAlchemy 2 models), ``migrate`` and ``migrations/`` (Alembic, run
when a store opens), ``store`` (:class:`Store`: append and read, no update, no delete),
``capture`` (determinations -> records), ``replay``, ``export``, ``tokens`` (the service's
API tokens, stored hashed).

    from origin_rules.audit import Store, replay
    store = Store()                       # $ORIGIN_RULES_DB or the user's data directory
    for result in replay(store, store.records()):
        assert result.same
"""

from .capture import BatchRecording, cli_user, record_determinations
from .export import EXPORT_FORMATS, export
from .replay import Replayed, replay
from .store import (ENV_VAR, MAX_ID, NewRecord, Store, StoredRecord, StoreError, UnreadableRecord, default_url,
                    refuse_nul, resolve_url)
from .tokens import ROLES, Token, create_token, find_token, get_token, list_tokens, revoke_token

__all__ = [
    "BatchRecording", "ENV_VAR", "EXPORT_FORMATS", "MAX_ID", "NewRecord", "Replayed", "Store", "StoreError",
    "StoredRecord", "UnreadableRecord", "cli_user", "default_url", "export", "record_determinations", "refuse_nul",
    "replay", "resolve_url",
    "ROLES", "Token", "create_token", "find_token", "get_token", "list_tokens", "revoke_token",
]
