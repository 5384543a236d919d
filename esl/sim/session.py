"""One Event Socket connection (inbound client, or an outbound socket the switch dialled).

Rules (tests/data/esl-corpus/FACTS.md): replies are ``command/reply`` without Content-Length, ``api/response``
with it; before auth only ``auth``/``exit`` work (``-ERR command not found``, connection
stays open); a wrong password gets ``-ERR invalid``, the 67-byte disconnect notice and a
close. Commands run one at a time (a blocking ``api originate`` holds this connection's
later commands, as FreeSWITCH does) while events keep flowing through a writer greenlet.

Timing (timing.py): with ``tick`` events go out in batches on a ``tick`` grid (replies do
not wait for them, so a reply can overtake earlier events, as on a real switch); with
``jobs_outlive_socket`` `exit` or the client's EOF while a bgapi job this connection
started runs gets no further events, and the disconnect notice and close come when the
last such job ends (tests/data/esl-corpus/FACTS.md, 12).
"""
from __future__ import annotations

import logging
import uuid as uuidlib

import gevent
import gevent.event
import gevent.queue

from esl import protocol as P
from esl.errors import ProtocolError
from esl.sim import api, apps
from esl.sim.bus import SimEvent
from esl.sim.socket_cmds import SocketCommands
from esl.sim.subscriptions import Subscriptions

log = logging.getLogger(__name__)

GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def reply(text: str, extra: list[tuple[str, str]] = ()) -> bytes:
    return P.frame_bytes([("Content-Type", P.COMMAND_REPLY), ("Reply-Text", text), *extra])


def api_response(body: str) -> bytes:
    data = body.encode("utf-8")
    return P.frame_bytes([("Content-Type", P.API_RESPONSE), ("Content-Length", str(len(data)))], data)


def notice(body: str = GOODBYE, extra: list[tuple[str, str]] = ()) -> bytes:
    data = body.encode("utf-8")
    return P.frame_bytes([("Content-Type", P.DISCONNECT_NOTICE), *extra,
                          ("Content-Length", str(len(data)))], data)


def event_bytes(ev: SimEvent, fmt: str) -> bytes:
    """The event's frame in ``fmt``, serialised once however many sessions receive it."""
    data = ev.frames.get(fmt)
    if data is None:
        data = ev.frames[fmt] = P.event_frame(fmt, ev.headers, ev.body)
    return data


