"""The GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1) as used on SMPP: one septet per
octet ("unpacked"), the SMSC packs. Pure; no I/O.

smpplib's own table is not used: it maps '`' to 0x5F (which is '§') and has no '§'.
Extension characters take two septets (ESC 0x1B + code); `septets()` counts them so the
splitter never cuts an escape pair in half.
"""
from __future__ import annotations

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
ESC = 0x1B
EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
             "]": 0x3E, "|": 0x40, "€": 0x65}

_BASIC_CODE = {ch: i for i, ch in enumerate(BASIC) if i != ESC}
_EXT_CHAR = {code: ch for ch, code in EXTENSION.items()}

assert len(BASIC) == 128


def fits(text: str) -> bool:
    """True when every character is in the default alphabet or its extension table."""
    return all(ch in _BASIC_CODE or ch in EXTENSION for ch in text)


def char_septets(ch: str) -> int:
    return 2 if ch in EXTENSION else 1


def septets(text: str) -> int:
    return sum(char_septets(ch) for ch in text)


def encode(text: str) -> bytes:
    """Unpacked septets; raises UnicodeEncodeError for a character outside GSM 03.38."""
    out = bytearray()
    for i, ch in enumerate(text):
        code = _BASIC_CODE.get(ch)
        if code is not None:
            out.append(code)
        elif ch in EXTENSION:
            out += bytes((ESC, EXTENSION[ch]))
        else:
            raise UnicodeEncodeError("gsm03.38", text, i, i + 1, "not in the GSM 7-bit alphabet")
    return bytes(out)


def decode(data: bytes) -> str:
    """Unpacked septets to text. An unknown escape shows the basic character, as 23.038
    asks of a receiver; a trailing lone ESC becomes a space."""
    out = []
    i = 0
    while i < len(data):
        code = data[i] & 0x7F
        if code == ESC:
            if i + 1 < len(data):
                nxt = data[i + 1] & 0x7F
                out.append(_EXT_CHAR.get(nxt, BASIC[nxt] if nxt != ESC else " "))
                i += 2
                continue
            out.append(" ")
        else:
            out.append(BASIC[code])
        i += 1
    return "".join(out)
