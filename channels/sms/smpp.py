"""SMPP 3.4 link over smpplib, for gevent: bind_transceiver, enquire_link keep-alive,
reconnect with back-off, submit (GSM-7/UCS-2, UDH-concatenated), delivery receipts matched
to what we sent, inbound deliver_sm to ``SmsItem`` with duplicate detection.

Rules:
- smpplib is a blocking socket client. Our subclass gives it a gevent socket, so it
  cooperates without monkey-patching; one reader greenlet owns every read, one keep-alive
  greenlet sends enquire_link, senders only write (under a lock: sendall of two greenlets
  must not interleave) and wait for their submit_sm_resp, which the reader matches by
  sequence number.
- A deliver_sm is answered ESME_ROK only after the handler took the item; if the handler
  raises we answer ESME_RX_T_APPDN (temporary) so the SMSC delivers it again: nothing lost.
- A part whose response never came is reported as LinkDown and not re-sent by us: the
  caller decides (the SMSC may have taken it; re-sending could double it).
- Invalid recipients raise InvalidNumber before anything is written.
"""
from __future__ import annotations

import hashlib
import logging
import random
import socket as std_socket
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import gevent
import gevent.event
import gevent.lock
import gevent.socket
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from . import numbers, receipts, segments
from .dedupe import SeenIds
from .errors import LinkDown, SubmitRefused


class NoResponse(LinkDown):
    """A request's response did not come within `response_timeout`."""
from .items import DeliveryReceipt, SmsItem, Submitted

log = logging.getLogger(__name__)

ESME_ROK = 0x00000000
ESME_RX_T_APPDN = 0x00000064    # "ESME receiver temporary app error": the SMSC retries
TON_INTERNATIONAL, TON_ALPHANUMERIC, NPI_ISDN = 1, 5, 1


@dataclass(frozen=True)
class SmppSettings:
    host: str
    port: int
    system_id: str
    password: str
    source: str                          # our sender: E.164 number or alphanumeric (<= 11 chars)
    system_type: str = ""
    default_region: str | None = None    # for national-format numbers, e.g. "NO"
    registered_delivery: bool = True
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0       # bind, submit and enquire_link responses
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0
    digest_dedupe_window: float = 600.0  # for inbound messages without an SMSC id
    remembered_ids: int = 100_000


