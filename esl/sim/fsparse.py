"""How FreeSWITCH splits an api line and an originate's variable blocks, as the switch
does it (switch_utils.c switch_separate_string, switch_event.c
switch_event_create_brackets; read for this module, written here from their rules).

Rules the simulator (and the injection tests, which run our commands through it) rely on:
* `words(line)`: split on spaces outside `'...'` quotes; a backslash keeps the next byte
  from splitting; each word is then cleaned: leading/trailing spaces dropped, paired
  quotes removed, and `\\'` `\\"` `\\\\` `\\n` `\\r` `\\t` `\\s` unescaped (`\\,` stays).
* `split(text, delim)` for any other delimiter: a `'` opens a quote only if another `'`
  follows; `\\<delim>` is a literal delimiter; `^^<c>` at the start changes the delimiter.
* `blocks(dialstring)`: leading `{...}` `[...]` `<...>` blocks; a block ends at its
  matching close (quotes do not hide one), its items are split on `,` and each on its
  first `=`; an item without `=` is dropped.
"""
from __future__ import annotations

_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}
_CLOSE = {"{": "}", "[": "]", "<": ">"}


class BlockError(ValueError):
    """A variable block without its closing bracket."""


def clean(text: str, delim: str = "") -> str:
    """One separated piece: spaces trimmed, paired quotes removed, escapes resolved."""
    i, n = 0, len(text)
    while i < n and text[i] == " ":
        i += 1
    out: list[str] = []
    end: int | None = None
    quoted = False
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            e = text[i + 1]
            u = _UNESCAPE.get(e, e)
            if e in ("'", '"', "\\") or (delim and e == delim) or u != e:
                out.append(u)
                end = len(out)
                i += 2
                continue
        if c == "'" and (quoted or "'" in text[i + 1:]):
            quoted = not quoted
            if quoted:
                end = len(out)
        else:
            out.append(c)
            if c != " " or quoted:
                end = len(out)
        i += 1
    return "".join(out if end is None else out[:end])


def words(line: str, limit: int = 10) -> list[str]:
    """An api argument line split as FreeSWITCH's blank-delimited separate_string does."""
    pieces: list[str] = []
    cur: list[str] = []
    quoted = False
    i, n = 0, len(line)
    while i < n and line[i] == " ":
        i += 1
    while i < n:
        c = line[i]
        if len(pieces) == limit - 1:  # the last piece takes the rest of the line
            cur.append(line[i:])
            break
        if c == "\\" and i + 1 < n:
            cur.append(line[i:i + 2])
            i += 2
            continue
        if c == "'":
            quoted = not quoted
        elif c == " " and not quoted:
            pieces.append("".join(cur))
            cur = []
            while i < n and line[i] == " ":
                i += 1
            continue
        cur.append(c)
        i += 1
    if cur:
        pieces.append("".join(cur))
    return [clean(p) for p in pieces]


def split(text: str, delim: str, limit: int = 1024) -> list[str]:
    if text.startswith("^^") and len(text) > 3:
        delim, text = text[2], text[3:]
    if not text:
        return []
    starts, cuts = [0], []
    quoted = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and (quoted or "'" in text[i + 1:]):
            quoted = not quoted
        elif c == delim and not quoted:
            if len(starts) == limit:  # the last piece keeps the rest, delimiters and all
                break
            cuts.append(i)
            if i + 1 >= n:
                break
            starts.append(i + 1)
        i += 1
    pieces = [text[s:(cuts[k] if k < len(cuts) else n)] for k, s in enumerate(starts)]
    return [clean(p, delim) for p in pieces]


def _end(text: str, open_: str) -> int:
    close = _CLOSE[open_]
    depth = 0
    for i, c in enumerate(text):
        if c == open_ and open_ != close:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
    raise BlockError(f"unterminated {open_}...{close} block")


def blocks(dialstring: str) -> tuple[dict[str, str], str]:
    """Leading variable blocks -> (variables, the rest of the dial string)."""
    variables: dict[str, str] = {}
    text = dialstring.lstrip(" ")
    while text and text[0] in _CLOSE:
        end = _end(text, text[0])
        for item in split(text[1:end], ","):
            pair = split(item, "=", limit=2)
            if len(pair) == 2 and pair[0]:
                variables[pair[0]] = pair[1]
        text = text[end + 1:].lstrip(" ")
    return variables, text
