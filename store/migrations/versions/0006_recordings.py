"""Call recordings' metadata (`recordings`) and their append-only, hash-chained access log
(`recording_audit`: UPDATE, DELETE and TRUNCATE refused by triggers).

Revision ID: 0006_recordings
Revises: 0005_api_tokens
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from store.migrations.append_only import refuse_changes

revision = "0006_recordings"
down_revision = "0005_api_tokens"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUDIT = "recording_audit"


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("interaction", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agents", JSON, nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("stored_size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("storage", sa.String(16), nullable=False),
        sa.Column("location", sa.String(512), nullable=False),
        sa.Column("spool_path", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fault", sa.String(512), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(512), nullable=False),
        sa.Column("hold_by", sa.String(128), nullable=False),
        sa.Column("hold_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_index(op.f("ix_recordings_interaction"), "recordings", ["interaction"])
    op.create_index("ix_recordings_tenant_started_at", "recordings", ["tenant", "started_at"])
    op.create_index(op.f("ix_recordings_status"), "recordings", ["status"])
    op.create_table(
        AUDIT,
        sa.Column("id", BIGID, nullable=False, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("recording", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_audit")),
    )
    op.create_index(op.f("ix_recording_audit_recording"), AUDIT, ["recording"])
    op.create_index("ix_recording_audit_tenant_at", AUDIT, ["tenant", "at"])
    refuse_changes(AUDIT)


def downgrade() -> None:
    op.drop_table(AUDIT)
    op.drop_table("recordings")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {AUDIT}_append_only()")
