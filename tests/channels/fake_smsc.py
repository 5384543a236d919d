"""A protocol-faithful fake SMSC (SMPP 3.4 server) for the SMPP link tests.

Why not Kannel: Debian's kannel 1.4.5 is an SMS *gateway*, an SMPP client of an SMSC;
bearerbox/smsbox never accept an ESME's bind. Its only SMPP server, kannel-extras'
``test/drive_smpp``, answers bind_transceiver with "Unhandled SMPP PDU" and needs a
bearerbox on the fixed port 13001. So the tests speak to this server instead.

It frames and codes every PDU with smpplib's own codec (``smpp.parse_pdu`` /
``make_pdu(...).generate()``), runs as gevent greenlets on 127.0.0.1 on a free port, and
does what an SMSC does on the wire: bind_transceiver(_resp) with a password check,
submit_sm_resp with a fresh hexadecimal message id, a delivery receipt deliver_sm
(esm_class 0x04, receipted_message_id + message_state TLVs, SMPP 3.4 appendix B text)
when registered_delivery asks for one, deliver_sm for mobile-originated messages,
enquire_link(_resp), unbind(_resp) and a dropped TCP link on demand.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import gevent
import gevent.server
import smpplib.client
import smpplib.smpp


@dataclass
class Session:
    sock: object
    seq: smpplib.client.SimpleSequenceGenerator = field(default_factory=smpplib.client.SimpleSequenceGenerator)
    bound: bool = False


class FakeSmsc:
    def __init__(self, system_id="sentral", password="secret", receipts=True):
        self.system_id, self.password, self.receipts = system_id, password, receipts
        self.answer_enquire_link = True      # False: a hung SMSC that keeps the TCP link open
        self.binds = 0
        self.enquire_links = 0
        self.submits = []             # parsed submit_sm PDUs, in order
        self.deliver_resps = []       # (sequence, status) of our deliver_sm
        self.sessions: list[Session] = []
        self._next_id = 0x1A000
        self._server = gevent.server.StreamServer(("127.0.0.1", 0), self._serve)

    @property
    def port(self) -> int:
        return self._server.server_port

    def start(self):
        self._server.start()
        return self

    def stop(self):
        self.drop()
        self._server.stop(timeout=2)

    # -- scenario controls --------------------------------------------------------

    def bound_sessions(self):
        return [s for s in self.sessions if s.bound]

    def drop(self):
        """Close every connection without unbind, as a failing network would."""
        for s in list(self.sessions):
            s.sock.close()
        self.sessions.clear()

    def deliver(self, source, destination, short_message: bytes, data_coding=0, esm_class=0, **tlvs):
        """Send a deliver_sm on the bound session; returns its sequence number."""
        (session,) = self.bound_sessions()
        source, destination = _str(source), _str(destination)
        pdu = smpplib.smpp.make_pdu(
            "deliver_sm", client=session.seq, source_addr_ton=1, source_addr_npi=1,
            source_addr=source, dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination,
            esm_class=esm_class, data_coding=data_coding, short_message=short_message, **tlvs)
        session.sock.sendall(pdu.generate())
        return pdu.sequence

    # -- the wire --------------------------------------------------------------------

    def _serve(self, sock, _address):
        session = Session(sock)
        self.sessions.append(session)
        try:
            while True:
                head = _read(sock, 4)
                if head is None:
                    return
                (length,) = struct.unpack(">L", head)
                body = _read(sock, length - 4)
                if body is None:
                    return
                pdu = smpplib.smpp.parse_pdu(head + body, client=session.seq,
                                             allow_unknown_opt_params=True)
                self._handle(session, pdu)
        except OSError:
            return
        finally:
            if session in self.sessions:
                self.sessions.remove(session)
            sock.close()

    def _reply(self, session, command, request, status=0, **kw):
        resp = smpplib.smpp.make_pdu(command, client=session.seq, status=status, **kw)
        resp.sequence = request.sequence
        session.sock.sendall(resp.generate())

    def _handle(self, session, pdu):
        if pdu.command == "bind_transceiver":
            ok = (pdu.system_id in (self.system_id, self.system_id.encode())
                  and pdu.password in (self.password, self.password.encode()))
            self._reply(session, "bind_transceiver_resp", pdu, status=0 if ok else 0x0E,
                        system_id="fakesmsc")
            if ok:
                session.bound = True
                self.binds += 1
        elif pdu.command == "submit_sm":
            self.submits.append(pdu)
            self._next_id += 1
            message_id = format(self._next_id, "x")
            self._reply(session, "submit_sm_resp", pdu, message_id=message_id)
            if self.receipts and pdu.registered_delivery:
                text = (f"id:{message_id} sub:001 dlvrd:001 submit date:2612060300 "
                        f"done date:2612060300 stat:DELIVRD err:000 text:").encode()
                self.deliver(pdu.destination_addr, pdu.source_addr, text, esm_class=0x04,
                             receipted_message_id=message_id, message_state=2)
        elif pdu.command == "enquire_link":
            self.enquire_links += 1
            if self.answer_enquire_link:
                self._reply(session, "enquire_link_resp", pdu)
        elif pdu.command == "deliver_sm_resp":
            self.deliver_resps.append((pdu.sequence, pdu.status))
        elif pdu.command == "unbind":
            self._reply(session, "unbind_resp", pdu)
            session.bound = False
        else:
            self._reply(session, "generic_nack", pdu, status=0x03)


def _str(value):
    return value.decode() if isinstance(value, bytes) else value


def _read(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
