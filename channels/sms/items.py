"""What the SMS adapters hand on: frozen facts, no gateway types."""
from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class SmsItem:
    """One inbound SMS (concatenated parts already joined)."""
    sender: str              # E.164 when it parses, else as received (alphanumeric senders)
    recipient: str
    text: str
    gateway_message_id: str
    encoding: str            # "gsm7", "ucs2", "latin1", ...
    channel: str = "smpp"


class DeliveryState(enum.Enum):
    ENROUTE = "enroute"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self not in (DeliveryState.ENROUTE, DeliveryState.ACCEPTED, DeliveryState.UNKNOWN)


@dataclass(frozen=True)
class DeliveryReceipt:
    gateway_message_id: str
    reference: str | None    # our reference for the sent message; None when not ours / forgotten
    state: DeliveryState
    error: str = ""


@dataclass(frozen=True)
class Submitted:
    """An accepted outbound message: one gateway id per part."""
    reference: str
    recipient: str
    encoding: str
    message_ids: tuple[str, ...]
