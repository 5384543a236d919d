"""The switchboard directory as the domain sees it: frozen dataclasses, no I/O.

Rules:
- Every record belongs to one tenant (client agency) and is identified inside it by
  the *external id* its source gives it (`PersonKey(tenant, external_id)`).
- Fields listed in `LOCAL_PERSON_FIELDS` are maintained only here (web maintenance):
  an import or a sync never overwrites them. Every other field belongs to the source.
- A person who is no longer delivered by their source is not deleted: `gone_since` is
  set and they stay findable for operators (with their substitute) for a retention
  period; `delete_missing` in the store does that.
- Absences come from several sources (web registration, iCalendar, CalDAV, Graph,
  Domino); each source replaces only its own absences. Times are timezone-aware UTC.
- Phone numbers are stored E.164-normalised (`store.phones`).
Pure: standard library only.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class PersonKey(NamedTuple):
    tenant: str
    external_id: str


@dataclass(frozen=True)
class OrgUnit:
    tenant: str
    external_id: str
    name: str
    parent_id: str | None = None      # external id of the parent unit; None = top of the agency
    phone: str = ""                   # E.164
    email: str = ""
    location: str = ""
    source: str = "import"


@dataclass(frozen=True)
class Person:
    tenant: str
    external_id: str
    given_name: str
    family_name: str
    title: str = ""
    unit_id: str | None = None        # external id of the OrgUnit
    direct_phone: str = ""            # E.164, e.g. "+4722334455"
    mobile_phone: str = ""
    switchboard_phone: str = ""
    email: str = ""
    location: str = ""
    keywords: tuple[str, ...] = ()    # responsibilities ("lønn", "arkiv", ...), from the source
    substitute_id: str | None = None  # external id of the standing substitute, from the source
    source: str = "import"
    # --- maintained only here (LOCAL_PERSON_FIELDS), never overwritten by import/sync
    operator_notes: str = ""
    local_keywords: tuple[str, ...] = ()
    local_substitute_id: str | None = None
    # --- set by the store when the source stops delivering the person
    gone_since: datetime | None = None

    @property
    def key(self) -> PersonKey:
        return PersonKey(self.tenant, self.external_id)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def substitute(self) -> str | None:
        """The substitute an operator should offer: the local choice wins."""
        return self.local_substitute_id or self.substitute_id

    @property
    def all_keywords(self) -> tuple[str, ...]:
        return self.keywords + tuple(k for k in self.local_keywords if k not in self.keywords)


LOCAL_PERSON_FIELDS = ("operator_notes", "local_keywords", "local_substitute_id")
SOURCE_PERSON_FIELDS = (
    "given_name", "family_name", "title", "unit_id", "direct_phone", "mobile_phone",
    "switchboard_phone", "email", "location", "keywords", "substitute_id",
)


@dataclass(frozen=True)
class Service:
    """A function an agency answers for ("Postmottak", "Lønn"), findable like a person."""

    tenant: str
    external_id: str
    name: str
    unit_id: str | None = None
    phone: str = ""                   # E.164
    email: str = ""
    opening_hours: str = ""           # human text, e.g. "Mon-Fri 08:00-15:30"
    description: str = ""             # what it handles, shown to the operator
    keywords: tuple[str, ...] = ()
    source: str = "import"


class AbsenceCategory(enum.Enum):
    """Reason categories an operator may see. Private events are only ever BUSY."""

    OUT_OF_OFFICE = "out-of-office"   # away; calls go to the substitute
    VACATION = "vacation"
    SICK = "sick"
    TRAVEL = "travel"
    COURSE = "course"
    MEETING = "meeting"               # busy but in the building
    BUSY = "busy"                     # busy, no detail (private or unspecified)
    TENTATIVE = "tentative"
    OTHER = "other"


# Which presence state each category gives while it is in force.
ABSENT_CATEGORIES = frozenset({
    AbsenceCategory.OUT_OF_OFFICE, AbsenceCategory.VACATION, AbsenceCategory.SICK,
    AbsenceCategory.TRAVEL, AbsenceCategory.COURSE, AbsenceCategory.OTHER,
})


@dataclass(frozen=True)
class Absence:
    """One interval in which a person is away or busy. `end` is exclusive.

    `source` names where it came from ("web", "ical:<feed>", "caldav:<cal>",
    "graph:<mailbox>", "domino:<db>"); `external_id` is stable within that source
    (event UID + recurrence id, or the web registration id). `subject` is empty for
    private events. `back_at` overrides `end` as the time told to callers, if given.
    """

    tenant: str
    person_id: str                    # external id of the person
    start: datetime
    end: datetime
    category: AbsenceCategory = AbsenceCategory.OUT_OF_OFFICE
    source: str = "web"
    external_id: str = ""
    subject: str = ""
    private: bool = False
    back_at: datetime | None = None
    created_by: str = ""              # user who registered it (web), "" for syncs

    @property
    def person_key(self) -> PersonKey:
        return PersonKey(self.tenant, self.person_id)

    def covers(self, t: datetime) -> bool:
        return self.start <= t < self.end


class PresenceState(enum.Enum):
    FREE = "free"
    BUSY = "busy"          # in a meeting / on the phone, reachable later today
    ABSENT = "absent"      # away: offer the substitute
    GONE = "gone"          # left the agency


@dataclass(frozen=True)
class Presence:
    state: PresenceState
    category: AbsenceCategory | None = None
    back_at: datetime | None = None
    source: str = ""
    detail: str = ""       # the subject, only for non-private events

    @property
    def label(self) -> str:
        text = self.state.value
        if self.category and self.category.value != self.state.value:
            text += f" ({self.category.value})"
        if self.back_at:
            text += f", back {self.back_at.isoformat(timespec='minutes')}"
        return text


@dataclass(frozen=True)
class SourceStatus:
    """Health of one source for one tenant (LDAP server, calendar feed, import file)."""

    tenant: str
    source: str
    last_success: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None


@dataclass(frozen=True)
class ChangeSummary:
    """What an upsert/import did (or would do, in a dry run)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()     # persons: marked gone; units/services: deleted
    unchanged: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def merged(self, other: "ChangeSummary") -> "ChangeSummary":
        return ChangeSummary(self.added + other.added, self.changed + other.changed,
                             self.removed + other.removed, self.unchanged + other.unchanged)


DEFAULT_MAX_REMOVAL_SHARE = 0.2   # of a tenant's active persons of one source, per import or sync round


class MassRemovalRefused(ValueError):
    """An import or sync round would mark more than the allowed share of a tenant's
    persons gone: a file with only a header, an LDAP base that suddenly returns nothing.
    That is a fault of the source, not a purge; nothing is written."""

    error_id = "directory.mass_removal_refused"

    def __init__(self, tenant: str, source: str, removing: int, active: int, max_share: float):
        self.tenant, self.source, self.removing, self.active, self.max_share = tenant, source, removing, active, max_share
        super().__init__(
            f"tenant {tenant}: {source} would mark {removing} of {active} persons gone "
            f"({removing / active:.0%}, more than the {max_share:.0%} allowed); refused, nothing written. "
            "Check the source; if the removal is intended, allow it (--allow-mass-removal)")


def check_removal(tenant: str, source: str, removing: int, active: int, max_share: float | None) -> None:
    """Raise MassRemovalRefused if `removing` of `active` persons is more than `max_share`
    (None = no limit). A tenant without active persons has nothing to lose."""
    if max_share is not None and active and removing > max_share * active:
        raise MassRemovalRefused(tenant, source, removing, active, max_share)
