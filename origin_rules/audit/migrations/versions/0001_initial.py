"""The audit store's first schema: rule sets by digest, determinations, append-only triggers.

In: a connection (SQLite or PostgreSQL). Out: the tables ``rule_sets`` and
``determinations`` and, on both SQLite and PostgreSQL, triggers that refuse every UPDATE and
DELETE of either table (PostgreSQL also refuses TRUNCATE): the records are evidence kept for
customs (USMCA Art. 5.8), so not even a direct SQL session may rewrite them.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("rule_sets", "determinations")
REFUSAL = "audit records are append-only"


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("digest", sa.String(80), primary_key=True),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "determinations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("bom_received", sa.Text(), nullable=False),
        sa.Column("bom_format", sa.String(20), nullable=False),
        sa.Column("bom_hash", sa.String(80), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("hs", sa.String(20), nullable=True),
        sa.Column("rules_digest", sa.String(80), sa.ForeignKey("rule_sets.digest"), nullable=False),
        sa.Column("agreement", sa.String(200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("explain", sa.String(10), nullable=False),
        sa.Column("verdict", sa.String(30), nullable=False),
        sa.Column("determination", sa.Text(), nullable=False),
    )
    for column in ("request_id", "recorded_at", "bom_hash", "product_id"):
        op.create_index(f"ix_determinations_{column}", "determinations", [column])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION origin_rules_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN RAISE EXCEPTION '{REFUSAL} (% on %)', TG_OP, TG_TABLE_NAME; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION origin_rules_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION origin_rules_append_only()")


def downgrade() -> None:
    raise RuntimeError(f"the audit store cannot be downgraded: {REFUSAL}")
