"""Incremental routing indexes: per queue, the available agents by level and the waiting calls.

Rules:
* `sync(agent)` is called after every change of an agent; it is the only writer of the
  agent side of the indexes (membership = the agent is `routable`);
* available agents sit in one heap per (queue, level) ordered by the strategy key;
  removal is lazy (a token per live entry; stale entries are dropped when met and the
  heaps are compacted when stale entries outnumber live ones);
* waiting calls sit in a sorted list per queue (caller priority, then place); the
  position announced to a caller is the bisect index + 1;
* an agent is a member of a queue only if it has the queue's required skills and,
  when it chose queues at login (`Agent.active_queues`), only of those: `members` is
  the active membership (what routing, staffed counts and views use), `configured`
  everything the configuration allows; `sync` notices a new choice and moves the agent
  out of the queues it left before it counts it anywhere.
"""
from __future__ import annotations

import heapq
import random
from bisect import bisect_left, insort
from typing import Callable, Iterator

from engine.agents import Agent
from engine.config import Deployment, QueueConfig, Strategy
from engine.interactions import Interaction
from engine.routing import STRATEGY_KEYS


class QueueRuntime:
    def __init__(self, config: QueueConfig):
        self.config = config
        self.pools: dict[int, list[tuple]] = {}     # level -> heap of (key, agent id, token)
        self.levels: list[int] = []                 # sorted pool levels
        self.live: dict[str, int] = {}              # agent id -> token of its valid entry
        self.stale = 0
        self.staffed: set[str] = set()              # logged in with a registered phone
        self.waiting: list[tuple] = []              # sorted Interaction.sort_key()
        self.calls: dict[str, Interaction] = {}
        self.turn = 0                               # round-robin clock

    def waiting_calls(self) -> Iterator[Interaction]:
        for key in self.waiting:
            yield self.calls[key[-1]]


class QueueIndex:
    def __init__(self, deployment: Deployment, rng: random.Random):
        self.rng = rng
        self.queues = {qid: QueueRuntime(q) for qid, q in deployment.queues.items()}
        self.configured: dict[str, list[tuple[str, int]]] = {}
        self.members: dict[str, list[tuple[str, int]]] = {}     # the active ones
        self.chosen: dict[str, tuple[str, ...]] = {}             # the choice `members` reflects
        self.order: dict[str, int] = {}
        self._token = 0
        for n, agent in enumerate(deployment.agents.values()):
            self.order[agent.id] = n
            self.configured[agent.id] = [
                (qid, level) for qid, level in sorted(agent.queues.items())
                if qid in self.queues and self.queues[qid].config.required_skills <= agent.skills]
            self.members[agent.id] = list(self.configured[agent.id])
            self.chosen[agent.id] = ()

    # agents -------------------------------------------------------------------------
    def sync(self, agent: Agent) -> None:
        if agent.active_queues != self.chosen.get(agent.id, ()) and agent.id in self.configured:
            self._choose(agent)
        routable, staffed = agent.routable, agent.staffed
        for qid, level in self.members.get(agent.id, ()):
            q = self.queues[qid]
            if staffed:
                q.staffed.add(agent.id)
            else:
                q.staffed.discard(agent.id)
            if routable and agent.id not in q.live:
                self._push(q, agent, level)
            elif not routable and q.live.pop(agent.id, None) is not None:
                q.stale += 1
                if q.stale > 64 and q.stale > len(q.live):
                    self._compact(q)

    def _choose(self, agent: Agent) -> None:
        """The agent chose other queues: out of every queue it was a member of, then
        member of the chosen ones (the caller's sync puts it back where it belongs)."""
        for qid, _ in self.members.get(agent.id, ()):
            q = self.queues[qid]
            q.staffed.discard(agent.id)
            if q.live.pop(agent.id, None) is not None:
                q.stale += 1
        chosen = set(agent.active_queues)
        self.members[agent.id] = [(qid, level) for qid, level in self.configured[agent.id]
                                  if not chosen or qid in chosen]
        self.chosen[agent.id] = agent.active_queues

    def _push(self, q: QueueRuntime, agent: Agent, level: int) -> None:
        self._token += 1
        key = STRATEGY_KEYS[q.config.strategy](agent, q.config.id, self.order[agent.id], self.rng)
        if level not in q.pools:
            q.pools[level] = []
            insort(q.levels, level)
        heapq.heappush(q.pools[level], (key, agent.id, self._token))
        q.live[agent.id] = self._token

    def _compact(self, q: QueueRuntime) -> None:
        for level, heap in q.pools.items():
            heap[:] = [e for e in heap if q.live.get(e[1]) == e[2]]
            heapq.heapify(heap)
        q.stale = 0

    def level_of(self, agent_id: str, qid: str) -> int | None:
        for q, level in self.members.get(agent_id, ()):
            if q == qid:
                return level
        return None

    def pick(self, qid: str, top_level: int | None, accept: Callable[[str], bool],
             every: bool = False) -> list[str]:
        """The best available agent (or, with `every`, all of them) up to `top_level`."""
        q = self.queues[qid]
        chosen: list[str] = []
        for level in q.levels:
            if top_level is not None and level > top_level:
                break
            heap = q.pools[level]
            if every:
                chosen.extend(e[1] for e in sorted(heap) if q.live.get(e[1]) == e[2] and accept(e[1]))
                continue
            popped = []
            found = None
            while heap:
                entry = heapq.heappop(heap)
                if q.live.get(entry[1]) != entry[2]:
                    q.stale -= 1
                    continue
                popped.append(entry)
                if accept(entry[1]):
                    found = entry[1]
                    break
            for entry in popped:
                heapq.heappush(heap, entry)
            if found:
                return [found]
        return chosen

    def available(self, qid: str) -> int:
        return len(self.queues[qid].live)

    # calls --------------------------------------------------------------------------
    def add_call(self, ix: Interaction) -> None:
        q = self.queues[ix.queue]
        if ix.id not in q.calls:
            q.calls[ix.id] = ix
            insort(q.waiting, ix.sort_key())

    def remove_call(self, ix: Interaction) -> None:
        q = self.queues.get(ix.queue)
        if q is None or q.calls.pop(ix.id, None) is None:
            return
        key = ix.sort_key()
        i = bisect_left(q.waiting, key)
        if i < len(q.waiting) and q.waiting[i] == key:
            del q.waiting[i]

    def position(self, ix: Interaction) -> int:
        return bisect_left(self.queues[ix.queue].waiting, ix.sort_key()) + 1

    def strategy(self, qid: str) -> Strategy:
        return self.queues[qid].config.strategy
