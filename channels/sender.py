"""The channel sender: performs the engine's `SendWritten` (an agent's stored reply) off the
engine loop and answers with WrittenSent / WrittenSendFailed.

Rules:
- At most once: each attempt first claims the message (`claim_outbound`, queued ->
  sending, atomic); a message that is not queued (sent, failed, or claimed by another
  attempt) is not sent. One greenlet per message in a bounded pool; a message already
  being handled here is not started twice.
- By channel: email -> `outbound.build_reply` against the last mail received from the
  reply's recipient (`recipients[0]`; else the case's last received mail: a case may hold a
  third party's mail threaded in by References), From
  the queue's `reply_from`, sent with `smtp.send` (SmtpConfig.from_env()); sms -> the SMPP
  link's or the HTTP gateway's `send` to the number of the case's last received SMS;
  task -> an e-mail to the form's contact address when it gave one, From the queue's
  `reply_from` or else the tenant's first e-mail queue's (`task_from`: a task queue has
  none in the configuration); with no address (or nothing to send it from) an SMS to
  the contact's phone when an SMS gateway is configured; with neither, nothing to send:
  marked sent with external_id "", and the item's `replied` row says `via: none`.
- Success: `mark_sent(external_id = the Message-ID / the gateway's ids)`, then
  WrittenSent with `via` ("email", "sms", "none"), journalled on the item's `replied` row.
  If the database fails right after a send, marking is retried until it works; the
  message is never sent again for that.
- A temporary failure (4xx, connection, link down, gateway unavailable): the claim is
  released (status queued) and the send retried with exponential back-off from
  `backoff_initial` to at most `backoff_max` seconds; the first such failure is posted
  once as WrittenSendFailed(permanent=False). After `give_up_after` seconds of trying it
  counts as permanent.
- Permanent (5xx, refused reply, invalid number, no reply_from): `mark_failed`,
  WrittenSendFailed(permanent=True) and a fault entry (`failed`, source
  `sender:<tenant>/<queue>`).
- At start-up (`resume`): every reply still `queued` or left `sending` by a stopped
  process is sent (a `sending` one is released first), if the engine accepted it: its
  id is in its item's stored record (`store.accepted_replies`; engine/written.py `reply`
  lists an accepted reply in the item's `messages`, stored in the same write as the
  decision). One not listed was refused by the engine (the item moved between the
  console's check and the engine's step) or its ItemReply never reached it: marked
  failed with error "not accepted by the engine" and a warning in the log, never sent.
  A mail is sent twice only if the process died between the SMTP server's 250 and
  `mark_sent`.
- Blocking I/O (smtplib, requests) runs through `run_blocking`: inline when gevent has
  patched the socket module (`sentral run`), else in gevent's thread pool (tests run
  unpatched). The SMPP link is gevent-native and is called directly.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

import gevent
import gevent.event
import gevent.pool

from channels.email import smtp as smtp_mod
from channels.email.outbound import OutboundError, build_reply
from channels.email.parse import MailItem
from channels.intake import mail_item
from channels.sms.errors import GatewayUnavailable, LinkDown, SmsError
from channels.sms.smpp import SmppLink
from engine import events as ev
from engine.clock import utcnow

log = logging.getLogger(__name__)
NOT_ACCEPTED = "not accepted by the engine"


def run_blocking(fn, *args):
    """Call a blocking function without stopping the other greenlets."""
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        return fn(*args)
    return gevent.get_hub().threadpool.apply(fn, args)


def task_contact(original) -> tuple[str, str]:
    """(e-mail address, phone) of a web form's contact: the task API keeps both in the
    message's headers (`contact`); the sender is the address, else the phone."""
    if original is None:
        return "", ""
    contact = original.headers.get("contact") if isinstance(original.headers, dict) else None
    contact = contact if isinstance(contact, dict) else {}
    sender = (original.sender or "").strip()
    address = str(contact.get("email") or "").strip() or (sender if "@" in sender else "")
    phone = str(contact.get("phone") or "").strip() or (sender if sender and "@" not in sender else "")
    return address, phone


def task_from(deployment, queue: str, tenant: str) -> str:
    """The address a task's mail goes from: the task queue's `reply_from`, else that of the
    tenant's first e-mail queue that has one ("" when none has)."""
    q = deployment.queues.get(queue)
    if q is not None and q.reply_from and "@" in q.reply_from:
        return q.reply_from
    owner = q.tenant if q is not None else tenant
    return next((other.reply_from for other in deployment.queues.values()
                 if other.tenant == owner and other.channel == "email" and other.reply_from), "")


