"""Stored report aggregates: the figures of reports.figures per quarter-hour and scope
(`report_figures`) and how far the journal has been folded into them (`report_position`).

Revision ID: 0007_report_figures
Revises: 0006_recordings
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0007_report_figures"
down_revision = "0006_recordings"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# written out, not imported: a migration stays what it was when it ran (store/report_figures.FIGURES)
FIGURES = ("calls", "after_hours", "direct_dial", "abandoned_before_queue",
           "offered", "transferred_in", "answered", "answered_in_sl", "abandoned", "short_abandoned",
           "abandoned_after_sl", "overflowed", "callbacks_requested", "callbacks_made", "transferred_out",
           "recalled", "rona", "messages_taken", "wait_answered", "longest_wait", "talk", "hold", "wrapup",
           "in_progress")


def upgrade() -> None:
    op.create_table(
        "report_figures",
        sa.Column("quarter", TS, nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in FIGURES),
        sa.CheckConstraint("scope IN ('queue', 'agency', 'agent')", name=op.f("ck_report_figures_scope")),
        sa.PrimaryKeyConstraint("quarter", "scope", "tenant", "queue", "agent", name=op.f("pk_report_figures")),
    )
    op.create_table(
        "report_position",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("journal_id", sa.BigInteger(), nullable=False),
        sa.Column("limits", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_position")),
    )


def downgrade() -> None:
    op.drop_table("report_position")
    op.drop_table("report_figures")
