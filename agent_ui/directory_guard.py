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

import ipaddress


class NetworkAllowList:
    def __init__(self, cidrs):
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)

    def allows(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks if net.version == ip.version)
