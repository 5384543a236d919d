"""The `conference` application (mod_conference), as much as call control needs: a leg
joins a room (`conference <room>@<profile>`, created by its first member), stays until it
hangs up or is transferred away, and the others stay when one leaves; the room goes when
its last member does.

Events: CUSTOM `conference::maintenance` with `Action` conference-create, add-member,
del-member, conference-destroy, `Conference-Name`, `Conference-Size`,
`Conference-Profile-Name`, `Member-ID` and the member's channel headers (Unique-ID...).
The channel is answered on entry, as mod_conference does. Registered with apps.APPS.
"""
from __future__ import annotations

import itertools

from esl.sim import apps

SUBCLASS = "conference::maintenance"


class Room:
    def __init__(self, name: str, profile: str):
        self.name = name
        self.profile = profile
        self.members: dict[str, int] = {}  # channel uuid -> member id
        self.ids = itertools.count(1)


def rooms(switch) -> dict[str, Room]:
    if not hasattr(switch, "conferences"):
        switch.conferences = {}
    return switch.conferences


def _fire(switch, room: Room, action: str, ch=None, member: int | None = None) -> None:
    extra = [("Conference-Name", room.name), ("Conference-Domain", switch.global_vars.get("domain", "")),
             ("Conference-Size", str(len(room.members))), ("Conference-Profile-Name", room.profile)]
    if ch is not None:
        extra += ch.channel_block()
    if member is not None:
        extra += [("Member-ID", str(member)), ("Member-Type", "member")]
    extra.append(("Action", action))
    switch.bus.fire("CUSTOM", extra, subclass=SUBCLASS)


def app_conference(ch, arg: str) -> str:
    switch = ch.switch
    name, _, profile = (arg.split()[0] if arg.split() else "").partition("@")
    if not name:
        return apps.NONE
    ch.answer()
    table = rooms(switch)
    room = table.get(name)
    if room is None:
        room = table[name] = Room(name, profile or "default")
        _fire(switch, room, "conference-create")
    member = next(room.ids)
    room.members[ch.uuid] = member
    ch.conference = name
    _fire(switch, room, "add-member", ch, member)
    try:
        apps._serve(ch, ("transfer",))
    finally:
        room.members.pop(ch.uuid, None)
        ch.conference = ""
        _fire(switch, room, "del-member", ch, member)
        if not room.members:
            table.pop(name, None)
            _fire(switch, room, "conference-destroy")
    return apps.NONE


def members(switch, name: str) -> list[str]:
    """The uuids in a room now (tests and the demo ask; FreeSWITCH: `conference <room> list`)."""
    room = rooms(switch).get(name)
    return list(room.members) if room is not None else []


apps.APPS["conference"] = app_conference