class Permanent(Exception):
    """Sending this message will not work however often it is tried."""


class Temporary(Exception):
    """Worth another try later."""


class ChannelSender:
    def __init__(self, store, post: Callable[[object], None], deployment: Callable[[], object], *,
                 fault: Callable[..., None] = lambda *a, **k: None, clock: Callable[[], datetime] = utcnow,
                 smtp_config: smtp_mod.SmtpConfig | None = None, sms=None, attachments=None,
                 size: int = 16, backoff_initial: float = 5.0, backoff_max: float = 600.0,
                 give_up_after: float = 2 * 86400.0, blocking=run_blocking):
        self.store = store
        self.post = post
        self.deployment = deployment
        self.fault = fault
        self.clock = clock
        self.smtp_config = smtp_config or smtp_mod.SmtpConfig.from_env()
        self.sms = sms                      # an SmppLink or an HttpGatewayClient: .send(to, text, reference)
        self.attachments = attachments
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.give_up_after = give_up_after
        self.blocking = blocking
        self.pool = gevent.pool.Pool(size)
        self._active: set[str] = set()
        self._stopping = gevent.event.Event()

    # -- entry points ------------------------------------------------------------------
    def submit(self, effect) -> None:
        """The runtime's performer for fx.SendWritten: never blocks the engine's releaser."""
        self._start(effect.item, effect.message, effect.channel, effect.tenant, effect.queue)

    def resume(self) -> int:
        """At start-up: every reply queued or left sending that the engine accepted, sent
        (again); one it did not accept, marked failed. -> how many are being sent."""
        pending = self.store.pending_outbound()
        accepted = self.store.accepted_replies(pending)
        started = 0
        for rec in pending:
            if rec.id not in accepted:
                log.warning("reply %s of item %s is %s but its item's record does not list it (the engine "
                            "refused it, or never heard of it): marked failed, not sent", rec.id, rec.item,
                            rec.status)
                self.store.mark_failed(rec.id, NOT_ACCEPTED)
                continue
            if rec.status == "sending":
                log.warning("reply %s was being sent when the process stopped: sending again", rec.id)
                self.store.release_outbound(rec.id)
            self._start(rec.item or "", rec.id, rec.channel, rec.tenant, rec.queue)
            started += 1
        return started

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.pool.kill(timeout=timeout)

    def _start(self, item: str, message: str, channel: str, tenant: str, queue: str) -> None:
        if message in self._active or self._stopping.is_set():
            return
        self._active.add(message)
        gevent.spawn(self._spawn, item, message, channel, tenant, queue)

    def _spawn(self, *args) -> None:
        try:
            self.pool.spawn(self._send, *args).join()
        finally:
            self._active.discard(args[1])

    # -- one message -------------------------------------------------------------------
    def _send(self, item: str, message: str, channel: str, tenant: str, queue: str) -> None:
        delay, reported = self.backoff_initial, False
        while not self._stopping.is_set():
            rec = self.store.claim_outbound(message)
            if rec is None:
                return                           # sent, failed, or claimed elsewhere
            try:
                external_id, via = self._deliver(rec, channel, queue)
            except Exception as exc:             # noqa: BLE001 - classified below
                permanent, error = self._classify(exc)
                if not permanent and (self.clock() - rec.created_at) > timedelta(seconds=self.give_up_after):
                    permanent, error = True, f"gave up after {self.give_up_after:.0f} s: {error}"
                if permanent:
                    self.store.mark_failed(message, error)
                    log.warning("reply %s of item %s failed for good: %s", message, item, error)
                    self.post(ev.WrittenSendFailed(item, message, error, True, self.clock()))
                    self.fault(f"sender:{tenant}/{queue}", "failed", message=message, error=error[:500])
                    return
                self.store.release_outbound(message)
                log.info("reply %s of item %s: %s; again in %.0f s", message, item, error, delay)
                if not reported:
                    reported = True
                    self.post(ev.WrittenSendFailed(item, message, error, False, self.clock()))
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, self.backoff_max)
                continue
            self._mark_sent(message, external_id)
            self.post(ev.WrittenSent(item, message, self.clock(), external_id, via=via))
            return

    def _mark_sent(self, message: str, external_id: str) -> None:
        delay = 1.0
        while True:
            try:
                self.store.mark_sent(message, external_id)
                return
            except Exception:                    # noqa: BLE001 - the database; never send again
                log.exception("reply %s sent but not marked; retrying in %.0f s", message, delay)
                gevent.sleep(delay)
                delay = min(delay * 2, 60.0)

    @staticmethod
    def _classify(exc: Exception) -> tuple[bool, str]:
        if isinstance(exc, Permanent):
            return True, str(exc)
        if isinstance(exc, Temporary):
            return False, str(exc)
        if isinstance(exc, smtp_mod.SendFailed):
            return exc.permanent, f"{exc.error_id}: {exc.reason}"
        if isinstance(exc, OutboundError):
            return True, f"{exc.error_id}: {exc}"
        if isinstance(exc, (LinkDown, GatewayUnavailable)):
            return False, f"{exc.error_id}: {exc}"
        if isinstance(exc, SmsError):
            return True, f"{exc.error_id}: {exc}"
        log.exception("reply sending failed unexpectedly")
        return False, f"{type(exc).__name__}: {exc}"

    # -- by channel --------------------------------------------------------------------
    def _deliver(self, rec, channel: str, queue: str) -> tuple[str, str]:
        """Send one claimed reply -> (external id, how: "email" / "sms" / "none")."""
        if channel == "email":
            original = self._last_inbound(rec.case, "email",
                                          sender=rec.recipients[0] if rec.recipients else "")
            if original is None:
                raise Permanent(f"case {rec.case} has no received mail to answer")
            return self._mail(rec, mail_item(original), queue), "email"
        if channel == "sms":
            return self._sms(rec), "sms"
        if channel == "task":
            return self._task(rec, queue)
        raise Permanent(f"no sender for channel {channel!r}")

    def _task(self, rec, queue: str) -> tuple[str, str]:
        """A web form's answer: mailed to its contact's address (From: task_from), else an
        SMS to its phone when there is a gateway, else nothing to send (it lives in Sentral)."""
        original = self._last_inbound(rec.case, "task")
        address, phone = task_contact(original)
        sender = task_from(self.deployment(), queue, rec.tenant)
        if address and sender:
            item = MailItem(message_id=None, in_reply_to=None, references=(), subject=original.subject,
                            from_name=original.sender_name, from_address=address, to=(), cc=(),
                            date=None, text=original.body)
            return self._mail(rec, item, queue, sender=sender), "email"
        if phone and self.sms is not None:
            return self._sms(rec, to=phone), "sms"
        log.info("reply %s to task case %s: %s; nothing to send", rec.id, rec.case,
                 "no address to send from" if address else
                 "no SMS gateway for the contact's phone" if phone else "the form gave no contact")
        return "", "none"

    def _last_inbound(self, case: str, channel: str, sender: str = ""):
        """The case's last received message of `channel`; with `sender`, the last one from
        that address (compared case-insensitively) when there is one: a case's last mail may
        be a third party's, threaded in by References."""
        received = [m for m in self.store.written_messages(case=case)
                    if m.direction == "in" and m.channel == channel]
        wanted = sender.strip().lower()
        if wanted:
            theirs = [m for m in received if (m.sender or "").strip().lower() == wanted]
            if theirs:
                return theirs[-1]
        return received[-1] if received else None

    def _mail(self, rec, original: MailItem, queue: str, sender: str = "") -> str:
        q = self.deployment().queues.get(queue)
        sender = sender or (q.reply_from if q is not None else "")
        if q is None or not sender:
            raise Permanent(f"queue {queue} has no reply_from address")
        files = []
        for a in rec.attachments or ():
            if self.attachments is None or not a.get("digest"):
                raise Permanent(f"attachment {a.get('name')!r} is not kept")
            with self.attachments.open(a["digest"]) as f:
                files.append((a.get("name") or "attachment", a.get("type") or "application/octet-stream",
                              f.read()))
        msg = build_reply(rec.case, original, sender, q.name, rec.body, files, now=self.clock())
        sent = self.blocking(smtp_mod.send, self.smtp_config, msg)
        if sent.refused:
            log.warning("reply %s: some recipients refused: %s", rec.id, sorted(sent.refused))
        return sent.message_id

    def _sms(self, rec, to: str = "") -> str:
        if self.sms is None:
            raise Temporary("no SMS gateway is configured or connected")
        to = to or (rec.recipients[0] if rec.recipients else "")
        if not to:
            original = self._last_inbound(rec.case, "sms")
            to = original.sender if original is not None else ""
        if not to:
            raise Permanent(f"case {rec.case} has no number to answer")
        send = self.sms.send
        if isinstance(self.sms, SmppLink):         # gevent-native: called in this greenlet
            submitted = send(to, rec.body, rec.id)
        else:
            submitted = self.blocking(send, to, rec.body, rec.id)
        return ",".join(submitted.message_ids)