class _GeventClient(smpplib.client.Client):
    """smpplib with a gevent socket: its blocking calls yield to other greenlets."""

    def _create_socket(self):
        sock = gevent.socket.socket(std_socket.AF_INET, std_socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        return sock


class SmppLink:
    """One supervised SMPP transceiver session. ``start()`` spawns the supervisor; ``send``
    may be called from any greenlet; handlers run in the reader greenlet."""

    def __init__(self, settings: SmppSettings, on_message: Callable[[SmsItem], None],
                 on_receipt: Callable[[DeliveryReceipt], None], clock=time.monotonic):
        self.settings = settings
        self._on_message = on_message
        self._on_receipt = on_receipt
        self._client: _GeventClient | None = None
        self._bound = gevent.event.Event()
        self._stopping = gevent.event.Event()
        self._write = gevent.lock.Semaphore()
        self._pending: dict[int, tuple[gevent.event.AsyncResult, str | None]] = {}
        self._sent: OrderedDict[str, str] = OrderedDict()       # message id -> our reference
        self._seen = SeenIds(settings.remembered_ids, clock)
        self._parts = segments.Reassembler()
        self._concat_ref = random.randrange(256)
        self._supervisor: gevent.Greenlet | None = None
        self.binds = 0                                          # successful binds (for the fault report)

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._supervisor = gevent.spawn(self._run)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        client = self._client
        if client is not None and self._bound.is_set():
            try:
                with self._write:
                    client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
                pass
        self._drop_socket()
        if self._supervisor is not None:
            self._supervisor.join(timeout)
            self._supervisor.kill()

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    def wait_bound(self, timeout: float | None = None) -> bool:
        return self._bound.wait(timeout)

    def _run(self) -> None:
        delay = self.settings.reconnect_initial
        while not self._stopping.is_set():
            try:
                self._session()
                delay = self.settings.reconnect_initial          # it was bound: start over
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                    OSError, LinkDown) as exc:
                log.warning("SMPP link %s:%s down: %s", self.settings.host, self.settings.port, exc)
            finally:
                self._link_lost()
            if self._stopping.is_set():
                break
            wait = delay * random.uniform(0.8, 1.2)
            log.info("SMPP reconnect in %.2fs", wait)
            self._stopping.wait(wait)
            delay = min(delay * 2, self.settings.reconnect_max)

    def _session(self) -> None:
        s = self.settings
        client = _GeventClient(s.host, s.port, timeout=s.response_timeout,
                               allow_unknown_opt_params=True, logger_name=__name__ + ".wire")
        self._client = client
        client.connect()
        client.bind_transceiver(system_id=s.system_id, password=s.password,
                                system_type=s.system_type)
        client._socket.settimeout(None)          # the reader blocks; the keep-alive watches
        self.binds += 1
        log.info("SMPP bound as transceiver to %s:%s (%s)", s.host, s.port, s.system_id)
        self._bound.set()
        self._last_read = time.monotonic()
        keepalive = gevent.spawn(self._keepalive, client)
        try:
            while not self._stopping.is_set():
                pdu = client.read_pdu()
                self._last_read = time.monotonic()
                self._dispatch(client, pdu)
                if pdu.command == "unbind":
                    raise LinkDown("SMSC unbound")
        finally:
            keepalive.kill()

    def _link_lost(self) -> None:
        self._bound.clear()
        self._drop_socket()
        pending, self._pending = self._pending, {}
        for result, _reference in pending.values():
            result.set_exception(LinkDown("SMPP link lost before the response"))

    def _drop_socket(self) -> None:
        client, self._client = self._client, None
        if client is not None and client._socket is not None:
            try:
                client._socket.shutdown(std_socket.SHUT_RDWR)
            except OSError:
                pass
            client.disconnect()

    def _keepalive(self, client) -> None:
        """enquire_link while the link is quiet. Any PDU read shows the SMSC is alive: a
        reader working through a burst of deliver_sm reads our enquire_link_resp late,
        behind them, and that is no dead link (only `response_timeout` without any PDU is)."""
        s = self.settings
        while True:
            gevent.sleep(s.enquire_link_interval)
            if time.monotonic() - self._last_read < s.enquire_link_interval:
                continue                          # traffic: the link is alive
            try:
                self._request(client, smpplib.smpp.make_pdu("enquire_link", client=client))
            except (LinkDown, SubmitRefused, smpplib.exceptions.ConnectionError, OSError) as exc:
                if isinstance(exc, NoResponse) and time.monotonic() - self._last_read < s.response_timeout:
                    log.info("SMPP enquire_link answer not read yet, but the SMSC is sending: link kept")
                    continue
                log.warning("SMPP enquire_link failed (%s): dropping the link", exc)
                if self._client is client:
                    self._drop_socket()          # the reader's recv ends; the supervisor re-binds
                return

    # -- reading ---------------------------------------------------------------------

    def _dispatch(self, client, pdu) -> None:
        if pdu.is_response() or pdu.command == "generic_nack":
            if pdu.command == "submit_sm_resp" and pdu.status == ESME_ROK:
                self._remember_sent(pdu)
            waiting = self._pending.pop(pdu.sequence, None)
            if waiting is not None:
                waiting[0].set(pdu)
            else:
                log.debug("SMPP %s for unknown sequence %s", pdu.command, pdu.sequence)
        elif pdu.command == "deliver_sm":
            status = self._deliver(pdu)
            self._respond(client, "deliver_sm_resp", pdu.sequence, status)
        elif pdu.command == "enquire_link":
            self._respond(client, "enquire_link_resp", pdu.sequence)
        elif pdu.command == "unbind":
            self._respond(client, "unbind_resp", pdu.sequence)
        else:
            log.warning("SMPP unhandled %s", pdu.command)
            self._respond(client, "generic_nack", pdu.sequence, smpplib.consts.SMPP_ESME_RINVCMDID)

    def _respond(self, client, command: str, sequence: int, status: int = ESME_ROK) -> None:
        resp = smpplib.smpp.make_pdu(command, client=client, status=status)
        resp.sequence = sequence
        with self._write:
            client.send_pdu(resp)

    def _remember_sent(self, resp) -> None:
        reference = self._pending.get(resp.sequence, (None, None))[1]
        message_id = _text(resp.message_id)
        if reference is not None and message_id:
            self._sent[message_id] = reference
            while len(self._sent) > self.settings.remembered_ids:
                self._sent.popitem(last=False)

    def _deliver(self, pdu) -> int:
        payload = pdu.short_message or b""
        if not payload and getattr(pdu, "message_payload", None):
            payload = pdu.message_payload
        if isinstance(payload, str):
            payload = payload.encode("latin-1")
        if receipts.is_receipt(pdu.esm_class):
            return self._receipt(pdu, payload)
        message_id, lifetime = self._inbound_id(pdu, payload)
        if message_id in self._seen:
            log.info("SMPP duplicate inbound %s ignored", message_id)
            return ESME_ROK
        concat, body = segments.split_udh(payload, pdu.esm_class)
        if not segments.known_coding(pdu.data_coding):
            log.warning("SMPP inbound %s: unknown data_coding 0x%02x, read as Latin-1",
                        message_id, pdu.data_coding)
        text = segments.decode_text(pdu.data_coding, body)
        sender = numbers.inbound(_text(pdu.source_addr), self.settings.default_region)
        if concat is not None and concat.total > 1:
            joined = self._parts.add(sender, concat, text)
            if joined is None:
                self._seen.add(message_id, lifetime)
                return ESME_ROK
            text = "".join(joined)
        item = SmsItem(sender=sender,
                       recipient=numbers.inbound(_text(pdu.destination_addr), self.settings.default_region),
                       text=text, gateway_message_id=message_id,
                       encoding=_ENCODING_NAMES.get(pdu.data_coding, "latin1"))
        try:
            self._on_message(item)
        except Exception:                # the handler's failure must not cost the message
            log.exception("SMPP inbound %s: handler failed, asking the SMSC to retry", message_id)
            return ESME_RX_T_APPDN
        self._seen.add(message_id, lifetime)
        return ESME_ROK

    def _inbound_id(self, pdu, payload: bytes) -> tuple[str, float | None]:
        """SMPP 3.4 gives a mobile-originated message no id; several SMSCs put theirs in
        receipted_message_id. Without one: a digest of sender, recipient, coding and user
        data (UDH included), remembered for ``digest_dedupe_window`` seconds only."""
        smsc_id = _text(getattr(pdu, "receipted_message_id", None))
        if smsc_id:
            return smsc_id, None
        digest = hashlib.sha256(b"\0".join((
            _text(pdu.source_addr).encode(), _text(pdu.destination_addr).encode(),
            bytes((pdu.data_coding or 0, pdu.esm_class or 0)), payload))).hexdigest()[:32]
        return "sha:" + digest, self.settings.digest_dedupe_window

    def _receipt(self, pdu, payload: bytes) -> int:
        parsed = receipts.parse(payload.decode("latin-1"),
                                _text(getattr(pdu, "receipted_message_id", None)),
                                getattr(pdu, "message_state", None))
        reference = next((self._sent[i] for i in receipts.id_variants(parsed.message_id)
                          if i in self._sent), None)
        if reference is None:
            log.warning("SMPP receipt for unknown message id %r (%s)", parsed.message_id,
                        parsed.state.value)
        receipt = DeliveryReceipt(parsed.message_id, reference, parsed.state, parsed.error)
        try:
            self._on_receipt(receipt)
        except Exception:
            log.exception("SMPP receipt %s: handler failed, asking the SMSC to retry", parsed.message_id)
            return ESME_RX_T_APPDN
        return ESME_ROK

    # -- sending ---------------------------------------------------------------------

    def send(self, to: str, text: str, reference: str) -> Submitted:
        """Submit ``text`` to ``to``; ``reference`` is ours and comes back on receipts.
        Raises InvalidNumber (nothing sent), LinkDown, SubmitRefused, MessageTooLong."""
        s = self.settings
        recipient = numbers.normalise(to, s.default_region)
        self._concat_ref = (self._concat_ref + 1) % 256
        encoded = segments.encode(text, self._concat_ref)
        if not self._bound.wait(s.response_timeout):
            raise LinkDown("SMPP link not bound")
        source_ton, source_npi, source = self._source()
        ids = []
        for part in encoded.parts:
            client = self._client
            if client is None or not self._bound.is_set():
                raise LinkDown(f"SMPP link lost after {len(ids)} of {len(encoded.parts)} parts")
            pdu = smpplib.smpp.make_pdu(
                "submit_sm", client=client,
                source_addr_ton=source_ton, source_addr_npi=source_npi, source_addr=source,
                dest_addr_ton=TON_INTERNATIONAL, dest_addr_npi=NPI_ISDN,
                destination_addr=numbers.smpp_address(recipient),
                esm_class=encoded.esm_class, data_coding=encoded.data_coding,
                registered_delivery=1 if s.registered_delivery else 0,
                short_message=part)
            resp = self._request(client, pdu, reference)
            ids.append(_text(resp.message_id))
        log.info("SMPP sent %s to %s: %d part(s) %s", reference, recipient, len(ids), encoded.encoding)
        return Submitted(reference, recipient, encoded.encoding, tuple(ids))

    def _request(self, client, pdu, reference: str | None = None):
        result = gevent.event.AsyncResult()
        self._pending[pdu.sequence] = (result, reference)
        try:
            with self._write:
                client.send_pdu(pdu)
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._pending.pop(pdu.sequence, None)
            raise LinkDown(f"SMPP write failed: {exc}") from None
        try:
            resp = result.get(timeout=self.settings.response_timeout)
        except gevent.Timeout:
            self._pending.pop(pdu.sequence, None)
            raise NoResponse(f"no response to {pdu.command} within "
                             f"{self.settings.response_timeout}s") from None
        if resp.status != ESME_ROK:
            raise SubmitRefused(resp.status, smpplib.consts.DESCRIPTIONS.get(resp.status, ""))
        return resp

    def _source(self) -> tuple[int, int, str]:
        source = self.settings.source
        if any(ch.isalpha() for ch in source):
            return TON_ALPHANUMERIC, 0, source[:11]
        return TON_INTERNATIONAL, NPI_ISDN, numbers.smpp_address(
            numbers.normalise(source, self.settings.default_region))


_ENCODING_NAMES = {segments.DC_GSM7: "gsm7", segments.DC_UCS2: "ucs2", segments.DC_IA5: "ascii",
                   segments.DC_LATIN1: "latin1"}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)
