"""Checks that need the whole configuration: references, overflow cycles, trunks.

Rules: every queue named anywhere (entry numbers, overflow/no-agents/after-hours
targets, agents' queues) must exist; an entry number leads to a queue of its own
tenant; following queue→queue overflow (`overflow` and `no_agents`) must never come
back to a queue already on the path (the caller would circle forever); routes and
direct-dial numbers name defined trunks, a direct-dial fallback queue is the tenant's
own; outbound routes never go into `public`/`default`; overlapping patterns warn.
Written channels (`channels`): a call never reaches a written queue (main numbers,
direct-dial fallbacks, voice queues' overflow, after_hours), a written queue overflows
only into a queue of its own channel, the SMS numbers lead to sms queues, and one
mailbox feeds one queue.
"""
from __future__ import annotations

import difflib

from dialplan import patterns
from engine.config import OverflowKind


def _unknown(ctx, node, queue_id: str, known, what: str) -> None:
    close = difflib.get_close_matches(queue_id, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    ctx.at(node, "unknown-reference", f"{what} names queue {queue_id!r}, which is not defined{hint}",
           "the id of a queue defined under a tenant")


def references(parsed, agent_refs: list) -> None:
    queues = parsed.queues
    for ctx, node, queue_id, owner in parsed.queue_refs:
        if queue_id not in queues:
            _unknown(ctx, node, queue_id, queues, f"the overflow of queue {owner!r}" if owner else "after_hours")
    for ctx, node, queue_id, tenant_id in parsed.entry_refs:
        if queue_id not in queues:
            _unknown(ctx, node, queue_id, queues, f"a number of tenant {tenant_id!r}")
        elif queues[queue_id].tenant != tenant_id:
            ctx.at(node, "foreign-queue", f"a number of tenant {tenant_id!r} leads to queue {queue_id!r} "
                   f"of tenant {queues[queue_id].tenant!r}", "one of the tenant's own queues")
    for ctx, node, queue_id in agent_refs:
        if queue_id not in queues:
            _unknown(ctx, node, queue_id, queues, "an agent")


def overflow_cycles(parsed) -> None:
    """Report each queue→queue overflow loop once, at the first queue of the loop."""
    edges = {qid: sorted({o.target for o in (q.overflow, q.no_agents) if o.kind == OverflowKind.QUEUE})
             for qid, q in parsed.queues.items()}
    reported: set[frozenset] = set()

    def walk(queue_id: str, path: list[str]) -> None:
        for target in edges.get(queue_id, ()):
            if target in path:
                loop = path[path.index(target):] + [target]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    ctx, node = parsed.places[("queue", loop[0])]
                    ctx.at(node, "overflow-cycle", "overflow chain loops: " + " -> ".join(loop),
                           "overflow chains that end (in a message, voicemail, callback, transfer or hangup)")
            elif target in edges:
                walk(target, path + [target])

    for queue_id in sorted(edges):
        walk(queue_id, [queue_id])


def _place(ctx, node) -> str:
    return f"{ctx.file}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def trunk_references(parsed, route_refs: list, trunk_places: dict) -> None:
    """Routes and direct-dial numbers name trunks that exist; a direct-dial fallback queue
    exists and is the tenant's own."""
    refs = [(ctx, node, "trunk", name, "", "an outbound route") for ctx, node, name in route_refs]
    for ctx, _, rule, rule_refs in parsed.direct:
        refs.extend((ctx, node, kind, name, rule.tenant, f"a direct_dial number of tenant {rule.tenant!r}")
                    for kind, node, name in rule_refs)
    for ctx, node, kind, name, tenant, what in refs:
        if kind == "trunk" and name not in trunk_places:
            close = difflib.get_close_matches(name, list(trunk_places), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            ctx.at(node, "unknown-reference", f"{what} names trunk {name!r}, which is not defined{hint}",
                   "the name of a trunk under trunks:")
        elif kind == "queue" and name not in parsed.queues:
            _unknown(ctx, node, name, parsed.queues, what)
        elif kind == "queue" and parsed.queues[name].tenant != tenant:
            ctx.at(node, "foreign-queue", f"{what} falls back to queue {name!r} of tenant "
                   f"{parsed.queues[name].tenant!r}", "one of the tenant's own queues")


def routes_context(routes: list, outbound_context: str) -> None:
    """Routes that dial out never live where callers arrive (`public`) or where agents
    dial (`default`): a caller could dial out through them (toll fraud)."""
    if routes and outbound_context in ("public", "default"):
        ctx, node, _ = routes[0]
        ctx.at(node, "conflict", f"outbound routes would be compiled into context {outbound_context!r}, "
               "where callers arrive", "freeswitch: {outbound_context: outbound} (a context of its own)")


def pattern_overlaps(parsed, routes: list) -> None:
    """Warnings (never errors): a number of a route that an earlier route also matches goes
    to the earlier one (the more specific route first is fine, not reported); a direct
    number that is also a main number (or another direct number) rings the first."""
    from dialplan import overlap

    for i, (ctx, node, route) in enumerate(routes):
        for first_ctx, first_node, first in routes[:i]:
            if (number := overlap.shadowed(route.pattern, first.pattern)) is not None:
                ctx.warn(node, "pattern-overlap", f"route pattern {route.pattern!r} is shadowed by the route at "
                         f"{_place(first_ctx, first_node)} (e.g. {number}): such numbers take the first route",
                         "the more specific pattern first")
                break
    mains = [(parsed.places[("number", key)], key, entry) for key, entry in parsed.entries.items()]
    for i, (ctx, node, rule, _) in enumerate(parsed.direct):
        for (first_ctx, first_node), key, entry in mains:
            number = (overlap.witness(entry.pattern, rule.pattern) if entry.pattern
                      else key if patterns.matches(rule.pattern, key) else None)
            if number is not None:
                ctx.warn(node, "pattern-overlap", f"direct_dial pattern {rule.pattern!r} also matches the main "
                         f"number at {_place(first_ctx, first_node)} (e.g. {number}): the main number wins",
                         "direct numbers apart from the main numbers")
                break
        for first_ctx, first_node, first, _ in parsed.direct[:i]:
            if (number := overlap.witness(first.pattern, rule.pattern)) is not None:
                ctx.warn(node, "pattern-overlap", f"direct_dial pattern {rule.pattern!r} overlaps the one at "
                         f"{_place(first_ctx, first_node)} (e.g. {number}): such numbers ring the first",
                         "patterns that do not overlap")
                break


def _channel_problem(ctx, node, what: str, queue, expected: str) -> None:
    ctx.at(node, "wrong-channel", f"{what} leads to queue {queue.id!r}, a {queue.channel} queue", expected)


def channels(parsed, sms_refs: list) -> None:
    """Calls stay in voice queues, written items in queues of their channel."""
    queues = parsed.queues
    voice_only = "a voice queue (written items arrive by mail, SMS or the task API, never by a call)"
    for ctx, node, target, owner in parsed.queue_refs:
        if target not in queues:
            continue                                 # unknown-reference (references)
        source = queues.get(owner)
        channel = source.channel if source is not None else "voice"    # after_hours, (defaults): calls
        if queues[target].channel != channel:
            what = f"the overflow of queue {owner!r}" if source is not None else \
                "the queue defaults' overflow" if owner else "after_hours"
            _channel_problem(ctx, node, what, queues[target], voice_only if channel == "voice"
                             else f"another {channel} queue")
    for ctx, node, queue_id, tenant_id in parsed.entry_refs:
        if queue_id in queues and queues[queue_id].written:
            _channel_problem(ctx, node, f"a number of tenant {tenant_id!r}", queues[queue_id], voice_only)
    for ctx, _, rule, rule_refs in parsed.direct:
        for kind, node, name in rule_refs:
            if kind == "queue" and name in queues and queues[name].written:
                _channel_problem(ctx, node, f"a direct_dial number of tenant {rule.tenant!r}", queues[name], voice_only)
    for ctx, node, queue_id in sms_refs:
        if queue_id not in queues:
            _unknown(ctx, node, queue_id, [q for q in queues if queues[q].channel == "sms"], "an sms number")
        elif queues[queue_id].channel != "sms":
            _channel_problem(ctx, node, "an sms number", queues[queue_id], "a queue with channel: sms")
    seen: dict = {}
    for ctx, node, box in parsed.mailboxes:
        key = (box.host.lower(), box.port, box.username, box.folder)
        if key in seen:
            first_ctx, first_node, first = seen[key]
            ctx.at(node, "duplicate", f"queue {box.queue!r} reads the mailbox {box.username}@{box.host} "
                   f"{box.folder} of queue {first.queue!r} (at {_place(first_ctx, first_node)})",
                   "one queue per mailbox (or another folder)")
        else:
            seen[key] = (ctx, node, box)
