"""What the real-FreeSWITCH load test (test_load.py) drives and watches, all on 127.0.0.1:

* `Observer`: our own Event Socket connection to the switch (never through the proxy, so a
  cut does not blind it): every channel's create/answer/bridge/hangup, which agent leg was
  bridged to which caller, agent legs created while their agent had an answered leg;
  it tells a bridged caller so with `uuid_send_info` (the sipp caller then stops its
  patience timer).
* `EslApi`: a blocking `api` connection (uuid_exists, show channels, ...).
* `register`: a digest-authenticated SIP REGISTER of an agent (Contact: the agents' sipp).
* `Sipp`: a sipp process from one of the scenarios in sipp/ with its placeholders filled.
* `EslProxy`: a TCP proxy between `sentral run` and the event socket that can cut every
  proxied connection at once (an Event Socket drop).
* `Engine`: `sentral -v run` as a child process, its output in a file.
* `wait_bound`: until a sipp we started listens on its UDP port (a REGISTERed contact that
  is not bound yet makes FreeSWITCH's first INVITE fail NORMAL_TEMPORARY_FAILURE).

The Observer also keeps, for test_call_control.py, each channel's current bridge partner
(`partner`: CHANNEL_BRIDGE sets it, CHANNEL_UNBRIDGE/HANGUP clear it), the applications
each channel ran (`executes`: the hold music's playback on the held leg's partner) and
`held` (CHANNEL_HOLD/UNHOLD).
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict

from tests.helpers import stop_process, until

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SIPP_DIR = HERE / "sipp"


# -- Event Socket ----------------------------------------------------------------------------

def _read_message(f) -> tuple[dict, str]:
    headers = {}
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("event socket closed")
        line = line.decode("utf-8", "replace").rstrip("\n")
        if not line:
            if headers:
                break
            continue
        name, _, value = line.partition(":")
        headers[name.strip()] = urllib.parse.unquote(value.strip())
    body = ""
    length = int(headers.get("Content-Length", "0") or 0)
    if length:
        body = f.read(length).decode("utf-8", "replace")
    return headers, body


def _connect(host: str, port: int, password: str):
    sock = socket.create_connection((host, port), timeout=10)
    f = sock.makefile("rb")
    headers, _ = _read_message(f)
    assert headers.get("Content-Type") == "auth/request", headers
    sock.sendall(f"auth {password}\n\n".encode())
    headers, _ = _read_message(f)
    assert headers.get("Reply-Text", "").startswith("+OK"), f"event socket auth: {headers}"
    return sock, f


class EslApi:
    """One blocking `api` connection (thread-safe)."""

    def __init__(self, host: str, port: int, password: str):
        self.sock, self.f = _connect(host, port, password)
        self.lock = threading.Lock()

    def api(self, command: str) -> str:
        with self.lock:
            self.sock.settimeout(30)
            self.sock.sendall(f"api {command}\n\n".encode())
            while True:
                headers, body = _read_message(self.f)
                if headers.get("Content-Type") == "api/response":
                    return body

    def exists(self, uuid: str) -> bool:
        return self.api(f"uuid_exists {uuid}").strip() == "true"

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Observer(threading.Thread):
    """What the switch did, from its own events (CHANNEL_CREATE/ANSWER/BRIDGE/HANGUP)."""

    EVENTS = ("CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE "
              "CHANNEL_PARK CHANNEL_UNPARK CHANNEL_EXECUTE CHANNEL_UNBRIDGE BACKGROUND_JOB "
              "CHANNEL_HOLD CHANNEL_UNHOLD")   # PARK, UNPARK, BACKGROUND_JOB: trace only

    def __init__(self, host: str, port: int, password: str, number: str, trace_path: pathlib.Path):
        super().__init__(daemon=True, name="fs-observer")
        self.sock, self.f = _connect(host, port, password)
        self.sock.settimeout(None)
        self.sock.sendall(f"event json {self.EVENTS}\n\n".encode())
        self.number = number
        self.trace = open(trace_path, "w", encoding="utf-8")
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.channels: dict[str, dict] = {}      # every channel created while we watched
        self.callers: dict[str, dict] = {}       # inbound calls to the number, by uuid
        self.legs: dict[str, dict] = {}          # agent legs (cc_caller_uuid set), by uuid
        self.live_answered: dict[str, set[str]] = defaultdict(set)   # ext -> answered live legs
        self.double_offers: list[tuple[str, str, str]] = []          # (ext, new leg, live leg)
        self.pairs: dict[str, str] = {}          # caller -> first agent leg it was bridged to
        self.bridges: list[tuple[str, str]] = []
        self.cues = 0
        self.partner: dict[str, str] = {}        # uuid -> the channel it is bridged to now
        self.executes: list[tuple[float, str, str, str]] = []   # (t, uuid, application, data)
        self.held: set[str] = set()              # channels FreeSWITCH reports on hold
        self.stopped = False
        self.error: BaseException | None = None

    def now(self) -> float:
        return time.monotonic() - self.t0

    def run(self) -> None:
        try:
            while not self.stopped:
                headers, body = _read_message(self.f)
                if headers.get("Content-Type") != "text/event-json":
                    continue
                self._event(json.loads(body))
        except BaseException as exc:   # noqa: BLE001 - reported by check()
            if not self.stopped:
                self.error = exc

    def check(self) -> None:
        assert self.error is None, f"observer connection failed: {self.error!r}"

    def _event(self, e: dict) -> None:
        name, uuid, t = e.get("Event-Name"), e.get("Unique-ID", ""), self.now()
        ch_name = e.get("Channel-Name", "")
        self.trace.write(json.dumps({
            "t": round(t, 4), "event": name, "uuid": uuid, "name": ch_name,
            "other": e.get("Other-Leg-Unique-ID", ""), "caller": e.get("variable_cc_caller_uuid", ""),
            "cause": e.get("Hangup-Cause", ""), "disposition": e.get("variable_sip_hangup_disposition", ""),
            "ts": e.get("Event-Date-Timestamp", ""), "seq": e.get("Event-Sequence", ""),
            "detail": (f"{e.get('Job-Command', '')} {e.get('Job-Command-Arg', '')} -> {e.get('_body', '').strip()}"
                       if name == "BACKGROUND_JOB" else
                       f"{e.get('Application', '')}({e.get('Application-Data', '')})" if name == "CHANNEL_EXECUTE" else "")
        }) + "\n")
        with self.lock:
            if name == "CHANNEL_CREATE":
                self.channels[uuid] = {"name": ch_name, "created": t, "hangup": None}
                if e.get("variable_cc_caller_uuid"):
                    m = re.match(r"sofia/[^/]+/(\d+)@", ch_name)
                    ext = e.get("variable_dialed_user") or (m.group(1) if m else "?")
                    live = self.live_answered[ext]
                    if live:
                        self.double_offers.append((ext, uuid, sorted(live)[0]))
                    self.legs[uuid] = {"ext": ext, "caller": e["variable_cc_caller_uuid"], "created": t,
                                       "answered": None, "hangup": None, "cause": "", "disposition": ""}
                elif (e.get("Call-Direction") == "inbound" and ch_name.startswith("sofia/")
                      and e.get("Caller-Destination-Number") == self.number):
                    self.callers[uuid] = {"created": t, "answered": None, "bridged": None, "hangup": None,
                                          "cause": "", "disposition": "", "number": e.get("Caller-Caller-ID-Number", "")}
            elif name == "CHANNEL_ANSWER":
                if uuid in self.legs:
                    self.legs[uuid]["answered"] = t
                    self.live_answered[self.legs[uuid]["ext"]].add(uuid)
                elif uuid in self.callers:
                    self.callers[uuid]["answered"] = t
            elif name == "CHANNEL_EXECUTE":
                self.executes.append((t, uuid, e.get("Application", ""), e.get("Application-Data", "")))
            elif name in ("CHANNEL_HOLD", "CHANNEL_UNHOLD"):
                (self.held.add if name == "CHANNEL_HOLD" else self.held.discard)(uuid)
            elif name == "CHANNEL_UNBRIDGE":
                self._unbridge(uuid)
            elif name == "CHANNEL_BRIDGE":
                other = e.get("Other-Leg-Unique-ID", "")
                self._unbridge(uuid)
                self._unbridge(other)
                self.partner[uuid], self.partner[other] = other, uuid
                self.bridges.append((uuid, other))
                for caller, leg in ((uuid, other), (other, uuid)):
                    if caller in self.callers and leg in self.legs:
                        self.pairs.setdefault(caller, leg)
                        if self.callers[caller]["bridged"] is None:
                            self.callers[caller]["bridged"] = t
                            # the caller's cue: stop the patience timer, wait for the talk's end
                            self.sock.sendall(f"bgapi uuid_send_info {caller} text plain bridged\n\n".encode())
                            self.cues += 1
            elif name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
                self._unbridge(uuid)
                disposition = e.get("variable_sip_hangup_disposition", "")
                for table in (self.legs, self.callers, self.channels):
                    rec = table.get(uuid)
                    if rec is None:
                        continue
                    if rec["hangup"] is None:
                        rec["hangup"] = t
                    if "cause" in rec and not rec["cause"]:
                        rec["cause"] = e.get("Hangup-Cause", "")
                    if "disposition" in rec and disposition:
                        rec["disposition"] = disposition
                if uuid in self.legs:
                    self.live_answered[self.legs[uuid]["ext"]].discard(uuid)

    def _unbridge(self, uuid: str) -> None:
        other = self.partner.pop(uuid, None)
        if other is not None and self.partner.get(other) == uuid:
            del self.partner[other]

    def stop(self) -> None:
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.join(5)
        self.trace.close()


# -- SIP registration ------------------------------------------------------------------------

def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def register(registrar: tuple[str, int], user: str, password: str, domain: str, contact: str,
             expires: int) -> int:
    """REGISTER `user@domain` with `contact` (digest auth when challenged); the final status."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    call_id = f"sentral-load-reg-{user}-{random.getrandbits(48):x}"
    tag = f"{random.getrandbits(32):x}"

    def send(cseq: int, authorization: str = "") -> tuple[int, str]:
        port = sock.getsockname()[1]
        msg = [f"REGISTER sip:{domain} SIP/2.0",
               f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK{random.getrandbits(64):x}",
               "Max-Forwards: 70", f"From: <sip:{user}@{domain}>;tag={tag}", f"To: <sip:{user}@{domain}>",
               f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER", "Contact: *" if contact == "*" else f"Contact: <{contact}>", f"Expires: {expires}",
               "User-Agent: sentral-load-test"]
        if authorization:
            msg.append(authorization)
        msg += ["Content-Length: 0", "", ""]
        sock.sendto("\r\n".join(msg).encode(), registrar)
        while True:
            data = sock.recv(65535).decode("utf-8", "replace")
            status = int(data.split(" ", 2)[1])
            if status >= 200 and call_id in data:
                return status, data

    try:
        status, reply = send(1)
        if status in (401, 407):
            challenge = re.search(r"^(?:WWW|Proxy)-Authenticate:\s*Digest\s+(.+)$", reply, re.M | re.I).group(1)
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
            uri = f"sip:{domain}"
            ha1 = _md5(f"{user}:{params['realm']}:{password}")
            ha2 = _md5(f"REGISTER:{uri}")
            header = "Authorization" if status == 401 else "Proxy-Authorization"
            auth = (f'{header}: Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
                    f'uri="{uri}", algorithm=MD5')
            if "auth" in params.get("qop", ""):
                cnonce = f"{random.getrandbits(64):x}"
                response = _md5(f"{ha1}:{params['nonce']}:00000001:{cnonce}:auth:{ha2}")
                auth += f', qop=auth, nc=00000001, cnonce="{cnonce}"'
            else:
                response = _md5(f"{ha1}:{params['nonce']}:{ha2}")
            auth += f', response="{response}"'
            status, reply = send(2, auth)
        return status
    finally:
        sock.close()


