"""The console's lists and the per-tenant call-control settings, as telecom engineers
write them.

Rules:
* `console: {pause_reasons: [...], result_codes: [...]}`: each entry `{id, nb, en}`; the
  id is what the journal stores (an id: letters, digits, `_`, `-`, `.`), `nb` the
  bokmål label operators see (required), `en` the English one (defaults to `nb`); an id
  used twice in one list is a `duplicate` problem at the second one.
* per tenant: `greeting` (free text), `transfer_timeout` (5 s - 5 min) and
  `park_timeout` (10 s - 1 h) as durations, `message_from` an e-mail address with no
  display name (it becomes the From of messages taken for the tenant's employees);
  camp-on on a busy transfer target: `campon_retry` (5 s - 5 min between tries),
  `campon_timeout` (10 s - 1 h in all), `campon_prompt` (a prompt, played once).
* per tenant: `reply_templates`, the console's reply texts for written items, each
  `{id, name, text, channels}` (`channels`: email / sms / task, a list or one; none: all);
  `{name}`, `{case}` and `{agency}` in the text are filled in by the console, any other
  `{word}` is a `bad-value` problem (it would reach the customer as written).
"""
from __future__ import annotations

import re

from dialplan import yamlnodes as y
from engine.config import Reason, ReplyTemplate

CONSOLE_KEYS = ("pause_reasons", "result_codes")
REASON_KEYS = ("id", "nb", "en")
TEMPLATE_KEYS = ("id", "name", "text", "channels")
TEMPLATE_CHANNELS = ("email", "sms", "task")
PLACEHOLDERS = ("name", "case", "agency")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
TIMEOUTS = {"transfer_timeout": (5.0, 300.0), "park_timeout": (10.0, 3600.0), "campon_retry": (5.0, 300.0),
            "campon_timeout": (10.0, 3600.0)}


def console(ctx, node) -> dict:
    """The `console:` section -> Deployment keyword arguments."""
    m = y.mapping(ctx, node, "console", CONSOLE_KEYS) or {}
    out = {}
    for key in CONSOLE_KEYS:
        if key in m:
            out[key] = reasons(ctx, m[key][1], key.replace("_", " "))
    return out


def reasons(ctx, node, what: str) -> tuple[Reason, ...]:
    out: list[Reason] = []
    seen: set[str] = set()
    for item in y.sequence(ctx, node, what) or ():
        m = y.mapping(ctx, item, f"an entry of {what}", REASON_KEYS, ("id", "nb"))
        if not m or "id" not in m or "nb" not in m:
            continue
        rid = y.ident(ctx, m["id"][1], f"{what} id")
        nb = y.text(ctx, m["nb"][1], f"{what} nb")
        en = y.text(ctx, m["en"][1], f"{what} en") if "en" in m else nb
        if rid is None or nb is None or en is None:
            continue
        if rid in seen:
            ctx.at(m["id"][1], "duplicate", f"{what} id {rid!r} is listed twice", f"unique ids in {what}")
            continue
        seen.add(rid)
        out.append(Reason(rid, nb.strip(), en.strip()))
    return tuple(out)


def tenant_settings(ctx, m: dict) -> dict:
    """greeting, transfer_timeout, park_timeout, message_from of one tenant mapping."""
    out: dict = {}
    if "greeting" in m and (v := y.text(ctx, m["greeting"][1], "greeting", allow_empty=True)) is not None:
        out["greeting"] = v.strip()
    for key, (low, high) in TIMEOUTS.items():
        if key in m and (v := y.seconds(ctx, m[key][1], key, low=low)) is not None:
            if v > high:
                ctx.at(m[key][1], "out-of-range", f"{key} is {v:g} s", f"at most {high:g} s")
            else:
                out[key] = v
    if "campon_prompt" in m and (v := y.prompt(ctx, m["campon_prompt"][1], "campon_prompt")) is not None:
        out["campon_prompt"] = v
    if "reply_templates" in m:
        out["reply_templates"] = reply_templates(ctx, m["reply_templates"][1])
    if "message_from" in m and (v := y.text(ctx, m["message_from"][1], "message_from")) is not None:
        if EMAIL.fullmatch(v.strip()):
            out["message_from"] = v.strip()
        else:
            ctx.at(m["message_from"][1], "bad-value", f"message_from {v!r} is not an e-mail address",
                   "a plain address like sentralbord@fjordvik.kommune.no (no name, no <>)")
    return out


def reply_templates(ctx, node) -> tuple[ReplyTemplate, ...]:
    out: list[ReplyTemplate] = []
    seen: set[str] = set()
    for item in y.sequence(ctx, node, "reply_templates") or ():
        m = y.mapping(ctx, item, "a reply template", TEMPLATE_KEYS, ("id", "name", "text"))
        if not m or not all(k in m for k in ("id", "name", "text")):
            continue
        tid = y.ident(ctx, m["id"][1], "reply template id")
        name = y.text(ctx, m["name"][1], "reply template name")
        text = y.text(ctx, m["text"][1], "reply template text")
        listed = y.text_list(ctx, m["channels"][1], "reply template channels") if "channels" in m else []
        channels = tuple(v.strip() for _, v in listed or ())
        if tid is None or name is None or text is None:
            continue
        unknown = [c for c in channels if c not in TEMPLATE_CHANNELS]
        if unknown:
            ctx.at(m["channels"][1], "bad-value", f"reply template {tid!r}: channel {unknown[0]!r}",
                   "email, sms or task")
            continue
        wrong = [w for w in _PLACEHOLDER.findall(text) if w not in PLACEHOLDERS]
        if wrong:
            ctx.at(m["text"][1], "bad-value", f"reply template {tid!r}: unknown placeholder {{{wrong[0]}}}",
                   "{name}, {case} or {agency}")
            continue
        if tid in seen:
            ctx.at(m["id"][1], "duplicate", f"reply template id {tid!r} is listed twice", "unique ids")
            continue
        seen.add(tid)
        out.append(ReplyTemplate(tid, name.strip(), text.strip(), channels))
    return tuple(out)
