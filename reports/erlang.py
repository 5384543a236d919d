"""Erlang C staffing: how many agents an interval needs for a service-level goal.

Rules:
* traffic A (erlangs) = calls x average handling time / interval length, all in seconds;
* the probability of waiting C(N, A) is computed from Erlang B by its recurrence
  B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)) and C = N B / (N - A (1 - B)): no factorials
  or powers, so it stays finite for thousands of agents; C = 1 when N <= A (the queue
  grows without bound) and 0 without traffic;
* service level (share answered within the target) = 1 - C exp(-(N - A) target / AHT),
  0 when N <= A and 1 without calls;
* agents needed = the fewest agents whose service level reaches the goal (0 without
  calls), at most `max_agents` (returned when even that many do not reach it);
* bad arguments (negative counts, non-positive lengths, a goal outside (0, 1)) raise
  ValueError: they are programming errors, not user input.
"""
from __future__ import annotations

import math

DEFAULT_GOAL = 0.8
MAX_AGENTS = 1000


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """The probability that a call waits, with `agents` agents and that much traffic."""
    if agents < 0 or traffic_erlangs < 0:
        raise ValueError(f"agents ({agents}) and traffic ({traffic_erlangs}) must not be negative")
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    blocking = 1.0                                       # Erlang B with 0 agents
    for k in range(1, agents + 1):
        blocking = traffic_erlangs * blocking / (k + traffic_erlangs * blocking)
    return agents * blocking / (agents - traffic_erlangs * (1 - blocking))


def traffic(calls: float, interval_seconds: float, aht_seconds: float) -> float:
    """Offered traffic in erlangs: `calls` calls of `aht_seconds` each in the interval."""
    if calls < 0:
        raise ValueError(f"calls ({calls}) must not be negative")
    if interval_seconds <= 0 or aht_seconds <= 0:
        raise ValueError(f"interval ({interval_seconds} s) and handling time ({aht_seconds} s) must be positive")
    return calls * aht_seconds / interval_seconds


def service_level(agents: int, calls: float, interval_seconds: float, aht_seconds: float,
                  target_seconds: float) -> float:
    """The share of calls answered within `target_seconds` (0..1)."""
    load = traffic(calls, interval_seconds, aht_seconds)
    if target_seconds < 0:
        raise ValueError(f"target ({target_seconds} s) must not be negative")
    if load == 0:
        return 1.0
    if agents <= load:
        return 0.0
    waiting = erlang_c(agents, load)
    return min(1.0, max(0.0, 1.0 - waiting * math.exp(-(agents - load) * target_seconds / aht_seconds)))


def agents_needed(calls: float, interval_seconds: float, aht_seconds: float, target_seconds: float,
                  goal: float = DEFAULT_GOAL, max_agents: int = MAX_AGENTS) -> int:
    """The fewest agents answering `goal` of the calls within `target_seconds`."""
    if not 0 < goal < 1:
        raise ValueError(f"goal ({goal}) must be between 0 and 1")
    load = traffic(calls, interval_seconds, aht_seconds)
    if load == 0:
        return 0
    agents = math.floor(load) + 1                        # the fewest with a finite queue
    while agents < max_agents and service_level(agents, calls, interval_seconds, aht_seconds,
                                                target_seconds) < goal:
        agents += 1
    return min(agents, max_agents)
