"""Directory: tenants, units, persons, services, absences, source health, name words; on PostgreSQL
pg_trgm GIN indexes on the folded search text, the phone digits and the name words.

Revision ID: 0002_directory
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0002_directory"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
S = sa.String
BYTES = sa.String(400).with_variant(sa.String(400, collation="C"), "postgresql")  # byte order: prefix + ORDER BY
# name -> (table, column): trigram indexes, PostgreSQL only (see store/directory_search.py)
TRGM = {
    "ix_dir_persons_search_trgm": ("dir_persons", "search_text"),
    "ix_dir_persons_phones_trgm": ("dir_persons", "phones_text"),
    "ix_dir_services_search_trgm": ("dir_services", "search_text"),
    "ix_dir_words_word_trgm": ("dir_words", "word"),
}


def upgrade() -> None:
    op.create_table(
        "dir_tenants",
        sa.Column("id", S(64), nullable=False),
        sa.Column("name", S(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dir_tenants")),
    )
    op.create_table(
        "dir_units",
        sa.Column("tenant", S(64), nullable=False),
        sa.Column("external_id", S(128), nullable=False),
        sa.Column("name", S(200), nullable=False),
        sa.Column("parent_id", S(128), nullable=True),
        sa.Column("phone", S(32), nullable=False),
        sa.Column("email", S(200), nullable=False),
        sa.Column("location", S(200), nullable=False),
        sa.Column("source", S(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "external_id", name=op.f("pk_dir_units")),
    )
    op.create_table(
        "dir_persons",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("tenant", S(64), nullable=False),
        sa.Column("external_id", S(128), nullable=False),
        sa.Column("given_name", S(200), nullable=False),
        sa.Column("family_name", S(200), nullable=False),
        sa.Column("title", S(200), nullable=False),
        sa.Column("unit_id", S(128), nullable=True),
        sa.Column("direct_phone", S(32), nullable=False),
        sa.Column("mobile_phone", S(32), nullable=False),
        sa.Column("switchboard_phone", S(32), nullable=False),
        sa.Column("email", S(200), nullable=False),
        sa.Column("location", S(200), nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("substitute_id", S(128), nullable=True),
        sa.Column("source", S(64), nullable=False),
        sa.Column("operator_notes", sa.Text(), nullable=False),
        sa.Column("local_keywords", JSON, nullable=False),
        sa.Column("local_substitute_id", S(128), nullable=True),
        sa.Column("gone_since", TS, nullable=True),
        sa.Column("name_text", BYTES, nullable=False),
        sa.Column("family_first", BYTES, nullable=False),
        sa.Column("initials", S(32), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("phones_text", S(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dir_persons")),
        sa.UniqueConstraint("tenant", "external_id", name=op.f("uq_dir_persons_tenant_external_id")),
    )
    op.create_index("ix_dir_persons_name_text", "dir_persons", ["name_text"])
    op.create_index("ix_dir_persons_family_first", "dir_persons", ["family_first"])
    op.create_index("ix_dir_persons_initials", "dir_persons", ["initials", "name_text"])
    op.create_index("ix_dir_persons_tenant_source", "dir_persons", ["tenant", "source"])
    op.create_table(
        "dir_services",
        sa.Column("tenant", S(64), nullable=False),
        sa.Column("external_id", S(128), nullable=False),
        sa.Column("name", S(200), nullable=False),
        sa.Column("unit_id", S(128), nullable=True),
        sa.Column("phone", S(32), nullable=False),
        sa.Column("email", S(200), nullable=False),
        sa.Column("opening_hours", S(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("source", S(64), nullable=False),
        sa.Column("name_text", S(400), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("phones_text", S(200), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "external_id", name=op.f("pk_dir_services")),
    )
    op.create_table(
        "dir_absences",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("tenant", S(64), nullable=False),
        sa.Column("person_id", S(128), nullable=False),
        sa.Column("source", S(128), nullable=False),
        sa.Column("external_id", S(256), nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("category", S(32), nullable=False),
        sa.Column("subject", S(400), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("back_at", TS, nullable=True),
        sa.Column("created_by", S(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dir_absences")),
    )
    op.create_index("ix_dir_absences_person", "dir_absences", ["tenant", "person_id", "end_at"])
    op.create_table(
        "dir_words",
        sa.Column("word", S(200), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_dir_words")),
    )
    op.create_table(
        "dir_source_status",
        sa.Column("tenant", S(64), nullable=False),
        sa.Column("source", S(128), nullable=False),
        sa.Column("last_success", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("tenant", "source", name=op.f("pk_dir_source_status")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, column) in TRGM.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
    else:  # same names, so the schema matches the models; SQLite searches by LIKE
        for name, (table, column) in TRGM.items():
            op.create_index(name, table, [column])


def downgrade() -> None:
    for table in ("dir_words", "dir_source_status", "dir_absences", "dir_services", "dir_persons",
                  "dir_units", "dir_tenants"):
        op.drop_table(table)
