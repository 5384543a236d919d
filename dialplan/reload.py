"""Reloading the configuration: what changed, and keeping the last good one.

Rules: a reload builds a whole new `Deployment`; if it is invalid the error is logged
and returned, and the running configuration stays in force. The engine swaps the
object it reads; a call in progress keeps the queue settings it was offered under
(the engine holds them per call), so nothing here touches calls. `diff()` names every
change in words for the log; secrets (node passwords, a1-hashes) are said to have
changed, never shown.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from dialplan.errors import ConfigError
from engine.config import Deployment

log = logging.getLogger(__name__)
SECRET_FIELDS = {"password", "password_hash"}
_COLLECTIONS = (("tenant", "tenants"), ("queue", "queues"), ("agent", "agents"), ("number", "entry_points"))


def _fields_changed(kind: str, key: str, old, new) -> list[str]:
    out = []
    for f in dataclasses.fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            shown = "(changed)" if f.name in SECRET_FIELDS else f"{_show(a)} -> {_show(b)}"
            out.append(f"{kind} {key}: {f.name} {shown}")
    return out


def _show(value) -> str:
    if hasattr(value, "value") and not dataclasses.is_dataclass(value):
        return str(value.value)  # enums
    if isinstance(value, (frozenset, set)):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def diff(old: Deployment, new: Deployment) -> list[str]:
    """Every difference between two deployments, one line each, in a stable order."""
    changes: list[str] = []
    for name in ("database_url", "recordings_dir", "recordings_identities", "recordings_storage", "sip_domain",
                 "engine_url", "capacity"):
        if getattr(old, name) != getattr(new, name):
            changes.append(f"{name}: {getattr(old, name)!r} -> {getattr(new, name)!r}")
    old_nodes, new_nodes = {n.name: n for n in old.nodes}, {n.name: n for n in new.nodes}
    changes += _mapping_diff("node", old_nodes, new_nodes)
    # written channels: mailboxes by queue, the SMS gateway (both hold only variable names, no secrets)
    changes += _mapping_diff("mailbox", {b.queue: b for b in old.mailboxes}, {b.queue: b for b in new.mailboxes})
    old_sms, new_sms = ({"gateway": old.sms} if old.sms else {}), ({"gateway": new.sms} if new.sms else {})
    changes += _mapping_diff("sms", old_sms, new_sms)
    for kind, attr in _COLLECTIONS:
        changes += _mapping_diff(kind, getattr(old, attr), getattr(new, attr))
    return changes


def _mapping_diff(kind: str, old, new) -> list[str]:
    out = [f"{kind} {key} added" for key in new if key not in old]
    out += [f"{kind} {key} removed" for key in old if key not in new]
    for key in old:
        if key in new and old[key] != new[key]:
            out += _fields_changed(kind, key, old[key], new[key])
    return out


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    changes: list[str] = field(default_factory=list)
    error: ConfigError | None = None


class Reloader:
    """Holds the running Deployment; `reload()` swaps it only for a valid new one.

    `load` is `dialplan.loader.load` bound to the file (injected for tests); `on_change`
    is called with (old, new, changes) after a successful swap.
    """

    def __init__(self, load: Callable[[], Deployment],
                 on_change: Callable[[Deployment, Deployment, list[str]], None] | None = None):
        self._load = load
        self._on_change = on_change
        self._lock = threading.Lock()
        self._current = load()       # the first load raises: there is nothing to keep yet

    @property
    def current(self) -> Deployment:
        return self._current

    def reload(self) -> ReloadResult:
        with self._lock:
            try:
                new = self._load()
            except ConfigError as exc:
                log.error("configuration reload refused, the running configuration stays in force:\n%s",
                          exc.report())
                return ReloadResult(False, error=exc)
            old, self._current = self._current, new
        changes = diff(old, new)
        for line in changes:
            log.info("configuration reload: %s", line)
        if not changes:
            log.info("configuration reload: no changes")
        if self._on_change and changes:
            self._on_change(old, new, changes)
        return ReloadResult(True, changes)
