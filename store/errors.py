"""Typed store errors with a stable `error_id` (part of the API; never rename one)."""
from __future__ import annotations


class StoreError(Exception):
    error_id = "store.error"


class InvalidRecord(StoreError):
    """A row handed to the store breaks a rule (naive time, seq < 1, unknown role, ...).

    Raised before anything is written: the whole batch is refused, nothing is lost from
    the caller's side (it still holds the rows)."""

    error_id = "store.invalid_record"


class UnknownUser(StoreError):
    error_id = "store.unknown_user"
