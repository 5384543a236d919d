"""SIP trunks and the outbound routes, as telecom engineers write them.

Rules:
* `trunks:` a list of `{name, proxy, register, username, password, transport, caller_id}`;
  `name` letters, digits, `_`, `-` (it becomes the sofia gateway `sofia/gateway/<name>/`
  and the file `sip_profiles/external/<name>.xml`); `proxy` `host[:port]`; a registering
  trunk needs `username` and `password`; the password is only ever `{env: NAME}`: the
  engine never needs its value, FreeSWITCH reads it from its own environment (compiled
  as `env-set` into vars_sentral.xml), and an unset variable is reported like every other
  secret (an error when running, "needed to run" when checking).
* `transport` udp (default) or tcp; not tls: sofia refuses a TLS gateway on a profile
  without TLS (sofia.c, "unsupported transport"), and the shipped external profile has none.
* `caller_id`: `pass` (the caller's number in From, the default), `trunk` (the trunk's
  account in From, the caller's number only in Remote-Party-ID) or a fixed number.
* `outbound_routes:` a list of `{pattern, trunk, dial}`, tried in order in the outbound
  context (`freeswitch.outbound_context`, which must then be a context of its own, never
  `public`/`default` where callers arrive: toll fraud); `dial` rewrites the number with
  the pattern's captures (`+47$2`); without it the dialled number goes as it is.
A rewrite is digits, `+`, `*`, `#` and `$1`..`$9`, each capture one the pattern has.
"""
from __future__ import annotations

import re

from dialplan import yamlnodes as y
from dialplan.patterns import PatternError, compile_pattern
from engine.config import OutboundRoute, Trunk

TRUNK_KEYS = ("name", "proxy", "register", "username", "password", "transport", "caller_id")
ROUTE_KEYS = ("pattern", "trunk", "dial")
TRUNK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
PROXY = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")
USERNAME = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
CALLER_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
REWRITE = re.compile(r"^(?:[+0-9*#]|\$[1-9])+$")
TRANSPORTS = ("udp", "tcp")           # TLS needs a TLS profile: the shipped external one has none


def pattern(ctx, node, what: str) -> str | None:
    """A number pattern RE2 compiles and FreeSWITCH cannot expand (no `${`)."""
    raw = y.scalar(ctx, node, what)
    if raw is None:
        return None
    try:
        compile_pattern(raw)
    except PatternError as exc:
        ctx.at(node, "bad-regex", f"{what} {raw!r} does not compile: {exc}",
               "a regular expression RE2 accepts (no back-references or look-around)")
        return None
    if "${" in raw:
        ctx.at(node, "bad-regex", f"{what} {raw!r} holds '${{'", "a regular expression without FreeSWITCH variables")
        return None
    return raw


def rewrite(ctx, node, what: str, regex: str) -> str | None:
    """A number built from the pattern's captures: `+47$2`, `$1`, `0$1`."""
    raw = y.scalar(ctx, node, what)
    if raw is None:
        return None
    if not REWRITE.fullmatch(raw):
        ctx.at(node, "bad-value", f"{what} {raw!r} is not a number rewrite",
               "digits, + * # and captures $1..$9, e.g. +47$2")
        return None
    groups = compile_pattern(regex).groups
    for ref in re.findall(r"\$([1-9])", raw):
        if int(ref) > groups:
            ctx.at(node, "bad-value", f"{what} {raw!r} uses ${ref}, but the pattern has {groups} capture(s)",
                   "captures the pattern has: ( ) groups counted from the left")
            return None
    return raw


def trunks(ctx, node, envr, out: dict, places: dict) -> None:
    """`trunks:` into `out` (name -> Trunk); `places` remembers where each was defined."""
    for item in y.sequence(ctx, node, "trunks") or ():
        m = y.mapping(ctx, item, "a trunk", TRUNK_KEYS, ("name", "proxy"))
        if not m or "name" not in m or "proxy" not in m:
            continue
        name = y.scalar(ctx, m["name"][1], "trunk name")
        if name is not None and not TRUNK_NAME.fullmatch(name):
            ctx.at(m["name"][1], "bad-id", f"trunk name {name!r} is not allowed",
                   "letters, digits, '_', '-' (max 63), starting with a letter or digit")
            name = None
        if name is not None and name in places:
            first_ctx, first = places[name]
            ctx.at(m["name"][1], "duplicate", f"trunk {name!r} is defined twice "
                   f"(first at {first_ctx.file}:{first.start_mark.line + 1}:{first.start_mark.column + 1})",
                   "a unique trunk name")
            continue
        trunk = _trunk(ctx, m, name, envr)
        if name is not None:
            places[name] = (ctx, m["name"][1])
        if trunk is not None:
            out[name] = trunk


