"""The audit store: every determination kept, append-only, in SQLite or PostgreSQL.

In: a database URL (:func:`resolve_url`: an explicit URL or path, else the environment
variable ``ORIGIN_RULES_DB``, else an SQLite file in the user's data directory, so that
``origin-rules serve`` works with no set-up). Out: a :class:`Store` that keeps rule sets by
digest (:meth:`Store.keep_rules`), appends determinations (:meth:`Store.append`) and reads
them back (:meth:`Store.get`, :meth:`Store.records`) as :class:`StoredRecord` values.

There is no update and no delete: the records are what an importer shows customs years
later (USMCA Art. 5.8 asks for five years), and the database triggers added by the
migrations refuse UPDATE and DELETE from any client. Opening a store runs the Alembic
migrations first (:mod:`origin_rules.audit.migrate`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.processors import str_to_date, str_to_datetime  # (what SQLAlchemy reads SQLite's dates with)

from .tables import RECORD_COLUMNS, Record, RuleSet

__all__ = ["ENV_VAR", "MAX_ID", "NewRecord", "Store", "StoreError", "StoredRecord", "UnreadableRecord", "bom_hash",
           "default_url", "first_line", "refuse_nul", "resolve_url"]

ENV_VAR = "ORIGIN_RULES_DB"

#: The largest id (and offset) a store can hold: a signed 64-bit integer, SQLite's and
#: PostgreSQL's BIGINT. A larger number names no record; the drivers cannot even send it.
MAX_ID = 2**63 - 1


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, server unreachable, unknown rules digest)."""


def refuse_nul(value: str | None, what: str) -> None:
    """A :class:`StoreError` when ``value`` holds a NUL character (U+0000): PostgreSQL refuses
    it in any text, so no record or token can hold one, and SQLite's stores are held to the
    same (``what`` names the value: `--product`, a token's name)."""
    if value is not None and "\x00" in value:
        raise StoreError(f"{what} holds a NUL character (U+0000), which no record or token of the store can hold")


def default_url() -> str:
    """An SQLite file in the user's data directory (``~/.local/share/origin-rules`` on Linux)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("origin-rules", appauthor=False))
    return f"sqlite:///{folder / 'audit.sqlite3'}"


def resolve_url(url: str | None = None) -> str:
    """The URL to open: ``url`` (a path is an SQLite file), else ``$ORIGIN_RULES_DB``, else
    :func:`default_url`. ``postgresql://`` URLs use psycopg 3."""
    text = (url or os.environ.get(ENV_VAR) or "").strip() or default_url()
    if "://" not in text:
        text = f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def bom_hash(text: str) -> str:
    """``sha256:`` and the hex digest of the BOM's text as received (UTF-8)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A determination to append: the BOM as received and what was decided on it."""

    bom_received: str
    bom_format: str  # yaml | json (a body or file as received) | bom-json (the BOM as read from a CSV/XLSX row group)
    product_id: str
    hs: str | None
    agreement: str
    as_of: date
    explain: str
    verdict: str
    determination: str  # the Determination's JSON
    rules_digest: str


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record read back from the store."""

    id: int
    request_id: str
    recorded_at: datetime
    requested_by: str
    channel: str
    product_id: str
    hs: str | None
    agreement: str
    as_of: date
    verdict: str
    rules_digest: str
    bom_hash: str
    bom_format: str
    explain: str
    bom_received: str
    determination: str

    def to_dict(self, *, parsed: bool = True) -> dict[str, Any]:
        """The record as JSON-ready values; ``parsed``: the determination as an object, not text."""
        out: dict[str, Any] = {}
        for name in RECORD_COLUMNS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = _utc(value).isoformat().replace("+00:00", "Z")
            elif isinstance(value, date):
                value = value.isoformat()
            out[name] = value
        if parsed:
            out["determination"] = json.loads(self.determination)
        return out


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A row that does not read back as a record (written around the store, or damaged: a
    date that is not a date): its id and why. Read in place of the record, so that the
    others are still read."""

    id: int
    reason: str


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _columns(dialect: str) -> list:
    """The record's columns, selected; on SQLite the dates as their text, read by
    :func:`_stored` (a row with a date that is not one is then unreadable, not a failure of
    every row read with it)."""
    from sqlalchemy import String, type_coerce

    columns = [getattr(Record, name) for name in RECORD_COLUMNS]
    if dialect != "sqlite":
        return columns
    return [type_coerce(c, String).label(c.key) if c.key in _SQLITE_DATES else c for c in columns]


