"""Which client addresses a listener serves: a CIDR allow-list (the public directory, the
mod_xml_curl responder). Pure stdlib, so both adapter layers that need it can use it.

Rules: an address that does not parse is outside every network; an IPv4-mapped IPv6
address counts as its IPv4 address; a zone suffix (`%eth0`) is ignored."""
from __future__ import annotations

import ipaddress


class NetworkAllowList:
    def __init__(self, cidrs):
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)   # ValueError names a bad one

    def allows(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks if net.version == ip.version)
