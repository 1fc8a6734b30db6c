"""Schema migrations of the audit store, with Alembic, run when a store is opened.

In: an SQLAlchemy engine. Out: the database at the newest revision (``upgrade``), or the
revision it is at (``current_revision``). The migration scripts ship inside the package
(``origin_rules/audit/migrations``), so ``origin-rules serve`` upgrades a store with no
set-up and no ``alembic.ini``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

__all__ = ["HEAD", "MIGRATIONS", "current_revision", "foreign_tables", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: The newest revision of the migration scripts (``tests/test_audit_store.py`` holds it to
#: Alembic's head): a store already at it is opened without loading Alembic, whose import
#: and no-op upgrade take about 0.1 s of every ``audit`` command.
HEAD = "0002"


def _config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest), in one transaction; a store
    whose one recorded revision is :data:`HEAD` is left as it is, without Alembic."""
    if revision == "head" and _recorded(engine) == HEAD:
        return
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _recorded(engine: Engine) -> str | None:
    """The revision in Alembic's ``alembic_version`` table when it holds exactly one, else
    None (no such table yet, or several heads: Alembic decides)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    except SQLAlchemyError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def foreign_tables(engine: Engine) -> list[str]:
    """The tables of a database that holds some but no ``alembic_version`` (so not an
    origin-rules store: migrating it would fail half-way, and leave it half-migrated),
    sorted; empty for a new database or a store. An SQLite file is read through a read-only
    connection of its own, which changes nothing in it (the store's connections turn WAL
    on)."""
    names = _sqlite_tables(engine.url.database) if engine.dialect.name == "sqlite" else _tables(engine)
    return sorted(names) if names and "alembic_version" not in names else []


def _tables(engine: Engine) -> list[str]:
    from sqlalchemy import inspect

    with engine.connect() as connection:
        return inspect(connection).get_table_names()


def _sqlite_tables(database: str | None) -> list[str]:
    """The tables of an SQLite file, or none when it cannot be read so (no file yet, not a
    database: opening it as a store says why)."""
    import sqlite3
    from urllib.request import pathname2url

    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    try:
        connection = sqlite3.connect(f"file:{pathname2url(database)}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return [name for (name,) in rows]
    except sqlite3.Error:
        return []
    finally:
        connection.close()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()
