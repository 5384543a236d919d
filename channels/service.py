"""The written channels inside the engine process: mailbox intakes, the SMS link and the
channel sender, started and stopped by sentral/app.py's EngineProcess.

Rules:
- One greenlet per configured mailbox (`Deployment.mailboxes`): MailboxReader
  (channels/email/inbound.py) with its state in the store (`mailbox_state`, key
  `<tenant>/<queue>/<user>@<host>/<folder>`). Each new message is filed
  (channels/intake.file_mail: stored, then WrittenArrived) and only after that commit
  `reader.confirm(uid)` marks it \\Seen and the new state is saved: a crash in between
  fetches it again and the dedup key files it once.
- Faults go to the system event log (source `mailbox:<tenant>/<queue>`): `connected`
  when a session is up, `failed` when connecting or logging in fails, `lost` when a
  session that was up ends; reconnects back off from 1 s to 5 min. A changed UIDVALIDITY
  is a `failed` entry, then it is accepted with take="unseen" (what we stored is \\Seen,
  so only the rest is read again) and a `connected` entry follows.
- SMS: with `Deployment.sms.kind == "smpp"` an SmppLink files every deliver_sm through
  intake.file_sms (a handler failure makes the SMSC deliver it again); delivery receipts
  are logged only. With "http" the web app's webhook files (intake.file_sms) and the
  sender sends through HttpGatewayClient. An SMS to an unconfigured number is a `failed`
  entry of source `sms:number:<number>`.
- At start (`start`, after the runtime exists): unfiled messages are posted again
  (filing.repost_unfiled) and every pending reply is sent (ChannelSender.resume).
- Mailboxes and the gateway are read at start; a configuration reload changes them at the
  next restart (the sender reads queues' reply_from from the current deployment).
- Between fetches the reader waits in IDLE (a poll without it) for at most the mailbox's
  `poll_seconds`: a mail that lands between the reader's last check and its IDLE command
  wakes no IDLE, so that is the longest it can wait unnoticed.
- Blocking IMAP calls go through sender.run_blocking (inline under `sentral run`'s
  monkey-patching, gevent's thread pool when unpatched).
"""
from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Callable

import gevent
import gevent.event

from channels import intake
from channels.email.attachments import AttachmentStore
from channels.email.inbound import (MailboxError, MailboxLoginRefused, MailboxReader, MailboxState,
                                    NewMessage, UidValidityChanged)
from channels.filing import repost_unfiled
from channels.sender import ChannelSender, run_blocking
from engine.clock import utcnow

log = logging.getLogger(__name__)

RECONNECT_INITIAL = 1.0
RECONNECT_MAX = 300.0
IDLE_SECONDS = 600.0          # one IDLE (or poll period) at most; RFC 2177: below 29 min
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


def attachments_root(deployment) -> str:
    """Where mail attachments are kept: SENTRAL_ATTACHMENTS_DIR when set, else `attachments`
    beside the recordings directory (`var/attachments` by default). The intake writes there
    and the console serves from there (sentral/web.attachment_store)."""
    configured = os.environ.get("SENTRAL_ATTACHMENTS_DIR", "").strip()
    if configured:
        return configured
    base = os.path.dirname(os.path.normpath(deployment.recordings_dir)) or "."
    return os.path.join(base, "attachments")


def mailbox_key(tenant: str, box) -> str:
    return f"{tenant}/{box.queue}/{box.username}@{box.host}/{box.folder}"