# -- sipp ------------------------------------------------------------------------------------

class Sipp:
    """A sipp process running one of sipp/*.xml with its __PLACEHOLDERS__ filled in."""

    def __init__(self, name: str, scenario: str, workdir: pathlib.Path, args: list[str], **values):
        text = (SIPP_DIR / scenario).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(f"__{key.upper()}__", str(value))
        assert "__" not in re.sub(r"<!--.*?-->", "", text, flags=re.S), f"unfilled placeholder in {scenario}"
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / scenario
        path.write_text(text, encoding="utf-8")
        self.out = open(self.workdir / "sipp.out", "wb")
        self.proc = subprocess.Popen(
            [os.environ.get("SENTRAL_TEST_SIPP", "sipp"), *args, "-sf", str(path), "-trace_err",
             "-error_file", str(self.workdir / "errors.log"),
             *(["-trace_msg", "-message_file", str(self.workdir / "messages.log")]
               if os.environ.get("SENTRAL_TEST_SIPP_TRACE") else [])],
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)

    def errors(self) -> str:
        path = self.workdir / "errors.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        stop_process(self.proc, timeout=5)
        self.out.close()


def wait_bound(port: int, timeout: float = 10.0) -> None:
    """Until something (the sipp we started) has bound 127.0.0.1:`port`/udp."""
    def bound() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return True
            return False
    until(bound, timeout=timeout, interval=0.02, message=f"nothing listens on udp {port}")


