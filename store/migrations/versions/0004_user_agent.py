"""A web user bound to one engine agent (the console's call controls act as that agent).

Revision ID: 0004_user_agent
Revises: 0003_web_sessions
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_user_agent"
down_revision = "0003_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_users") as batch:
        batch.add_column(sa.Column("agent", sa.String(64), nullable=True))
    op.create_index(op.f("ix_web_users_agent"), "web_users", ["agent"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_users_agent"), table_name="web_users")
    with op.batch_alter_table("web_users") as batch:
        batch.drop_column("agent")
