"""Routing strategies: each one is a key that orders a queue's available agents.

Rules:
* the queue indexes (engine.queues) keep the available agents of every queue level in a
  heap ordered by the queue's strategy key, so a decision is a heap peek, never a scan
  of all agents, and nothing is polled: the indexes change only on agent events;
* a key is computed when the agent becomes available and cannot change until the agent
  leaves availability (every input changes only off-line), which keeps heaps valid;
* lower levels are tried first; tiers (TierRule) widen the eligible levels with the
  call's waiting time: level 1 always, levels up to `rule.level` once the call waited
  `rule.after_seconds` (no tiers = every level, still lowest level first);
* ring-all offers every eligible available agent at once;
* the random strategy draws its key from the injected, seedable RNG.
"""
from __future__ import annotations

import random
from typing import Callable

from engine.agents import Agent
from engine.config import QueueConfig, Strategy


def longest_idle(agent: Agent, queue: str, order: int, rng: random.Random) -> tuple:
    return (agent.idle_since.timestamp(), order)


def round_robin(agent: Agent, queue: str, order: int, rng: random.Random) -> tuple:
    return (agent.turns.get(queue, 0), order)


def fewest_calls(agent: Agent, queue: str, order: int, rng: random.Random) -> tuple:
    return (agent.calls_answered, agent.idle_since.timestamp(), order)


def least_talk_time(agent: Agent, queue: str, order: int, rng: random.Random) -> tuple:
    return (agent.talk_time, agent.idle_since.timestamp(), order)


def top_down(agent: Agent, queue: str, order: int, rng: random.Random) -> tuple:
    return (order,)


def random_order(agent: Agent, queue: str, order: int, rng: random.Random) -> tuple:
    return (rng.random(), order)


STRATEGY_KEYS: dict[Strategy, Callable[[Agent, str, int, random.Random], tuple]] = {
    Strategy.LONGEST_IDLE: longest_idle,
    Strategy.ROUND_ROBIN: round_robin,
    Strategy.RING_ALL: top_down,
    Strategy.FEWEST_CALLS: fewest_calls,
    Strategy.LEAST_TALK_TIME: least_talk_time,
    Strategy.TOP_DOWN: top_down,
    Strategy.RANDOM: random_order,
}


def max_level(queue: QueueConfig, waited: float) -> int | None:
    """The highest agent level a call that waited `waited` seconds may reach (None = all)."""
    if not queue.tiers:
        return None
    level = 1
    for rule in queue.tiers:
        if waited >= rule.after_seconds and rule.level > level:
            level = rule.level
    return level


def next_widening(queue: QueueConfig, waited: float) -> float | None:
    """Seconds of waiting at which the next tier opens, if any."""
    later = [r.after_seconds for r in queue.tiers if r.after_seconds > waited]
    return min(later) if later else None


def eligible(queue: QueueConfig, level: int, waited: float) -> bool:
    top = max_level(queue, waited)
    return top is None or level <= top


def queue_rank(queue: QueueConfig, call_key: tuple) -> tuple:
    """Across the queues an agent serves: highest queue priority, then the call's place."""
    return (-queue.priority,) + call_key

