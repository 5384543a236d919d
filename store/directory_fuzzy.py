"""Typo tolerance for the directory search: edit distances from rapidfuzz (C++).

Rules:
- The measure is Damerau-Levenshtein (optimal string alignment): a letter added,
  dropped or changed, or two neighbouring letters swapped ("hnasen" for Hansen) is one
  edit. `similarity` = 1 - distance / length of the longer text, in [0, 1].
- `name_similarity(query, name)` is the best similarity of the query against any run
  of consecutive words of the name (so "hnasen" meets "Ola Hansen"), also compared with
  the spaces left out ("marielouise" = "Marie Louise").
- `corrections(token, vocabulary)` are the known name words within MAX_EDITS of a typed
  word (one edit for words up to five letters, two above), closest first.
- `splits(token, vocabulary)`: a word typed for two names run together ("marielouise")
  → "marie louise" when both halves are known name words.
All inputs are folded text (`engine.directory.names.fold`), already bounded in length
by the caller (MAX_QUERY, MAX_FUZZY_WORDS).
"""
from __future__ import annotations

from rapidfuzz import process
from rapidfuzz.distance import OSA

CORRECTIONS = 4


def max_edits(word: str) -> int:
    return 1 if len(word) <= 5 else 2


def similarity(a: str, b: str) -> float:
    return OSA.normalized_similarity(a, b)


def name_similarity(query: str, name_text: str) -> float:
    words = name_text.split()
    n = max(1, len(query.split()))
    compact = query.replace(" ", "")
    best = max(similarity(query, name_text), similarity(compact, name_text.replace(" ", "")))
    for size in range(max(1, n - 1), n + 2):
        for i in range(0, max(1, len(words) - size + 1)):
            run = words[i:i + size]
            best = max(best, similarity(query, " ".join(run)), similarity(compact, "".join(run)))
    return best


def corrections(token: str, vocabulary: list[str]) -> list[str]:
    """Known words within max_edits(token) of `token`, closest first (ties: shorter, then
    alphabetical, so the order is the same on every database)."""
    found = process.extract(token, vocabulary, scorer=OSA.distance, score_cutoff=max_edits(token),
                            limit=CORRECTIONS * 4)
    ranked = sorted((dist, len(word), word) for word, dist, _ in found)
    return [word for *_, word in ranked[:CORRECTIONS]]


def splits(token: str, known: set[str]) -> list[str]:
    """"marielouise" → ["marie louise"] when "marie" and "louise" are known words."""
    return [f"{token[:i]} {token[i:]}" for i in range(2, len(token) - 1)
            if token[:i] in known and token[i:] in known]
