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
