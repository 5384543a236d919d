"""Fault injection, armed from tests through ``Simulator.faults``.

* ``delay(pattern, seconds)``: commands whose line contains ``pattern`` wait first (slow replies);
* ``drop(pattern)``: the next matching command closes the connection without a reply;
* ``garble(pattern)``: the next matching command is answered with a malformed frame;
* ``disconnect_all()`` (on the simulator): every session gets the disconnect notice and closes.
One-shot faults fire once; delays stay until ``clear()``.
"""
from __future__ import annotations

import gevent

MALFORMED = b"Content-Type: command/reply\nReply-Text +OK no colon here\nContent-Length: x\n\n"


class Faults:
    def __init__(self):
        self.delays: list[tuple[str, float]] = []
        self.drops: list[str] = []
        self.garbles: list[str] = []

    def delay(self, pattern: str, seconds: float) -> None:
        self.delays.append((pattern, seconds))

    def drop(self, pattern: str) -> None:
        self.drops.append(pattern)

    def garble(self, pattern: str) -> None:
        self.garbles.append(pattern)

    def clear(self) -> None:
        self.delays.clear()
        self.drops.clear()
        self.garbles.clear()

    def before(self, session, line: str) -> bool:
        """Apply faults to one command; True if the command must not be handled."""
        for pattern, seconds in self.delays:
            if pattern in line:
                gevent.sleep(seconds)
        for pattern in self.drops:
            if pattern in line:
                self.drops.remove(pattern)
                session.close(flush=False)
                return True
        for pattern in self.garbles:
            if pattern in line:
                self.garbles.remove(pattern)
                session.send(MALFORMED)
                return True
        return False
