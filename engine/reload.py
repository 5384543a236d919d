"""A new configuration while calls are in progress (ConfigReloaded).

Rules:
* no call in progress is touched: connected and ringing calls go on, waiting callers
  keep their place and wait time (their interactions are re-indexed as they are);
* new calls and every later decision use the new configuration; a queue that was
  removed keeps its old settings until its last waiting call has left;
* agents: new ones start logged out, changed ones get their new queues/levels/skills
  at once (a ringing or talking agent finishes that call first: routing only looks at
  routable agents), removed ones are no longer offered calls and are dropped once idle;
  a dropped agent's written items (offered or open) go back to their queues first in line
  (`returned`, as at a logout);
* the queue indexes are rebuilt from the agents' live state, so they equal a full scan
  (the property tests/engine checks for every other change too).
"""
from __future__ import annotations

import dataclasses
import logging

from engine import events as ev
from engine import written
from engine.agents import Agent, AgentState
from engine.interactions import WAITING
from engine.queues import QueueIndex
from engine.written import ItemState

log = logging.getLogger(__name__)


def reload(eng, e: ev.ConfigReloaded) -> None:
    old, new = eng.deployment, e.deployment
    queues = dict(new.queues)
    for ix in [*eng.calls.values(), *eng.items.values()]:
        if ix.queue not in queues and ix.queue in old.queues:
            queues[ix.queue] = old.queues[ix.queue]
            log.info("queue %s removed from the configuration: kept until its calls have left", ix.queue)
    deployment = dataclasses.replace(new, queues=queues)
    eng.deployment = deployment
    for aid, cfg in deployment.agents.items():
        if aid in eng.agents:
            eng.agents[aid].config = cfg
        else:
            eng.agents[aid] = Agent(cfg)
    for aid in [aid for aid in eng.agents if aid not in deployment.agents]:
        agent = eng.agents[aid]
        if agent.state in (AgentState.LOGGED_OUT, AgentState.AVAILABLE, AgentState.PAUSED):
            del eng.agents[aid]
            for item_id in list(agent.written):            # her written items wait again, first in line
                item = eng.items.get(item_id)
                if item is not None and item.state in (ItemState.OFFERED, ItemState.OPEN):
                    written.give_back(eng, item)
    eng.by_sip = {a.config.sip_user: aid for aid, a in eng.agents.items()}
    turns = {qid: q.turn for qid, q in eng.index.queues.items()}
    eng.index = QueueIndex(deployment, eng.rng)
    eng.written_members.clear()
    for qid, turn in turns.items():
        if qid in eng.index.queues:
            eng.index.queues[qid].turn = turn
    for agent in eng.agents.values():
        eng.touch_agent(agent)
        eng.want_route_agent(agent)
    for ix in eng.calls.values():
        if ix.state in WAITING:
            eng.index.add_call(ix)
            eng.want_route_call(ix)
    for item in eng.items.values():
        eng.want_route_item(item)
