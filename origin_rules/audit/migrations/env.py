"""Alembic's environment for the audit store: migrations run on the connection the store
hands over (``config.attributes["connection"]``), never on a URL read from a file.

In: the connection. Out: the schema at the requested revision (:mod:`origin_rules.audit.migrate`).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
