"""The recordings page's search form: the query string in, checked filters out.

Rules:
- Dates are local days (WebConfig.timezone, the centre's): `from` is inclusive from its
  midnight, `to` inclusive to the end of its day; a day before 2000 or after 2100, or `to`
  before `from`, is refused with a message (400), never a database error.
- The caller number is what people type (`915 20 431`, `+47 22 24 16 02`): spaces, dots
  and dashes are dropped, then only digits with an optional leading `+` are accepted; it
  matches anywhere in the stored E.164 number.
- Tenant, queue and agent are ids (letters, digits, `_`, `-`, `.`); the interaction is an
  id of the same form. Anything else is refused rather than searched for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Mapping
from zoneinfo import ZoneInfo

from flask_babel import gettext

IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CALLER = re.compile(r"\+?[0-9]{1,15}")
_SEPARATORS = re.compile(r"[\s.\-()]")


class SearchRefused(ValueError):
    """A filter that cannot be searched for; the message is for the page."""


@dataclass(frozen=True)
class RecordingQuery:
    since: datetime | None = None
    until: datetime | None = None
    tenant: str = ""
    queue: str = ""
    agent: str = ""
    caller: str = ""
    interaction: str = ""

    def filters(self) -> dict:
        """Keyword arguments of store.recordings.search (tenants aside)."""
        return {"since": self.since, "until": self.until, "queue": self.queue or None, "agent": self.agent or None,
                "caller": self.caller or None, "interaction": self.interaction or None}

    def audited(self) -> dict:
        """The filters as the access log keeps them (what was looked for)."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in {**self.filters(), "tenant": self.tenant}.items() if v}


def _day(text: str, what: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise SearchRefused(gettext("Give %(what)s as a date (YYYY-MM-DD).", what=what)) from None
    if not 2000 <= day.year <= 2100:
        raise SearchRefused(gettext("Give %(what)s as a date (YYYY-MM-DD).", what=what))
    return day


def _ident(text: str, what: str) -> str:
    text = text.strip()
    if text and not IDENT.fullmatch(text):
        raise SearchRefused(gettext("%(what)s is not a valid id.", what=what))
    return text


def parse(args: Mapping[str, str], timezone: str) -> RecordingQuery:
    tz = ZoneInfo(timezone)
    first = _day(args.get("from", "").strip()[:32], gettext("From"))
    last = _day(args.get("to", "").strip()[:32], gettext("To"))
    if first and last and last < first:
        raise SearchRefused(gettext("The end date is before the start date."))
    caller = _SEPARATORS.sub("", args.get("caller", "")[:64])
    if caller and not CALLER.fullmatch(caller):
        raise SearchRefused(gettext("A caller number has only digits (and a leading +)."))
    return RecordingQuery(
        since=datetime.combine(first, time(), tz) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), tz) if last else None,
        tenant=_ident(args.get("tenant", "")[:128], gettext("Agency")),
        queue=_ident(args.get("queue", "")[:128], gettext("Queue")),
        agent=_ident(args.get("agent", "")[:128], gettext("Agent")),
        caller=caller,
        interaction=_ident(args.get("interaction", "")[:128], gettext("Interaction")))
