"""The demo's written work: e-mails, SMS and web-form tasks arriving, and the blended
agents who are not a person at the console working them.

Rules:
* the demo has no mailbox and no SMS gateway: `WrittenTraffic` files sample messages
  (Norwegian citizens' questions) through channels/filing.py, the path every intake
  takes after reading a message, so the engine, the store, the console and the reports
  see exactly what a real mailbox would give them; arrivals are a Poisson stream per
  written queue, scaled by the demo's time factor like the callers;
* `WrittenDesk` plays the agents no person works (every agent but the console's
  operators): an item offered to one of them is taken after a few seconds, answered
  (through channels/replies.queue_reply, the console's and the REST API's one reply path:
  stored queued to the item's sender from the queue's reply_from, then ItemReply) and
  closed with a result code after a simulated handling time. The console's operators
  get their items on their screen and work them themselves;
* replies go through the real channel sender: without `SENTRAL_SMTP_HOST` (the demo sets
  none) the reply is stored and the sender reports it failed, which the fault report and
  the item's journal show (`reply_failed`).
"""
from __future__ import annotations

import logging
import random
import uuid

import gevent

from channels.filing import file_inbound
from channels.replies import ReplyError, queue_reply
from engine import events as ev
from store.written import MessageRecord

log = logging.getLogger(__name__)

SAMPLES = {
    "email": [
        ("Spørsmål om byggesøknad", "Hei!\n\nJeg sendte inn en byggesøknad for tre uker siden. "
         "Kan dere si hvor langt saken har kommet?\n\nMvh"),
        ("Endring av adresse", "Hei, jeg har flyttet og vil endre adressen dere har registrert på meg."),
        ("Faktura", "Jeg har fått en faktura jeg mener er feil. Kan noen ringe meg tilbake?"),
        ("Klage på vedtak", "Jeg vil klage på vedtaket i saken min. Hva er fristen?"),
        ("Timebestilling", "Kan jeg få en time neste uke? Jeg kan når som helst etter kl. 12."),
    ],
    "sms": [
        ("", "Hei, når åpner dere i morgen?"),
        ("", "Jeg har ikke fått svar på e-posten min fra i går."),
        ("", "Kan dere ringe meg? Det haster litt."),
        ("", "Takk for hjelpen i dag!"),
    ],
    "task": [
        ("Kontaktskjema: Søknad om parkeringstillatelse", "Navn: Ola Normann\nSak: parkeringstillatelse\n"
         "Beskjed: Jeg trenger tillatelse for beboerparkering i sentrum."),
        ("Kontaktskjema: Melding om feil", "Navn: Kari Lie\nSak: gatelys\nBeskjed: Gatelyset i Fjellveien er ute."),
    ],
}
REPLY = {"email": "Hei, og takk for henvendelsen. Vi har registrert saken og kommer tilbake til deg "
                  "innen to virkedager.\n\nVennlig hilsen\nSentralbordet",
         "sms": "Takk for meldingen. Vi svarer deg så snart vi kan.",
         "task": "Takk for skjemaet. Saken er registrert."}


class WrittenTraffic:
    """Poisson arrivals of written messages into every written queue of the deployment."""

    def __init__(self, store, proc, deployment, per_hour: float, time_factor: float, seed: int = 0):
        self.store, self.proc = store, proc
        self.queues = [q for q in deployment.queues.values() if q.written]
        self.rate = per_hour / 3600.0
        self.time_factor = time_factor
        self.rng = random.Random(seed)
        self.filed = 0
        self._greenlets: list = []

    def start(self) -> "WrittenTraffic":
        self._greenlets = [gevent.spawn(self._run, q) for q in self.queues if self.rate > 0]
        return self

    def stop(self) -> None:
        for g in self._greenlets:
            g.kill(block=False)

    def _run(self, queue) -> None:
        while True:
            gevent.sleep(self.rng.expovariate(self.rate) * self.time_factor)
            try:
                self.file(queue)
            except Exception:                      # a demo generator must not stop the demo
                log.exception("demo: filing a sample %s message failed", queue.channel)

    def file(self, queue, subject: str = "", text: str = "", sender: str = "") -> str:
        sample_subject, sample_text = self.rng.choice(SAMPLES[queue.channel])
        n = self.rng.randrange(10**7)
        sender = sender or (f"innbygger{n}@example.org" if queue.channel != "sms" else f"+479{n:07d}")
        now = self.proc.clock()
        record = MessageRecord(
            id=str(uuid.uuid4()), tenant=queue.tenant, channel=queue.channel, direction="in",
            case=self.store.new_case(queue.tenant, queue.channel, sender, subject or sample_subject),
            created_at=now, queue=queue.id, external_id=f"<demo-{uuid.uuid4().hex}@example.org>",
            sender=sender, sender_name="", subject=subject or sample_subject, body=text or sample_text)
        file_inbound(self.store, self.proc.runtime.post, record, now)
        self.filed += 1
        return record.id


class WrittenDesk:
    """The demo's simulated agents at work on written items (not the console's operators)."""

    def __init__(self, store, proc, deployment, people: tuple[str, ...], time_factor: float,
                 handling: float = 120.0, seed: int = 0):
        self.store, self.proc, self.deployment = store, proc, deployment
        self.people = set(people)
        self.time_factor = time_factor
        self.handling = handling
        self.result = next((r.id for r in deployment.result_codes if r.id == "besvart"),
                           deployment.result_codes[0].id if deployment.result_codes else "")
        self.rng = random.Random(seed)
        self.busy: set[str] = set()
        self.closed = 0
        self._greenlet = None

    def start(self) -> "WrittenDesk":
        self._greenlet = gevent.spawn(self._run)
        return self

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _run(self) -> None:
        while True:                                # a person's glance at the screen, not a synchronisation
            gevent.sleep(1.0)
            for item in list(self.proc.engine.items.values()):
                if item.agent and item.agent not in self.people and item.id not in self.busy:
                    self.busy.add(item.id)
                    gevent.spawn(self._work, item.id, item.agent)

    def _work(self, item_id: str, agent: str) -> None:
        post = self.proc.runtime.post
        try:
            gevent.sleep(self.rng.uniform(2, 6) * self.time_factor)
            item = self.proc.engine.items.get(item_id)
            if item is None or item.agent != agent:
                return
            if item.state.value == "offered":
                post(ev.ItemAccept(agent, item_id, self.proc.clock()))
            gevent.sleep(self.rng.uniform(0.5, 1.5) * self.handling * self.time_factor)
            item = self.proc.engine.items.get(item_id)
            if item is None or item.agent != agent or item.state.value != "open":
                return
            if not item.automatic:
                try:
                    queue_reply(self.store, post, self.deployment, item, agent, REPLY[item.channel], self.proc.clock())
                except ReplyError as e:             # moved on meanwhile (transferred, closed): nothing sent
                    log.info("demo: no reply to item %s: %s", item_id, e)
                    return
            post(ev.ItemClose(agent, item_id, self.result, self.proc.clock()))
            self.closed += 1
        except Exception:
            log.exception("demo: simulated work on item %s failed", item_id)
        finally:
            self.busy.discard(item_id)
