"""What the console's "Skriftlig" (written) panel and the supervisor's written backlog show.

Rules:
- Pure over the engine object passed in (engine.views only read), called inside an app
  context with the viewer's locale (agent_ui.i18n.in_locale): every label, number and
  time is formatted here; the browser only places text.
- The console lists the items the agent holds (engine.written: offered ones first, with
  the seconds left of the offer, then open ones), each with what it may become: the
  written queues of the same channel to transfer it to (every agency's: a shared centre
  sends items on), and the reply templates of the item's agency for its channel with
  `{name}`, `{case}` and `{agency}` filled in (plain replacement: any other brace in the
  text stays as written; the loader refuses unknown placeholders).
- The supervisor's backlog: the written queues of the viewer's tenants with waiting,
  the oldest's age in hours and minutes, offered and open counts and today's service
  level, and the first waiting items of each (a supervisor may close one, e.g. spam).
"""
from __future__ import annotations

from datetime import datetime

from agent_ui import console_state, i18n
from engine import views

ORDER = {"offered": 0, "open": 1}
WAITING_SHOWN = 20


def sender_display(kind: str, sender: str) -> str:
    return console_state.phone(sender) if kind == "sms" else sender


def fill(text: str, *, name: str, case: str, agency: str) -> str:
    for key, value in (("name", name), ("case", case), ("agency", agency)):
        text = text.replace("{" + key + "}", value)
    return text


def templates(eng, item) -> list[dict]:
    tenant = eng.deployment.tenants.get(item.tenant)
    if tenant is None:
        return []
    name = item.sender_name or sender_display(item.channel, item.sender)
    return [{"id": t.id, "name": t.name,
             "text": fill(t.text, name=name, case=item.case, agency=tenant.name)}
            for t in tenant.reply_templates if not t.channels or item.channel in t.channels]


def targets(eng, item) -> list[dict]:
    """The written queues of the item's channel it may be transferred to (not its own)."""
    names = {t: c.name for t, c in eng.deployment.tenants.items()}
    return [{"id": qid, "name": q.name, "tenant": q.tenant, "tenant_name": names.get(q.tenant, q.tenant)}
            for qid, q in sorted(eng.deployment.queues.items(), key=lambda kv: (kv[1].tenant != item.tenant,
                                                                              names.get(kv[1].tenant, ""),
                                                                              kv[1].name))
            if q.written and q.channel == item.channel and qid != item.queue]


def item_part(eng, item, now: datetime) -> dict:
    queue = eng.deployment.queues.get(item.queue)
    tenant = eng.deployment.tenants.get(item.tenant)
    state = item.state.value
    left = max(0.0, (item.deadline - now).total_seconds()) if state == "offered" and item.deadline else None
    return {"id": item.id, "kind": item.channel, "kind_label": i18n.label("channel", item.channel),
            "state": state, "state_label": i18n.label("item_state", state),
            "tenant": item.tenant, "tenant_name": tenant.name if tenant else item.tenant,
            "queue": item.queue, "queue_name": queue.name if queue else item.queue,
            "case": item.case, "sender": item.sender, "sender_display": sender_display(item.channel, item.sender),
            "sender_name": item.sender_name, "subject": item.subject,
            "arrived": i18n.clock(item.arrived_at), "waited": i18n.age(item.waited(now)),
            "left": left, "messages": len(item.messages), "replies": item.replies,
            "targets": targets(eng, item), "templates": templates(eng, item)}


def console(eng, aid: str, now: datetime) -> list[dict]:
    """The written items agent `aid` holds, offered first, then open, oldest first."""
    agent = eng.agents.get(aid)
    if agent is None:
        return []
    held = [eng.items[i] for i in agent.written if i in eng.items]
    held += [it for it in eng.items.values() if it.agent == aid and it.id not in agent.written]
    held = [it for it in held if it.state.value in ORDER and not it.ended]
    held.sort(key=lambda it: (ORDER[it.state.value], it.arrived_at, it.id))
    return [item_part(eng, it, now) for it in held]


def has_written(eng, aid: str) -> bool:
    """Whether the agent serves a written queue (the console then shows the panel)."""
    agent = eng.agents.get(aid)
    queues = eng.deployment.queues
    return agent is not None and any(q in queues and queues[q].written for q in agent.config.queues)


def percent(level: float | None) -> str:
    return "–" if level is None else i18n.number(100 * level) + " %"


def backlog(eng, tenants: set[str], now: datetime) -> list[dict]:
    """The written queues of `tenants` for the supervisor page and their first waiting items."""
    names = {t: c.name for t, c in eng.deployment.tenants.items()}
    rows = []
    for q in views.written_queues(eng, now):
        if q["tenant"] not in tenants:
            continue
        waiting = [{"id": w["id"], "sender": sender_display(w["kind"], w["sender"]), "sender_name": w["sender_name"],
                    "subject": w["subject"], "case": w["case"], "waited": i18n.age(w["waited"]),
                    "automatic": w["automatic"]}
                   for w in views.waiting_items(eng, q["queue"], now, WAITING_SHOWN)]
        rows.append({"id": q["queue"], "name": q["name"], "tenant": q["tenant"],
                     "tenant_name": names.get(q["tenant"], q["tenant"]),
                     "channel": q["channel"], "channel_label": i18n.label("channel", q["channel"]),
                     "waiting": i18n.number(q["waiting"]), "waiting_count": q["waiting"],
                     "oldest": i18n.age(q["oldest_wait"]) if q["waiting"] else "–",
                     "offered": i18n.number(q["offered"]), "open": i18n.number(q["open"]),
                     "answered": i18n.number(q["answered"]), "service_level": percent(q["service_level"]),
                     "items": waiting})
    return rows
