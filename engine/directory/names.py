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


_TYPED_AS = {"o": ("oe",), "a": ("aa", "ae")}   # ø typed as o; å and æ typed as a


def ascii_variants(word: str, limit: int = 6) -> list[str]:
    """A folded query word as it may have been meant when typed without Norwegian letters:
    "lonn" → ["lonn", "loenn"] (Lønn), "radgiver" → ["radgiver", "raadgiver", "raedgiver"].
    The word itself first, then one letter restored, then two; at most `limit`."""
    out = [word]
    spots = [i for i, c in enumerate(word) if c in _TYPED_AS][:4]
    frontier = [(word, 0, -1)]                      # (text, shift from inserted letters, last spot used)
    for _depth in range(2):
        nxt = []
        for text, shift, last in frontier:
            for n, i in enumerate(spots):
                if n <= last:
                    continue
                for spelled in _TYPED_AS[word[i]]:
                    j = i + shift
                    variant = text[:j] + spelled + text[j + 1:]
                    nxt.append((variant, shift + len(spelled) - 1, n))
                    if variant not in out:
                        out.append(variant)
                        if len(out) == limit:
                            return out
        frontier = nxt
    return out
