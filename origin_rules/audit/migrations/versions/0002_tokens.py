"""API tokens for the service: ``api_tokens`` (name, role, the sha256 of the secret) and
``token_revocations``, both append-only like the records.

In: a connection (SQLite or PostgreSQL) at revision 0001. Out: the two tables, a CHECK on
the role, and triggers refusing UPDATE and DELETE (PostgreSQL: and TRUNCATE): who could
reach the service, and since when, is kept as the determinations are. The secret itself
is never stored.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("api_tokens", "token_revocations")
REFUSAL = "audit records are append-only"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(80), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("role IN ('analyst', 'lead', 'admin')", name="ck_api_tokens_role"),
    )
    op.create_table(
        "token_revocations",
        sa.Column("token_id", sa.Integer(), sa.ForeignKey("api_tokens.id"), primary_key=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    elif dialect == "postgresql":
        # origin_rules_append_only() was created by 0001
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION origin_rules_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION origin_rules_append_only()")


def downgrade() -> None:
    raise RuntimeError(f"the audit store cannot be downgraded: {REFUSAL}")
