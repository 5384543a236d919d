"""Event subscriptions of one ESL session: ``event``, ``noevents``, ``nixevent``, ``filter``,
``myevents`` and the rule deciding which events a session receives.

Rules (tests/data/esl-corpus/FACTS.md): ``event`` is additive and the last format wins; CUSTOM events need their
subclass listed (or ALL); BACKGROUND_JOB only when subscribed; filters pass an event if
any filter matches; ``myevents <uuid>`` binds to one channel's events (MYEVENTS set).
"""
from __future__ import annotations

from esl.sim.bus import SimEvent
from esl.sim.headers import MYEVENTS

FORMATS = ("plain", "json", "xml")


def reply(text: str, extra=()) -> bytes:
    from esl.sim.session import reply as _reply
    return _reply(text, extra)


class Subscriptions:
    """Mixin for Session: needs self.subs, self.custom, self.filters, self.fmt, self.my_uuid,
    self.channel, self.switch and self.send."""

    def wants(self, ev: SimEvent) -> bool:
        if self.my_uuid is not None:
            if ev.get("Unique-ID") != self.my_uuid:
                return False
            if not self.subs:
                return ev.name in MYEVENTS
        if "ALL" in self.subs:
            ok = True
        elif ev.get("Event-Name") == "CUSTOM":
            ok = ev.name in self.custom or ("CUSTOM" in self.subs and not self.custom)
        else:
            ok = ev.name in self.subs
        if ok and self.filters:
            ok = any(ev.get(h) == v for h, v in self.filters)
        return ok

    def cmd_event(self, rest, cmd):
        words = rest.split()
        if words and words[0] in FORMATS:
            self.fmt = words.pop(0)
        custom = False
        for w in words:
            if w == "CUSTOM":
                custom = True
                self.subs.add(w)
            elif custom or "::" in w:
                self.custom.add(w)
            else:
                self.subs.add(w)
        self.send(reply(f"+OK event listener enabled {self.fmt}"))

    def cmd_noevents(self, rest, cmd):
        if not self.subs and not self.custom:
            self.send(reply("-ERR not listening for events"))
            return
        self.subs.clear()
        self.custom.clear()
        self.send(reply("+OK no longer listening for events"))

    def cmd_nixevent(self, rest, cmd):
        for w in rest.split():
            if w == "ALL":
                self.subs.clear()
                self.custom.clear()
            self.subs.discard(w)
            self.custom.discard(w)
        self.send(reply("+OK events nixed"))

    def cmd_filter(self, rest, cmd):
        words = rest.split(None, 2)
        if words and words[0] == "delete":
            header = words[1] if len(words) > 1 else ""
            value = words[2] if len(words) > 2 else ""
            if header == "all":
                self.filters.clear()
            else:
                self.filters = [(h, v) for h, v in self.filters if not (h == header and (not value or v == value))]
            self.send(reply(f"+OK filter deleted. [{header}][{value}]"))
            return
        if len(words) < 2:
            self.send(reply("-ERR invalid syntax"))
            return
        header, value = words[0], rest.split(None, 1)[1]
        self.filters.append((header, value))
        self.send(reply(f"+OK filter added. [{header}]=[{value}]"))

    def cmd_myevents(self, rest, cmd):
        if self.my_uuid is not None:
            self.send(reply("-ERR aready enabled."))
            return
        words = rest.split()
        if self.channel is not None:
            uuid = self.channel.uuid
            fmt = words[0] if words and words[0] in FORMATS else "plain"
        else:
            if not words or words[0] not in self.switch.channels:
                self.send(reply("-ERR invalid uuid"))
                return
            uuid = words[0]
            fmt = words[1] if len(words) > 1 and words[1] in FORMATS else "plain"
        self.my_uuid, self.fmt = uuid, fmt
        self.send(reply("+OK Events Enabled"))
