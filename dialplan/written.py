"""Written channels in the routing configuration: mailboxes, the SMS gateway, capacity.

Rules:
* an email queue may have one `mailbox:` (IMAP) -> `Mailbox(queue=<that queue>)`: `host`
  and `username` required, `security` ssl (default, port 993) | starttls (port 143) |
  none (only towards a loopback address), and exactly one way to log in: `password:
  {env: NAME}` or `oauth2: {tenant, client_id, secret: {env: NAME}}` (Microsoft 365
  XOAUTH2, client credentials). Secrets are never read here: only the variable's NAME is
  kept (a valid name; the process reads it when it connects); unset ones are listed by
  `sentral config check` as needed to run;
* `reply_from`: an e-mail address on email queues, a sender (E.164 number, 3-8 digit
  short code or an alphanumeric sender id of at most 11 characters) on sms queues;
* `sms:` (top level): `gateway: smpp` (`host`, `system_id` required, `port` 2775,
  `password: {env}`) or `gateway: http` (`url` https, or http to a loopback address;
  `webhook_secret: {env}` required, `token: {env}`), `sender`, and `numbers: {NUMBER:
  QUEUE}`: E.164 numbers (valid per phonenumbers, kept in E.164) or 3-8 digit short
  codes, each once; the queues are checked once every queue is known (checks.channels);
* `capacity:` (top level: the deployment's; per agent: over the deployment's, key by
  key, `costs` channel by channel): `written` units, `calls_up_to` (a number, or null:
  a call always may interrupt written work), `costs: {email, sms, task}`, and
  `written_during_call`; numbers >= 0.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re

import phonenumbers
import yaml

from dialplan import yamlnodes as y
from dialplan.console import EMAIL
from engine.config import WRITTEN_CHANNELS, Capacity, Mailbox, SmsGateway, SmsNumber

MAILBOX_KEYS = ("host", "port", "username", "folder", "security", "password", "oauth2", "poll_seconds",
                "max_message_bytes")
OAUTH2_KEYS = ("tenant", "client_id", "secret")
SECURITY = {"ssl": 993, "starttls": 143, "none": 143}
CAPACITY_KEYS = ("written", "calls_up_to", "costs", "written_during_call")
SMS_KEYS = ("gateway", "host", "port", "system_id", "password", "url", "token", "webhook_secret", "sender", "numbers")
SMS_ONLY = {"smpp": ("host", "port", "system_id", "password"), "http": ("url", "token", "webhook_secret")}
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
SHORT_CODE = re.compile(r"^[0-9]{3,8}$")
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ._-]{1,11}$")
URL = re.compile(r"^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[^\s]*)?$")
AZURE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$")
SENDER_EXPECTED = "an E.164 number (+4722334455), a 3-8 digit short code or a sender id of 1-11 letters/digits"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host(ctx, node, what: str):
    value = y.text(ctx, node, what)
    if value is None:
        return None
    if HOST.fullmatch(value) or _loopback(value):
        return value
    ctx.at(node, "bad-value", f"{what} {value!r} is not a host name", "a host name or IP address, e.g. imap.example.org")
    return None


def e164(number: str) -> str | None:
    """`number` in E.164 if it is a valid international number written with its +."""
    if not number.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sender(ctx, node, what: str):
    """An SMS sender: E.164 number, short code or alphanumeric sender id."""
    value = y.text(ctx, node, what)
    if value is None:
        return None
    value = value.strip()
    if value.startswith("+"):
        if (normal := e164(value)) is not None:
            return normal
    elif SHORT_CODE.fullmatch(value) or SENDER_ID.fullmatch(value):
        return value
    ctx.at(node, "bad-value", f"{what} {value!r} is not an SMS sender", SENDER_EXPECTED)
    return None


def reply_from(ctx, node, channel: str):
    """A written queue's `reply_from` for its channel (None after a problem)."""
    if channel == "email":
        value = y.text(ctx, node, "reply_from")
        if value is None:
            return None
        if EMAIL.fullmatch(value.strip()):
            return value.strip()
        ctx.at(node, "bad-value", f"reply_from {value!r} is not an e-mail address",
               "a plain address like post@vestland-eiendom.no (no name, no <>)")
        return None
    if channel == "sms":
        return sender(ctx, node, "reply_from")
    ctx.at(node, "wrong-channel", f"reply_from on a {channel} queue",
           "reply_from only on email queues (an address) and sms queues (a sender)")
    return None


