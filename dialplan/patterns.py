"""Number patterns (`numbers: [{pattern: REGEX}]`): checked and matched with RE2.

Rules:
- Patterns are matched with RE2 (google-re2), whose time is linear in the input: a
  pattern like `^(\\d+)+$` cannot freeze the engine process on a long destination the
  way Python's backtracking `re` does (~6 s for 28 digits).
- RE2 speaks the PCRE subset FreeSWITCH dialplans use (groups, classes, `\\d`, counted
  repeats, `$1` captures); what it cannot compile (back-references, look-around) is a
  `bad-regex` problem at check time, so a pattern that loads is one we can match.
- Request input is bounded: a destination longer than MAX_DESTINATION characters
  matches no pattern (E.164 numbers have at most 15 digits; SIP user parts of our own
  extensions at most 10).
"""
from __future__ import annotations

import functools

import re2

MAX_DESTINATION = 64
MAX_PATTERN = 1000


class PatternError(ValueError):
    error_id = "dialplan.bad_pattern"


def _options() -> "re2.Options":
    options = re2.Options()
    options.log_errors = False     # RE2 would print every refused pattern on stderr
    options.max_mem = 8 << 20      # a pattern whose program needs more is refused, not built
    return options


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str):
    """The compiled pattern, or PatternError saying why RE2 refuses it."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        raise PatternError(reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)) from None


def matches(pattern: str, destination: str) -> bool:
    """Whether `destination` matches `pattern` anywhere (FreeSWITCH's condition semantics:
    anchors are the pattern's own); over-long destinations match nothing."""
    if not destination or len(destination) > MAX_DESTINATION:
        return False
    try:
        return compile_pattern(pattern).search(destination) is not None
    except PatternError:
        return False
