"""Which case an incoming message belongs to. Pure: no I/O, no clock.

Order: In-Reply-To, then References from the newest to the oldest, against the Message-IDs
we know (ours sent and theirs received, each mapped to its case); only then a case tag in
the subject such as ``[Sak #ABC123]``, accepted only for a case that exists, so a stale or
invented tag does not attach mail to a stranger's case. Headers win over the subject: a
customer who answers one case's mail under another case's subject belongs to the first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Container, Iterable, Mapping

DEFAULT_TAG_WORDS = ("Sak",)


@dataclass(frozen=True)
class CaseMatch:
    case_id: str
    by: str          # "in-reply-to" | "references" | "subject-tag"


def _tag_pattern(words: Iterable[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"\[\s*(?:{alternatives})\s*#\s*([A-Z0-9][A-Z0-9-]{{2,31}})\s*\]", re.IGNORECASE)


def normalise_message_id(value: str | None) -> str | None:
    """'<Abc@Host>' and ' abc@Host ' are the same id; the local part keeps its case."""
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    if "@" not in value:
        return value or None
    local, _, domain = value.rpartition("@")
    return f"<{local}@{domain.lower()}>"


def case_tag(case_id: str, word: str = DEFAULT_TAG_WORDS[0]) -> str:
    return f"[{word} #{case_id}]"


def tag_subject(subject: str, case_id: str, word: str = DEFAULT_TAG_WORDS[0]) -> str:
    """The subject for our reply: the case tag once, whatever the customer's client did."""
    if any(m.group(1).upper() == case_id.upper() for m in _tag_pattern([word]).finditer(subject or "")):
        return subject
    return f"{subject} {case_tag(case_id, word)}".strip()


def subject_tags(subject: str, tag_words: Iterable[str] = DEFAULT_TAG_WORDS) -> list[str]:
    return [m.group(1).upper() for m in _tag_pattern(tag_words).finditer(subject or "")]


def find_case(*, in_reply_to: str | None, references: Iterable[str], subject: str,
              known_message_ids: Mapping[str, str], cases: Container[str],
              tag_words: Iterable[str] = DEFAULT_TAG_WORDS) -> CaseMatch | None:
    """The case for a message, or None for a new case.

    known_message_ids: Message-ID as `normalise_message_id` gives it -> case id (a dict or
    a store-backed mapping). cases: the upper-case case ids a subject tag may name (open
    ones, or any the tenant allows replies to).
    """
    known = known_message_ids
    parent = normalise_message_id(in_reply_to)
    if parent is not None and known.get(parent) is not None:
        return CaseMatch(known[parent], "in-reply-to")
    for ref in reversed(list(references)):
        ref = normalise_message_id(ref)
        case = known.get(ref) if ref is not None else None
        if case is not None:
            return CaseMatch(case, "references")
    for tag in subject_tags(subject, tag_words):
        if tag in cases:
            return CaseMatch(tag, "subject-tag")
    return None


def find_case_for(item, known_message_ids: Mapping[str, str], cases: Container[str],
                  tag_words: Iterable[str] = DEFAULT_TAG_WORDS) -> CaseMatch | None:
    """`find_case` for a parsed `MailItem`."""
    return find_case(in_reply_to=item.in_reply_to, references=item.references, subject=item.subject,
                     known_message_ids=known_message_ids, cases=cases, tag_words=tag_words)
