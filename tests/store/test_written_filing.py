"""channels/filing.py against the store (PostgreSQL and SQLite) and a real engine:
stored before it is posted, a duplicate posts nothing, a crash in between is mended by
the repost at start-up, and the engine files each message once."""
from __future__ import annotations

import itertools
import random
from datetime import datetime, timezone

from channels.filing import file_inbound, repost_unfiled
from engine import effects as fx
from engine.core import Engine
from sentral.runtime import interaction_record
from store.written import MessageRecord
from tests.engine.builders import a_deployment, a_queue, an_agent

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def _engine():
    d = a_deployment(queues=[a_queue("sales"), a_queue("mail", channel="email")],
                     agents=[an_agent("alice", {"mail": 1})])
    counter = itertools.count(1)
    return Engine(d, rng=random.Random(1), new_id=lambda kind: f"{kind}-{next(counter)}")


def _sms(id, external_id, case="C1"):
    return MessageRecord(id=id, tenant="acme", channel="email", direction="in", case=case, created_at=T,
                         queue="mail", external_id=external_id, sender="+4791234567", body="Hei")


def test_a_message_is_stored_then_posted_once_and_a_lost_post_comes_again(store):
    eng, posted = _engine(), []
    assert file_inbound(store, posted.append, _sms("m1", "gw-1"), T) == ("m1", True)
    assert file_inbound(store, posted.append, _sms("m1b", "gw-1"), T) == ("m1", False)
    assert [p.message for p in posted] == ["m1"]
    file_inbound(store, lambda event: None, _sms("m2", "gw-2", case="C2"), T)   # the process died before the post
    out = [e for p in posted for e in eng.handle(p)]
    store.write(interactions=[interaction_record(n.payload, T) for n in out
                              if isinstance(n, fx.Notify) and n.topic == "item_changed"])
    again = []
    assert repost_unfiled(store, again.append, T) == 1 and again[0].message == "m2"
    out = [e for p in again + posted for e in eng.handle(p)]         # m1 posted twice more: filed once
    store.write(interactions=[interaction_record(n.payload, T) for n in out
                              if isinstance(n, fx.Notify) and n.topic == "item_changed"])
    assert len(eng.items) == 2 and store.unfiled_messages() == []
