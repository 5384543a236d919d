"""The simulator facade: a gevent TCP server on 127.0.0.1 speaking the Event Socket
protocol over a simulated switch, plus the control API tests and the demo drive
(calls, users, faults, restart). See API.md.

Timing rule: ``timing=Timing.real()`` (timing.py) makes the simulator race as FreeSWITCH
does; ``chaos=SEED`` picks, per call, among the orders a real switch produces and drops
Event Socket connections now and then (chaos.py; what happened: ``sim.chaos.log``).

Restart rule: ``restart()`` closes every session (as a FreeSWITCH restart would) and
keeps the port; channels are kept (``keep_channels=True``, a restart of the ESL side) or
all lost (hangups fired first).
"""
from __future__ import annotations

import logging
import socket
import uuid as uuidlib
from typing import Callable, Mapping

import gevent
from gevent.server import StreamServer

from esl.sim import apps, eavesdrop, outbound  # noqa: F401  (outbound registers the socket application)
from esl.sim.channel import Channel
from esl.sim.chaos import Chaos
from esl.sim.faults import Faults
from esl.sim.races import Races
from esl.sim.session import Session, notice
from esl.sim.switch import Switch
from esl.sim.timing import Timing

log = logging.getLogger(__name__)
SHUTDOWN_TEXT = "The system is being shut down.\n"


