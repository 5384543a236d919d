"""Search normalisation of names and free text (pure).

Rules (applied identically to stored text and to queries, so they meet):
- lower case; Norwegian letters are spelled out so that "å"/"aa", "ø"/"oe",
  "æ"/"ae" compare equal: å→aa, ø→oe, æ→ae (then "Aasen" and "Åsen" are both "aasen",
  "Sørli" and "Soerli" both "soerli"). Other letters lose their diacritics by Unicode
  decomposition (é→e, ü→u, ö→oe like German/Swedish spelling, ä→ae).
- everything that is not a letter or digit becomes a single space.
- `initials("Kari Nordmann Hansen")` = "knh" (hyphenated names count each part).
"""
from __future__ import annotations

import re
import unicodedata

_SPELL = str.maketrans({
    "å": "aa", "ø": "oe", "æ": "ae", "ö": "oe", "ä": "ae", "ü": "ue", "ß": "ss",
    "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i",
})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Normalise text for search: see the module rules."""
    text = (text or "").lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_SPELL)
        if not text.isascii():
            text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text).strip()


def words(text: str) -> list[str]:
    return fold(text).split()


def initials(*names: str) -> str:
    """First letter of every name part, folded to a-z: ("Kari-Anne", "Ødegård") → "kao"."""
    out = []
    for name in names:
        for part in re.split(r"[\s\-]+", name or ""):
            if part:
                first = unicodedata.normalize("NFKD", part[0].lower())
                out.append("".join(c for c in first if not unicodedata.combining(c)).translate(
                    str.maketrans({"å": "a", "ø": "o", "æ": "a"})))
    return "".join(out)
