"""Who may use the public directory search: a CIDR allow-list.

Rules:
- The client address is `request.remote_addr`: the WSGI peer, or with
  `WebConfig.trusted_proxies` the address the trusted reverse proxies passed (werkzeug
  ProxyFix in `agent_ui.app`); nothing here reads X-Forwarded-For on its own.
- An address that does not parse is outside every network. IPv4-mapped IPv6 addresses
  count as their IPv4 address.
Rate limits are Flask-Limiter's (agent_ui.app).
"""
from __future__ import annotations

from engine import netaddr

NetworkAllowList = netaddr.NetworkAllowList   # the address rules: engine/netaddr.py