def mailbox(ctx, node, queue_id: str, envr) -> Mailbox | None:
    m = y.mapping(ctx, node, "mailbox", MAILBOX_KEYS, ("host", "username"))
    if m is None or "host" not in m or "username" not in m:
        return None
    ok = True
    out: dict = {"queue": queue_id}

    def put(key, value):
        nonlocal ok
        if value is None:
            ok = False
        else:
            out[key] = value

    put("host", _host(ctx, m["host"][1], "mailbox host"))
    put("username", y.text(ctx, m["username"][1], "mailbox username"))
    security = "ssl"
    if "security" in m and (value := y.scalar(ctx, m["security"][1], "mailbox security")) is not None:
        if value not in SECURITY:
            ctx.at(m["security"][1], "bad-value", f"mailbox security is {value!r}", "ssl, starttls or none")
            ok = False
        elif value == "none" and not _loopback(out.get("host", "127.0.0.1")):
            ctx.at(m["security"][1], "bad-value", f"mailbox security none towards {out['host']!r}: the password "
                   "would cross the network in clear", "ssl or starttls (none only for 127.0.0.1 or ::1)")
            ok = False
        else:
            security = value
    out["security"] = security
    out["port"] = SECURITY[security]
    if "port" in m:
        put("port", y.integer(ctx, m["port"][1], "mailbox port", low=1, high=65535))
    if "folder" in m:
        folder = y.text(ctx, m["folder"][1], "mailbox folder")
        if folder is not None and not folder.strip():
            ctx.at(m["folder"][1], "bad-value", "mailbox folder is empty", "a folder name, e.g. INBOX")
            folder = None
        put("folder", folder)
    if "poll_seconds" in m:
        put("poll_seconds", y.seconds(ctx, m["poll_seconds"][1], "mailbox poll_seconds", low=1.0))
    if "max_message_bytes" in m:
        put("max_message_bytes", y.integer(ctx, m["max_message_bytes"][1], "mailbox max_message_bytes",
                                           low=1024, high=2**31 - 1))
    if "password" in m and "oauth2" in m:
        ctx.at(m["oauth2"][0], "conflict", "a mailbox has both password and oauth2", "one of them")
        ok = False
    elif "password" in m:
        put("password_env", _secret(ctx, m["password"][1], "mailbox password", envr))
    elif "oauth2" in m:
        o = y.mapping(ctx, m["oauth2"][1], "mailbox oauth2", OAUTH2_KEYS, OAUTH2_KEYS)
        if o is None or any(k not in o for k in OAUTH2_KEYS):
            ok = False
        else:
            for key in ("tenant", "client_id"):
                value = y.scalar(ctx, o[key][1], f"mailbox oauth2 {key}")
                if value is not None and not AZURE_ID.fullmatch(value):
                    ctx.at(o[key][1], "bad-value", f"mailbox oauth2 {key} {value!r} is not allowed",
                           "the directory (tenant) id or domain / the application (client) id")
                    value = None
                put(f"oauth2_{key}", value)
            put("oauth2_secret_env", _secret(ctx, o["secret"][1], "mailbox oauth2 secret", envr))
    else:
        ctx.at(node, "missing-key", "mailbox has neither password nor oauth2",
               "password: {env: NAME} or oauth2: {tenant, client_id, secret: {env: NAME}}")
        ok = False
    return Mailbox(**out) if ok else None


def _secret(ctx, node, what: str, envr):
    """The environment variable's name; an unset one is noted (needed to run), not read."""
    name = y.env_name(ctx, node, what)
    if name is not None and name not in envr.env:
        envr.unset.append(name)
    return name


def capacity(ctx, node, base: Capacity, what: str = "capacity") -> Capacity | None:
    """`capacity:` over `base`, key by key (costs channel by channel)."""
    m = y.mapping(ctx, node, what, CAPACITY_KEYS)
    if m is None:
        return None
    changes: dict = {}
    ok = True
    if "written" in m:
        ok &= (value := y.number(ctx, m["written"][1], f"{what} written", low=0)) is not None
        changes["written"] = value
    if "calls_up_to" in m:
        value_node = m["calls_up_to"][1]
        if isinstance(value_node, yaml.ScalarNode) and value_node.tag == y.NULL:
            changes["calls_up_to"] = None
        else:
            ok &= (value := y.number(ctx, value_node, f"{what} calls_up_to", low=0)) is not None
            changes["calls_up_to"] = value
    if "written_during_call" in m:
        ok &= (value := y.boolean(ctx, m["written_during_call"][1], f"{what} written_during_call")) is not None
        changes["written_during_call"] = value
    if "costs" in m:
        c = y.mapping(ctx, m["costs"][1], f"{what} costs", WRITTEN_CHANNELS)
        if c is None:
            ok = False
        else:
            costs = dict(base.costs)
            for channel, (_, value_node) in c.items():
                ok &= (value := y.number(ctx, value_node, f"{what} costs {channel}", low=0)) is not None
                costs[channel] = value
            changes["costs"] = costs
    return dataclasses.replace(base, **changes) if ok else None


