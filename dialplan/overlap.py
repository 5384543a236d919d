"""Do two number patterns overlap? A finder of witnesses, for `sentral config check`'s
warnings (a number matched by two routes goes to the first one only).

Rules: exact overlap of regular languages is not decided here; instead each pattern
yields a bounded set of numbers it matches (every branch, each character class's ends
and middle, each repeat at its least count and one more), and a sample of one pattern
that the other matches is a witness: a warning is always backed by a real number
(`witness()` returns it). No witness means "no overlap found", not a proof. Patterns
Python's parser cannot read (RE2-only syntax) yield no samples.
"""
from __future__ import annotations

import itertools
import re

from dialplan import patterns

try:                                       # the regular-expression parser of the standard library
    from re import _parser as sre_parse    # Python 3.11+
except ImportError:                        # pragma: no cover
    import sre_parse                       # type: ignore[no-redef]

LIMIT = 64
_c = sre_parse  # constants (LITERAL, IN, ...) live in the parser module's namespace


def _class(items) -> list[str]:
    out: list[str] = []
    negate = False
    for op, arg in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            out.append(chr(arg))
        elif op is _c.RANGE:
            lo, hi = arg
            out.extend({chr(lo), chr((lo + hi) // 2), chr(hi)})
        elif op is _c.CATEGORY and arg is _c.CATEGORY_DIGIT:
            out.extend(["0", "5", "9"])
    if negate:
        return [d for d in "0123456789+" if d not in out][:2]
    return sorted(set(out))[:4]


def _seq(parsed) -> list[str]:
    results = [""]
    for op, arg in parsed:
        results = [a + b for a, b in itertools.islice(itertools.product(results, _node(op, arg)), LIMIT)]
    return results


def _node(op, arg) -> list[str]:
    if op is _c.LITERAL:
        return [chr(arg)]
    if op is _c.NOT_LITERAL:
        return ["5" if chr(arg) != "5" else "6"]
    if op is _c.IN:
        return _class(arg)
    if op is _c.ANY:
        return ["5"]
    if op is _c.AT:
        return [""]
    if op is _c.CATEGORY:
        return ["0", "9"] if arg is _c.CATEGORY_DIGIT else ["a"]
    if op is _c.SUBPATTERN:
        return _seq(arg[-1])
    if op is _c.BRANCH:
        return list(itertools.islice(itertools.chain.from_iterable(_seq(alt) for alt in arg[1]), LIMIT))
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = arg
        subs = _seq(sub)
        counts = [low] + ([low + 1] if high > low else [])
        return [s * n for n in counts for s in subs][:LIMIT]
    return []                              # look-around, back-references: RE2 refused them already


def samples(pattern: str) -> list[str]:
    """Numbers `pattern` matches (only those it really matches are returned)."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return []
    return [s for s in _seq(parsed) if patterns.matches(pattern, s)]


def witness(a: str, b: str) -> str | None:
    """A number both patterns match, if one of their samples is."""
    for one, other in ((a, b), (b, a)):
        for sample in samples(one):
            if patterns.matches(other, sample):
                return sample
    return None


def shadowed(later: str, earlier: str) -> str | None:
    """A number `later` matches that `earlier` (tried first) takes: a route written after a
    wider one. The more specific pattern first is the intended order and is not reported."""
    return next((sample for sample in samples(later) if patterns.matches(earlier, sample)), None)
