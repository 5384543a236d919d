"""Commands only an outbound-socket session (the switch dialled the client) answers:
``connect`` (the CHANNEL_DATA block, values url-encoded, ending with Content-Type,
``Reply-Text: %2BOK%0A``, Socket-Mode and Control), ``getvar``, ``resume``, ``divert_events``.
"""
from __future__ import annotations

from esl import protocol as P


def reply(text: str, extra=()) -> bytes:
    from esl.sim.session import reply as _reply
    return _reply(text, extra)


class SocketCommands:
    """Mixin for Session (needs self.channel, self.switch, self.async_mode, self.full, self.send)."""
    def cmd_connect(self, rest, cmd):
        ch = self.channel
        if ch is None:
            self.send(reply("-ERR command not found"))
            return
        head = [("Event-Name", "CHANNEL_DATA")] + self.switch.bus.core("CHANNEL_DATA")[1:]
        head += ch.channel_block() + ch.variable_block()
        enc = [(k, P.fs_url_encode(v)) for k, v in head]
        enc += [("Content-Type", P.COMMAND_REPLY), ("Reply-Text", "%2BOK%0A"),
                ("Socket-Mode", "async" if self.async_mode else "static"),
                ("Control", "full" if self.full else "single-channel")]
        self.send(P.frame_bytes(enc))

    def cmd_getvar(self, rest, cmd):
        ch = self.channel
        value = ch.variables.get(rest.strip()) if ch is not None else None
        if value is None and ch is not None:
            value = {"caller_id_number": ch.profile["caller_number"],
                     "caller_id_name": ch.profile["caller_name"],
                     "destination_number": ch.profile["destination"]}.get(rest.strip())
        self.send(reply(value if value is not None else "-ERR command not found"))

    def cmd_resume(self, rest, cmd):
        self.send(reply("+OK"))

    def cmd_divert_events(self, rest, cmd):
        self.send(reply("+OK events diverted" if rest.strip() == "on" else "+OK events not diverted"))