class MailboxIntake:
    """One mailbox, read for as long as the process runs."""

    def __init__(self, box, tenant: str, store, post: Callable[[object], None], *, attachments,
                 fault: Callable[..., None], clock: Callable[[], datetime] = utcnow,
                 idle_seconds: float = IDLE_SECONDS, blocking=run_blocking, environ=None):
        self.box = box
        self.tenant = tenant
        self.store = store
        self.post = post
        self.attachments = attachments
        self.fault = fault
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.blocking = blocking
        self.environ = os.environ if environ is None else environ
        self.key = mailbox_key(tenant, box)
        self.source = f"mailbox:{tenant}/{box.queue}"
        self.filed = 0
        self._stopping = gevent.event.Event()
        self._greenlet: gevent.Greenlet | None = None
        self._reader: MailboxReader | None = None

    def start(self) -> "MailboxIntake":
        self._greenlet = gevent.spawn(self._run)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._greenlet is not None:
            self._greenlet.kill(timeout=timeout)
        reader, self._reader = self._reader, None
        client = getattr(reader, "_client", None)
        if client is not None:                 # a thread blocked in IDLE returns at once
            try:
                client.shutdown()
            except Exception:                  # noqa: BLE001 - closing anyway
                pass

    # -- the loop ----------------------------------------------------------------------
    def _reader_for(self) -> MailboxReader:
        b = self.box
        state = MailboxState.from_dict(self.store.mailbox_state(self.key))
        secure = {"ssl": {"ssl": True}, "starttls": {"starttls": True}}.get(b.security, {})
        if b.oauth2_tenant:
            from channels.email.oauth import OAuth2Settings, TokenSource

            auth = {"oauth2": TokenSource(OAuth2Settings(b.oauth2_tenant, b.oauth2_client_id,
                                                         b.oauth2_secret_env), environ=self.environ)}
        else:
            password = self.environ.get(b.password_env, "") if b.password_env else ""
            if not password:
                raise MailboxLoginRefused(f"{b.host}: the password variable {b.password_env or '(none)'} is not set")
            auth = {"password": password}
        return MailboxReader(b.host, b.port, b.username, folder=b.folder, state=state,
                             poll_interval=b.poll_seconds, **auth, **secure)

    def _run(self) -> None:
        delay, up = RECONNECT_INITIAL, False
        while not self._stopping.is_set():
            try:
                reader = self._reader = self._reader_for()
                self.blocking(reader.open)
                up = True
                self.fault(self.source, "connected", folder=self.box.folder)
                delay = RECONNECT_INITIAL
                self._session(reader)
            except gevent.GreenletExit:
                raise
            except Exception as exc:             # noqa: BLE001 - every failure: entry, back-off, again
                error = f"{getattr(exc, 'error_id', type(exc).__name__)}: {exc}"
                log.warning("%s: %s; reconnecting in %.0f s", self.source, error, delay)
                self.fault(self.source, "lost" if up else "failed", error=error[:500])
                up = False
            reader, self._reader = self._reader, None
            if reader is not None:
                try:
                    self.blocking(reader.close)
                except Exception:                # noqa: BLE001
                    pass
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RECONNECT_MAX)

    def _session(self, reader: MailboxReader) -> None:
        self.store.save_mailbox_state(self.key, reader.state.as_dict())
        while not self._stopping.is_set():
            batch = self.blocking(reader.fetch_new)
            for event in batch:
                if isinstance(event, UidValidityChanged):
                    self._uidvalidity(reader, event)
                elif isinstance(event, NewMessage):
                    self._take(reader, event)
            if not batch:
                self.store.save_mailbox_state(self.key, reader.state.as_dict())
                # bounded by poll_seconds with IDLE too: a message APPENDed between the
                # reader's check and its IDLE command wakes no IDLE (inbound.wait's rule)
                self.blocking(reader.wait, min(self.idle_seconds, self.box.poll_seconds))

    def _uidvalidity(self, reader: MailboxReader, event: UidValidityChanged) -> None:
        self.fault(self.source, "failed", error=f"UIDVALIDITY changed {event.old} -> {event.new} "
                   f"({event.exists} messages); taking those not \\Seen again")
        state = reader.accept_uidvalidity(event, take="unseen")
        self.store.save_mailbox_state(self.key, state.as_dict())
        self.fault(self.source, "connected", folder=self.box.folder, uidvalidity=event.new)

    def _take(self, reader: MailboxReader, message: NewMessage) -> None:
        gevent.idle()              # calls first: a message is filed only when nothing else is ready to run
        filed = intake.file_mail(self.store, self.post, tenant=self.tenant, queue=self.box.queue,
                                 raw=message.raw, at=self.clock(), attachments=self.attachments,
                                 max_message_bytes=self.box.max_message_bytes,
                                 max_attachment_bytes=self.attachments.max_bytes)
        if filed.created:
            self.filed += 1
        state = self.blocking(reader.confirm, message.uid)      # after the store's commit
        self.store.save_mailbox_state(self.key, state.as_dict())


