"""The simulated dialplan: destination -> list of (application, argument).

Given as a mapping or a callable. A mapping value may be a list of (app, arg) pairs, or a
dict of channel variables: the entry dialplan for an ACD, which tags the call with those
variables and parks it. A callable gets (destination, channel) and returns either form or
None. Unknown destinations -> None (the caller hangs up with NO_ROUTE_DESTINATION).

Built in (the corpus' FreeSWITCH dialplan, tests/data/esl-corpus/FACTS.md): 7001 park
without answer, 7003 echo, 7004 answer + endless tone, 7005 answer + park, 7006 answer +
sleep 60 s, every simulated SIP user's extension bridges to ``user/<ext>`` and every
simulated phone's number (users.Directory.phone) to ``sofia/external/<number>@phones.sim``.
"""
from __future__ import annotations

from typing import Callable, Mapping

from esl.sim.users import PHONES

BUILTIN = {
    "7001": [("park", "")],
    "7003": [("answer", ""), ("echo", "")],
    "7004": [("answer", ""), ("playback", "tone_stream://%(1000,0,440);loops=-1")],
    "7005": [("answer", ""), ("park", "")],
    "7006": [("answer", ""), ("sleep", "60000")],
}


def _apps(value) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return [("set", f"{k}={v}") for k, v in value.items()] + [("park", "")]
    return [(str(a), str(b)) for a, b in value]


class Dialplan:
    def __init__(self, table: Mapping | Callable | None = None, builtin: bool = True):
        self.fn = table if callable(table) else None
        self.table = {} if callable(table) or table is None else dict(table)
        self.builtin = builtin

    def route(self, destination: str, channel=None) -> list[tuple[str, str]] | None:
        if self.fn is not None:
            value = self.fn(destination, channel)
            if value is not None:
                return _apps(value)
        if destination in self.table:
            return _apps(self.table[destination])
        if self.builtin and destination in BUILTIN:
            return list(BUILTIN[destination])
        switch = getattr(channel, "switch", None)
        if switch is not None and destination in switch.users.users:
            return [("bridge", f"user/{destination}")]
        if switch is not None and destination in switch.users.phones:
            return [("bridge", f"sofia/external/{destination}@{PHONES}")]
        return None
