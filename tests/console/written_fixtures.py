"""A console world with written queues: helsedir's e-mail and SMS queues (kari and ola
serve them with the switchboard), nav's e-mail queue (another agency: a transfer target),
reply templates of helsedir, and the web app `sentral run` serves (sentral.web.build_app)
over a pure engine, with an attachment store in the test's tmp dir."""
from __future__ import annotations

import dataclasses
import itertools

import pytest

from agent_ui.notices import Notices
from channels.email.attachments import AttachmentStore
from engine import events as ev
from engine.config import QueueConfig, ReplyTemplate, TenantConfig
from engine.core import Engine
from sentral import web
from store.store import Store
from store.written import MessageRecord
from tests.console.conftest import NOW, PureInbox, _registered, console_deployment, users

HOUR = 3600.0
TEMPLATES = (ReplyTemplate("thanks", "Takk for henvendelsen",
                           "Hei {name}!\nTakk for henvendelsen din (sak {case}).\nHilsen {agency}"),
             ReplyTemplate("sms-ok", "SMS: mottatt", "Hei {name}, vi har fått meldingen din. {agency}", ("sms",)),
             ReplyTemplate("task-only", "Bare oppgaver", "x", ("task",)))


def written_deployment():
    d = console_deployment()
    helsedir = dataclasses.replace(d.tenants["helsedir"], reply_templates=TEMPLATES)
    nav = TenantConfig("nav", "NAV")
    mail = QueueConfig("helsedir-mail", "helsedir", "E-post", channel="email", ring_timeout=60,
                       service_level_seconds=4 * HOUR, reply_from="post@helsedir.example")
    sms = QueueConfig("helsedir-sms", "helsedir", "SMS", channel="sms", ring_timeout=60,
                      service_level_seconds=HOUR, reply_from="+4722000000")
    nav_mail = QueueConfig("nav-mail", "nav", "NAV e-post", channel="email", ring_timeout=60)
    queues = {**d.queues, mail.id: mail, sms.id: sms, nav_mail.id: nav_mail}
    agents = {aid: dataclasses.replace(a, queues={**a.queues, mail.id: 1, sms.id: 1}) for aid, a in d.agents.items()}
    return dataclasses.replace(d, tenants={"helsedir": helsedir, "nav": nav}, queues=queues, agents=agents)


class Desk:
    """The pure engine, its inbox and store: intakes file messages as channels/filing does."""

    numbers = itertools.count(1)

    def __init__(self, app, socketio, engine, inbox, store, files):
        self.app, self.socketio, self.engine, self.inbox, self.store, self.files = \
            app, socketio, engine, inbox, store, files

    def arrive(self, queue="helsedir-mail", channel="email", sender="per@example.org", name="Per Hansen",
               subject="Spørsmål om vedtak", body="Hei, når kommer svaret?", attachments=(), at=NOW) -> str:
        """Store an inbound message and post WrittenArrived; returns the item's id."""
        n = next(self.numbers)
        tenant = self.engine.deployment.queues[queue].tenant
        case = self.store.new_case(tenant, channel, sender, subject)
        record = MessageRecord(id=f"in-{n}", tenant=tenant, channel=channel, direction="in", case=case,
                               created_at=at, queue=queue, external_id=f"<m{n}@example.org>", sender=sender,
                               sender_name=name, recipients=("post@helsedir.example",), subject=subject,
                               body=body, attachments=tuple(attachments))
        self.store.save_inbound_message(record)
        self.inbox(ev.WrittenArrived(channel, tenant, queue, record.id, case, at, sender=sender, sender_name=name,
                                     subject=subject))
        return self.engine.filed[record.id]

    def attachment(self, data: bytes, name: str, kind: str = "application/pdf") -> dict:
        digest, size = self.files.put_bytes(data)
        return {"digest": digest, "name": name, "content_type": kind, "size": size}


def make_desk(tmp_path, attachments: bool = True) -> Desk:
    store = Store(f"sqlite:///{tmp_path / 'w.db'}", migrate=True, clock=lambda: NOW)
    deployment = written_deployment()
    engine = Engine(deployment)
    for ext in ("1000", "1001"):
        engine.handle(_registered(ext))
    users(store)
    store.create_user("sjef", "pw-sjef-123456", display_name="Sjef", roles=[("helsedir", "supervisor")])
    store.create_user("navsjef", "pw-navsjef-123456", roles=[("nav", "supervisor")])
    notices = Notices()
    inbox = PureInbox(engine, notices, lambda: NOW)
    files = AttachmentStore(tmp_path / "attachments", 1_000_000)
    app, socketio = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False,
                                  notices=notices, post=inbox, message_queue="",
                                  attachments=files if attachments else None)
    app.testing = True
    return Desk(app, socketio, engine, inbox, store, files)


@pytest.fixture
def desk(tmp_path, monkeypatch):
    monkeypatch.delenv("SENTRAL_ATTACHMENTS_DIR", raising=False)
    d = make_desk(tmp_path)
    yield d
    d.store.close()