def _trunk(ctx, m: dict, name: str | None, envr) -> Trunk | None:
    proxy = y.scalar(ctx, m["proxy"][1], "trunk proxy")
    if proxy is not None and not PROXY.fullmatch(proxy):
        ctx.at(m["proxy"][1], "bad-value", f"trunk proxy {proxy!r} is not host[:port]",
               "a host name or address with an optional port, e.g. sip.carrier.example:5060")
        proxy = None
    register = y.boolean(ctx, m["register"][1], "trunk register") if "register" in m else False
    username = y.scalar(ctx, m["username"][1], "trunk username") if "username" in m else ""
    if username and not USERNAME.fullmatch(username):
        ctx.at(m["username"][1], "bad-value", f"trunk username {username!r} is not allowed",
               "letters, digits and _ . + - (max 64)")
        username = None
    password_env = ""
    if "password" in m:
        password_env = _password_env(ctx, m["password"][1], envr)
    if register and not username and "username" not in m:
        ctx.at(m["name"][1], "missing-key", f"trunk {name!r} registers but has no username", "a 'username' key")
    if register and "password" not in m:
        ctx.at(m["name"][1], "missing-key", f"trunk {name!r} registers but has no password",
               "password: {env: VARIABLE} (FreeSWITCH reads it from its environment)")
    transport = "udp"
    if "transport" in m and (v := y.scalar(ctx, m["transport"][1], "trunk transport")) is not None:
        if v not in TRANSPORTS:
            ctx.at(m["transport"][1], "bad-value", f"trunk transport {v!r}", "one of: " + ", ".join(TRANSPORTS))
        transport = v
    caller_id = "pass"
    if "caller_id" in m and (v := y.scalar(ctx, m["caller_id"][1], "trunk caller_id")) is not None:
        if v not in ("pass", "trunk") and not CALLER_NUMBER.fullmatch(v):
            ctx.at(m["caller_id"][1], "bad-value", f"trunk caller_id {v!r}",
                   "pass, trunk, or a number like \"+4721000100\"")
        caller_id = v
    if None in (name, proxy, register, username, password_env):
        return None
    return Trunk(name, proxy, register=register, username=username, password_env=password_env,
                 transport=transport, caller_id=caller_id)


def _password_env(ctx, node, envr) -> str | None:
    """The variable's name (the value is read only to report an unset one)."""
    if envr.value(ctx, node, "trunk password", secret=True) is None:
        return None
    m = y.mapping(ctx, node, "trunk password", ("env",), ("env",)) or {}
    name = y.scalar(ctx, m["env"][1], "trunk password env") if "env" in m else None
    if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", name):
        ctx.at(m["env"][1], "bad-value", f"environment variable name {name!r}", "letters, digits and _")
        return None
    return name


def routes(ctx, node, out: list, refs: list) -> None:
    """`outbound_routes:` appended to `out`; `refs` gets (ctx, node, trunk name) to check."""
    for item in y.sequence(ctx, node, "outbound_routes") or ():
        m = y.mapping(ctx, item, "an outbound route", ROUTE_KEYS, ("pattern", "trunk"))
        if not m or "pattern" not in m or "trunk" not in m:
            continue
        regex = pattern(ctx, m["pattern"][1], "route pattern")
        trunk = y.scalar(ctx, m["trunk"][1], "route trunk")
        dial = rewrite(ctx, m["dial"][1], "route dial", regex) if "dial" in m and regex else ""
        if regex is None or trunk is None or dial is None:
            continue
        refs.append((ctx, m["trunk"][1], trunk))
        out.append((ctx, m["pattern"][1], OutboundRoute(regex, trunk, dial)))
