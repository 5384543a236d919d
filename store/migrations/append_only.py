"""Append-only tables, enforced by the database itself (not only by the absence of code):
the migrations that create the journal, the audit log and the recordings' access log call
`refuse_changes` once per table. Kept here, unchanged once released, so a migration that
ran stays what it was."""
from __future__ import annotations

from alembic import op


def refuse_changes(table: str) -> None:
    """PostgreSQL: UPDATE, DELETE and TRUNCATE raise insufficient_privilege; SQLite: UPDATE
    and DELETE abort."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        op.execute(f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                       FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""")
        op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                       FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                           BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END""")
