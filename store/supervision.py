"""What the supervisor page reads from the store: today's abandoned calls still to call
back, and the supervisor actions of the audit log.

Rules:
- "Today" is the local day of engine.statistics.DAY_ZONE (store.journal_stats.day_bounds).
- An abandoned call is a journal row `abandoned` of a queue (a caller who hung up before
  reaching a queue names none and is not listed: a callback goes through a queue) whose
  interaction has a caller number. It is listed unless it is already dealt with:
  * a callback was made for it (a `callback_requested` row whose `origin` is it), or
  * the same number has a later interaction in the same tenant, whatever became of it
    (the caller called again, or was called back: a callback is an interaction with the
    number as its caller number). So of several abandoned calls from one number only
    the newest is listed, and it disappears once anyone calls that number back.
  Newest first, at most `limit`.
- Audit entries: the supervisor actions (`agent.*`, `call.*`, refusals included) of the
  given tenants, newest first. An entry's tenant is the comma-joined tenants of the agent
  it concerns (agent_ui.actions); an entry counts for a tenant named in it. Entries
  without a tenant (stop listening) count for the actor's own page: `actor`.
- Read-only, one SELECT per question.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

import sqlalchemy as sa

from store.journal_stats import day_bounds
from store.models import Interaction, JournalRow
from store.records import AuditRecord, from_row
from store.users import AUDIT

SUPERVISOR_ACTIONS = ("agent.", "call.")
AUDIT_SCAN = 2000          # the newest audit rows looked at for one page


@dataclass(frozen=True)
class Abandoned:
    interaction: str
    tenant: str
    queue: str
    at: datetime
    caller_number: str
    caller_name: str
    waited: float


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=timezone.utc) if at is not None and at.tzinfo is None else at


def abandoned_to_call_back(conn: sa.Connection, tenants: Iterable[str], now: datetime,
                           limit: int = 100) -> list[Abandoned]:
    tenants = sorted(set(tenants))
    if not tenants:
        return []
    start, end = day_bounds(now)
    j, i = JournalRow.__table__, Interaction.__table__
    rows = conn.execute(
        sa.select(j.c.interaction, j.c.tenant, j.c.queue, j.c.at, j.c.data, i.c.caller_number, i.c.caller_name,
                  i.c.entered_at)
        .join(i, i.c.id == j.c.interaction)
        .where(j.c.kind == "abandoned", j.c.tenant.in_(tenants), j.c.queue != "", j.c.at >= start, j.c.at < end,
               i.c.caller_number != "")
        .order_by(j.c.at.desc(), j.c.interaction)).all()
    if not rows:
        return []
    called_back = {str((r.data or {}).get("origin", "")) for r in conn.execute(
        sa.select(j.c.data).where(j.c.kind == "callback_requested", j.c.tenant.in_(tenants), j.c.at >= start))}
    numbers = sorted({r.caller_number for r in rows})
    latest: dict[tuple[str, str], datetime] = {}
    for r in conn.execute(sa.select(i.c.tenant, i.c.caller_number, sa.func.max(i.c.entered_at).label("last"))
                          .where(i.c.caller_number.in_(numbers), i.c.tenant.in_(tenants), i.c.entered_at >= start)
                          .group_by(i.c.tenant, i.c.caller_number)):
        latest[(r.tenant, r.caller_number)] = _aware(r.last)
    out = []
    for r in rows:
        if r.interaction in called_back:
            continue
        if latest.get((r.tenant, r.caller_number), _aware(r.entered_at)) > _aware(r.entered_at):
            continue            # called again (or called back) later
        try:
            waited = float((r.data or {}).get("waited", 0) or 0)
        except (TypeError, ValueError):
            waited = 0.0
        out.append(Abandoned(r.interaction, r.tenant, r.queue, _aware(r.at), r.caller_number, r.caller_name or "",
                             waited))
        if len(out) >= limit:
            break
    return out


def concerns(entry: AuditRecord, tenants: set[str], actor: str = "") -> bool:
    named = {t for t in (entry.tenant or "").split(",") if t}
    return bool(named & tenants) or (not named and bool(actor) and entry.actor == actor)


def supervisor_actions(conn: sa.Connection, tenants: Iterable[str], actor: str = "",
                       limit: int = 50) -> list[AuditRecord]:
    tenants = set(tenants)
    t = AUDIT
    stmt = (sa.select(t).where(sa.or_(*(t.c.action.startswith(p) for p in SUPERVISOR_ACTIONS)))
            .order_by(t.c.at.desc(), t.c.id.desc()).limit(AUDIT_SCAN))
    out = []
    for row in conn.execute(stmt):
        entry = from_row(AuditRecord, row)
        if concerns(entry, tenants, actor):
            out.append(entry)
            if len(out) >= limit:
                break
    return out
