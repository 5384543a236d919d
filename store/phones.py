"""Phone numbers to E.164 (pure). Norway (+47) is the default country.

Rules:
- accepted input: "+47 22 33 44 55", "0047 22334455", "22 33 44 55", "(22) 33-44-55",
  "+46 8 123 456 78", "004681234567", "tel:+47-22-33-44-55".
- 8 national digits without prefix → +47 (Norwegian numbers have 8 digits; 5-digit
  short numbers like 02800 and 3-digit emergency numbers are kept as they are, no "+").
- "00" international prefix → "+". A leading "+" is kept.
- anything that contains letters (other than a "tel:" prefix) is not a number: ValueError.
- `phone_digits_for_search` gives the digits a query may match on (any format in);
  a partial number ("4455") matches as a suffix, so operators can type the last digits.
"""
from __future__ import annotations

import re

DEFAULT_COUNTRY = "47"
_STRIP = re.compile(r"[\s\-().\/]")


class PhoneNumberError(ValueError):
    error_id = "directory.phone_invalid"


def to_e164(raw: str, default_country: str = DEFAULT_COUNTRY) -> str:
    """Normalise one phone number; "" stays "". Raises PhoneNumberError on garbage."""
    text = (raw or "").strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    if not text:
        return ""
    compact = _STRIP.sub("", text)
    if not re.fullmatch(r"\+?\d+", compact):
        raise PhoneNumberError(f"not a phone number: {raw!r}")
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif default_country == "47" and len(compact) == 8:
        digits = "47" + compact
    elif default_country == "47" and len(compact) in (3, 4, 5):
        return compact  # short numbers (113, 1881, 02800) are dialled as they are
    elif len(compact) >= 8 and compact.startswith("0") and default_country != "47":
        digits = default_country + compact[1:]
    else:
        digits = default_country + compact if len(compact) == 8 else compact
    if not 6 <= len(digits) <= 15:
        raise PhoneNumberError(f"not a phone number: {raw!r} ({len(digits)} digits)")
    return "+" + digits


def looks_like_phone(query: str) -> bool:
    compact = _STRIP.sub("", (query or "").strip())
    return bool(re.fullmatch(r"\+?\d{3,15}", compact))


def phone_digits_for_search(query: str) -> str:
    """The digits to look for in stored E.164 numbers (without "+")."""
    compact = _STRIP.sub("", (query or "").strip())
    if compact.startswith("+"):
        return compact[1:]
    if compact.startswith("00"):
        return compact[2:]
    if len(compact) == 8:
        return DEFAULT_COUNTRY + compact
    return compact
