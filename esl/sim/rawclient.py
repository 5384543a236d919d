"""A minimal raw Event Socket client for tests and conformance replays (not the product's
connection layer, see esl/connection*): sends bytes, collects every frame it receives
(with decoded events), and notices EOF. gevent-cooperative.
"""
from __future__ import annotations

import gevent
from gevent import socket

from esl.errors import ProtocolError
from esl.protocol import EVENT_CONTENT_TYPES, FrameParser, decode_event, encode_command


class RawClient:
    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(None)
        self.frames: list = []
        self.decoded: list = []  # events, decoded as they arrive
        self.eof = False
        self.error: Exception | None = None
        self.timeout = timeout
        self.on_frame = None  # called with each frame as it is read (a test reacting at once)
        self._parser = FrameParser()
        self._reader = gevent.spawn(self._read)

    @classmethod
    def from_socket(cls, sock, timeout: float = 5.0) -> "RawClient":
        """Wrap an accepted socket (an outbound Event Socket connection from the switch)."""
        self = cls.__new__(cls)
        self.sock = sock
        self.frames, self.decoded, self.eof, self.timeout = [], [], False, timeout
        self.error = None
        self.on_frame = None  # called with each frame as it is read (a test reacting at once)
        self._parser = FrameParser()
        self._reader = gevent.spawn(self._read)
        return self

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                for frame in self._parser.feed(data):
                    self.frames.append(frame)
                    if frame.content_type in EVENT_CONTENT_TYPES:
                        self.decoded.append(decode_event(frame))
                    if self.on_frame is not None:
                        self.on_frame(frame)
        except (OSError, ProtocolError) as exc:
            self.error = exc
        self.eof = True

    def send(self, command: str, headers=None, body=None) -> None:
        self.sock.sendall(encode_command(command, headers, body))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_for(self, predicate, timeout: float | None = None, start: int = 0):
        """The first frame from index ``start`` matching ``predicate``; fails after timeout."""
        deadline = gevent.get_hub().loop.now() + (timeout or self.timeout)
        while True:
            for i in range(start, len(self.frames)):
                if predicate(self.frames[i]):
                    return self.frames[i]
            if self.eof or gevent.get_hub().loop.now() > deadline:
                raise AssertionError(f"no matching frame (eof={self.eof}, {len(self.frames)} frames)")
            gevent.sleep(0.005)

    def reply(self, command: str, headers=None, body=None, timeout: float | None = None):
        """Send a command and return its command/reply or api/response frame."""
        start = len(self.frames)
        self.send(command, headers, body)
        return self.wait_for(lambda f: f.content_type in ("command/reply", "api/response"),
                             timeout, start)

    def api(self, command: str, timeout: float | None = None) -> str:
        return self.reply("api " + command, timeout=timeout).text

    def events(self, name: str | None = None) -> list:
        return [e for e in self.decoded if name is None or e.name == name]

    def wait_event(self, name: str, uuid: str | None = None, timeout: float | None = None):
        def match(f):
            if f.content_type not in EVENT_CONTENT_TYPES:
                return False
            e = decode_event(f)
            return e.name == name and (uuid is None or e.unique_id == uuid)
        return decode_event(self.wait_for(match, timeout))

    def wait_eof(self, timeout: float | None = None) -> None:
        self._reader.join(timeout or self.timeout)
        if not self.eof:
            raise AssertionError("connection still open")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self._reader.kill(block=False)
