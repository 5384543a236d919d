"""Deployment → FreeSWITCH XML, by pure functions (no I/O except `write_files`).

Two things are compiled:
* the entry dialplan: per main number an extension that sets `cc_tenant`, `cc_queue`,
  `cc_entry`, `cc_priority` (when not 0), `cc_<tag>` for each tag and
  `park_after_bridge=true`, then `park`s the call; the engine takes over on
  CHANNEL_PARK. park_after_bridge: when the operator's leg leaves the caller's bridge
  (a transfer, a park, the operator's phone hung up), FreeSWITCH parks the caller
  instead of hanging it up (tests/data/esl-corpus/FACTS.md, corpus 14); the engine
  sets it again when it connects a call, this covers the call from its first second.
  Agent legs do NOT get it: the engine hangs them up when their part ends. Opening hours are NOT compiled:
  they live in the engine only. Context `public` is where trunk calls arrive; `default`
  (the agents' `user_context`) has the same entries plus agent-to-agent dialling.
* the SIP user directory: one user per agent (id = extension, `a1-hash`, `user_context`
  default, caller id = the agent's name and extension, `cc_agent` = the agent id).
* after the main numbers, each tenant's direct-dial numbers (dialplan/direct.py): ring the
  employee's PBX (a trunk) or SIP user, and on no answer / busy / failure fall back to the
  agency's switchboard queue exactly like a main number, tagged `cc_direct_dial` and
  `cc_direct_cause`;
* the outbound context (`freeswitch.outbound_context`, when it is a context of its own):
  the outbound routes, number pattern -> `sofia/gateway/<trunk>/<rewrite>`;
* the trunks: one sofia gateway file each (`sip_profiles/external/<name>.xml`), their
  passwords read by FreeSWITCH from its environment (`env-set` in vars_sentral.xml).
Dialplan and directory exist as mod_xml_curl answers (`<document>`) and as static files
(`<include>`) for freeswitch-conf/; gateways only as files (mod_xml_curl is bound to
dialplan and directory). Every value goes through dialplan.xmlbuild.

Every compiled context (the outbound one too) starts with `cc-loopback-codecs`: the
engine dials a number as `originate ...loopback/<number>/<context>`, and the loopback
B leg that runs this dialplan and bridges out only knows L16; a bridged-out SIP leg
offers just its originator's codec (switch_core_media.c, prepare_codecs: the
`originator_codec` wins until answered unless `absolute_codec_string` is set), so a
phone or trunk answering PCMU/PCMA was refused (`INCOMPATIBLE_DESTINATION`,
tests/data/esl-corpus/FACTS.md 14). On a loopback B leg only (`${loopback_leg}` = B,
set by mod_loopback before routing) the extension exports
`nolocal:absolute_codec_string=${outbound_codec_prefs}` (freeswitch-conf/vars.xml, what
the SIP profiles offer on any other outbound call) and `continue`s to the real routes.

`write_files` also writes `vars_sentral.xml` (the globals FreeSWITCH must share with
this configuration: `sentral_engine_url` for mod_xml_curl, `domain` = the SIP domain),
so they have one source. Each static context ends by including `dialplan/<context>/*.xml`:
the site's own routes, which compilation never writes (it only creates a placeholder
in an empty folder, because FreeSWITCH prints "Error including" for a glob that
matches nothing).
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

from dialplan import direct, gateways, patterns
from dialplan.gateways import GENERATED
from dialplan.xmlbuild import Raw, element, regex, render, set_action
from engine.config import Deployment

CONTEXTS = ("public", "default")


def static_contexts(deployment: Deployment) -> tuple[str, ...]:
    """The contexts of the static file: ours, and the outbound context when it is another
    one (only the site's routes: `dialplan/<context>/*.xml`, its gateway and numbers)."""
    extra = deployment.outbound_context
    return CONTEXTS + ((extra,) if extra and extra not in CONTEXTS else ())
DIAL_STRING = Raw("{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}"
                  "${sofia_contact(*/${dialed_user}@${dialed_domain})}")
SITE_PLACEHOLDER = "00_site.xml"


def _expression(entry) -> Raw:
    return regex(entry.pattern) if entry.pattern else regex("^" + re.escape(entry.number) + "$", check=False)


def entry_variables(entry) -> dict[str, str]:
    """The channel variables the entry dialplan sets on a call to `entry` before parking it
    (also what the simulator's dialplan sets, so both tag calls the same way)."""
    variables = {"cc_tenant": entry.tenant, "cc_queue": entry.queue, "cc_entry": entry.pattern or entry.number}
    if entry.priority:
        variables["cc_priority"] = str(entry.priority)
    for tag, value in sorted(entry.tags.items()):
        variables[f"cc_{tag}"] = value
    variables["park_after_bridge"] = "true"
    return variables


LOOPBACK_CODECS = "cc-loopback-codecs"
CODEC_PREFS = "outbound_codec_prefs"     # the global (vars.xml) the SIP profiles offer outbound


def _loopback_codecs_extension(parent) -> None:
    """First in every context: a loopback B leg exports the site's outbound codecs to the
    leg it bridges to (and nothing else happens: `continue`)."""
    ext = element(parent, "extension", name=Raw(LOOPBACK_CODECS), continue_=Raw("true"))
    element(ext, "condition", field=Raw("${loopback_leg}"), expression=Raw("^B$"))
    cond = element(ext, "condition", field=Raw("${" + CODEC_PREFS + "}"), expression=Raw(r"^\S+$"))
    element(cond, "action", application=Raw("export"),
            data=Raw("nolocal:absolute_codec_string=${" + CODEC_PREFS + "}"))


def _entry_extension(parent, entry, index: int) -> None:
    ext = element(parent, "extension", name=f"cc-{entry.tenant}-{f'pattern-{index}' if entry.pattern else entry.number}")
    cond = element(ext, "condition", field=Raw("destination_number"), expression=_expression(entry))
    for name, value in entry_variables(entry).items():
        set_action(cond, name, value)
    element(cond, "action", application=Raw("park"))


def _agent_extension(parent, deployment: Deployment) -> None:
    extensions = sorted({a.sip_user for a in deployment.agents.values()})
    if not extensions:
        return
    ext = element(parent, "extension", name=Raw("cc-agent-to-agent"))
    cond = element(ext, "condition", field=Raw("destination_number"),
                   expression=regex("^(" + "|".join(re.escape(e) for e in extensions) + ")$", check=False))
    set_action(cond, "call_timeout", Raw("30"))
    element(cond, "action", application=Raw("bridge"), data=Raw("user/$1@${domain_name}"))


def _entries(deployment: Deployment, destination: str | None) -> list:
    """(index, entry) in dialplan order: exact numbers first, then patterns, each in file
    order (so a number never loses to a pattern, in the static files and over HTTP alike)."""
    index = _index_of(deployment)
    if destination is None:
        return index.exact + index.patterns
    exact = [index.by_number[destination]] if destination in index.by_number else []
    return exact + [(i, e) for i, e in index.patterns if patterns.matches(e.pattern, destination)]


def context_element(parent, deployment: Deployment, name: str, destination: str | None = None):
    """A context with every extension of ours, or only those matching `destination`
    (after the loopback legs' codec export): in `public`/`default` the main numbers, then
    the direct-dial numbers (and in `default` agent-to-agent); in the outbound context
    the outbound routes."""
    ctx = element(parent, "context", name=Raw(name))
    _loopback_codecs_extension(ctx)
    if name in CONTEXTS:
        for index, entry in _entries(deployment, destination):
            _entry_extension(ctx, entry, index)
        for index, rule in _direct_rules(deployment, destination):
            _direct_extension(ctx, rule, index, deployment.trunks)
        if name == "default" and (destination is None or destination in agents_by_user(deployment)):
            _agent_extension(ctx, deployment)
    elif name == deployment.outbound_context:
        for index, route in _routes(deployment, destination):
            _route_extension(ctx, route, index, deployment.trunks)
    return ctx


def _direct_rules(deployment: Deployment, destination: str | None) -> list:
    if destination is None:
        return list(enumerate(deployment.direct_dials, 1))
    return direct.matching(deployment, destination)


def _routes(deployment: Deployment, destination: str | None) -> list:
    numbered = list(enumerate(deployment.outbound_routes, 1))
    if destination is None:
        return numbered
    return [(i, r) for i, r in numbered if patterns.matches(r.pattern, destination)]


def _actions(cond, tag: str, actions: list) -> None:
    for app, data in actions:
        attrs = {"application": Raw(app)}
        if data:
            attrs["data"] = data
        element(cond, tag, **attrs)


def _direct_extension(parent, rule, index: int, trunks) -> None:
    """Ring the employee; on failure a loopback B leg hangs up with the cause (the
    engine's transfer sees it), any other caller falls back to the switchboard queue
    (dialplan/direct.py). The second condition is evaluated when the extension is
    chosen (`loopback_leg` is set by mod_loopback before routing); its actions and
    anti-actions run after the bridge, in order."""
    ring, fallback, loopback = direct.actions(rule, trunks)
    ext = element(parent, "extension", name=f"cc-direct-{rule.tenant}-{index}")
    cond = element(ext, "condition", field=Raw("destination_number"), expression=regex(rule.pattern))
    _actions(cond, "action", ring)
    guard = element(ext, "condition", field=Raw("${loopback_leg}"), expression=Raw("^" + direct.LOOPBACK_B + "$"),
                    break_=Raw("never"))
    _actions(guard, "action", loopback)
    _actions(guard, "anti-action", fallback)


def _route_extension(parent, route, index: int, trunks) -> None:
    """A number the outbound context dials through a trunk. No continue_on_fail: a
    failure ends the loopback leg with its cause, which the engine's originate reports."""
    ext = element(parent, "extension", name=f"cc-route-{index}-{route.trunk}")
    cond = element(ext, "condition", field=Raw("destination_number"), expression=regex(route.pattern))
    element(cond, "action", application=Raw("bridge"),
            data=direct.bridge_target(trunks[route.trunk], route.dial or "${destination_number}"))


def dialplan_document(deployment: Deployment, context: str | None = None,
                      destination: str | None = None) -> str | None:
    """The mod_xml_curl answer for section=dialplan: one context (or all), with only the
    extensions matching `destination` when it is given. None (→ "not found", FreeSWITCH
    then uses its static files) for an unknown context or a destination we do not route."""
    known = static_contexts(deployment)
    names = known if context is None else [c for c in known if c == context]
    if not names:
        return None
    doc = element(None, "document", type=Raw("freeswitch/xml"))
    section = element(doc, "section", name=Raw("dialplan"), description=Raw("Sentral entry dialplan"))
    found = [len(context_element(section, deployment, name, destination)) - 1 for name in names]
    if destination is not None and not any(found):
        return None
    return render(doc)


def dialplan_include(deployment: Deployment) -> str:
    """Our contexts for the static file; each ends with the include of the site's own
    routes (`dialplan/<context>/*.xml`): after ours, so a main number always reaches the
    engine, exactly as when mod_xml_curl answers (it only says "not found" for numbers we
    do not route, and then FreeSWITCH reads this file, site routes included)."""
    root = element(None, "include")
    for name in static_contexts(deployment):
        ctx = context_element(root, deployment, name)
        element(ctx, "X-PRE-PROCESS", cmd=Raw("include"), data=Raw(f"{name}/*.xml"))
    return render(root, comment=GENERATED, declaration=False)


def site_placeholder(context: str) -> str:
    """The file compilation puts in an empty `dialplan/<context>/` folder."""
    return (f"<!-- Your own extensions for context \"{context}\": put them in files next to this one\n"
            f"     (e.g. 10_trunk_out.xml: extensions wrapped in an include element). FreeSWITCH reads them\n"
            f"     after the generated main numbers; sentral config compile never writes here.\n"
            f"     This file keeps the folder from being empty and may be removed once another exists. -->\n"
            f"<include>\n</include>\n")


def vars_include(deployment: Deployment) -> str:
    """Globals FreeSWITCH must share with the routing configuration (read by vars.xml):
    the engine's URL for mod_xml_curl, the agents' SIP domain, and each trunk's password
    copied from FreeSWITCH's own environment (`env-set`, like esl_password: the secret is
    never in a file). All were validated by the loader (no quote, `$` or space can reach
    the pre-processor's `set`)."""
    lines = [f'<!-- {GENERATED} -->', "<include>",
             f'  <X-PRE-PROCESS cmd="set" data="sentral_engine_url={deployment.engine_url}"/>',
             f'  <X-PRE-PROCESS cmd="set" data="domain={deployment.sip_domain}"/>']
    for trunk in sorted(deployment.trunks.values(), key=lambda t: t.name):
        if trunk.password_env:
            lines.append(f'  <X-PRE-PROCESS cmd="env-set" data="{gateways.password_variable(trunk)}=${trunk.password_env}"/>')
    lines += ["</include>", ""]
    return "\n".join(lines)


@dataclass
class _Index:
    deployment: Deployment | None = None
    agents: dict = field(default_factory=dict)      # sip_user -> AgentConfig, sorted
    exact: list = field(default_factory=list)       # [(position, EntryPoint)]
    patterns: list = field(default_factory=list)
    by_number: dict = field(default_factory=dict)   # number -> (position, EntryPoint)


_cache = _Index()


def _index_of(deployment: Deployment) -> _Index:
    """Lookups for the running deployment, rebuilt when a reload brings a new object."""
    global _cache
    if _cache.deployment is not deployment:
        numbered = list(enumerate(deployment.entry_points.values(), 1))
        _cache = _Index(deployment, {a.sip_user: a for a in sorted(deployment.agents.values(), key=lambda a: a.sip_user)},
                        [(i, e) for i, e in numbered if not e.pattern], [(i, e) for i, e in numbered if e.pattern],
                        {e.number: (i, e) for i, e in numbered if not e.pattern})
    return _cache


def agents_by_user(deployment: Deployment) -> dict:
    return _index_of(deployment).agents


def domain_element(parent, deployment: Deployment, only_user: str | None = None):
    domain = element(parent, "domain", name=deployment.sip_domain)
    params = element(domain, "params")
    element(params, "param", name=Raw("dial-string"), value=DIAL_STRING)
    users = element(element(element(domain, "groups"), "group", name=Raw("sentral-agents")), "users")
    by_user = agents_by_user(deployment)
    for agent in ([by_user[only_user]] if only_user is not None else by_user.values()):
        user = element(users, "user", id=agent.sip_user)
        if agent.password_hash:
            element(element(user, "params"), "param", name=Raw("a1-hash"), value=agent.password_hash)
        variables = element(user, "variables")
        for name, value in (("user_context", Raw("default")), ("effective_caller_id_name", agent.name),
                            ("effective_caller_id_number", agent.sip_user), ("cc_agent", agent.id)):
            element(variables, "variable", name=Raw(name), value=value)
    return domain


def directory_document(deployment: Deployment, user: str | None = None, domain: str | None = None) -> str | None:
    """The mod_xml_curl answer for section=directory; None (→ not found) for an unknown
    domain or user."""
    if domain is not None and domain != deployment.sip_domain:
        return None
    if user is not None and user not in agents_by_user(deployment):
        return None
    doc = element(None, "document", type=Raw("freeswitch/xml"))
    section = element(doc, "section", name=Raw("directory"))
    domain_element(section, deployment, only_user=user)
    return render(doc)


def directory_include(deployment: Deployment) -> str:
    root = element(None, "include")
    domain_element(root, deployment)
    return render(root, comment=GENERATED, declaration=False)


def not_found() -> str:
    doc = element(None, "document", type=Raw("freeswitch/xml"))
    element(element(doc, "section", name=Raw("result")), "result", status=Raw("not found"))
    return render(doc)


def write_files(deployment: Deployment, out_dir: str) -> list[str]:
    """Write dialplan/default.xml, directory/default.xml, vars_sentral.xml and one
    sip_profiles/external/<trunk>.xml per trunk under `out_dir` (e.g. freeswitch-conf),
    remove the gateway files of trunks no longer configured (only files compilation
    wrote), and put a placeholder in each empty folder FreeSWITCH includes
    (`dialplan/<context>/`, `sip_profiles/external/`); files of the site are never touched."""
    written = []
    files = [("dialplan/default.xml", dialplan_include(deployment)),
             ("directory/default.xml", directory_include(deployment)),
             ("vars_sentral.xml", vars_include(deployment))]
    files += [(f"{gateways.GATEWAY_DIR}/{t.name}.xml", gateways.gateway_include(t)) for t in deployment.trunks.values()]
    gateway_dir = os.path.join(out_dir, gateways.GATEWAY_DIR)
    wanted = {os.path.join(gateway_dir, f"{name}.xml") for name in deployment.trunks}
    for stale in gateways.generated(gateway_dir):
        if stale not in wanted:
            os.remove(stale)
    for name in static_contexts(deployment):
        folder = os.path.join(out_dir, "dialplan", name)
        if not glob.glob(os.path.join(folder, "*.xml")):
            files.append((f"dialplan/{name}/{SITE_PLACEHOLDER}", site_placeholder(name)))
    if not deployment.trunks and not glob.glob(os.path.join(gateway_dir, "*.xml")):
        files.append((f"{gateways.GATEWAY_DIR}/{SITE_PLACEHOLDER}", gateways.GATEWAY_PLACEHOLDER))
    for rel, text in files:
        target = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
        written.append(target)
    return written

