"""Schema migrations of the audit store, with Alembic, run when a store is opened.

In: an SQLAlchemy engine. Out: the database at the newest revision (``upgrade``), or the
revision it is at (``current_revision``). The migration scripts ship inside the package
(``origin_rules/audit/migrations``), so ``origin-rules serve`` upgrades a store with no
set-up and no ``alembic.ini``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest), in one transaction."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()
