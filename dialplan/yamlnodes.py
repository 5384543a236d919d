"""Reading typed values out of PyYAML nodes, recording a Problem at the node's mark.

Rules: we never construct Python objects with PyYAML (no `yaml.load`): we `compose`
nodes and read each scalar's raw text, so `08:00` stays a time (YAML 1.1 would make it
the sexagesimal 480), `+4722000001` keeps its plus, and `no` is not silently False.
Booleans are only `true`/`false`. Every reader returns None after recording a problem,
so validation goes on and collects every problem in one pass.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import yaml

from dialplan.errors import Problem

NULL = "tag:yaml.org,2002:null"
STR = "tag:yaml.org,2002:str"
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*"
                       r"(?:(\d+(?:\.\d+)?)s?)?$")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")   # fullmatch: no trailing newline either


@dataclass
class Findings:
    """What reading finds besides problems (for `sentral config check`): warnings, which
    do not make the file invalid, and every prompt with its place (a Problem whose
    `message` is the prompt and `code` says what it is for)."""

    warnings: list[Problem] = field(default_factory=list)
    prompts: list[Problem] = field(default_factory=list)


@dataclass
class Ctx:
    """Where we are reading (one file), the shared list of problems and, when a caller
    asked for them, the shared findings."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    findings: Findings | None = None

    def at(self, node, code: str, message: str, expected: str = "") -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.file, mark.line + 1, mark.column + 1, code, message, expected))

    def warn(self, node, code: str, message: str, expected: str = "") -> None:
        if self.findings is not None:
            mark = node.start_mark
            self.findings.warnings.append(Problem(self.file, mark.line + 1, mark.column + 1, code, message, expected))


