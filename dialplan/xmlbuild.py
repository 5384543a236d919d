"""The one escaping builder for the XML we give FreeSWITCH.

Rules: every attribute value comes through `element()`. A value we wrote in code is
marked `Raw` (it may use FreeSWITCH's `${...}` on purpose); anything else came from a
file an engineer edits or from a caller, and is made inert by `fs_value()`:
control characters and the code points XML 1.0 cannot carry are dropped and `$` becomes U+FF04, so `${...}` / `$${...}` is never
expanded by FreeSWITCH's pre-processor or at run time; the pre-processor's command word
gets a non-breaking hyphen (the pre-processor would drop or run such a line). XML quoting itself (`&<>"`)
is ElementTree's. Values for a `{var=value}` string go through `dial_vars()`, which
adds esl.commands' rule for commas, quotes and braces. Regular expressions are the
one exception: `regex()` keeps `$` (an anchor) but refuses `${`.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Mapping

from dialplan.patterns import PatternError, compile_pattern
from engine.fsvalues import originate_vars

# not allowed in XML 1.0 (control characters, surrogates, U+FFFE/U+FFFF) or line breaks
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_PREPROCESS = re.compile(r"x-pre-process", re.I)


class Raw(str):
    """A constant written in our code, passed to FreeSWITCH as it is."""


class UnsafeValue(ValueError):
    error_id = "dialplan.unsafe_value"


def fs_value(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    text = _CONTROL.sub("", str(value)).replace("$", "\uff04")
    # FreeSWITCH's pre-processor drops (or runs) any line naming its command word
    return _PREPROCESS.sub(lambda m: m.group(0).replace("-", "\u2011"), text)


def regex(pattern: str, *, check: bool = True) -> Raw:
    """A dialplan expression. `check=True` compiles it with RE2 as the engine matches it
    (dialplan/patterns.py), so what reaches FreeSWITCH is what the engine understands;
    `check=False` skips that (for patterns we built from re.escape'd parts)."""
    if "${" in pattern or _CONTROL.search(pattern):
        raise UnsafeValue(f"a dialplan expression may not hold '${{' or control characters: {pattern!r}")
    if check:
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise UnsafeValue(f"not a dialplan expression RE2 can match ({exc}): {pattern[:80]!r}") from None
    return Raw(pattern)


def dial_vars(variables: Mapping[str, str]) -> str:
    """`{name=value,...}` with every value made inert (for dial strings and originate)."""
    return originate_vars({name: fs_value(value) for name, value in variables.items()})


def element(parent, tag: str, **attrs) -> ET.Element:
    """A child element (or a root if `parent` is None); trailing `_` in a name is dropped
    (`class_=` for `class`)."""
    clean = {name.rstrip("_").replace("__", "-"): fs_value(value) for name, value in attrs.items()}
    return ET.Element(tag, clean) if parent is None else ET.SubElement(parent, tag, clean)


def set_action(parent, name: str, value) -> ET.Element:
    """`<action application="set" data="name=value"/>` (the name is ours, the value inert)."""
    return element(parent, "action", application=Raw("set"), data=Raw(f"{name}=") + Raw(fs_value(value)))


def render(root: ET.Element, *, comment: str = "", declaration: bool = True) -> str:
    """The document as text. Files pulled in by FreeSWITCH's X-PRE-PROCESS include must
    not carry an XML declaration (`declaration=False`); mod_xml_curl answers do."""
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    head = f"<!-- {comment.replace('--', '- -')} -->\n" if comment else ""
    decl = '<?xml version="1.0" encoding="utf-8"?>\n' if declaration else ""
    return f"{decl}{head}{body}\n"
