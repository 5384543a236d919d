"""Text to SMS segments and back: coding choice (GSM-7, else UCS-2), concatenation with a
user data header (UDH, 3GPP TS 23.040 §9.2.3.24.1), inbound decoding and reassembly.
Pure: bytes in, bytes out.

Rules: GSM-7 when the whole text fits GSM 03.38, else UCS-2 (UTF-16-BE, so characters
beyond the BMP travel as surrogate pairs). One segment holds 160 septets or 140 octets;
a concatenated part loses 6 octets to the UDH: 153 septets or 67 UCS-2 units. A part
never ends inside a GSM escape pair or a surrogate pair. At most 255 parts.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import gsm7
from .errors import MessageTooLong

DC_GSM7 = 0x00       # SMSC default alphabet
DC_IA5 = 0x01
DC_LATIN1 = 0x03
DC_BINARY = 0x04
DC_UCS2 = 0x08
ESM_UDHI = 0x40      # esm_class bit: short_message starts with a UDH

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67       # in UTF-16 code units
MAX_PARTS = 255


@dataclass(frozen=True)
class Encoded:
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]       # short_message of each submit_sm, UDH included

    @property
    def encoding(self) -> str:
        return "gsm7" if self.data_coding == DC_GSM7 else "ucs2"


def encode(text: str, reference: int) -> Encoded:
    """The submit_sm payloads for ``text``; ``reference`` (0-255) ties concatenated parts."""
    if gsm7.fits(text):
        chunks = _split(text, gsm7.char_septets, GSM7_SINGLE, GSM7_PART)
        coding, enc = DC_GSM7, gsm7.encode
    else:
        chunks = _split(text, lambda ch: 2 if ord(ch) > 0xFFFF else 1, UCS2_SINGLE, UCS2_PART)
        coding, enc = DC_UCS2, lambda s: s.encode("utf-16-be")
    if len(chunks) == 1:
        return Encoded(coding, 0, (enc(chunks[0]),))
    if len(chunks) > MAX_PARTS:
        raise MessageTooLong(f"{len(chunks)} parts (at most {MAX_PARTS})")
    ref = reference & 0xFF
    parts = tuple(bytes((0x05, 0x00, 0x03, ref, len(chunks), i)) + enc(chunk)
                  for i, chunk in enumerate(chunks, start=1))
    return Encoded(coding, ESM_UDHI, parts)


def _split(text: str, cost, single: int, part: int) -> list[str]:
    if sum(cost(ch) for ch in text) <= single:
        return [text]
    chunks, current, used = [], [], 0
    for ch in text:                    # whole characters only: no cut escape or surrogate pair
        c = cost(ch)
        if used + c > part:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += c
    chunks.append("".join(current))
    return chunks


@dataclass(frozen=True)
class Concat:
    reference: int
    total: int
    index: int


def split_udh(payload: bytes, esm_class: int) -> tuple[Concat | None, bytes]:
    """The concatenation info element (8- or 16-bit reference) and the user data after the UDH."""
    if not esm_class & ESM_UDHI or not payload:
        return None, payload
    udhl = payload[0]
    header, body = payload[1:1 + udhl], payload[1 + udhl:]
    concat = None
    i = 0
    while i + 1 < len(header):
        iei, iel = header[i], header[i + 1]
        value = header[i + 2:i + 2 + iel]
        if iei == 0x00 and iel == 3 and len(value) == 3:
            concat = Concat(value[0], value[1], value[2])
        elif iei == 0x08 and iel == 4 and len(value) == 4:
            concat = Concat(int.from_bytes(value[:2], "big"), value[2], value[3])
        i += 2 + iel
    return concat, body


def decode_text(data_coding: int, body: bytes) -> str:
    """Text of a deliver_sm's user data. Unknown codings decode as Latin-1 (logged by the
    caller): an inbound message is never dropped for its coding."""
    if data_coding == DC_GSM7:
        return gsm7.decode(body)
    if data_coding == DC_UCS2 or (data_coding & 0xCC) == 0x08:     # also the general DCS group
        return body.decode("utf-16-be", errors="replace")
    if data_coding == DC_IA5:
        return body.decode("ascii", errors="replace")
    return body.decode("latin-1")


def known_coding(data_coding: int) -> bool:
    return data_coding in (DC_GSM7, DC_IA5, DC_LATIN1, DC_UCS2) or (data_coding & 0xCC) == 0x08


class Reassembler:
    """Collects concatenated parts per (sender, reference, total) until all have arrived.
    ``add`` returns the parts' texts in order when complete, else None. A repeated part
    replaces itself. Incomplete sets are kept (bounded by ``max_pending``, oldest dropped)."""

    def __init__(self, max_pending: int = 10_000):
        self._pending: dict[tuple, dict[int, str]] = {}
        self._max = max_pending

    def add(self, sender: str, concat: Concat, text: str) -> list[str] | None:
        key = (sender, concat.reference, concat.total)
        parts = self._pending.setdefault(key, {})
        parts[concat.index] = text
        if len(parts) == concat.total and all(i in parts for i in range(1, concat.total + 1)):
            del self._pending[key]
            return [parts[i] for i in range(1, concat.total + 1)]
        while len(self._pending) > self._max:
            self._pending.pop(next(iter(self._pending)))
        return None