class Simulator:
    def __init__(self, password: str = "ClueCon", host: str = "127.0.0.1", port: int = 0, *,
                 dialplan: Mapping | Callable | None = None, time_factor: float = 1.0,
                 prompts: Mapping[str, float] | None = None, default_prompt_seconds: float = 3.0,
                 heartbeat_interval: float = 20.0, recordings_root: str | None = None,
                 timing: Timing | None = None, chaos: int | None = None, chaos_drop_every: float = 0.0):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator listens on loopback only")
        self.password = password
        self.host = host
        self._port = port
        self.switch = Switch(dialplan=dialplan, time_factor=time_factor, prompts=prompts,
                             default_prompt_seconds=default_prompt_seconds,
                             heartbeat_interval=heartbeat_interval, recordings_root=recordings_root)
        self.switch.simulator = self
        # chaos without a timing races as the real switch does
        self.chaos = Chaos(chaos, chaos_drop_every) if chaos is not None else None
        timing = timing or (Timing.real() if chaos is not None else Timing.ideal())
        self.switch.races = Races(self.switch, timing, self.chaos)
        self.switch.bus.resolution = timing.tick
        self.faults = Faults()
        self.sessions: set[Session] = set()
        self.server: StreamServer | None = None
        self.traffic = None
        self.commands_seen = 0  # client commands read by all sessions (tests wait on it, never sleep)

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._port

    @property
    def timing(self) -> Timing:
        return self.switch.races.timing

    @timing.setter
    def timing(self, timing: Timing) -> None:
        """Change the races from now on (a test may switch profiles between calls)."""
        self.switch.races.timing = timing
        self.switch.bus.resolution = timing.tick

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self._port

    def start(self) -> "Simulator":
        self.server = StreamServer((self.host, self._port), self._accept)
        self.server.init_socket()
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.start()
        self._port = self.server.server_port
        self.switch.start_heartbeat()
        if self.chaos is not None:
            self.chaos.start(self)
        log.info("simulator listening on %s:%s", self.host, self._port)
        return self

    def stop(self, keep_channels: bool = False) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        if self.chaos is not None:
            self.chaos.stop()
        self.close_sessions(SHUTDOWN_TEXT)
        if self.server is not None:
            self.server.stop(timeout=1)
            self.server = None
        self.switch.stop_heartbeat()
        if not keep_channels:
            self.switch.hupall("SYSTEM_SHUTDOWN")

    def shutdown(self, drain_timeout: float = 60.0):
        """As ``freeswitch -stop``: SHUTDOWN, every call hung up; once the channels are gone
        (a lingering outbound socket holds its channel until its client leaves) every
        inbound client gets the shutdown notice and EOF. Returns the greenlet doing it."""
        self.switch.bus.fire("SHUTDOWN", [("Event-Info", "System Shutting Down")])
        self.switch.hupall("SYSTEM_SHUTDOWN")

        def finish():
            deadline = gevent.get_hub().loop.now() + drain_timeout
            while self.switch.channels and gevent.get_hub().loop.now() < deadline:
                gevent.sleep(0.01)
            self.stop()
        return gevent.spawn(finish)

    def restart(self, keep_channels: bool = True) -> None:
        """Close every session and the listener, then listen again on the same port."""
        self.close_sessions(SHUTDOWN_TEXT)
        if self.server is not None:
            self.server.stop(timeout=1)
        if not keep_channels:
            self.switch.hupall("SYSTEM_SHUTDOWN")
        self.server = None
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self, sock, address) -> None:
        # FreeSWITCH's replies follow each other within a millisecond (corpus 11: four queries,
        # four replies): no Nagle delay waiting for the client's delayed ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Session(self, sock)
        self.sessions.add(session)
        session.serve()

    def close_sessions(self, text: str = SHUTDOWN_TEXT) -> None:
        """Every inbound client gets a disconnect notice and EOF; outbound sockets just close."""
        for s in list(self.sessions):
            if s.channel is None:
                s.send(notice(text))
            s.close()

    def disconnect_all(self) -> None:
        self.close_sessions("Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")

    # ------------------------------------------------------------------ users
    def add_user(self, ext: str, action: str = "answer", ring: float = 0.0, talk: float | None = None,
                 register: bool = True, auto_answer: bool = False):
        return self.switch.users.add(ext, action, ring, talk, register, auto_answer)

    def add_phone(self, number: str, action: str = "answer", ring: float = 0.0, talk: float | None = None,
                  auto_answer: bool = False) -> None:
        """A phone reached by dialling its number (a transfer target: an employee's direct
        line or mobile): answer / reject / busy / noanswer / unregistered."""
        self.switch.users.phone(number, action, ring, talk, auto_answer)

    def add_endpoint(self, uri: str, action: str = "answer", ring: float = 0.0, talk: float | None = None):
        self.switch.users.endpoint(uri, action, ring, talk)

    def register(self, ext: str):
        return self.switch.users.register(ext)

    def unregister(self, ext: str) -> None:
        self.switch.users.unregister(ext)

    # ------------------------------------------------------------------ calls
    def place_call(self, destination: str, caller_number: str = "4790000000", caller_name: str = "",
                   *, uuid: str | None = None, patience: float | None = None,
                   talk: float | None = None, variables: Mapping[str, str] | None = None) -> Channel:
        """A caller dials ``destination``: an inbound sofia channel that runs the dialplan.

        ``patience``: the caller hangs up if not bridged within that (scaled) time
        (abandoned); ``talk``: hangs up that long after being bridged. Returns the channel.
        """
        from esl.sim.traffic import watch_caller
        sw = self.switch
        port = 5090
        ch = Channel(sw, uuid or str(uuidlib.uuid4()), f"sofia/internal/{caller_number}@127.0.0.1:{port}",
                     "inbound", caller_name=caller_name or caller_number, caller_number=caller_number,
                     destination=destination, network_addr="127.0.0.1", username=caller_number,
                     variables=variables)
        ch.variables["sip_from_user"] = caller_number
        ch.variables["sip_to_user"] = destination
        ch.variables["presence_id"] = f"{caller_number}@127.0.0.1"
        sw.add(ch)
        ch.profile_ready = False
        ch.set_state("CS_NEW")
        ch.profile_ready = True
        ch.set_state("CS_INIT")
        ch.emit("CHANNEL_CREATE")
        ch.set_callstate("RINGING")
        ch.set_state("CS_ROUTING")
        ch.presence("alerting")
        sw.route(ch, destination)
        if patience is not None or talk is not None:
            watch_caller(self, ch, patience, talk)
        return ch

    def api(self, command: str) -> str:
        """Run an api command as ``fs_cli -x`` would (the command, then its API event)."""
        from esl.sim import api
        name, _, arg = command.strip().partition(" ")
        body = api.run(self.switch, command)
        self.switch.bus.fire("API", [("API-Command", name)] + ([("API-Command-Argument", arg)] if arg else []))
        return body

    def hangup(self, uuid: str, cause: str = "NORMAL_CLEARING") -> bool:
        ch = self.switch.channels.get(uuid)
        if ch is None:
            return False
        ch.hangup(cause)
        apps.start_runner(ch)
        return True

    def dtmf(self, uuid: str, digits: str) -> None:
        ch = self.switch.channels[uuid]
        if eavesdrop.feed(ch, digits, source="RTP"):    # a running eavesdrop reads them itself
            return
        for d in digits:
            ch.emit("DTMF", {"DTMF-Digit": d, "DTMF-Duration": "2000", "DTMF-Source": "RTP"})

    @property
    def channels(self) -> dict[str, Channel]:
        return self.switch.channels

    def outbound_call(self, destination: str, target: tuple[str, int], *, caller_number: str = "5551000",
                      async_mode: bool = True, full: bool = True, uuid: str | None = None) -> Channel:
        """An inbound call whose dialplan is ``socket host:port [async] [full]`` (outbound ESL)."""
        from esl.sim.outbound import socket_call
        return socket_call(self, destination, target, caller_number, async_mode, full, uuid)

    def scripted_calls(self, calls):
        """Place calls on a script: dicts with ``at`` (seconds, scaled), ``destination``,
        ``caller_number``, ``patience``, ``talk``. Returns the greenlet."""
        from esl.sim.traffic import scripted
        return scripted(self, calls)

    def start_traffic(self, destination: str, calls_per_minute: float, *, patience: float = 60.0,
                      talk: float = 120.0, seed: int | None = None, limit: int | None = None):
        from esl.sim.traffic import Poisson
        self.traffic = Poisson(self, destination, calls_per_minute, patience, talk, seed, limit)
        self.traffic.start()
        return self.traffic


def wait_closed(greenlets, timeout: float = 2.0) -> None:
    gevent.joinall(greenlets, timeout=timeout)
