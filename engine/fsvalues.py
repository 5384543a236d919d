"""The values FreeSWITCH accepts on a command line or in a variable list, as pure string
rules. Both adapters that write for FreeSWITCH use them, so they agree on what is safe:
esl/commands.py (api commands) and dialplan/ (the XML it fetches); both may import only
engine/, hence this module here. Plain string rules, no FreeSWITCH I/O:
* tokens (UUIDs, variable names, SIP users, paths) must be single words of safe
  characters; anything else raises UnsafeValue (the caller's bug or bad configuration);
* free text that may come from callers or engineers (caller names, agency names) is
  sanitised: control characters dropped, `,` escaped as `\\,` inside `{...}` (FreeSWITCH
  splits originate variables on commas), `'` replaced, values with spaces quoted `'...'`.
"""
from __future__ import annotations

import re
from typing import Mapping

_TOKEN = re.compile(r"^[A-Za-z0-9_.:@+\-]+$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z0-9_.:@+\-/%(),;=$~]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeValue(ValueError):
    """A value that must not reach FreeSWITCH as it is."""


def token(value: str, what: str = "token") -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise UnsafeValue(f"{what} is not a safe token: {value!r}")
    return value


def var_name(name: str) -> str:
    if not _VAR_NAME.match(name or ""):
        raise UnsafeValue(f"not a channel variable name: {name!r}")
    return name


def path(value: str) -> str:
    if not _PATH.match(value or ""):
        raise UnsafeValue(f"not a safe media path: {value!r}")
    return value


def clean_text(value: str) -> str:
    """Free text (caller names...) made safe for a command line: no control characters,
    no backslash (FreeSWITCH's escape character in variable lists: a trailing one would
    swallow our separator)."""
    return _CONTROL.sub("", str(value)).replace("\\", "/").strip()


def originate_value(value: str) -> str:
    text = clean_text(value).replace("'", "\u2019").replace("}", ")").replace("{", "(")
    text = text.replace("]", ")").replace("[", "(").replace(",", "\\,")
    return f"'{text}'" if " " in text else text


def originate_vars(variables: Mapping[str, str]) -> str:
    if not variables:
        return ""
    inner = ",".join(f"{var_name(k)}={originate_value(v)}" for k, v in variables.items())
    return "{" + inner + "}"
