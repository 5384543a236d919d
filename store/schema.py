"""Which modules define tables on `store.base.Base`: Alembic and the tests import them all.

Add your module here when you add models (e.g. "store.directory"), together with an
Alembic revision that creates its tables (see store/README.md).
"""
from __future__ import annotations

import importlib

from store.base import Base

MODEL_MODULES = (
    "store.models",
    "store.accounts",
    "store.directory",
    "store.tokens",
    "store.recordings",
    "store.recording_audit",
    "store.report_figures",
    "store.system_events",
    "store.written",
)


def load_models():
    """Import every model module and return the complete `MetaData`."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
