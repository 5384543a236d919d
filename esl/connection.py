"""One inbound Event Socket connection (one TCP session) to one FreeSWITCH, on greenswitch.

``ESLConnection`` subclasses ``greenswitch.InboundESL`` (0.0.19) and replaces the parts
of it that fail: it does not split an event's own body off (BACKGROUND_JOB results end
up in a header), URL-decodes before splitting lines (a caller-controlled ``%0A`` forges a
header), dies silently on ``event json``, waits without limit for ``auth/request`` and
for replies, and never fails a pending command when FreeSWITCH closes the socket.
Rules:
* bytes are framed by our ``FrameParser(strict=True)``: bodies split from headers, plain
  values decoded after the lines are split, unknown Content-Types refused;
* every wait has a limit: TCP connect, ``auth/request``, each reply (``ReplyTimeout``);
* the reader greenlet never runs handlers: events go to ``post(event)`` (a queue put,
  which must not block), so a slow consumer cannot delay replies;
* when the stream ends for any reason (EOF, socket error, ProtocolError, a disconnect
  notice, ``close()``), every pending command and job fails at once with
  ``ConnectionLost`` and ``closed`` is set: no greenlet waits forever;
* replies are matched FIFO (FreeSWITCH answers in order); a command that timed out keeps
  its place, so a late reply is never handed to the next command;
* ``bgapi`` sends our own ``Job-UUID``; its BACKGROUND_JOB completes the call (not posted).
  FreeSWITCH keeps running a job after the connection that started it is gone and sends
  its BACKGROUND_JOB to every subscribed connection (tests/data/esl-corpus/FACTS.md "12"): given a shared
  ``jobs`` registry (``esl.node`` passes one per node), a job outlives this connection
  and is completed by whichever connection of the node hears its result;
* the password is sent once and never logged, not even inside an error message.
No reconnect here: one object is one session; ``esl.node`` supervises and reconnects.
"""
from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections import deque
from typing import Callable, Iterable

import gevent
import gevent.event
import gevent.lock
from gevent import socket
from greenswitch.esl import InboundESL

from esl import protocol as P
from esl.errors import (AuthFailed, CommandFailed, ConnectionLost, ESLError, InvalidCommand,
                        NotConnected, ProtocolError, ReplyTimeout)

log = logging.getLogger(__name__)

READ_SIZE = 65536


def subscription_command(names: Iterable[str]) -> str:
    """``event plain A B CUSTOM x::y``: in FreeSWITCH every word after ``CUSTOM`` is a
    subclass, so plain names go first and subclasses (``a::b``) after one ``CUSTOM``."""
    names = list(dict.fromkeys(names))
    plain = [n for n in names if "::" not in n and n != "CUSTOM"]
    custom = [n for n in names if "::" in n]
    words = plain + (["CUSTOM", *custom] if custom or "CUSTOM" in names else [])
    return P.encode_events("plain", words).decode().rstrip("\n")


