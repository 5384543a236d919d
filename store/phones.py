"""Phone numbers to E.164, with Google's libphonenumber rules (the `phonenumbers`
package). Norway (+47) is the default country.

Rules:
- accepted input: "+47 22 33 44 55", "0047 22334455", "22 33 44 55", "(22) 33-44-55",
  "+46 8 123 456 78", "004681234567", "tel:+47-22-33-44-55"; a national number is read
  in the default country (its trunk prefix, e.g. Sweden's 0, is dropped).
- Norwegian short numbers (3 to 5 digits: 113, 1881, 02800) are kept as dialled, without "+".
- "00" international prefix -> "+".
- letters (other than a "tel:" prefix), or a number libphonenumber finds impossible for
  its country (wrong length): PhoneNumberError.
- `phone_digits_for_search` gives the digits a query may match on (any format in);
  a partial number ("4455") matches as a suffix, so operators can type the last digits.
This sits in store/ (not the pure engine, which imports only the standard library):
everything that normalises numbers before they are stored or searched calls it.
"""
from __future__ import annotations

import re

import phonenumbers

DEFAULT_COUNTRY = "47"
_STRIP = re.compile(r"[\s\-().\/]")


class PhoneNumberError(ValueError):
    error_id = "directory.phone_invalid"


def _compact(raw: str) -> str:
    text = (raw or "").strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    return _STRIP.sub("", text)


def to_e164(raw: str, default_country: str = DEFAULT_COUNTRY) -> str:
    """Normalise one phone number; "" stays "". Raises PhoneNumberError on garbage."""
    compact = _compact(raw)
    if not compact:
        return ""
    if not re.fullmatch(r"\+?\d+", compact):
        raise PhoneNumberError(f"not a phone number: {raw!r}")
    if default_country == "47" and compact.isdigit() and len(compact) in (3, 4, 5):
        return compact  # short numbers (113, 1881, 02800) are dialled as they are
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    region = phonenumbers.region_code_for_country_code(int(default_country or DEFAULT_COUNTRY))
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneNumberError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise PhoneNumberError(f"not a phone number: {raw!r} (impossible length for +{parsed.country_code})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(query: str) -> bool:
    return bool(re.fullmatch(r"\+?\d{3,15}", _compact(query)))


def phone_digits_for_search(query: str) -> str:
    """The digits to look for in stored E.164 numbers (without "+"): a whole number in
    any format is normalised; a partial one is kept as typed (matched as a suffix)."""
    compact = _compact(query)
    if compact.startswith("+"):
        return compact[1:]
    if compact.startswith("00"):
        return compact[2:]
    if len(compact) == 8:
        return DEFAULT_COUNTRY + compact
    return compact
