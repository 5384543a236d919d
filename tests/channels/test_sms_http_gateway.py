"""The HTTP SMS gateway: outbound against a fake gateway (pytest-httpserver on 127.0.0.1)
that keeps idempotency keys as real providers do; inbound webhook verification."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from werkzeug import Response

from channels.sms.errors import BadSignature, GatewayUnavailable, InvalidNumber, MalformedWebhook, SubmitRefused
from channels.sms.http_gateway import GatewaySettings, HttpGatewayClient, WebhookReceiver
from channels.sms.items import DeliveryReceipt, DeliveryState, SmsItem

SECRET = b"webhook-secret"


class FakeGateway:
    """Answers from ``script`` (a status per request; "ok" = take the message), remembers
    Idempotency-Key -> id like a provider, and counts messages it would hand to the network."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        self.by_key = {}
        self.sent = []

    def __call__(self, request):
        self.requests.append((request.headers.get("Idempotency-Key"), request.get_json()))
        step = self.script.pop(0) if self.script else "ok"
        key = request.headers.get("Idempotency-Key")
        if step in ("ok", "lost"):
            if key not in self.by_key:
                self.by_key[key] = f"gw-{len(self.by_key) + 1}"
                self.sent.append(request.get_json())
            if step == "lost":                      # taken, but the answer never makes it back
                return Response("bad gateway", status=502)
            return Response(json.dumps({"id": self.by_key[key]}), status=201, content_type="application/json")
        return Response("down", status=step, headers={"Retry-After": "0.25"} if step == 503 else {})


@pytest.fixture
def gateway(httpserver):
    def make(*script):
        fake = FakeGateway(script)
        httpserver.expect_request("/v1/messages", method="POST").respond_with_handler(fake)
        sleeps = []
        client = HttpGatewayClient(GatewaySettings(base_url=httpserver.url_for("/v1"), api_key="k",
                                                   source="Sentral", attempts=4, timeout=5),
                                   sleep=sleeps.append)
        return fake, client, sleeps
    return make


def test_given_a_503_then_retried_with_the_same_key_and_sent_once(gateway):
    fake, client, sleeps = gateway(503, "ok")
    sent = client.send("+47 912 34 567", "Hei", reference="out-1")
    assert sent.message_ids == ("gw-1",) and sent.recipient == "+4791234567"
    assert [key for key, _ in fake.requests] == ["out-1", "out-1"]
    assert sleeps == [0.25], "Retry-After honoured"
    assert len(fake.sent) == 1


def test_given_a_lost_answer_then_the_retry_gets_the_same_id_and_nothing_is_sent_twice(gateway):
    fake, client, sleeps = gateway("lost", 500)
    sent = client.send("+4791234567", "Hei", reference="out-2")
    assert sent.message_ids == ("gw-1",)
    assert len(fake.requests) == 3 and sleeps == [0.5, 1.0]
    again = client.send("+4791234567", "Hei", reference="out-2")
    assert again == sent and len(fake.requests) == 3, "an accepted reference is not posted again"
    assert len(fake.sent) == 1


def test_given_a_gateway_down_through_every_attempt_then_unavailable_and_later_sent_once(gateway):
    fake, client, _ = gateway("lost", 503, 503, 503)
    with pytest.raises(GatewayUnavailable):
        client.send("+4791234567", "Hei", reference="out-3")
    assert len(fake.requests) == 4
    sent = client.send("+4791234567", "Hei", reference="out-3")
    assert sent.message_ids == ("gw-1",) and len(fake.sent) == 1


def test_given_a_400_then_refused_without_retry(gateway):
    fake, client, sleeps = gateway(400)
    with pytest.raises(SubmitRefused):
        client.send("+4791234567", "Hei", reference="out-4")
    assert len(fake.requests) == 1 and sleeps == [] and fake.sent == []


def test_given_an_invalid_number_then_nothing_is_posted(gateway):
    fake, client, _ = gateway()
    with pytest.raises(InvalidNumber):
        client.send("+47 123", "Hei", reference="out-5")
    assert fake.requests == []


def _signed(payload, secret=SECRET):
    body = json.dumps(payload).encode()
    return {"Content-Type": "application/json",
            "X-Signature": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}, body


def test_given_a_good_signature_then_the_message_becomes_an_item_once():
    receiver = WebhookReceiver(SECRET)
    headers, body = _signed({"type": "message", "id": "in-1", "from": "+4741234567",
                             "to": "4722334455", "text": "Når åpner dere? 😀"})
    item = receiver.receive(headers, body)
    assert item == SmsItem("+4741234567", "+4722334455", "Når åpner dere? 😀", "in-1", "unicode", "http")
    assert receiver.receive(headers, body) == item, "not yet taken: a redelivery is processed again"
    receiver.taken("in-1")
    assert receiver.receive(headers, body) is None


def test_given_a_status_webhook_then_a_receipt():
    headers, body = _signed({"type": "status", "id": "gw-1", "reference": "out-1", "status": "delivered"})
    assert WebhookReceiver(SECRET).receive(headers, body) == DeliveryReceipt(
        "gw-1", "out-1", DeliveryState.DELIVERED, "")


@pytest.mark.parametrize("tamper", ["wrong secret", "changed body", "no header", "bare hex"])
def test_given_a_bad_signature_then_refused(tamper):
    headers, body = _signed({"type": "message", "id": "in-2", "from": "+4741234567",
                             "to": "+4722334455", "text": "hi"},
                            secret=b"other" if tamper == "wrong secret" else SECRET)
    if tamper == "changed body":
        body = body.replace(b"hi", b"ho")
    elif tamper == "no header":
        del headers["X-Signature"]
    elif tamper == "bare hex":
        headers["X-Signature"] = headers["X-Signature"].removeprefix("sha256=")
    with pytest.raises(BadSignature) as err:
        WebhookReceiver(SECRET).receive(headers, body)
    assert err.value.error_id == "sms.bad_signature"


def test_given_a_signed_but_malformed_body_then_malformed():
    headers, body = _signed({"type": "message", "id": "in-3"})
    with pytest.raises(MalformedWebhook):
        WebhookReceiver(SECRET).receive(headers, body)