class ESLConnection(InboundESL):
    def __init__(self, host: str, port: int, password: str, *, name: str = "",
                 post: Callable[[P.Event], None] = lambda event: None, timeout: float = 5.0,
                 max_body: int = P.MAX_BODY_BYTES,
                 jobs: dict[str, gevent.event.AsyncResult] | None = None):
        super().__init__(host, port, password, timeout=timeout)
        self.name = name or f"{host}:{port}"
        self._post = post
        self._parser = P.FrameParser(max_body, strict=True)
        self._pending: deque[tuple[gevent.event.AsyncResult, float]] = deque()
        self._jobs: dict[str, gevent.event.AsyncResult] = {} if jobs is None else jobs
        self._jobs_outlive = jobs is not None  # shared: a job is not failed when this session ends
        self._send_lock = gevent.lock.Semaphore()
        self._reader: gevent.Greenlet | None = None
        self.closed = gevent.event.Event()
        self.close_reason: ESLError | None = None
        self.subscribed: set[str] = set()
        self.last_rx = time.monotonic()
        self.sock = None

    # ------------------------------------------------------------ connect and auth
    def connect(self) -> None:
        """TCP connect, wait for ``auth/request``, authenticate; each step within ``timeout``."""
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ConnectionLost(f"{self.name}: cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.sock.settimeout(None)
        self.connected = True
        self.last_rx = time.monotonic()
        log.info("esl %s: connected to %s:%s", self.name, self.host, self.port)
        self.start_event_handlers()
        if not self._auth_request_event.wait(timeout=self.timeout):
            self.close(ReplyTimeout(f"{self.name}: no auth/request within {self.timeout}s"))
        if self.closed.is_set():
            raise self.close_reason
        self.authenticate()

    def authenticate(self) -> None:
        if not self.password or any(c in self.password for c in "\r\n"):
            self.close()
            raise InvalidCommand(f"{self.name}: the password must be one non-empty line")  # not shown
        try:
            frame = self.request(f"auth {self.password}", self.timeout)
        except ReplyTimeout:
            # the message must not carry the command: it holds the password
            error: ESLError = ReplyTimeout(f"{self.name}: no reply to auth within {self.timeout}s")
            self.close(error)
            raise error from None
        if not P.classify_reply(frame).ok:  # -ERR invalid, then a disconnect notice and EOF
            error = AuthFailed(f"{self.name}: FreeSWITCH refused the password ({frame.reply_text})")
            self.close(error)
            raise error
        log.info("esl %s: authenticated", self.name)

    def subscribe(self, names: Iterable[str], timeout: float | None = None) -> str:
        command = subscription_command(names)
        frame = self.request(command, timeout or self.timeout)
        reply = P.classify_reply(frame)
        if not reply.ok:
            raise CommandFailed(command, reply.text)
        self.subscribed.update(command.split()[2:])
        log.info("esl %s: subscribed: %s", self.name, command)
        return reply.text

    # ------------------------------------------------------------ commands
    def request(self, command: str, timeout: float, headers: dict[str, str] | None = None) -> P.Frame:
        """Send one command, wait at most ``timeout`` s for its reply frame."""
        data = P.encode_command(command, headers)  # InvalidCommand (LocalError) before anything is sent
        result = gevent.event.AsyncResult()
        with self._send_lock:  # the FIFO order of _pending is the order on the wire
            if self.closed.is_set() or self.sock is None:
                raise NotConnected(f"{self.name}: not connected ({self.close_reason or 'never connected'})")
            self._pending.append((result, time.monotonic()))
            try:
                self.sock.sendall(data)
            except OSError as exc:
                self.close(ConnectionLost(f"{self.name}: send failed: {exc}"))
        try:
            return result.get(timeout=timeout)
        except gevent.Timeout:
            verb = command.split(" ", 1)[0]
            shown = verb if verb == "auth" else command[:120]
            raise ReplyTimeout(f"{self.name}: no reply to {shown!r} within {timeout}s") from None

    def send(self, data: str, timeout: float | None = None) -> P.Frame:  # greenswitch's name
        return self.request(data, timeout if timeout is not None else self.timeout)

    def api(self, command: str, timeout: float = 10.0) -> str:
        """``api <command>`` -> the response body; ``-ERR``/``-USAGE`` -> CommandFailed."""
        reply = P.classify_reply(self.request("api " + command, timeout))
        if not reply.ok:
            raise CommandFailed(command, reply.text)
        return reply.text

    def bgapi(self, command: str, timeout: float = 30.0) -> str:
        """``bgapi <command>`` with our Job-UUID -> the BACKGROUND_JOB body (the job result);
        ``-ERR ...`` (refused, or a failed originate's cause) -> CommandFailed."""
        if not self.subscribed & {"BACKGROUND_JOB", "ALL"}:
            raise InvalidCommand("bgapi needs BACKGROUND_JOB subscribed (its result comes as that event)")
        job = str(uuidlib.uuid4())
        done = gevent.event.AsyncResult()
        self._jobs[job] = done
        deadline = time.monotonic() + timeout
        try:
            try:
                reply = P.classify_reply(self.request("bgapi " + command, timeout, {"Job-UUID": job}))
                if not reply.ok:
                    raise CommandFailed(command, reply.text)
            except NotConnected:
                raise
            except ConnectionLost:
                if not self._jobs_outlive:
                    raise
                # sent, reply lost with the session: FreeSWITCH may run the job all the same,
                # and its result can reach the node's next connection
                log.info("esl %s: connection lost after bgapi %s; waiting for the job's result", self.name, job)
            try:
                body = done.get(timeout=max(deadline - time.monotonic(), 0.0))
            except gevent.Timeout:
                raise ReplyTimeout(f"{self.name}: job {job} ({command[:120]!r}) not done within {timeout}s") from None
        finally:
            self._jobs.pop(job, None)
        if body.startswith(("-ERR", "-USAGE")):
            raise CommandFailed(command, body)
        return body

    def oldest_pending_age(self) -> float:
        """Seconds the oldest unanswered command has waited (0 if none): a stalled peer."""
        pending = self._pending
        return time.monotonic() - pending[0][1] if pending else 0.0

    # ------------------------------------------------------------ reader
    def start_event_handlers(self) -> None:
        self._reader = gevent.spawn(self.receive_events)
        self._reader.name = f"esl-reader-{self.name}"

    def receive_events(self) -> None:
        """The reader greenlet: bytes -> frames -> dispatch. Ends the connection on any fault."""
        reason: ESLError
        try:
            while True:
                data = self.sock.recv(READ_SIZE)
                if not data:
                    self._parser.close()  # ProtocolError if a frame was cut off
                    reason = ConnectionLost(f"{self.name}: FreeSWITCH closed the connection")
                    break
                self.last_rx = time.monotonic()
                for frame in self._parser.feed(data):
                    if self.closed.is_set():
                        return
                    self.handle_event(frame)
        except ProtocolError as exc:
            log.warning("esl %s: protocol error (%s): %s", self.name, exc.error_id, exc)
            reason = exc
        except OSError as exc:
            reason = ConnectionLost(f"{self.name}: socket error: {exc}")
        except Exception as exc:  # a bug of ours must end the connection, never hang it
            log.exception("esl %s: reader failed", self.name)
            reason = ConnectionLost(f"{self.name}: reader failed: {exc!r}")
        self.close(reason)

    def handle_event(self, frame: P.Frame) -> None:  # greenswitch's name; ours takes a Frame
        ctype = frame.content_type
        if ctype in P.EVENT_CONTENT_TYPES:
            event = P.decode_event(frame)
            if event.name == "BACKGROUND_JOB":
                job = self._jobs.get(event.get("Job-UUID", ""))
                if job is not None:
                    job.set(event.body)
                    return
            self._post(event)
        elif ctype in (P.COMMAND_REPLY, P.API_RESPONSE):
            if not self._pending:
                raise ProtocolError(f"{ctype} with no command waiting for it")
            self._pending.popleft()[0].set(frame)
        elif ctype == P.AUTH_REQUEST:
            self._auth_request_event.set()
        elif ctype == P.DISCONNECT_NOTICE:
            if frame.headers.get("Content-Disposition") == "linger":
                return
            log.debug("esl %s: disconnect notice: %s", self.name, frame.text.strip().splitlines()[:1])
            self.close(ConnectionLost(f"{self.name}: disconnect notice: {frame.text.strip()[:80]!r}"))
        elif ctype == P.RUDE_REJECTION:
            text = frame.text.strip()[:120] or "rude rejection"
            self.close(AuthFailed(f"{self.name}: refused by FreeSWITCH's ACL: {text}"))
        # log/data: not subscribed by us, ignored

    # ------------------------------------------------------------ shutdown
    def close(self, reason: ESLError | None = None) -> None:
        """End the session (idempotent): fail everything pending, close the socket."""
        if self.closed.is_set():
            return
        self.close_reason = reason or ConnectionLost(f"{self.name}: closed by us")
        self.connected = False
        self._run = False
        failure = self.close_reason if isinstance(self.close_reason, ConnectionLost) else \
            ConnectionLost(f"{self.name}: connection reset: {self.close_reason}")
        while self._pending:
            self._pending.popleft()[0].set_exception(failure)
        if not self._jobs_outlive:
            for job in list(self._jobs.values()):
                job.set_exception(failure)
        self.closed.set()
        self._auth_request_event.set()
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        if self._reader is not None and self._reader is not gevent.getcurrent():
            self._reader.kill(block=False)

    def stop(self) -> None:  # greenswitch's name
        self.close()
