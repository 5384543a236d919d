"""Checks that need the whole configuration: references and overflow cycles.

Rules: every queue named anywhere (entry numbers, overflow/no-agents/after-hours
targets, agents' queues) must exist; an entry number leads to a queue of its own
tenant; following queue→queue overflow (`overflow` and `no_agents`) must never come
back to a queue already on the path (the caller would circle forever).
"""
from __future__ import annotations

import difflib

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
