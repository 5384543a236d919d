"""The supervisor page: live queues with alarms, live agents with listen / whisper / barge
and steering, today's abandoned calls to call back, the supervisors' audit log.

Rules:
- Login required (302 to /login). The page needs supervisor, tenant_admin or admin in some
  tenant (agent_ui.live.visible_tenants), else 403; it shows those tenants only.
- Server-rendered and translated (Flask-Babel); one script and one style sheet (CSP
  default-src 'self'); the script gets its texts from a JSON data block and puts every
  value into the page with textContent only. The live part is agent_ui.supervisor_socket
  (namespace /supervisor), where every action goes through agent_ui.actions.
- Listening needs a phone: the agent the user is bound to (store.users.bind_agent); a
  user without one is told so on the page and gets no listen buttons.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from flask_babel import gettext, lazy_gettext as _l

from agent_ui import console_state, i18n, live
from agent_ui.app import config_and_services
from agent_ui.auth import login_required

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


def engine():
    _, services = config_and_services()
    source = services.extra.get("engine")
    return source() if source else None


def phone_of(user, eng) -> str:
    """The user's bound agent (their softphone) if the running engine knows it, else ''."""
    if user is None or not user.agent or eng is None or user.agent not in eng.deployment.agents:
        return ""
    return user.agent


SHORTCUTS = (("↑ ↓", _l("Choose an agent")), ("l", _l("Listen")), ("w", _l("Whisper")), ("b", _l("Barge in")),
             ("s", _l("Stop listening")), ("p", _l("Pause with the chosen reason")), ("a", _l("Make available")),
             ("o", _l("Log out of the queues")), ("e", _l("End wrap-up")),
             ("c", _l("Call back the newest abandoned call")))


def js_texts() -> dict:
    return {k: str(v) for k, v in {
        "online": gettext("Connected"), "offline": gettext("Disconnected"), "none": gettext("None"),
        "ok": gettext("Done."), "refused": gettext("Refused"), "no_alarms": gettext("No alarms."),
        "no_abandoned": gettext("No abandoned calls to call back today."), "no_audit": gettext("No actions yet."),
        "callback": gettext("Call back"), "called_back": gettext("Callback queued."),
        "held": gettext("on hold"), "choose_agent": gettext("Choose an agent first."),
        "you": gettext("you"), "alarm_raised": gettext("Alarm: %(kind)s in %(queue)s"),
        "listening_to": gettext("%(mode)s: %(agent)s"),
        "close_item": gettext("Close"), "no_waiting": gettext("Nothing waiting."),
        "choose_result_code": gettext("Choose a result code."),
    }.items()}


@bp.get("/")
@login_required
def page():
    eng = engine()
    if eng is None:
        abort(503, gettext("The engine is not running."))
    tenants = live.visible_tenants(g.user, eng.deployment.tenants)
    if not tenants:
        abort(403, gettext("The supervisor page needs a supervisor or admin role."))
    phone = phone_of(g.user, eng)
    agent = eng.deployment.agents.get(phone) if phone else None
    names = sorted(eng.deployment.tenants[t].name for t in tenants)
    return render_template("supervisor/page.html", texts=js_texts(), locale=i18n.current(), phone=phone,
                           phone_agent=agent, tenant_names=names, shortcuts=SHORTCUTS,
                           pause_reasons=console_state.reasons(eng.deployment.pause_reasons, i18n.current()),
                           result_codes=console_state.reasons(eng.deployment.result_codes, i18n.current()),
                           written=any(q.written and q.tenant in tenants for q in eng.deployment.queues.values()))
