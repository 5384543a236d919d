"""Blended work on a REAL FreeSWITCH: an operator serving the switchboard queue and an
e-mail queue (engine/written.py). Her capacity says no call while she holds a written
item (`calls_up_to: 0`) and no new written item during a call (the default): a caller
waits (no leg rings on her phone) while she works an e-mail, is offered the moment she
closes it, talks to her on the switch; an e-mail arriving during that call is offered
only after the call's wrap-up. At the end: one `ended` per interaction, clean journals,
no channel left. The lab (phones, observer, engine process) is test_call_control.py's.
"""
from __future__ import annotations

import dataclasses

import pytest

from tests.freeswitch.test_call_control import (OPERATOR, SILENT, TARGET, Lab, ANSWERS, AGENT2)
from tests.helpers import until

pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.slow,
    pytest.mark.skipif(not TARGET, reason="set SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD to run against a real FreeSWITCH"),
]
QUIET = 3.0      # s: a window in which the operator's phone must not ring (proves an absence)


def _blended(d):
    from engine.config import Capacity, QueueConfig

    (main,) = d.queues.values()
    mail = QueueConfig(id="lasttest-post", tenant=main.tenant, name="Post", channel="email",
                       ring_timeout=120.0, max_wait=7 * 86400.0, wrapup=0.0, service_level_seconds=4 * 3600.0)
    agent = d.agents[f"a{OPERATOR}"]
    agents = dict(d.agents)
    agents[agent.id] = dataclasses.replace(agent, queues={main.id: 1, mail.id: 1},
                                           capacity=Capacity(written=2, calls_up_to=0))
    queues = {main.id: dataclasses.replace(main, wrapup=2.0), mail.id: mail}
    return dataclasses.replace(d, queues=queues, agents=agents)


@pytest.fixture
def lab(pg_url, tmp_path):
    host, port, password = TARGET.rsplit(":", 2)
    lab = Lab(host, int(port), password, pg_url, tmp_path)
    try:
        lab.deployment = _blended(lab.deployment)
        lab.phones("phones", [OPERATOR, AGENT2, ANSWERS], ring_ms=300)
        lab.phones("silent", [SILENT], ring_ms=600000)
        lab.start_engine(pg_url, OPERATOR)
        yield lab
    finally:
        lab.close()


def _mail(lab, n: int) -> str:
    from channels.filing import file_inbound
    from store.written import MessageRecord

    record = MessageRecord(id=f"mail-{n}-{lab.tmp.name}", tenant="lasttest", channel="email", direction="in",
                           case=lab.store.new_case("lasttest", "email"), created_at=lab.proc.clock(),
                           queue="lasttest-post", external_id=f"<{n}.{lab.tmp.name}@example.org>",
                           sender="innbygger@example.org", subject=f"Spørsmål {n}", body="Hei")
    file_inbound(lab.store, lab.proc.runtime.post, record, lab.proc.clock())
    return until(lambda: lab.engine.filed.get(record.id), timeout=5, message="the engine files the mail")


def test_a_call_waits_while_the_operator_works_an_email_and_a_mail_waits_for_the_end_of_a_call(lab):
    from engine import events as ev

    operator = f"a{OPERATOR}"
    first = _mail(lab, 1)
    until(lambda: lab.engine.items[first].agent == operator, timeout=5, message="the e-mail is offered to her")
    lab.post(ev.ItemAccept, agent=operator, item=first)
    until(lambda: lab.engine.items[first].state.value == "open", timeout=5, message="she took it")

    legs_before = set(lab.obs.channels)
    known = set(lab.obs.callers)
    lab.sipps.append(_caller(lab))
    caller = until(lambda: next(iter(set(lab.obs.callers) - known), None), timeout=10, message="the call arrives")
    ixid = until(lambda: lab.engine.by_leg.get(caller), timeout=10, message="the engine takes the call")
    until(lambda: lab.ix(ixid).state.value == "queued", timeout=5, message="the call queues")
    start = lab.obs.now()
    until(lambda: lab.obs.now() - start >= QUIET, timeout=QUIET + 5, interval=0.05)
    rang = [u for u, ch in lab.obs.channels.items() if u not in legs_before
            and ch["name"].startswith(f"sofia/internal/{OPERATOR}@")]
    assert not rang, "her phone rang while she held an e-mail above her call limit"
    assert lab.ix(ixid).state.value == "queued" and not lab.ix(ixid).legs

    lab.post(ev.ItemClose, agent=operator, item=first, result="")
    until(lambda: lab.talking(ixid, OPERATOR), timeout=15, message="closing the e-mail lets the call through")
    assert "ended" in lab.kinds(first) and lab.rows(first, "ended")[0]["reason"] == "closed"

    second = _mail(lab, 2)                         # during the call: waits
    assert lab.engine.items[second].state.value == "queued"
    lab.hang_up_and_check(caller, ixid, "completed")
    until(lambda: lab.engine.items[second].agent == operator, timeout=10,
          message="after the call the waiting e-mail is offered to her")
    kinds = lab.kinds(second)
    assert kinds[:3] == ["arrived", "entered_queue", "offered"], kinds
    assert lab.store.verify_journal(second) == [] and lab.store.verify_journal(first) == []


def _caller(lab):
    from tests.freeswitch.lab import Sipp
    from tests.freeswitch.test_call_control import LONG, NUMBER, TRUNK
    from tests.helpers import free_port

    return Sipp(f"caller{len(lab.sipps)}", "caller_stay.xml", lab.tmp,
                [TRUNK, "-i", "127.0.0.1", "-p", str(free_port()), "-s", NUMBER, "-m", "1", "-l", "1",
                 "-nostdin", "-timeout", "900"], stay_ms=LONG)
