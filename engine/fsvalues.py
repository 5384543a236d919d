"""The values FreeSWITCH accepts on a command line or in a variable list, as pure string
rules. Both adapters that write for FreeSWITCH use them, so they agree on what is safe:
esl/commands.py (api commands) and dialplan/ (the XML it fetches); both may import only
engine/, hence this module here. Plain string rules, no FreeSWITCH I/O:
* tokens (UUIDs, variable names, SIP users, paths) must be single words of safe
  characters; anything else raises UnsafeValue (the caller's bug or bad configuration);
* free text that may come from callers or engineers (caller names, agency names) is
  sanitised: control characters dropped, `,` escaped as `\\,` inside `{...}` (FreeSWITCH
  splits originate variables on commas), `'` replaced, values with spaces quoted `'...'`;
* what a person types that reaches a command (a number to dial, DTMF digits, a
  conference room) is checked against a strict pattern, never escaped: a bad one raises.

How FreeSWITCH reads an originate line (switch_utils.c switch_separate_string and
switch_event.c switch_event_create_brackets, read for this module): the api line is
first split on spaces outside `'...'` quotes (a backslash keeps the next byte) and each
word loses its quotes; the `{...}` block ends at the first `}` (quotes do not hide one,
so `{` `}` `[` `]` in a value are replaced); it is split on commas outside quotes (`\\,`
is a literal comma) and each item on its first `=`. A lone `'` only opens a quote if a
second one follows somewhere, possibly in another variable: values never carry one
(`'` -> `’`). A backslash would become an escape (`\\n` a newline): replaced by `/`.
A value is stored as it is, but FreeSWITCH expands `${...}` in a variable's value when
the dialplan uses that variable (switch_channel.c, recursively, and `${name(args)}` runs
the api command `name`, e.g. `system`): `$` in free text becomes `＄`.
UTF-8 is byte-safe in all of this (no multi-byte sequence contains an ASCII byte), so
Norwegian names arrive intact.
"""
from __future__ import annotations

import re
from typing import Mapping

_TOKEN = re.compile(r"^[A-Za-z0-9_.:@+\-]+$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z0-9_.:@+\-/%(),;=$~]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
_DIGITS = re.compile(r"^[0-9*#A-Da-d]{1,32}$")
_ROOM = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_EXTENSION = re.compile(r"^[A-Za-z0-9_.+\-]{1,64}$")
# every pattern is applied with fullmatch: re's `$` also matches before a final "\n",
# and "1000\n" on an api line is the end of one command and the start of another


class UnsafeValue(ValueError):
    """A value that must not reach FreeSWITCH as it is."""


def token(value: str, what: str = "token") -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise UnsafeValue(f"{what} is not a safe token: {value!r}")
    return value


def var_name(name: str) -> str:
    if not _VAR_NAME.fullmatch(name or ""):
        raise UnsafeValue(f"not a channel variable name: {name!r}")
    return name


def path(value: str) -> str:
    if not _PATH.fullmatch(value or ""):
        raise UnsafeValue(f"not a safe media path: {value!r}")
    return value


def extension(value: str) -> str:
    """The user part of `user/<ext>`: no `@` (another domain), no separator."""
    if not isinstance(value, str) or not _EXTENSION.fullmatch(value):
        raise UnsafeValue(f"not an extension: {value!r}")
    return value


def number(value: str) -> str:
    """A number to dial: digits, an optional leading `+` (nothing a dial string could read
    as a separator, a variable block or an application)."""
    if not isinstance(value, str) or not _NUMBER.fullmatch(value):
        raise UnsafeValue(f"not a dialable number: {value!r}")
    return value


def digits(value: str) -> str:
    """DTMF to send: 0-9 * # A-D, 1-32 of them. FreeSWITCH's own extras (`w`/`W` pauses,
    `@<ms>` durations) are refused: nothing the console needs, and `@` changes timing."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise UnsafeValue(f"not DTMF digits: {value!r}")
    return value


def room(value: str) -> str:
    """A conference room name: no `@` (profile separator), `,` or `:` (inline dialplan
    separators), no space."""
    if not isinstance(value, str) or not _ROOM.fullmatch(value):
        raise UnsafeValue(f"not a conference room name: {value!r}")
    return value


def clean_text(value: str) -> str:
    """Free text (caller names...) made safe for a command line: no control characters,
    no backslash (FreeSWITCH's escape character in variable lists: a trailing one would
    swallow our separator), no `$` (a later `${...}` expansion would run it)."""
    text = _CONTROL.sub("", str(value)).replace("\\", "/").replace("$", "\uff04")
    return text.strip()


def originate_value(value: str) -> str:
    text = clean_text(value).replace("'", "\u2019").replace("}", ")").replace("{", "(")
    text = text.replace("]", ")").replace("[", "(").replace(",", "\\,")
    return f"'{text}'" if " " in text else text


def originate_vars(variables: Mapping[str, str]) -> str:
    if not variables:
        return ""
    inner = ",".join(f"{var_name(k)}={originate_value(v)}" for k, v in variables.items())
    return "{" + inner + "}"
