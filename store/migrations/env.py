"""Alembic environment for Sentral: the URL comes from code (`store.migrate`), else from
SENTRAL_DATABASE_URL / the embedded default, so `alembic -c store/alembic.ini ...` also
works for developers. SQLite runs in batch mode (it cannot ALTER most things)."""
from __future__ import annotations

from alembic import context

from store.database import create_engine, resolve_url
from store.schema import load_models

config = context.config
target_metadata = load_models()


def _url() -> str:
    return config.attributes.get("sentral_url") or resolve_url(None)


def run_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite",
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