class ChannelService:
    """Everything written channels need inside the engine process."""

    def __init__(self, deployment: Callable[[], object], store, post: Callable[[object], None], *,
                 fault: Callable[..., None], clock: Callable[[], datetime] = utcnow, environ=None,
                 idle_seconds: float = IDLE_SECONDS, sender_options: dict | None = None):
        self.deployment = deployment
        self.store = store
        self.post = post
        self.fault = fault
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        d = deployment()
        self.attachments = AttachmentStore(attachments_root(d), MAX_ATTACHMENT_BYTES) if d.mailboxes else None
        self.sms_link = None
        self.sender = ChannelSender(store, post, deployment, fault=fault, clock=clock,
                                    attachments=self.attachments, **(sender_options or {}))
        self.mailboxes: list[MailboxIntake] = []
        for box in d.mailboxes:
            q = d.queues.get(box.queue)
            if q is None or q.channel != "email":
                log.error("mailbox %s@%s: %r is not an email queue; not read", box.username, box.host, box.queue)
                continue
            self.mailboxes.append(MailboxIntake(box, q.tenant, store, post, attachments=self.attachments,
                                                fault=fault, clock=clock, idle_seconds=idle_seconds,
                                                environ=self.environ))

    def send(self, effect) -> None:
        """The runtime's performer for fx.SendWritten."""
        self.sender.submit(effect)

    def start(self) -> "ChannelService":
        n = repost_unfiled(self.store, self.post, self.clock())
        if n:
            log.info("%d stored message(s) not filed by an item: posted again", n)
        self._start_sms()
        self.sender.resume()
        for box in self.mailboxes:
            box.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        for box in self.mailboxes:
            box.stop(timeout)
        self.sender.stop(timeout)
        if self.sms_link is not None and hasattr(self.sms_link, "stop"):
            self.sms_link.stop(timeout)

    # -- SMS ---------------------------------------------------------------------------
    def _start_sms(self) -> None:
        gw = self.deployment().sms
        if gw is None:
            return
        source = gw.sender or (gw.numbers[0].number if gw.numbers else "")
        if gw.kind == "smpp":
            from channels.sms.smpp import SmppLink, SmppSettings

            settings = SmppSettings(host=gw.host, port=gw.port, system_id=gw.system_id,
                                    password=self.environ.get(gw.password_env, "") if gw.password_env else "",
                                    source=source)
            self.sms_link = SmppLink(settings, self._on_sms, self._on_receipt)
            self.sms_link.start()
        elif gw.kind == "http":
            from channels.sms.http_gateway import GatewaySettings, HttpGatewayClient

            self.sms_link = HttpGatewayClient(GatewaySettings(
                base_url=gw.url, api_key=self.environ.get(gw.token_env, "") if gw.token_env else "",
                source=source))
        else:
            log.error("SMS gateway kind %r unknown; SMS not connected", gw.kind)
            return
        self.sender.sms = self.sms_link

    def _on_sms(self, item) -> None:
        gevent.idle()              # calls first (see MailboxIntake._take)
        filed = intake.file_sms(self.store, self.post, self.deployment(), sender=item.sender,
                                to=item.recipient, text=item.text, gateway_id=item.gateway_message_id,
                                at=self.clock())
        if filed.unknown_number:
            self.fault(f"sms:number:{item.recipient}"[:128], "failed",
                       error=f"SMS to an unconfigured number: filed to queue {filed.queue}")

    @staticmethod
    def _on_receipt(receipt) -> None:
        log.info("SMS receipt %s (our %s): %s %s", receipt.gateway_message_id, receipt.reference,
                 receipt.state.value, receipt.error)