def sms(ctx, node, envr) -> tuple[SmsGateway | None, list]:
    """The `sms:` section and its numbers' queue references [(ctx, node, queue id)]."""
    m = y.mapping(ctx, node, "sms", SMS_KEYS, ("gateway",))
    if m is None or "gateway" not in m:
        return None, []
    kind = y.scalar(ctx, m["gateway"][1], "sms gateway")
    if kind is None:
        return None, []
    if kind not in SMS_ONLY:
        ctx.at(m["gateway"][1], "bad-value", f"sms gateway is {kind!r}", "smpp or http")
        return None, []
    ok = True
    out: dict = {"kind": kind}
    other = "http" if kind == "smpp" else "smpp"
    for key in SMS_ONLY[other]:
        if key in m:
            ctx.at(m[key][0], "conflict", f"sms {key} is for an {other} gateway, this one is {kind}",
                   "the keys of the chosen gateway: " + ", ".join(SMS_ONLY[kind]))
            ok = False
    if kind == "smpp":
        for key in ("host", "system_id"):
            if key not in m:
                ctx.at(node, "missing-key", f"the smpp gateway has no {key!r}", f"a {key!r} key")
                ok = False
        if "host" in m:
            ok &= (value := _host(ctx, m["host"][1], "sms host")) is not None
            out["host"] = value
        if "port" in m:
            ok &= (value := y.integer(ctx, m["port"][1], "sms port", low=1, high=65535)) is not None
            out["port"] = value
        if "system_id" in m:
            value = y.text(ctx, m["system_id"][1], "sms system_id")
            if value is not None and not 1 <= len(value) <= 15:
                ctx.at(m["system_id"][1], "bad-value", f"sms system_id {value!r} is not allowed", "1-15 characters")
                value = None
            ok &= value is not None
            out["system_id"] = value
        if "password" in m:
            ok &= (value := _secret(ctx, m["password"][1], "sms password", envr)) is not None
            out["password_env"] = value
    else:
        if "url" not in m:
            ctx.at(node, "missing-key", "the http gateway has no 'url'", "url: https://... (the gateway's send URL)")
            ok = False
        else:
            ok &= (value := _url(ctx, m["url"][1])) is not None
            out["url"] = value
        if "webhook_secret" not in m:
            ctx.at(node, "missing-key", "the http gateway has no 'webhook_secret'",
                   "webhook_secret: {env: NAME} (inbound webhooks are refused without a valid signature)")
            ok = False
        for key in ("token", "webhook_secret"):
            if key in m:
                ok &= (value := _secret(ctx, m[key][1], f"sms {key}", envr)) is not None
                out[f"{key}_env"] = value
    if "sender" in m:
        ok &= (value := sender(ctx, m["sender"][1], "sms sender")) is not None
        out["sender"] = value
    refs: list = []
    numbers: list = []
    seen: dict = {}
    for number_node, queue_node in (y.items(ctx, m["numbers"][1], "sms numbers") or ()) if "numbers" in m else ():
        raw = y.scalar(ctx, number_node, "an sms number")
        queue = y.ident(ctx, queue_node, f"the queue of sms number {raw}")
        if raw is None or queue is None:
            ok = False
            continue
        number = e164(raw) if raw.startswith("+") else raw if SHORT_CODE.fullmatch(raw) else None
        if number is None:
            ctx.at(number_node, "bad-number", f"sms number {raw!r} is neither a valid E.164 number nor a short code",
                   "an E.164 number with its + (\"+4722334455\") or a short code of 3-8 digits")
            ok = False
            continue
        if number in seen:
            first = seen[number]
            ctx.at(number_node, "duplicate", f"sms number {number} is listed twice (first at "
                   f"{ctx.file}:{first.start_mark.line + 1}:{first.start_mark.column + 1})", "each number once")
            ok = False
            continue
        seen[number] = number_node
        numbers.append(SmsNumber(number, queue))
        refs.append((ctx, queue_node, queue))
    out["numbers"] = tuple(numbers)
    return (SmsGateway(**out) if ok else None), refs


def _url(ctx, node):
    value = y.text(ctx, node, "sms url")
    if value is None:
        return None
    match = URL.fullmatch(value.strip())
    if match and (match.group(1) == "https" or _loopback(match.group(2))):
        return value.strip()
    ctx.at(node, "bad-value", f"sms url {value!r} is not allowed",
           "https://HOST[:PORT]/PATH (http only towards 127.0.0.1 or ::1: the token would cross the network in clear)")
    return None
