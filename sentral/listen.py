"""Listener addresses as the command line and environment give them (no heavy imports:
the CLI parses them before gevent's monkey-patching)."""
from __future__ import annotations


class ListenerError(ValueError):
    """A listener option that cannot work (bad address, clash); the message is one line."""


def parse_listen(text: str) -> tuple[str, int]:
    """'HOST:PORT' (IPv6 as [::1]:PORT) → (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ListenerError(f"listen address must be HOST:PORT, not {text!r}")
    return host, int(port)
