"""HTTPS for `sentral run`'s web listener (issue 11, R9: recordings and logins never cross
a network in clear).

Rules:
- `--tls-cert FILE --tls-key FILE` (env SENTRAL_WEB_TLS_CERT / SENTRAL_WEB_TLS_KEY): both
  or neither. The files are loaded before the engine starts, so a wrong path, a key that
  does not match the certificate or an unreadable file stops `sentral run` at once with
  one line, not at the first browser's handshake.
- TLS 1.2 at least; the ciphers are OpenSSL's defaults for a server (`ssl.create_default_context`).
- The context is gevent's `ssl` (cooperative handshakes): it is what gevent's WSGIServer
  wraps each accepted socket with (its `ssl_context` argument).
- Serving plain HTTP on an address other than loopback is allowed (a TLS reverse proxy on
  another machine may be the only client) but warned about at start: logins, absence
  reasons and recordings would otherwise cross the network readable.
"""
from __future__ import annotations

import ipaddress

from sentral.listen import ListenerError


def server_context(cert: str, key: str):
    """A server SSLContext for the certificate chain `cert` and its private key `key`
    (PEM files); ListenerError with the reason if they cannot be used."""
    from gevent import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise ListenerError(f"TLS: {exc.filename or cert} does not exist") from None
    except PermissionError as exc:
        raise ListenerError(f"TLS: {exc.filename or key} cannot be read by this user") from None
    except ssl.SSLError as exc:
        raise ListenerError(f"TLS: the certificate {cert} and key {key} cannot be used together "
                            f"({exc.reason or exc}): give the PEM certificate chain and its own private key") from None
    return context


def check_pair(cert: str | None, key: str | None) -> None:
    """ListenerError unless both or neither of the certificate and key are given."""
    if bool(cert) != bool(key):
        raise ListenerError("TLS needs both --tls-cert and --tls-key (or SENTRAL_WEB_TLS_CERT and "
                            "SENTRAL_WEB_TLS_KEY)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:            # a host name: it may resolve to anything
        return False


def plain_http_warning(host: str, port: int) -> str:
    """The start-up warning for plain HTTP on `host`, or '' when the address is loopback."""
    if is_loopback(host):
        return ""
    return (f"WARNING: the web listener {host}:{port} serves plain HTTP to the network: logins, absence "
            "reasons and call recordings cross it readable. Give --tls-cert/--tls-key, or let only a TLS "
            "reverse proxy reach it (docs/security.md)")
