"""Simulated SIP users (agents' softphones) and scripted far ends.

A user registers and unregisters (CUSTOM sofia::register / sofia::unregister with the
corpus' header set) and, per call, follows its script: ``answer`` after ``ring`` seconds,
``reject`` (CALL_REJECTED), ``busy`` (USER_BUSY), ``noanswer`` (rings until the
originator gives up: NO_ANSWER); once answered it hangs up after ``talk`` seconds
(None = stays until the other side hangs up). Durations scale by the switch's time factor.
Endpoints addressed by SIP URI (``sofia/internal/agentA@127.0.0.1:5094``) use the same
scripts, registered with ``Directory.endpoint``. Phones reached by number
(``Directory.phone``: employees' direct numbers and mobiles, transfer targets) are such
endpoints, which the simulated dialplan bridges a dialled number to, so
``originate loopback/<number>/<context>`` rings them; ``unregistered`` ends
USER_NOT_REGISTERED. ``auto_answer``: the phone answers at once when the originate
asks for it with ``sip_auto_answer=true``, and while it rings when a NOTIFY "Event:
talk" reaches it (``uuid_phone_event <leg> talk``: esl/sim/api.py); FreeSWITCH's
``uuid_answer`` cannot answer a ringing phone (for an outbound leg it answers +OK and
does nothing, switch_channel.c).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

ACTIONS = ("answer", "reject", "busy", "noanswer", "noroute", "unregistered")
CAUSE = {"reject": "CALL_REJECTED", "busy": "USER_BUSY", "unregistered": "USER_NOT_REGISTERED"}
PHONES = "phones.sim"  # the host part of simulated phones reached by number (Directory.phone)
_ports = itertools.count(5100)


@dataclass
class Script:
    action: str = "answer"
    ring: float = 0.0
    talk: float | None = None
    auto_answer: bool = False

    def for_call(self, variables) -> "Script":
        """The script of one call: an auto-answer phone asked to answers without ringing."""
        if self.auto_answer and str(variables.get("sip_auto_answer", "")).lower() == "true":
            return Script("answer", 0.0, self.talk)
        return self

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"unknown far-end action {self.action!r} (one of {', '.join(ACTIONS)})")


@dataclass
class SimUser:
    ext: str
    script: Script = field(default_factory=Script)
    registered: bool = False
    port: int = 0
    call_id: str = ""
    domain: str = "127.0.0.1"
    calls: int = 0

    @property
    def contact(self) -> str:
        return f'"" <sip:{self.ext}@127.0.0.1:{self.port}>'


class Directory:
    def __init__(self, switch):
        self.switch = switch
        self.users: dict[str, SimUser] = {}
        self.endpoints: dict[str, Script] = {}
        self.phones: dict[str, Script] = {}

    def add(self, ext: str, action: str = "answer", ring: float = 0.0, talk: float | None = None,
            register: bool = True, auto_answer: bool = False) -> SimUser:
        user = self.users.get(ext) or SimUser(ext, port=next(_ports))
        user.script = Script(action, ring, talk, auto_answer)
        self.users[ext] = user
        if register and not user.registered:
            self.register(ext)
        return user

    def endpoint(self, uri: str, action: str = "answer", ring: float = 0.0, talk: float | None = None) -> None:
        """A far end reached by SIP URI (``user@host:port``), as sipp UAS in the corpus."""
        self.endpoints[uri] = Script(action, ring, talk)

    def phone(self, number: str, action: str = "answer", ring: float = 0.0, talk: float | None = None,
              auto_answer: bool = False) -> None:
        """A phone reached by dialling ``number`` (no registration of its own)."""
        script = Script(action, ring, talk, auto_answer)
        self.phones[number] = script
        self.endpoints[f"{number}@{PHONES}"] = script

    def _user_headers(self, user: SimUser) -> list[tuple[str, str]]:
        return [("sip_number_alias", user.ext), ("sip_auth_username", user.ext),
                ("sip_auth_realm", user.domain), ("number_alias", user.ext), ("user_name", user.ext),
                ("domain_name", user.domain), ("record_stereo", "true"),
                ("default_gateway", "example.com"), ("default_areacode", "918"),
                ("transfer_fallback_extension", "operator"), ("toll_allow", "domestic,international,local"),
                ("accountcode", user.ext), ("user_context", "default"),
                ("effective_caller_id_name", f"Extension {user.ext}"),
                ("effective_caller_id_number", user.ext), ("outbound_caller_id_name", "FreeSWITCH"),
                ("outbound_caller_id_number", "0000000000"), ("callgroup", "techsupport")]

    def register(self, ext: str, expires: int = 120) -> SimUser:
        user = self.users.get(ext) or self.add(ext, register=False)
        user.registered = True
        user.call_id = f"{next(_ports)}-sim@127.0.0.1"
        self.switch.bus.fire("CUSTOM", subclass="sofia::register", extra=[
            ("profile-name", "internal"), ("from-user", ext), ("from-host", user.domain),
            ("presence-hosts", "127.0.0.1,127.0.0.1"), ("contact", user.contact),
            ("call-id", user.call_id), ("rpid", "unknown"), ("status", "Registered(UDP)"),
            ("expires", str(expires)), ("to-user", ext), ("to-host", user.domain),
            ("network-ip", "127.0.0.1"), ("network-port", str(user.port)), ("username", ext),
            ("realm", user.domain), ("user-agent", "sentral-sim"), *self._user_headers(user)])
        return user

    def unregister(self, ext: str) -> None:
        user = self.users.get(ext)
        if user is None or not user.registered:
            return
        user.registered = False
        bus = self.switch.bus
        bus.fire("PRESENCE_IN", [
            ("proto", "sip"), ("rpid", "unknown"), ("login", "sip:mod_sofia@127.0.0.1:5060"),
            ("user-agent", "sentral-sim"), ("from", f"{ext}@{user.domain}"),
            ("status", "Unregistered"), ("presence-source", "register"), ("event_type", "presence")])
        bus.fire("CUSTOM", subclass="sofia::unregister", extra=[
            ("profile-name", "internal"), ("username", ext), ("from-user", ext),
            ("from-host", user.domain), ("contact", user.contact), ("call-id", user.call_id),
            ("rpid", "unknown"), ("realm", user.domain), ("network-ip", "127.0.0.1"),
            ("network-port", str(user.port)), ("user-agent", "sentral-sim"), ("expires", "0"),
            *self._user_headers(user)])

    def registered(self) -> list[SimUser]:
        return [u for u in self.users.values() if u.registered]
