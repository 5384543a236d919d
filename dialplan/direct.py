"""Direct dial: an agency's employees' numbers ring the employee, and come to the
agency's switchboard queue when nobody answers.

Rules:
* per tenant `direct_dial: {ring_timeout, fallback_queue, numbers: [...]}`; each number is
  `{pattern, trunk, dial}` (the agency's PBX through a trunk; `dial` rewrites the number
  with the pattern's captures, default the dialled number) or `{pattern, user}` (a SIP
  user on this FreeSWITCH; `user` is the extension built from the captures, `20$1`).
  `fallback_queue` defaults to the queue of the tenant's first main number (its
  switchboard), else its first queue; it must be one of the tenant's own queues.
* One list of actions (`actions()`) is the source of both the compiled XML and the
  simulator's route, so the two cannot disagree: ring the target for `ring_timeout`
  (`originate_timeout` of the dial string)
  (`continue_on_fail=true` so a failure goes on, `hangup_after_bridge=true` so an
  answered call ends with the bridge), then the fallback: exactly what a main number
  does (`cc_tenant`, `cc_queue`, `park_after_bridge=true`, `park`) plus the tags
  `cc_direct_dial` (the dialled number) and `cc_direct_cause` (`originate_disposition`:
  NO_ANSWER, USER_BUSY, USER_NOT_REGISTERED, ...). `park_after_bridge` is set only in
  the fallback: on an answered direct call it would park the caller for the engine
  when the employee hangs up. `hangup_after_bridge`/`continue_on_fail` are unset again
  before the park, so the engine's own bridges later behave as for any caller.
* A loopback B leg (the engine transferring a caller to a direct number through
  `public`) never falls back into a queue: it hangs up with the failure's cause, so the
  engine's transfer supervision sees the failure and recalls the operator.
"""
from __future__ import annotations

from dialplan import trunks as trunk_rules
from dialplan import yamlnodes as y
from dialplan.patterns import compile_pattern
from dialplan.xmlbuild import Raw, dial_vars, fs_value
from engine.config import DirectDial, Trunk

DIRECT_KEYS = ("ring_timeout", "fallback_queue", "numbers")
NUMBER_KEYS = ("pattern", "trunk", "dial", "user")
DEFAULT_RING = 20.0
RING_RANGE = (5.0, 300.0)
LOOPBACK_B = "B"                       # ${loopback_leg} of the leg that runs the dialplan


def direct_dial(ctx, node, tenant_id: str, default_queue: str, out: list) -> None:
    """One tenant's `direct_dial:` appended to `out` as (ctx, node, DirectDial, refs):
    refs = [(kind, node, name)] for checks.references (trunks and the fallback queue)."""
    m = y.mapping(ctx, node, "direct_dial", DIRECT_KEYS, ("numbers",))
    if not m or "numbers" not in m:
        return
    ring = DEFAULT_RING
    if "ring_timeout" in m and (v := y.seconds(ctx, m["ring_timeout"][1], "direct_dial ring_timeout",
                                               low=RING_RANGE[0])) is not None:
        if v > RING_RANGE[1]:
            ctx.at(m["ring_timeout"][1], "out-of-range", f"direct_dial ring_timeout is {v:g} s",
                   f"at most {RING_RANGE[1]:g} s")
        ring = v
    queue, queue_node = default_queue, node
    if "fallback_queue" in m:
        queue, queue_node = y.ident(ctx, m["fallback_queue"][1], "direct_dial fallback_queue"), m["fallback_queue"][1]
    if not queue:
        ctx.at(node, "missing-key", f"tenant {tenant_id!r} has direct_dial but no queue to fall back to",
               "a fallback_queue, or a main number / queue of the tenant")
        return
    for item in y.sequence(ctx, m["numbers"][1], "direct_dial numbers") or ():
        entry = _number(ctx, item, tenant_id, ring, queue)
        if entry is not None:
            rule, refs = entry
            out.append((ctx, item, rule, refs + [("queue", queue_node, queue)]))


