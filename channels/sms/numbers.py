"""Phone numbers through phonenumbers: outbound recipients must be valid (else
``InvalidNumber``, nothing is sent); inbound senders are normalised when possible and kept
as received otherwise (an alphanumeric sender such as "BANK" is not an error)."""
from __future__ import annotations

import phonenumbers

from .errors import InvalidNumber


def normalise(number: str, default_region: str | None = None) -> str:
    """E.164 ("+4791234567") for a valid number; raises InvalidNumber otherwise."""
    raw = (number or "").strip()
    if not raw:
        raise InvalidNumber(number, "empty")
    if raw.isdigit() and default_region is None:
        raw = "+" + raw                       # SMPP carries international numbers without '+'
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(number, str(exc)) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(number, "not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def inbound(number: str, default_region: str | None = None) -> str:
    try:
        return normalise(number, default_region)
    except InvalidNumber:
        return number


def smpp_address(e164: str) -> str:
    """SMPP destination_addr: international digits (TON 1, NPI 1), no '+'."""
    return e164.lstrip("+")
