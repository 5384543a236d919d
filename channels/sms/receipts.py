"""SMPP delivery receipts (deliver_sm with esm_class message type 0x04): the
``receipted_message_id``/``message_state`` TLVs when present, else the de-facto text
format of SMPP 3.4 appendix B: ``id:.. sub:.. dlvrd:.. submit date:.. done date:..
stat:DELIVRD err:000 text:..``. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .items import DeliveryState

ESM_TYPE_MASK = 0x3C
ESM_DELIVERY_RECEIPT = 0x04
ESM_INTERMEDIATE = 0x20

_STATE_BY_TLV = {1: DeliveryState.ENROUTE, 2: DeliveryState.DELIVERED, 3: DeliveryState.EXPIRED,
                 4: DeliveryState.DELETED, 5: DeliveryState.UNDELIVERABLE, 6: DeliveryState.ACCEPTED,
                 7: DeliveryState.UNKNOWN, 8: DeliveryState.REJECTED}
_STATE_BY_TEXT = {"ENROUTE": DeliveryState.ENROUTE, "DELIVRD": DeliveryState.DELIVERED,
                  "EXPIRED": DeliveryState.EXPIRED, "DELETED": DeliveryState.DELETED,
                  "UNDELIV": DeliveryState.UNDELIVERABLE, "ACCEPTD": DeliveryState.ACCEPTED,
                  "UNKNOWN": DeliveryState.UNKNOWN, "REJECTD": DeliveryState.REJECTED}
_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err):(\S*)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedReceipt:
    message_id: str
    state: DeliveryState
    error: str


def is_receipt(esm_class: int) -> bool:
    return (esm_class & ESM_TYPE_MASK) in (ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE)


def parse(text: str, receipted_message_id: str | None = None,
          message_state: int | None = None) -> ParsedReceipt:
    fields = {k.lower(): v for k, v in _FIELD.findall(text or "")}
    message_id = receipted_message_id or fields.get("id", "")
    if message_state in _STATE_BY_TLV:
        state = _STATE_BY_TLV[message_state]
    else:
        state = _STATE_BY_TEXT.get(fields.get("stat", "").upper(), DeliveryState.UNKNOWN)
    return ParsedReceipt(message_id, state, fields.get("err", ""))


def id_variants(message_id: str) -> list[str]:
    """Some SMSCs answer submit_sm with a hexadecimal id and print it in decimal in the
    receipt text (or the other way round): try the id as given, then the other base."""
    out = [message_id]
    if message_id.isdigit():
        out += [format(int(message_id), "x"), format(int(message_id), "X")]
    elif re.fullmatch(r"[0-9A-Fa-f]+", message_id or ""):
        out.append(str(int(message_id, 16)))
    return out