def _number(ctx, item, tenant_id: str, ring: float, queue: str):
    m = y.mapping(ctx, item, "a direct_dial number", NUMBER_KEYS, ("pattern",))
    if not m or "pattern" not in m:
        return None
    if ("trunk" in m) == ("user" in m):
        ctx.at(item, "bad-target", "a direct_dial number needs exactly one of 'trunk' or 'user'",
               "{pattern: REGEX, trunk: NAME, dial: '$1'} or {pattern: REGEX, user: '20$1'}")
        return None
    if "user" in m and "dial" in m:
        ctx.at(m["dial"][0], "conflict", "'dial' is for a trunk; a user target is written in 'user'",
               "{pattern: REGEX, user: '20$1'}")
        return None
    regex = trunk_rules.pattern(ctx, m["pattern"][1], "direct_dial pattern")
    if regex is None:
        return None
    if "user" in m:
        dial = trunk_rules.rewrite(ctx, m["user"][1], "direct_dial user", regex)
        return None if dial is None else (DirectDial(tenant_id, regex, dial, "", ring, queue), [])
    trunk = y.scalar(ctx, m["trunk"][1], "direct_dial trunk")
    dial = trunk_rules.rewrite(ctx, m["dial"][1], "direct_dial dial", regex) if "dial" in m else ""
    if trunk is None or dial is None:
        return None
    return DirectDial(tenant_id, regex, dial, trunk, ring, queue), [("trunk", m["trunk"][1], trunk)]


# --------------------------------------------------------------------------- the routes


def bridge_target(trunk: Trunk | None, number: str, timeout: float | None = None) -> Raw:
    """The dial string: `{vars}sofia/gateway/<trunk>/<number>` or `{vars}user/<ext>@domain`.
    `number` is a validated rewrite (digits, + * #, $N) or `${destination_number}`."""
    variables: dict = {}
    if timeout is not None:
        variables["originate_timeout"] = f"{timeout:g}"
    if trunk is not None and trunk.caller_id not in ("pass", "trunk"):
        variables["origination_caller_id_number"] = trunk.caller_id
    head = dial_vars(variables) if variables else ""
    if trunk is None:
        return Raw(f"{head}user/{number}@${{domain_name}}")
    return Raw(f"{head}sofia/gateway/{trunk.name}/{number}")


def _set(name: str, value) -> tuple[str, Raw]:
    return "set", Raw(f"{name}=") + Raw(fs_value(value))


def actions(rule: DirectDial, trunks: dict) -> tuple[list, list, list]:
    """(ring, fallback, loopback): what the call does, in FreeSWITCH's own syntax."""
    number = rule.dial or "${destination_number}"
    ring = [("set", Raw("continue_on_fail=true")), ("set", Raw("hangup_after_bridge=true")),
            ("bridge", bridge_target(trunks.get(rule.trunk) if rule.trunk else None, number, rule.ring_timeout))]
    fallback = [("unset", Raw("hangup_after_bridge")), ("unset", Raw("continue_on_fail")),
                _set("cc_tenant", rule.tenant), _set("cc_queue", rule.fallback_queue),
                ("set", Raw("cc_direct_dial=${destination_number}")),
                ("set", Raw("cc_direct_cause=${originate_disposition}")),
                ("set", Raw("park_after_bridge=true")), ("park", Raw(""))]
    loopback = [("hangup", Raw("${originate_disposition}"))]
    return ring, fallback, loopback


def matching(deployment, destination: str) -> list:
    """The direct-dial rules whose pattern matches `destination`, in file order."""
    from dialplan import patterns
    return [(i, r) for i, r in enumerate(deployment.direct_dials, 1) if patterns.matches(r.pattern, destination)]


def for_simulator(rule: DirectDial, trunks: dict, destination: str, loopback_leg: bool) -> list[tuple[str, str]]:
    """The same actions with what FreeSWITCH substitutes at hunt time substituted here
    (captures, `${destination_number}`); `${originate_disposition}` stays for the run."""
    regex = compile_pattern(rule.pattern)
    match = regex.search(destination)
    ring, fallback, loopback = actions(rule, trunks)
    out = []
    for app, data in ring + (loopback if loopback_leg else fallback):
        text = str(data).replace("${destination_number}", destination)
        if app == "bridge" and match is not None:
            for n in range(9, 0, -1):
                text = text.replace(f"${n}", (match.group(n) if n <= regex.groups else "") or "")
        out.append((app, text))
    return out