def describe(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == NULL:
        return "nothing (null)"
    return f"{node.value!r}"


def mapping(ctx: Ctx, node, what: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()):
    """The entries of a mapping node as {key: (key_node, value_node)}; unknown, duplicated
    and missing keys are problems. Returns None if the node is not a mapping."""
    if not isinstance(node, yaml.MappingNode):
        ctx.at(node, "wrong-type", f"{what} is {describe(node)}", "a mapping of keys")
        return None
    out: dict[str, tuple] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key is None:
            ctx.at(key_node, "wrong-type", f"a key in {what} is {describe(key_node)}", "a plain key")
        elif key in out:
            ctx.at(key_node, "duplicate-key", f"key {key!r} appears twice in {what}")
        elif allowed and key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            ctx.at(key_node, "unknown-key", f"unknown key {key!r} in {what}{hint}", "one of: " + ", ".join(allowed))
        else:
            out[key] = (key_node, value_node)
    for key in required:
        if key not in out:
            ctx.at(node, "missing-key", f"{what} has no {key!r}", f"a {key!r} key")
    return out


def items(ctx: Ctx, node, what: str):
    """A mapping with free keys (e.g. queue -> level): [(key_node, value_node)]."""
    if not isinstance(node, yaml.MappingNode):
        ctx.at(node, "wrong-type", f"{what} is {describe(node)}", "a mapping")
        return None
    return list(node.value)


def sequence(ctx: Ctx, node, what: str):
    if not isinstance(node, yaml.SequenceNode):
        ctx.at(node, "wrong-type", f"{what} is {describe(node)}", "a list (- item)")
        return None
    return list(node.value)


def scalar(ctx: Ctx, node, what: str, *, allow_empty: bool = False):
    if not isinstance(node, yaml.ScalarNode) or (node.tag == NULL and not allow_empty):
        ctx.at(node, "wrong-type", f"{what} is {describe(node)}", "a single value")
        return None
    return "" if node.tag == NULL else node.value


def text(ctx: Ctx, node, what: str, *, allow_empty: bool = False):
    value = scalar(ctx, node, what, allow_empty=allow_empty)
    if value is not None and "\x00" in value:
        ctx.at(node, "bad-value", f"{what} contains a NUL character")
        return None
    return value


def ident(ctx: Ctx, node, what: str):
    value = scalar(ctx, node, what)
    if value is not None and not _IDENT.fullmatch(value):
        ctx.at(node, "bad-id", f"{what} {value!r} is not an id",
               "letters, digits, '_', '-', '.' (max 63), starting with a letter or digit")
        return None
    return value


def boolean(ctx: Ctx, node, what: str):
    value = scalar(ctx, node, what)
    if value is None:
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    ctx.at(node, "wrong-type", f"{what} is {value!r}", "true or false")
    return None


def integer(ctx: Ctx, node, what: str, *, low: int | None = None, high: int | None = None):
    value = scalar(ctx, node, what)
    if value is None:
        return None
    try:
        number = int(value.replace("_", ""), 10)
    except ValueError:
        ctx.at(node, "wrong-type", f"{what} is {value!r}", "a whole number")
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        ctx.at(node, "out-of-range", f"{what} is {number}", f"a number from {low} to {high}"
               if high is not None else f"a number >= {low}")
        return None
    return number


def seconds(ctx: Ctx, node, what: str, *, low: float = 0.0):
    """A duration: a number of seconds or a text like `90s`, `2m`, `1m30s`, `4h`, `2d`."""
    value = scalar(ctx, node, what)
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if not value.strip() or not match or not any(match.groups()):
        ctx.at(node, "wrong-type", f"{what} is {value!r}", "seconds, or a duration like 90s, 2m, 1m30s, 4h, 2d")
        return None
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    total = d * 86400 + h * 3600 + m * 60 + s
    if total < low:
        ctx.at(node, "out-of-range", f"{what} is {total:g} s", f"at least {low:g} s")
        return None
    return total


def number(ctx: Ctx, node, what: str, *, low: float | None = None):
    """A plain number (whole or decimal), at least `low`."""
    value = scalar(ctx, node, what)
    if value is None:
        return None
    try:
        result = float(value.replace("_", ""))
    except ValueError:
        result = float("nan")
    if result != result or result in (float("inf"), float("-inf")):
        ctx.at(node, "wrong-type", f"{what} is {value!r}", "a number")
        return None
    if low is not None and result < low:
        ctx.at(node, "out-of-range", f"{what} is {result:g}", f"a number >= {low:g}")
        return None
    return result


def env_name(ctx: Ctx, node, what: str):
    """The NAME of `{env: NAME}`, without reading the variable (the process reads it when
    it needs the secret); a secret written in the file is a `literal-secret` problem."""
    if not isinstance(node, yaml.MappingNode):
        if isinstance(node, yaml.ScalarNode) and node.tag != NULL:
            ctx.at(node, "literal-secret", f"{what} is written in the file",
                   "a reference to the environment: {env: VARIABLE_NAME}")
        else:
            ctx.at(node, "wrong-type", f"{what} is {describe(node)}", "{env: VARIABLE_NAME}")
        return None
    m = mapping(ctx, node, what, ("env",), ("env",))
    if not m or "env" not in m:
        return None
    name = scalar(ctx, m["env"][1], f"{what} env")
    if name is not None and not _ENV_NAME.fullmatch(name):
        ctx.at(m["env"][1], "bad-value", f"{what}: {name!r} is not an environment variable name",
               "letters, digits and _, not starting with a digit (e.g. SENTRAL_IMAP_PASSWORD)")
        return None
    return name


def text_list(ctx: Ctx, node, what: str, reader=None):
    """A list of values (a single value counts as a list of one)."""
    reader = reader or text
    nodes = [node] if isinstance(node, yaml.ScalarNode) else sequence(ctx, node, what)
    if nodes is None:
        return None
    values = [reader(ctx, n, f"an entry of {what}") for n in nodes]
    return [(n, v) for n, v in zip(nodes, values) if v is not None]


def prompt(ctx: Ctx, node, what: str, *, allow_empty: bool = False):
    """A sound to play: a path or FreeSWITCH media URL the engine can pass through the
    one command builder (engine.fsvalues.path decides what is safe, so both agree)."""
    from engine.fsvalues import UnsafeValue
    from engine.fsvalues import path as media_path

    value = scalar(ctx, node, what, allow_empty=allow_empty)
    if not value:
        return value
    try:
        media_path(value)
    except UnsafeValue:
        ctx.at(node, "bad-prompt", f"{what} {value!r} is not a playable path",
               "a sound path or media URL without spaces, quotes or braces, e.g. sentral/welcome.wav")
        return None
    if ctx.findings is not None:
        mark = node.start_mark
        ctx.findings.prompts.append(Problem(ctx.file, mark.line + 1, mark.column + 1, what, value))
    return value
