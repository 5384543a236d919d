"""The one declarative `Base` every store model uses, and the column types they share.

Rules:
- Every table of the product hangs off `Base.metadata` (runtime tables in
  `store/models.py`, accounts in `store/accounts.py`, the directory in
  `store/directory.py`); `store/schema.py` lists the modules so Alembic sees them all.
- Constraint and index names come from `NAMING_CONVENTION`, so migrations name them
  the same on PostgreSQL and SQLite and a later migration can drop them by name.
- Times are stored in UTC: `UTCDateTime` is `timestamptz` (µs) on PostgreSQL and an
  ISO text on SQLite, and always gives back an aware UTC datetime. A naive datetime
  is refused (it would be silently misread on the other database).
- JSON is `jsonb` on PostgreSQL and JSON text on SQLite (`JSONData`).
- Ids that must count up on both databases use `BigId` (bigint on PostgreSQL, the
  INTEGER rowid alias on SQLite, which only autoincrements for exactly "INTEGER").
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """An aware datetime in, an aware UTC datetime out, on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"store times must be aware datetimes, got {value!r}")
        value = value.astimezone(timezone.utc)
        # SQLite keeps text: store it naive-UTC so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


JSONData = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
