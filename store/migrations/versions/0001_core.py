"""Core runtime schema: interactions, append-only journal, agent states, callbacks,
web users and roles, append-only audit log.

Revision ID: 0001_core
Revises:
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from store.migrations.append_only import refuse_changes

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("journal", "audit_log")


def _s(n):
    return sa.String(n)


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("id", _s(64), nullable=False),
        sa.Column("kind", _s(16), nullable=False),
        sa.Column("tenant", _s(64), nullable=False),
        sa.Column("queue", _s(64), nullable=False),
        sa.Column("node", _s(64), nullable=False),
        sa.Column("caller_uuid", _s(64), nullable=False),
        sa.Column("caller_number", _s(64), nullable=False),
        sa.Column("caller_name", _s(128), nullable=False),
        sa.Column("destination", _s(64), nullable=False),
        sa.Column("state", _s(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("entered_at", TS, nullable=False),
        sa.Column("queue_entered_at", TS, nullable=True),
        sa.Column("agent", _s(64), nullable=False),
        sa.Column("agent_uuid", _s(64), nullable=False),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", _s(64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    op.create_index(op.f("ix_interactions_tenant"), "interactions", ["tenant"])
    op.create_index(op.f("ix_interactions_ended_at"), "interactions", ["ended_at"])

    op.create_table(
        "journal",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("interaction", _s(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", _s(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("tenant", _s(64), nullable=False),
        sa.Column("queue", _s(64), nullable=False),
        sa.Column("agent", _s(64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_journal_seq_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
        sa.UniqueConstraint("interaction", "seq", name=op.f("uq_journal_interaction_seq")),
    )
    op.create_index(op.f("ix_journal_at"), "journal", ["at"])
    op.create_index("ix_journal_tenant_at", "journal", ["tenant", "at"])

    op.create_table(
        "agent_states",
        sa.Column("agent", _s(64), nullable=False),
        sa.Column("state", _s(32), nullable=False),
        sa.Column("reason", _s(64), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("no_answer_count", sa.Integer(), nullable=False),
        sa.Column("last_call_end", TS, nullable=True),
        sa.Column("calls_answered", sa.Integer(), nullable=False),
        sa.Column("talk_time", sa.Float(), nullable=False),
        sa.Column("interaction", _s(64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("agent", name=op.f("pk_agent_states")),
    )

    op.create_table(
        "callback_requests",
        sa.Column("id", _s(64), nullable=False),
        sa.Column("interaction", _s(64), nullable=False),
        sa.Column("tenant", _s(64), nullable=False),
        sa.Column("queue", _s(64), nullable=False),
        sa.Column("number", _s(64), nullable=False),
        sa.Column("name", _s(128), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("position_at", TS, nullable=False),
        sa.Column("state", _s(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("agent", _s(64), nullable=False),
        sa.Column("done_at", TS, nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_requests")),
    )
    op.create_index("ix_callback_requests_state_queue", "callback_requests", ["state", "queue"])

    op.create_table(
        "web_users",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("username", _s(128), nullable=False),
        sa.Column("password_hash", _s(256), nullable=False),
        sa.Column("display_name", _s(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
        sa.UniqueConstraint("username", name=op.f("uq_web_users_username")),
    )
    op.create_table(
        "web_user_roles",
        sa.Column("user_id", BIGID, nullable=False),
        sa.Column("tenant", _s(64), nullable=False),
        sa.Column("role", _s(32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"], ondelete="CASCADE",
                                name=op.f("fk_web_user_roles_user_id_web_users")),
        sa.PrimaryKeyConstraint("user_id", "tenant", "role", name=op.f("pk_web_user_roles")),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", _s(128), nullable=False),
        sa.Column("action", _s(64), nullable=False),
        sa.Column("target_kind", _s(64), nullable=False),
        sa.Column("target_id", _s(128), nullable=False),
        sa.Column("tenant", _s(64), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index("ix_audit_log_target", "audit_log", ["target_kind", "target_id"])

    for table in APPEND_ONLY:
        refuse_changes(table)


def downgrade() -> None:
    for table in ("audit_log", "web_user_roles", "web_users", "callback_requests",
                  "agent_states", "journal", "interactions"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
