"""SMS over an HTTP gateway: a signed JSON webhook in, a REST send out.

Wire contract (the common shape of SMS REST providers; one adapter per provider maps its
field names onto it):
- Inbound: ``POST`` with a JSON body, header ``X-Signature: sha256=<hex HMAC-SHA256 of the
  raw body with the shared secret>``. ``{"type": "message", "id", "from", "to", "text"}``
  or ``{"type": "status", "id", "reference", "status", "error"}``.
- Outbound: ``POST {base_url}/messages`` with ``{"to", "from", "text", "reference"}``,
  ``Authorization: Bearer <api_key>`` and ``Idempotency-Key: <reference>``; the answer
  ``{"id": ...}`` is the gateway message id.

Rules: the signature is compared in constant time over the raw bytes, before JSON parsing.
Every attempt of one message carries the same idempotency key, so a gateway that took the
message but whose answer was lost does not send it again; a reference this client already
got an id for is answered from memory without a request. Connection errors, timeouts,
429 and 5xx are retried with exponential back-off (Retry-After honoured); other 4xx are
final. The sleep is injected (time.sleep, cooperative under gevent's monkey-patching).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping

import requests

from . import numbers
from .dedupe import SeenIds
from .errors import BadSignature, GatewayUnavailable, MalformedWebhook, SubmitRefused
from .items import DeliveryReceipt, DeliveryState, SmsItem, Submitted

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
_RETRY_STATUS = {429, 500, 502, 503, 504}
_STATES = {s.value: s for s in DeliveryState}


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> None:
    """Raises BadSignature unless ``header`` is the body's HMAC (constant-time compare)."""
    if not header or not hmac.compare_digest(sign(secret, body).encode(), header.strip().encode()):
        raise BadSignature("webhook signature does not match")


class WebhookReceiver:
    """Turns verified webhook bodies into SmsItem / DeliveryReceipt; a message id seen
    before gives None (acknowledge it, do nothing). Call ``taken(id)`` once the item is
    handed on; until then a redelivery is processed again."""

    def __init__(self, secret: bytes, default_region: str | None = None, remembered_ids: int = 100_000):
        self._secret = secret
        self._region = default_region
        self._seen = SeenIds(remembered_ids)

    def receive(self, headers: Mapping[str, str], body: bytes) -> SmsItem | DeliveryReceipt | None:
        verify(self._secret, body, _header(headers, SIGNATURE_HEADER))
        try:
            data = json.loads(body)
            kind, message_id = data["type"], str(data["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedWebhook(f"webhook body: {exc}") from None
        if kind == "status":
            state = _STATES.get(str(data.get("status", "")).lower(), DeliveryState.UNKNOWN)
            return DeliveryReceipt(message_id, data.get("reference"), state, str(data.get("error", "")))
        if kind != "message":
            raise MalformedWebhook(f"unknown webhook type {kind!r}")
        if message_id in self._seen:
            log.info("SMS webhook duplicate %s ignored", message_id)
            return None
        try:
            return SmsItem(sender=numbers.inbound(str(data["from"]), self._region),
                           recipient=numbers.inbound(str(data["to"]), self._region),
                           text=str(data["text"]), gateway_message_id=message_id,
                           encoding="unicode", channel="http")
        except KeyError as exc:
            raise MalformedWebhook(f"webhook message lacks {exc}") from None

    def taken(self, message_id: str) -> None:
        self._seen.add(message_id)


@dataclass(frozen=True)
class GatewaySettings:
    base_url: str
    api_key: str
    source: str
    default_region: str | None = None
    timeout: float = 10.0
    attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class HttpGatewayClient:
    def __init__(self, settings: GatewaySettings, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, remembered: int = 100_000):
        self.settings = settings
        self._http = session or requests.Session()
        self._sleep = sleep
        self._accepted: OrderedDict[str, Submitted] = OrderedDict()
        self._remembered = remembered

    def send(self, to: str, text: str, reference: str) -> Submitted:
        """Raises InvalidNumber (nothing sent), SubmitRefused (4xx), GatewayUnavailable."""
        s = self.settings
        recipient = numbers.normalise(to, s.default_region)
        if reference in self._accepted:
            return self._accepted[reference]
        body = {"to": recipient, "from": s.source, "text": text, "reference": reference}
        headers = {"Authorization": f"Bearer {s.api_key}", "Idempotency-Key": reference}
        delay, last = s.backoff_initial, ""
        for attempt in range(1, s.attempts + 1):
            try:
                resp = self._http.post(s.base_url.rstrip("/") + "/messages", json=body,
                                       headers=headers, timeout=s.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last, retry_after = f"{type(exc).__name__}", None
            else:
                if resp.status_code < 300:
                    return self._remember(reference, recipient, resp)
                if resp.status_code not in _RETRY_STATUS:
                    raise SubmitRefused(resp.status_code, resp.text[:200])
                last, retry_after = f"HTTP {resp.status_code}", _retry_after(resp)
            if attempt == s.attempts:
                break
            wait = min(retry_after if retry_after is not None else delay, s.backoff_max)
            log.warning("SMS gateway attempt %d for %s failed (%s); retry in %.2fs",
                        attempt, reference, last, wait)
            self._sleep(wait)
            delay = min(delay * 2, s.backoff_max)
        raise GatewayUnavailable(f"{reference}: {s.attempts} attempts, last {last}")

    def _remember(self, reference: str, recipient: str, resp) -> Submitted:
        try:
            message_id = str(resp.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise SubmitRefused(resp.status_code, "answer without a message id") from None
        submitted = Submitted(reference, recipient, "unicode", (message_id,))
        self._accepted[reference] = submitted
        while len(self._accepted) > self._remembered:
            self._accepted.popitem(last=False)
        return submitted


def _retry_after(resp) -> float | None:
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
