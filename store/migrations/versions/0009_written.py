"""Written channels: messages (e-mail, SMS, web-form tasks, in and out), their cases and
the mailboxes' read state (store/written.py).

Revision ID: 0009_written
Revises: 0008_system_events
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0009_written"
down_revision = "0008_system_events"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "written_messages",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("case", sa.String(32), nullable=False),
        sa.Column("item", sa.String(64), nullable=True),
        sa.Column("dedup_key", sa.String(512), nullable=False),
        sa.Column("external_id", sa.String(512), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("sender_name", sa.String(256), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", JSON, nullable=False),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_written_messages")),
        sa.UniqueConstraint("tenant", "channel", "direction", "dedup_key",
                            name=op.f("uq_written_messages_tenant_channel_direction_dedup_key")),
    )
    op.create_index(op.f("ix_written_messages_case"), "written_messages", ["case"])
    op.create_index(op.f("ix_written_messages_item"), "written_messages", ["item"])
    op.create_index(op.f("ix_written_messages_external_id"), "written_messages", ["external_id"])
    op.create_index(op.f("ix_written_messages_created_at"), "written_messages", ["created_at"])
    op.create_index("ix_written_messages_unfiled", "written_messages", ["direction", "item"])
    op.create_table(
        "written_cases",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("contact", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_written_cases")),
    )
    op.create_index(op.f("ix_written_cases_tenant"), "written_cases", ["tenant"])
    op.create_table(
        "mailbox_states",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_mailbox_states")),
    )


def downgrade() -> None:
    op.drop_table("mailbox_states")
    op.drop_table("written_cases")
    op.drop_table("written_messages")
