"""Typed SMS errors with a stable ``error_id`` (part of the API; mapped to replies at the
boundary). Local: we were asked for something impossible. Remote: the gateway refused or
could not be reached."""
from __future__ import annotations


class SmsError(Exception):
    error_id = "sms.error"


class InvalidNumber(SmsError):
    """A number phonenumbers cannot parse or does not hold valid: never sent."""
    error_id = "sms.invalid_number"

    def __init__(self, number: str, reason: str):
        super().__init__(f"invalid phone number {number!r}: {reason}")
        self.number = number
        self.reason = reason


class MessageTooLong(SmsError):
    error_id = "sms.message_too_long"


class LinkDown(SmsError):
    """The SMPP link is not bound (or was lost while a part waited for its response)."""
    error_id = "sms.link_down"


class SubmitRefused(SmsError):
    """The gateway answered a submit with an error status."""
    error_id = "sms.submit_refused"

    def __init__(self, status: int, detail: str = ""):
        super().__init__(f"gateway refused the message (status 0x{status:08x}) {detail}".rstrip())
        self.status = status


class GatewayUnavailable(SmsError):
    """The HTTP gateway stayed down through every retry; the same idempotency key may be
    used again later without a double send."""
    error_id = "sms.gateway_unavailable"


class BadSignature(SmsError):
    error_id = "sms.bad_signature"


class MalformedWebhook(SmsError):
    error_id = "sms.malformed_webhook"