_SQLITE_DATES = {"recorded_at": "a date and time", "as_of": "a date"}
#: Where those columns are in a row of :func:`_columns`, and how SQLAlchemy reads their text.
_SQLITE_DATE_READS = ((RECORD_COLUMNS.index("recorded_at"), "recorded_at", str_to_datetime),
                      (RECORD_COLUMNS.index("as_of"), "as_of", str_to_date))


def _stored(row: Any, dialect: str) -> StoredRecord | UnreadableRecord:
    """The record of a row of :func:`_columns`, or an :class:`UnreadableRecord`."""
    if dialect != "sqlite":
        return StoredRecord(*row)
    values = list(row)
    for index, name, read in _SQLITE_DATE_READS:
        try:
            values[index] = read(values[index])
        except (ValueError, TypeError):
            return UnreadableRecord(row[0], f"its `{name}` is not {_SQLITE_DATES[name]}: {values[index]!r}")
        if values[index] is None:
            return UnreadableRecord(row[0], f"its `{name}` is empty")
    return StoredRecord(*values)


class Store:
    """An audit store on one database; see the module doc. Thread-safe."""

    def __init__(self, url: str | None = None, *, migrate: bool = True):
        self.url = resolve_url(url)
        self.engine = _engine(self.url)
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self._kept: set[str] = set()  # rules digests known to be kept
        if migrate:
            self._migrate()

    def _migrate(self) -> None:
        """Bring the schema to the newest revision; a database that holds tables but is not
        an audit store, or a store at a revision this release does not know, is refused
        before anything is written to it."""
        from alembic.util import CommandError
        from sqlalchemy.exc import SQLAlchemyError

        from .migrate import foreign_tables, upgrade

        try:
            tables = foreign_tables(self.engine)
            if tables:
                shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
                raise StoreError(f"{self.shown_url} is not an origin-rules audit store: it holds other tables "
                                 f"({shown}); give a new database or file, or an audit store")
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the audit store {self.shown_url}: {first_line(exc)}") from None
        except CommandError as exc:
            raise StoreError(f"cannot open the audit store {self.shown_url}: {first_line(exc)} (a store of a "
                             f"newer origin-rules, or not an audit store)") from None

    @property
    def shown_url(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # ---- writing (append only) -------------------------------------------------------------

    def keep_rules(self, digest: str, files: dict[str, str]) -> None:
        """Keep the rule files of ``digest`` (once: a digest names its files' contents)."""
        from ..rulebook.sources import digest_of

        if digest in self._kept:  # checked and kept already (hashing every rule file costs ~2 ms a request)
            return
        if "sha256:" + digest_of(files) != digest:
            raise StoreError(f"the rule files given do not have the digest {digest}")
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        row = dict(digest=digest, files=json.dumps(files, ensure_ascii=False, sort_keys=True),
                   stored_at=datetime.now(timezone.utc))
        with self.writing(), self.engine.begin() as connection:
            # concurrent first requests may both insert: the second does nothing (no update)
            connection.execute(insert(RuleSet.__table__).values(**row).on_conflict_do_nothing(index_elements=["digest"]))
        self._kept.add(digest)

    def keep_book(self, book) -> str:
        """Keep a loaded rulebook's files; returns its digest."""
        self.keep_rules(book.digest, dict(book.parsed.sources))
        return book.digest

    def append(self, records: Sequence[NewRecord], *, requested_by: str, channel: str,
               request_id: str | None = None) -> list[int]:
        """Append records (one transaction); their rules must have been kept. Returns the ids."""
        if not records:
            return []
        rows = self._rows(records, requested_by, channel, request_id)
        table = Record.__table__
        # one statement for all the rows (SQLAlchemy's "insertmanyvalues": multi-row INSERTs
        # with RETURNING, the ids given back in the rows' order)
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        with self.writing(), self.engine.begin() as connection:
            return [int(row_id) for row_id in connection.execute(statement, rows).scalars()]

    def append_many(self, records: Sequence[NewRecord], *, requested_by: str, channel: str,
                    request_id: str | None = None) -> int:
        """:meth:`append` for records whose ids nobody waits for (a batch's): one transaction,
        the rows handed to the driver at once (``executemany``), ids given in order as ever.
        Returns how many were appended."""
        if not records:
            return 0
        rows = self._rows(records, requested_by, channel, request_id)
        with self.writing(), self.engine.begin() as connection:
            connection.execute(Record.__table__.insert(), rows)
        return len(rows)

    @staticmethod
    def _rows(records: Sequence[NewRecord], requested_by: str, channel: str, request_id: str | None) -> list[dict]:
        request_id = request_id or str(uuid.uuid4())
        now = datetime.now(timezone.utc)
        hashes: dict[str, str] = {}  # (a BOM evaluated under several names: one text, hashed once)
        rows = []
        for r in records:
            digest = hashes.get(r.bom_received)
            if digest is None:
                digest = hashes[r.bom_received] = bom_hash(r.bom_received)
            rows.append(dict(request_id=request_id, recorded_at=now, requested_by=requested_by[:200],
                             channel=channel[:40], bom_received=r.bom_received, bom_format=r.bom_format,
                             bom_hash=digest, product_id=r.product_id[:200], hs=r.hs, rules_digest=r.rules_digest,
                             agreement=r.agreement, as_of=r.as_of, explain=r.explain, verdict=r.verdict,
                             determination=r.determination))
        return rows

    def writing(self):
        """SQLite allows one writer: writes of this process queue on a lock instead of
        failing with "database is locked"; PostgreSQL needs none."""
        from contextlib import nullcontext

        return self._write_lock if self._write_lock is not None else nullcontext()

    # ---- reading ---------------------------------------------------------------------------

    def get(self, record_id: int) -> StoredRecord | UnreadableRecord | None:
        """The record ``record_id``, None when there is none (an id past :data:`MAX_ID` too)."""
        if not 0 < record_id <= MAX_ID:
            return None
        dialect = self.engine.dialect.name
        with self.engine.connect() as connection:
            row = connection.execute(select(*_columns(dialect)).where(Record.id == record_id)).first()
        return _stored(row, dialect) if row is not None else None

    def _query(self, *, columns=None, ids=None, product_id=None, agreement=None, verdict=None, requested_by=None,
               request_id=None, since: datetime | None = None, until: datetime | None = None):
        query = select(*columns) if columns is not None else select(Record)
        if ids is not None:
            query = query.where(Record.id.in_([i for i in ids if 0 < i <= MAX_ID]))
        for column, value in ((Record.product_id, product_id), (Record.agreement, agreement),
                              (Record.verdict, verdict), (Record.requested_by, requested_by),
                              (Record.request_id, request_id)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(Record.recorded_at >= since)
        if until is not None:
            query = query.where(Record.recorded_at < until)
        return query

    def records(self, *, limit: int | None = None, offset: int = 0, newest_first: bool = False,
                **filters: Any) -> Iterator[StoredRecord | UnreadableRecord]:
        """Records matching ``filters`` (ids, product_id, agreement, verdict, requested_by,
        request_id, since, until), oldest first unless ``newest_first``; streamed in pages. A
        row that does not read back is an :class:`UnreadableRecord` in its place."""
        if offset > MAX_ID:
            return
        dialect = self.engine.dialect.name
        query = self._query(columns=_columns(dialect), **filters)
        query = query.order_by(Record.id.desc() if newest_first else Record.id)
        if offset:
            query = query.offset(offset)
        if limit is not None and limit <= MAX_ID:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            for row in connection.execution_options(yield_per=500).execute(query):
                yield _stored(row, dialect)

    def count(self, **filters: Any) -> int:
        query = select(func.count()).select_from(self._query(**filters).subquery())
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def rules(self, digest: str) -> dict[str, str] | None:
        """The rule files kept for ``digest``, or None."""
        with self.engine.connect() as connection:
            text = connection.execute(select(RuleSet.files).where(RuleSet.digest == digest)).scalar_one_or_none()
        return json.loads(text) if text is not None else None

    def digests(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(RuleSet.digest).order_by(RuleSet.stored_at)).scalars())


def first_line(exc: Exception) -> str:
    """What a database error says, in one line (the driver's own message when it has one)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises ArgumentError and others
        raise StoreError(f"not a database URL: `{url}` ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"unsupported database `{parsed.get_backend_name()}`: use sqlite:///PATH or postgresql://...")
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # noqa: BLE001 - a missing driver, a bad option
        raise StoreError(f"cannot use the database URL {parsed.render_as_string(hide_password=True)}: {exc}") from None
