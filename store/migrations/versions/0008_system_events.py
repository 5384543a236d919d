"""The system event log (`system_events`: engine started/stopped/heartbeat, FreeSWITCH
node connected/lost, sync source heartbeat/failed), append-only: UPDATE, DELETE and
TRUNCATE refused by triggers.

Revision ID: 0008_system_events
Revises: 0007_report_figures
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from store.migrations.append_only import refuse_changes

revision = "0008_system_events"
down_revision = "0007_report_figures"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "system_events"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", BIGID, nullable=False, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_events")),
    )
    op.create_index(op.f("ix_system_events_at"), TABLE, ["at"])
    op.create_index("ix_system_events_source_at", TABLE, ["source", "at"])
    refuse_changes(TABLE)


def downgrade() -> None:
    op.drop_table(TABLE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only()")
