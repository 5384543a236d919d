"""Webhooks: the API's events POSTed as JSON to each active webhook of the event's tenant.

Audience of the receiving end: an agency's or the operator company's own service on the
networks in SENTRAL_WEBHOOK_NETWORKS (comma-separated CIDRs; default loopback only): a
webhook URL whose host resolves outside them is not called (logged, counted `refused`).

Rules:
- Body: the event's JSON (agent_ui.api_events), sorted keys, UTF-8. Headers:
  `X-Sentral-Event: <kind>`, `X-Sentral-Delivery: <event id>`, `X-Sentral-Signature:
  sha256=<hex HMAC-SHA256 of the exact body with the webhook's secret>`.
- The URL's host is resolved at every send and every address checked; the body goes to
  the checked address itself (`post_to`), so a name cannot resolve to an allowed address
  for the check and to another for the connection. Redirects are not followed. A password
  in the URL is never logged or audited (`shown`).
- A 2xx answer is delivered; anything else (or no answer within TIMEOUT) is tried again
  after BACKOFF[0], BACKOFF[1], ... seconds, then given up (logged, counted `failed`).
- Never blocks the engine: `submit` puts the event in a bounded queue (QUEUE_SIZE) and
  returns; a full queue drops the event (counted `dropped`, logged). One greenlet takes
  events from the queue and a pool of POOL greenlets delivers them.
- The list of webhooks is read from the store at most every REFRESH seconds (the CLI
  changes it from another process).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import time
from urllib.parse import unquote, urlsplit

import gevent
import gevent.pool
import gevent.queue

log = logging.getLogger(__name__)
QUEUE_SIZE = 1000
POOL = 8
TIMEOUT = 5.0
BACKOFF = (1.0, 4.0, 15.0, 60.0)
REFRESH = 10.0
LOOPBACK = ("127.0.0.0/8", "::1/128")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def networks_from_env(env=None) -> tuple:
    env = os.environ if env is None else env
    given = [n.strip() for n in env.get("SENTRAL_WEBHOOK_NETWORKS", "").split(",") if n.strip()]
    return tuple(ipaddress.ip_network(n, strict=False) for n in (given or LOOPBACK))


def resolve(url: str, networks) -> tuple[str | None, list[str]]:
    """(why `url` may not be called, or None; the addresses its host resolves to). Every
    address must lie in `networks`; the caller connects to these very addresses, never
    resolving the name again (a DNS answer that changes between the check and the
    connection cannot send the body elsewhere). Names, decimal and hexadecimal forms and
    IPv6 spellings of an address are all judged by the address they resolve to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "a webhook URL is http(s)://host[:port]/path", []
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        return f"cannot resolve {parts.hostname}: {exc}", []
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        ip = ipaddress.ip_address(address)
        if not any(ip in net for net in networks):
            return f"{parts.hostname} ({ip}) is outside the allowed webhook networks", []
        if address not in addresses:
            addresses.append(address)
    return (None, addresses) if addresses else (f"{parts.hostname} resolves to no address", [])


def url_problem(url: str, networks) -> str | None:
    """Why `url` may not be called (scheme, host outside the allowed networks), or None."""
    return resolve(url, networks)[0]


def shown(url: str) -> str:
    """The URL for logs, audit entries and listings: a password in it replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{netloc}").geturl()


def post_to(url: str, address: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST `body` to `url` over a connection to `address` (already checked); the Host
    header, TLS server name and certificate check use the URL's host. Returns the status."""
    import urllib3

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    headers = {**headers, "Host": parts.netloc.rsplit("@", 1)[-1]}
    if parts.username is not None:
        headers.update(urllib3.util.make_headers(
            basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}"))
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=parts.hostname,
                                           assert_hostname=parts.hostname, cert_reqs="CERT_REQUIRED", **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        return pool.urlopen("POST", path, body=body, headers=headers, redirect=False, retries=False,
                            assert_same_host=False).status
    finally:
        pool.close()


class WebhookSender:
    def __init__(self, store, networks=None, *, backoff=BACKOFF, timeout: float = TIMEOUT,
                 queue_size: int = QUEUE_SIZE, refresh: float = REFRESH):
        self.store = store
        self.networks = networks if networks is not None else networks_from_env()
        self.backoff, self.timeout, self.refresh = tuple(backoff), timeout, refresh
        self.queue: gevent.queue.Queue = gevent.queue.Queue(maxsize=queue_size)
        self.pool = gevent.pool.Pool(POOL)
        self.stats = {"queued": 0, "dropped": 0, "delivered": 0, "failed": 0, "refused": 0, "attempts": 0}
        self._hooks: list = []
        self._read_at = -1e9
        self._worker = None

    def submit(self, event: dict) -> None:
        """Queue an event for its tenant's webhooks (never blocks; a full queue drops it)."""
        try:
            self.queue.put_nowait(event)
            self.stats["queued"] += 1
        except gevent.queue.Full:
            self.stats["dropped"] += 1
            log.warning("webhook queue full: event %s dropped (%d dropped so far)", event.get("kind"),
                        self.stats["dropped"])

    def start(self) -> "WebhookSender":
        if self._worker is None:
            self._worker = gevent.spawn(self._run)
        return self

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.kill(block=False)
            self.pool.kill(block=False)

    def hooks(self) -> list:
        now = time.monotonic()
        if now - self._read_at >= self.refresh:
            try:
                self._hooks = self.store.webhooks(active_only=True)
                self._read_at = now
            except Exception:
                log.exception("reading the webhooks failed")
        return self._hooks

    def _run(self) -> None:
        while True:
            event = self.queue.get()
            for hook in self.hooks():
                if hook.tenant in (event["tenant"], "*") and hook.wants(event["kind"]):
                    self.pool.spawn(self.deliver, hook, event)

    def deliver(self, hook, event: dict) -> bool:
        import urllib3

        problem, addresses = resolve(hook.url, self.networks)
        if problem:
            self.stats["refused"] += 1
            log.warning("webhook %s not called: %s", hook.id, problem)
            return False
        body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Sentral-Event": event["kind"],
                   "X-Sentral-Delivery": event["id"], "X-Sentral-Signature": signature(hook.secret, body)}
        for attempt, pause in enumerate((0.0, *self.backoff)):
            if pause:
                gevent.sleep(pause)
            self.stats["attempts"] += 1
            try:
                status = post_to(hook.url, addresses[0], body, headers, self.timeout)
                if 200 <= status < 300:
                    self.stats["delivered"] += 1
                    return True
                why = f"HTTP {status}"
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                why = type(exc).__name__
            log.info("webhook %s, event %s, try %d: %s", hook.id, event["kind"], attempt + 1, why)
        self.stats["failed"] += 1
        log.warning("webhook %s gave up on event %s after %d tries", hook.id, event["kind"], len(self.backoff) + 1)
        return False
