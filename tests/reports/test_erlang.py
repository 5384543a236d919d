"""Erlang C staffing against the textbook example, an exact factorial formula, and its
properties (more agents never make the wait likelier or the service level worse)."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.erlang import agents_needed, erlang_c, service_level, traffic


def exact_erlang_c(agents: int, load: Fraction) -> Fraction:
    """The textbook formula with factorials, in exact fractions (small cases only)."""
    last = load ** agents / math.factorial(agents) * Fraction(agents) / (agents - load)
    return last / (sum(load ** k / math.factorial(k) for k in range(agents)) + last)


# The classic example (e.g. callcentrehelper.com, "Erlang C formula made simple"): 100 calls
# in 30 minutes, 180 s handling time, 80 % to be answered within 20 s: A = 10 erlangs.
@pytest.mark.parametrize("agents, waiting, level", [
    (11, 0.6821, 0.3896), (12, 0.4494, 0.6402), (13, 0.2853, 0.7956), (14, 0.1741, 0.8884),
])
def test_the_textbook_example(agents, waiting, level):
    assert traffic(100, 1800, 180) == pytest.approx(10)
    assert erlang_c(agents, 10) == pytest.approx(waiting, abs=5e-5)
    assert service_level(agents, 100, 1800, 180, 20) == pytest.approx(level, abs=5e-5)


def test_the_textbook_example_needs_14_agents():
    assert agents_needed(100, 1800, 180, 20) == 14
    assert agents_needed(100, 1800, 180, 20, goal=0.79) == 13
    assert agents_needed(100, 1800, 180, 20, goal=0.9) == 15


def test_a_case_worked_by_hand():
    # A = 2, N = 3: terms 1, 2, 2 and 2^3/3! * 3/(3-2) = 4, so C = 4 / (5 + 4)
    assert erlang_c(3, 2) == pytest.approx(4 / 9, rel=1e-12)
    assert service_level(3, 2, 3600, 3600, 0) == pytest.approx(5 / 9, rel=1e-12)


@pytest.mark.parametrize("agents", [1, 2, 3, 5, 8, 13, 21, 30, 60])
def test_equals_the_factorial_formula(agents):
    for tenths in range(1, agents * 10, max(1, agents // 3)):
        load = Fraction(tenths, 10)
        assert erlang_c(agents, float(load)) == pytest.approx(float(exact_erlang_c(agents, load)), rel=1e-9)


def test_large_centres_do_not_overflow():
    assert math.factorial(200) > 10 ** 308                # a float factorial would overflow here
    assert erlang_c(200, 180.5) == pytest.approx(float(exact_erlang_c(200, Fraction(361, 2))), rel=1e-9)
    for agents, load in [(2000, 1950.5), (5000, 4900.25)]:
        value = erlang_c(agents, load)
        assert 0 < value < 1 and math.isfinite(value)
    assert agents_needed(20_000, 900, 180, 20, max_agents=10_000) > 4000


def test_edges():
    assert erlang_c(5, 5) == 1.0 and erlang_c(4, 5) == 1.0 and erlang_c(0, 0.1) == 1.0
    assert erlang_c(3, 0) == 0.0
    assert service_level(5, 50, 900, 90, 20) == 0.0        # A = 5: the queue never empties
    assert service_level(0, 0, 900, 90, 20) == 1.0         # no calls, none waits
    assert agents_needed(0, 900, 180, 20) == 0
    assert agents_needed(0.01, 900, 180, 20) == 1
    assert agents_needed(5000, 900, 180, 20, max_agents=50) == 50


@pytest.mark.parametrize("call", [
    lambda: erlang_c(-1, 2), lambda: erlang_c(2, -0.5),
    lambda: service_level(3, -1, 900, 180, 20), lambda: service_level(3, 1, 0, 180, 20),
    lambda: service_level(3, 1, 900, 0, 20), lambda: service_level(3, 1, 900, 180, -1),
    lambda: agents_needed(10, 900, 180, 20, goal=1), lambda: agents_needed(10, 900, 180, 20, goal=0),
])
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()


@settings(max_examples=200, deadline=None)
@given(load=st.floats(0.01, 300), extra=st.integers(0, 60))
def test_more_agents_wait_less_and_serve_better(load, extra):
    agents = math.floor(load) + 1 + extra
    assert 0 < erlang_c(agents + 1, load) <= erlang_c(agents, load) < 1
    calls, interval, aht = load * 900 / 180, 900, 180
    assert service_level(agents, calls, interval, aht, 20) <= service_level(agents + 1, calls, interval, aht, 20)
    assert service_level(agents, calls, interval, aht, 20) <= service_level(agents, calls, interval, aht, 40)


@settings(max_examples=200, deadline=None)
@given(calls=st.floats(0.1, 2000), interval=st.sampled_from([900, 1800, 3600]), aht=st.floats(10, 900),
       target=st.floats(0, 120), goal=st.floats(0.05, 0.99))
def test_agents_needed_is_the_fewest_that_reach_the_goal(calls, interval, aht, target, goal):
    needed = agents_needed(calls, interval, aht, target, goal=goal, max_agents=5000)
    assert traffic(calls, interval, aht) < needed < 5000
    assert service_level(needed, calls, interval, aht, target) >= goal
    assert service_level(needed - 1, calls, interval, aht, target) < goal
