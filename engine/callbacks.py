"""Callbacks a supervisor (or the API) creates: a number to call back through a queue.

Rules:
* the request waits in the queue exactly like one a caller asked for (engine.callflow
  `request_callback`): an interaction without a caller leg in state `callback`, at the
  back of the queue (its place is the moment it was made), offered to an agent when its
  turn comes, the number dialled once the agent answers (engine.offers), recovered from
  the store like any callback (engine.recovery keeps a callback without a caller leg);
* refused (Notify "command_refused", `by` = who asked, `tenant` = the queue's if known): `callback.unknown_queue`,
  `callback.invalid_number` (engine.fsvalues.number: `+` and 2-20 digits, nothing a dial
  string could read otherwise), `callback.no_node` (no FreeSWITCH node to dial from);
* the node: the origin interaction's if the engine still has it, else the first
  configured node that is up;
* the number the callee sees: the queue's own main number (its first entry point);
* journal: `entered_queue` then `callback_requested` (number, position, origin, by);
  notice `callback_created` (interaction, queue, tenant, number, origin, by).
"""
from __future__ import annotations

import logging

from engine import effects as fx
from engine import events as ev
from engine import callflow, fsvalues
from engine.interactions import CallEvent, Interaction

log = logging.getLogger(__name__)


def _refuse(eng, e: ev.CallbackCreate, error_id: str, message: str) -> None:
    log.warning("callback refused (%s): %s", error_id, message)
    q = eng.deployment.queues.get(e.queue)
    eng.emit(fx.Notify("command_refused", {"error_id": error_id, "agent": "", "by": e.by, "message": message,
                                           "queue": e.queue, "tenant": q.tenant if q else ""}))


def _node(eng, origin: str) -> str:
    known = eng.calls.get(origin)
    if known is not None and known.node:
        return known.node
    for node in eng.deployment.nodes:
        if node.name not in eng.down_nodes:
            return node.name
    return ""


def create(eng, e: ev.CallbackCreate) -> None:
    q = eng.deployment.queues.get(e.queue)
    if q is None:
        return _refuse(eng, e, "callback.unknown_queue", f"no queue {e.queue!r}")
    try:
        number = fsvalues.number(e.number)
    except fsvalues.UnsafeValue:
        return _refuse(eng, e, "callback.invalid_number", "a number is + and 2 to 20 digits")
    node = _node(eng, e.origin)
    if not node:
        return _refuse(eng, e, "callback.no_node", "no FreeSWITCH node to call back from")
    main = next((p.number for p in eng.deployment.entry_points.values() if p.queue == q.id and not p.pattern), "")
    eng.arrivals += 1
    ix = Interaction(id=eng.new_id("interaction"), node=node, uuid="", tenant=q.tenant, queue=q.id,
                     caller_number=number, caller_name="", destination=main, arrived_at=eng.now,
                     position_at=eng.now, order=eng.arrivals)
    eng.calls[ix.id] = ix
    callflow.enqueue_silently(eng, ix)
    ix.apply(CallEvent.REQUEST_CALLBACK, eng.now)
    eng.journal(ix, "callback_requested", number=number, position=eng.index.position(ix), origin=e.origin, by=e.by)
    eng.emit(fx.Notify("callback_created", {"interaction": ix.id, "queue": q.id, "tenant": q.tenant,
                                            "number": number, "origin": e.origin, "by": e.by}))
    eng.want_route_call(ix)


HANDLERS = {
    ev.CallbackCreate: create,
}
