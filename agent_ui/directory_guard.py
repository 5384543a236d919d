"""Who may use the public directory search: a CIDR allow-list and a per-address
token-bucket rate limit.

Rules:
- The client address is `request.remote_addr` (the WSGI peer). A reverse proxy in
  front must be configured to pass the real peer (e.g. werkzeug ProxyFix in the
  composition root); nothing here trusts X-Forwarded-For on its own.
- A bucket holds `burst` tokens and refills `rate` per second; an empty bucket means
  429 with Retry-After. Time comes from the injected monotonic clock.
- At most `max_clients` buckets are kept (least recently used dropped), so a scan of
  many addresses cannot exhaust memory.
"""
from __future__ import annotations

import ipaddress
import math
import threading
from collections import OrderedDict


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


class RateLimiter:
    def __init__(self, rate: float, burst: int, monotonic, max_clients: int = 10_000):
        self.rate, self.burst, self.monotonic, self.max_clients = rate, burst, monotonic, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if allowed (a token spent); otherwise the seconds until the next token."""
        now = self.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


def too_many(wait: float):
    from werkzeug.exceptions import TooManyRequests

    exc = TooManyRequests("Too many requests from your address; try again shortly.")
    exc.retry_after = max(1, math.ceil(wait))
    return exc