class Session(Subscriptions, SocketCommands):
    def __init__(self, sim, sock, channel=None, async_mode: bool = True, full: bool = True):
        self.sim = sim
        self.switch = sim.switch
        self.sock = sock
        self.channel = channel  # outbound socket: the controlled channel
        self.async_mode = async_mode
        self.full = full
        self.authed = channel is not None
        self.fmt = "plain"
        self.subs: set[str] = set()
        self.custom: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        self.my_uuid: str | None = None
        self.linger = False
        self.messages_seen = 0
        self.linger_time = "-1"  # seconds, -1 = until the client leaves
        self.my_done = False
        self.pending_sync: list = []
        self.closed_event = gevent.event.Event()
        self.log_level: int | None = None
        self.closed = False
        self.out: gevent.queue.Queue = gevent.queue.Queue()
        self.writer = None
        self.batch: list[bytes] = []  # events waiting for the next tick (Timing.tick)
        self.jobs: set[str] = set()  # bgapi jobs this connection started, still running
        self.jobs_idle = gevent.event.Event()
        self.jobs_idle.set()
        self.ending = False  # exit/EOF seen; held open until its jobs end

    # ------------------------------------------------------------------ I/O
    def serve(self) -> None:
        self.writer = gevent.spawn(self._write_loop)
        self.switch.bus.listen(self.on_event)
        parser = P.CommandParser()
        try:
            if self.channel is None:
                self.send(P.frame_bytes([("Content-Type", P.AUTH_REQUEST)]))
            while not self.closed:
                data = self.sock.recv(65536)
                if not data:
                    if self.holds_for_jobs():
                        self.ending = True  # a half-closed client still reads: notice at the job's end
                        self.jobs_idle.wait()
                        self.send(notice())
                    break
                for cmd in parser.feed(data):
                    if self.closed:
                        break
                    self.handle(cmd)
        except (OSError, ProtocolError) as exc:
            log.debug("session ended: %s", exc)
        finally:
            self.close(flush=True)
            self.writer.join(timeout=5)  # the server closes the socket when serve() returns

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.out.put(data)

    def _write_loop(self) -> None:
        try:
            for data in self.out:
                if data is None:
                    break
                self.sock.sendall(data)
        except OSError:
            pass
        finally:
            self._shutdown()

    def deliver(self, ev: SimEvent) -> None:
        """An event this connection wants: now, or with the next tick's batch."""
        tick = self.switch.races.timing.tick
        if not tick:
            self.send(event_bytes(ev, self.fmt))
            return
        if not self.batch:
            delay = tick - (gevent.get_hub().loop.now() % tick)
            chaos = self.switch.races.chaos
            if chaos is not None and chaos.late_tick():
                delay += tick
            gevent.spawn_later(delay, self.flush_events)
        self.batch.append(event_bytes(ev, self.fmt))

    def flush_events(self) -> None:
        if self.batch:
            data, self.batch = b"".join(self.batch), []
            self.send(data)

    def holds_for_jobs(self) -> bool:
        return bool(self.jobs) and self.switch.races.timing.jobs_outlive_socket and self.channel is None

    def close(self, flush: bool = True) -> None:
        """Stop reading; the writer sends what is queued (if flush) then closes the socket."""
        if self.closed:
            return
        if flush:
            self.flush_events()
        self.closed = True
        self.switch.bus.unlisten(self.on_event)
        self.sim.sessions.discard(self)
        self.closed_event.set()
        if not flush:
            self._shutdown()
        self.out.put(None)
        if self.channel is not None:
            self.channel.hold_open = False
            self.channel.signal.set()

    def _shutdown(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------------ events
    def on_event(self, ev: SimEvent) -> None:
        if self.closed or self.ending:
            return
        if self.my_uuid is not None and ev.name == "CHANNEL_HANGUP" and ev.get("Unique-ID") == self.my_uuid:
            if self.linger:
                if self.wants(ev):
                    self.deliver(ev)
                self.flush_events()
                self.send(notice("", [("Controlled-Session-UUID", self.my_uuid),
                                      ("Content-Disposition", "linger"),
                                      ("Channel-Name", ev.get("Channel-Name")),
                                      ("Linger-Time", self.linger_time)]))
                return
            if self.channel is not None:
                if self.wants(ev):
                    self.deliver(ev)
                return  # the socket application ends the session when it unwinds (outbound.py)
            self.my_done = True
            gevent.spawn(self.controlled_hangup)  # after the reply of the command that caused it
            return
        if self.my_done:
            return
        if self.wants(ev):
            self.deliver(ev)

    def controlled_hangup(self) -> None:
        for done in self.pending_sync:
            done.set()
        if self.pending_sync:
            self.pending_sync.clear()
            gevent.sleep(0)
        self.flush_events()
        self.send(notice(GOODBYE, [("Controlled-Session-UUID", self.my_uuid),
                                   ("Content-Disposition", "disconnect")]))
        self.close()

    # ------------------------------------------------------------------ commands
    def handle(self, cmd: P.ClientCommand) -> None:
        self.sim.commands_seen += 1
        if self.ending:
            return  # after exit: nothing more is read (the job holds the socket open)
        line = cmd.line
        word, _, rest = line.partition(" ")
        if self.sim.faults.before(self, line):
            return
        if not self.authed:
            if word == "auth":
                if rest.strip() == self.sim.password:
                    self.authed = True
                    self.send(reply("+OK accepted"))
                else:
                    self.send(reply("-ERR invalid"))
                    self.send(notice())
                    self.close()
            elif word == "exit":
                self.exit()
            else:
                self.send(reply("-ERR command not found"))
            return
        handler = getattr(self, "cmd_" + word, None)
        if handler is None:
            self.send(reply("-ERR command not found"))
            return
        handler(rest.strip(), cmd)

    def exit(self) -> None:
        self.send(reply("+OK bye"))
        if self.holds_for_jobs():
            self.ending = True  # no further events (FACTS 12): not even those waiting for a tick
            self.batch.clear()
            gevent.spawn(self._exit_after_jobs)
            return
        extra = [("Controlled-Session-UUID", self.my_uuid), ("Content-Disposition", "disconnect")] \
            if self.channel is not None else []
        self.send(notice(GOODBYE, extra))
        self.close()

    def _exit_after_jobs(self) -> None:
        self.jobs_idle.wait()
        self.send(notice(GOODBYE))
        self.close()

    def cmd_exit(self, rest, cmd):
        self.exit()

    def cmd_auth(self, rest, cmd):
        self.send(reply("+OK accepted"))

    def fire_api_event(self, command: str) -> None:
        name, _, arg = command.strip().partition(" ")
        extra = [("API-Command", name)] + ([("API-Command-Argument", arg)] if arg else [])
        self.switch.bus.fire("API", extra)

    def cmd_api(self, rest, cmd):
        body = api.run(self.switch, rest)
        self.fire_api_event(rest)  # FreeSWITCH fires API once the command has run
        self.send(api_response(body))

    def cmd_bgapi(self, rest, cmd):
        job = cmd.headers.get("Job-UUID") or str(uuidlib.uuid4())
        self.send(reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)]))
        self.jobs.add(job)
        self.jobs_idle.clear()
        gevent.spawn(self._bg_job, job, rest)

    def _bg_job(self, job: str, command: str) -> None:
        """Runs on whatever happens to this connection; the result goes to every subscriber."""
        try:
            body = api.run(self.switch, command)
            self.fire_api_event(command)
            name, _, arg = command.strip().partition(" ")
            extra = [("Job-UUID", job), ("Job-Command", name)] + ([("Job-Command-Arg", arg)] if arg else [])
            self.switch.bus.fire("BACKGROUND_JOB", extra, body=body)
        finally:
            self.jobs.discard(job)
            if not self.jobs:
                self.jobs_idle.set()

    def cmd_linger(self, rest, cmd):
        self.linger = True
        self.linger_time = rest.split()[0] if rest.split() and rest.split()[0].isdigit() else "-1"
        self.send(reply(f"+OK will linger {rest} seconds" if rest else "+OK will linger"))

    def cmd_nolinger(self, rest, cmd):
        self.linger = False
        self.send(reply("+OK will not linger"))

    def cmd_log(self, rest, cmd):
        level = rest.split()[0] if rest.split() else "7"
        self.log_level = int(level) if level.isdigit() else 7
        self.send(reply(f"+OK log level {level} [{self.log_level}]"))

    def cmd_nolog(self, rest, cmd):
        if self.log_level is None:
            self.send(reply("-ERR not loging"))
            return
        self.log_level = None
        self.send(reply("+OK no longer logging"))

    def cmd_sendevent(self, rest, cmd):
        name = rest.split()[0] if rest.split() else "CUSTOM"
        event_uuid = str(uuidlib.uuid4())
        subclass = cmd.headers.get("Event-Subclass")
        head = [("Event-Subclass", subclass)] if subclass else []
        head.append(("Command", f"sendevent {name}"))
        head += [(k, v) for k, v in cmd.headers.items() if k != "Event-Subclass"]
        head.append(("Event-UUID", event_uuid))
        core = self.switch.bus.core(name, "sendevent")
        body = cmd.body
        self.switch.bus.publish(SimEvent(subclass if name == "CUSTOM" and subclass else name,
                                         head + core, body))
        self.send(reply(f"+OK {event_uuid}"))

    def cmd_sendmsg(self, rest, cmd):
        uuid = rest.split()[0] if rest.split() else (self.channel.uuid if self.channel else "")
        ch = self.switch.channels.get(uuid)
        if ch is None:
            self.send(reply("-ERR invalid session id [%s]" % uuid))
            return
        h = {k.lower(): v for k, v in cmd.headers.items()}
        command = h.get("call-command", "")
        if command == "execute":
            app = h.get("execute-app-name", "")
            arg = cmd.body if cmd.body and "execute-app-arg" not in h else h.get("execute-app-arg", "")
            loops = int(h.get("loops", "1")) if h.get("loops", "1").isdigit() else 1
            event_uuid = cmd.headers.get("Event-UUID", "")
            sync = self.channel is not None and not self.async_mode
            # a park loop parses the message and reports it (PRIVATE_COMMAND, client headers
            # first); an outbound socket's first message and sync mode run outside that loop
            private = None
            if self.channel is None or (self.async_mode and self.messages_seen):
                raw = cmd.line + "\n" + "".join(f"{k}: {v}\n" for k, v in cmd.headers.items()) + "\n"
                private = ("lead", [("Command", raw), *cmd.headers.items()], cmd.body)
            self.messages_seen += 1
            if sync:
                done = gevent.event.Event()
                self.pending_sync.append(done)
                for i in range(loops):
                    apps.enqueue(ch, app, arg, event_uuid, on_done=(lambda r: done.set()) if i == loops - 1 else None)
                gevent.spawn(self._sync_reply, done, ch)
                return
            for _ in range(loops):
                apps.enqueue(ch, app, arg, event_uuid, private=private)
        elif command == "hangup":
            ch.hangup(h.get("hangup-cause", "NORMAL_CLEARING"))
            apps.start_runner(ch)
        elif command == "unicast" or command == "nomedia":
            pass
        else:
            self.send(reply("-ERR invalid command"))
            return
        self.send(reply("+OK"))

    def _sync_reply(self, done, ch) -> None:
        done.wait()
        if done in self.pending_sync:
            self.pending_sync.remove(done)
        self.send(reply("+OK"))
