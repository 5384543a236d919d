"""The executor never leaves an agent's phone ringing for a caller who has left.

FreeSWITCH runs a `bgapi originate` in a thread of its own: for a few milliseconds after
the job is accepted the new leg does not exist, so a `uuid_kill` of it answers
`-ERR No such channel!`. The switch below models exactly that timing (a real FreeSWITCH
cannot run here and the simulator creates its channel synchronously)."""
from __future__ import annotations

import gevent
import gevent.event

from engine import effects as fx
from engine import events as ev
from esl.errors import CommandFailed, InvalidCommand
from esl.executor import Executor

LEG = "0f0e0d0c-0b0a-4908-8706-050403020100"


class LateLegSwitch:
    """`bgapi originate` creates its leg after `create_after` s and answers after `answer_after` s."""

    def __init__(self, create_after: float, answer_after: float):
        self.create_after, self.answer_after = create_after, answer_after
        self.legs: set[str] = set()
        self.killed: list[str] = []
        self.answered = gevent.event.Event()

    def bgapi(self, command: str, timeout: float = 30) -> str:
        gevent.sleep(self.create_after)
        self.legs.add(LEG)
        gevent.sleep(self.answer_after)
        if LEG not in self.legs:
            raise CommandFailed(command, "-ERR ORIGINATOR_CANCEL\n")
        self.answered.set()
        return f"+OK {LEG}\n"

    def api(self, command: str, timeout: float = 10) -> str:
        verb, uuid = command.split()[:2]
        assert verb == "uuid_kill"
        if uuid not in self.legs:
            raise CommandFailed(command, "-ERR No such channel!\n")
        self.legs.discard(uuid)
        self.killed.append(uuid)
        return "+OK\n"


def _originate():
    return fx.Originate("fs1", LEG, "1000", "4791234567", "Helsedir", 20, {"cc_caller_uuid": "c"})


def test_given_hangup_before_the_leg_exists_then_retried_until_it_does():
    switch = LateLegSwitch(create_after=0.12, answer_after=5.0)
    posted = []
    ex = Executor({"fs1": switch}, post=posted.append, pause=gevent.sleep)
    effect = _originate()
    ex.begin(effect)
    job = gevent.spawn(ex.run, effect)
    ex.run(fx.Hangup("fs1", LEG, "ORIGINATOR_CANCEL"))
    job.join(10)
    assert switch.killed == [LEG] and not switch.legs
    assert [type(p) for p in posted] == [ev.LegFailed] and posted[0].cause == "ORIGINATOR_CANCEL"


def test_given_hangup_retries_exhausted_then_leg_killed_when_the_originate_answers():
    switch = LateLegSwitch(create_after=3.5, answer_after=0.01)
    ex = Executor({"fs1": switch}, post=lambda e: None, pause=gevent.sleep)
    effect = _originate()
    ex.begin(effect)
    job = gevent.spawn(ex.run, effect)
    ex.run(fx.Hangup("fs1", LEG, "ORIGINATOR_CANCEL"))   # gives up after ~3.1 s of retries
    job.join(10)
    assert switch.answered.is_set() and switch.killed == [LEG] and not switch.legs


def test_given_undiallable_callback_number_then_leg_failed_not_a_dead_greenlet():
    posted = []
    ex = Executor({"fs1": LateLegSwitch(0, 0)}, post=posted.append)
    ex.run(fx.Originate("fs1", LEG, "", "1", "x", 5, destination="+47 22 33 44 55"))
    assert len(posted) == 1 and posted[0].cause == "INVALID_NUMBER_FORMAT"
    assert InvalidCommand.error_id.startswith("esl.local")


class ScriptedNode:
    """A node whose bgapi raises what the test says and whose api records commands."""

    def __init__(self, bgapi_error: Exception | None = None):
        self.bgapi_error = bgapi_error
        self.sent: list[str] = []

    def bgapi(self, command: str, timeout: float = 30) -> str:
        self.sent.append(command)
        if self.bgapi_error is not None:
            raise self.bgapi_error
        return f"+OK {LEG}\n"

    def api(self, command: str, timeout: float = 10) -> str:
        self.sent.append(command)
        return "+OK\n"


def test_an_originate_whose_result_was_lost_with_the_socket_is_not_reported_failed(caplog):
    """Corpus 12: the job rings on after the Event Socket dropped; its channel decides."""
    from esl.errors import ConnectionLost, ReplyTimeout
    for error in (ConnectionLost("fs1: FreeSWITCH closed the connection"), ReplyTimeout("fs1: job not done")):
        posted = []
        Executor({"fs1": ScriptedNode(error)}, post=posted.append).run(_originate())
        assert posted == []
        assert any("result unknown" in r.getMessage() for r in caplog.records)


def test_an_originate_never_sent_and_a_refused_one_are_reported_failed_and_logged(caplog):
    from esl.errors import NotConnected
    caplog.set_level("INFO", logger="esl.executor")
    for error, cause in ((NotConnected("fs1: not connected"), "ESL_NOT_CONNECTED"),
                         (CommandFailed("originate", "-ERR USER_NOT_REGISTERED\n"), "USER_NOT_REGISTERED")):
        posted = []
        Executor({"fs1": ScriptedNode(error)}, post=posted.append).run(_originate())
        assert [(p.uuid, p.cause) for p in posted] == [(LEG, cause)]
        assert isinstance(posted[0], ev.LegFailed)
        assert any(LEG in r.getMessage() and (cause in r.getMessage() or "not sent" in r.getMessage())
                   for r in caplog.records)


def test_a_bridge_is_performed_once_per_idempotency_key():
    node = ScriptedNode()
    ex = Executor({"fs1": node}, post=lambda item: None)
    ex.run(fx.Bridge("fs1", "caller", LEG, key="ix-1/bridge/1"))
    ex.run(fx.Bridge("fs1", "caller", LEG, key="ix-1/bridge/1"))
    ex.run(fx.Bridge("fs1", "caller", LEG, key="ix-1/bridge/2"))
    assert node.sent == [f"uuid_bridge caller {LEG}"] * 2


def test_two_bridges_of_one_pair_are_never_sent_closer_than_the_spacing():
    """The engine re-asks a bridge on event times; a late first send must not meet it in
    the switch's fatal 10-40 ms window."""
    import time
    sent = []

    class Clocked(ScriptedNode):
        def api(self, command, timeout=10):
            sent.append((time.monotonic(), command))
            return "+OK\n"

    ex = Executor({"fs1": Clocked()}, post=lambda item: None, pause=gevent.sleep)
    ex.run(fx.Bridge("fs1", "caller", LEG, key="ix-1/bridge/1"))
    ex.run(fx.Bridge("fs1", "caller", LEG, key="ix-1/bridge/2"))
    ex.run(fx.Bridge("fs1", "other", "leg-x", key="ix-2/bridge/1"))      # another pair: at once
    assert [c for _, c in sent] == [f"uuid_bridge caller {LEG}"] * 2 + ["uuid_bridge other leg-x"]
    assert sent[1][0] - sent[0][0] >= Executor.BRIDGE_SPACING - 0.005
    assert sent[2][0] - sent[1][0] < Executor.BRIDGE_SPACING