# -- Event Socket proxy ----------------------------------------------------------------------

class EslProxy:
    """127.0.0.1:<port> -> the event socket; `cut()` closes every connection it carries."""

    def __init__(self, upstream: tuple[str, int], t0: float | None = None):
        self.upstream = upstream
        self.t0 = time.monotonic() if t0 is None else t0
        self.commands: list[tuple[float, int, str]] = []   # (time, connection, what the engine sent)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="esl-proxy").start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
                self.accepted += 1
                n = self.accepted
            threading.Thread(target=self._pump, args=(client, server, n), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, 0), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: int) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:          # engine -> switch: commands, small; the events are not kept
                    self.commands.append((time.monotonic() - self.t0, record, data.decode("utf-8", "replace")))
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> int:
        """Close every proxied connection (both sides); how many there were."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
            self.cuts += 1
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        return len(pairs)

    def close(self) -> None:
        self.closed = True
        self.server.close()
        self.cut()

    def command_lines(self) -> list[str]:
        """Every command the engine sent: `t connection command` (auth lines masked)."""
        out = []
        for t, n, data in list(self.commands):
            for line in data.split("\n"):
                if line.strip():
                    out.append(f"{t:.4f} c{n} " + ("auth ***" if line.startswith("auth ") else line))
        return out


# -- the engine ------------------------------------------------------------------------------

class Engine:
    """`sentral -v run` as a child process; output goes to a file we poll."""

    def __init__(self, config: pathlib.Path, esl: tuple[str, int, str], db_url: str, log_path: pathlib.Path):
        host, port, password = esl
        self.config = config
        self.env = dict(os.environ, SENTRAL_FREESWITCH_HOST=host, SENTRAL_FREESWITCH_PORT=str(port),
                        SENTRAL_FREESWITCH_PASSWORD=password, SENTRAL_DATABASE_URL=db_url, PYTHONUNBUFFERED="1")
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log_path, "a", encoding="utf-8") as out:
            out.write(f"--- start {self.starts} at {time.time():.3f}\n")
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sentral.cli", "-v", "run", "--config", str(self.config), "--login-all",
                 "--no-web", "--status-every", "0"], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        until(lambda: sum(line.startswith("engine ready in ") for line in self.log().splitlines()) >= self.starts or self.proc.poll() is not None,
              timeout=60, message="engine ready")
        assert self.proc.poll() is None, self.log()[-3000:]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cpu_seconds(self) -> float:
        try:
            fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, AttributeError):
            return 0.0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)
