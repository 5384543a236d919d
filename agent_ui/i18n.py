"""The console's languages: Norwegian bokmål (the default) and English, through Flask-Babel.

Rules:
- msgids are English; `translations/<locale>/LC_MESSAGES/messages.po` holds every one of
  them for both `nb` and `en` (a test checks the catalogues are complete). The `.mo`
  files are compiled from the `.po` files at start-up when missing or older
  (`compile_catalogs`; `scripts/setup` does it at install too).
- The locale: `?lang=nb|en` (kept in the session: the user's choice), else the
  browser's Accept-Language (`no`, `nn`, `nb*` count as bokmål), else `nb`.
- Code that runs outside a request (Socket.IO pushes from the engine's notices) formats
  with `in_locale(app, locale)`: an app context with that locale forced.
- Numbers and times are Babel's, in the chosen locale (`number`, `clock`).
- Category values (agent states, presence states, absence reasons, recall reasons,
  error ids) are never shown raw: `label(kind, value)` translates them; an unknown
  value shows a translated "other".
"""
from __future__ import annotations

import contextlib
import logging
import pathlib
from datetime import datetime

from flask import request, session
from flask_babel import Babel, force_locale, format_decimal, format_time, get_locale, gettext, lazy_gettext as _l

TRANSLATIONS = pathlib.Path(__file__).resolve().parent / "translations"
LOCALES = ("nb", "en")
DEFAULT = "nb"
_BOKMAL = ("nb", "no", "nn")


def compile_catalogs(root: pathlib.Path = TRANSLATIONS) -> list[pathlib.Path]:
    """Compile every messages.po whose .mo is missing or older; returns the .mo files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        with mo.open("wb") as fh:
            write_mo(fh, catalog)
        written.append(mo)
    return written


def choose_locale() -> str:
    asked = request.args.get("lang", "")
    if asked in LOCALES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LOCALES:
        return session["lang"]
    for value, _quality in request.accept_languages:
        tag = value.lower().replace("_", "-")
        if tag.split("-")[0] in _BOKMAL:
            return "nb"
        if tag.split("-")[0] == "en":
            return "en"
    return DEFAULT


def init_app(app, timezone: str = "Europe/Oslo") -> None:
    try:
        compile_catalogs()
    except OSError as exc:   # a read-only install: the .mo files scripts/setup compiled are used
        logging.getLogger(__name__).warning("translations not compiled: %s", exc)
    Babel(app, locale_selector=choose_locale, default_locale=DEFAULT, default_timezone=timezone,
          default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals.update(current_locale=lambda: str(get_locale() or DEFAULT), label=label)


def current() -> str:
    return str(get_locale() or DEFAULT)


@contextlib.contextmanager
def in_locale(app, locale: str):
    """An app context whose gettext/format_* use `locale` (for pushes outside a request)."""
    with app.app_context(), force_locale(locale if locale in LOCALES else DEFAULT):
        yield


def number(value, digits: int = 0) -> str:
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt)


def clock(at: datetime | None) -> str:
    """A time of day in the locale's short form (14:00), in the centre's time zone
    (WebConfig.timezone, Flask-Babel's default time zone)."""
    if at is None:
        return ""
    return format_time(at, format="short")


def duration(seconds: float) -> str:
    """'1 min 05 s' / '42 s' with the locale's number formatting."""
    seconds = max(0, int(round(seconds or 0)))
    minutes, rest = divmod(seconds, 60)
    if minutes:
        return gettext("%(m)s min %(s)02d s", m=number(minutes), s=rest)
    return gettext("%(s)s s", s=number(rest))


def age(seconds: float) -> str:
    """How long a written item has waited: '3 h 05 min' / '2 d 4 h' / '12 min' (hours and
    minutes for the backlog, not seconds), numbers in the locale's format."""
    minutes = max(0, int((seconds or 0) // 60))
    hours, rest = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return gettext("%(d)s d %(h)s h", d=number(days), h=number(hours))
    if hours:
        return gettext("%(h)s h %(m)02d min", h=number(hours), m=rest)
    return gettext("%(m)s min", m=number(rest))


LABELS = {
    "agent_state": {
        "logged_out": _l("Logged out"), "available": _l("Available"), "offered": _l("Ringing"),
        "on_call": _l("On a call"), "wrap_up": _l("Wrap-up"), "paused": _l("Paused"),
        "no_phone": _l("No phone registered"),
    },
    "call_state": {
        "arrived": _l("Arriving"), "notice": _l("Recording notice"), "queued": _l("In queue"),
        "offering": _l("Ringing"), "connected": _l("Connected"), "wrap_up": _l("Wrap-up"),
        "ended": _l("Ended"), "abandoned": _l("Abandoned"), "overflowed": _l("Overflowed"),
        "callback": _l("Callback requested"), "callback_offering": _l("Callback ringing"),
        "calling_back": _l("Calling back"), "transferring": _l("Transferring"), "parked": _l("Parked"),
        "camped": _l("Waiting for a busy line"),
    },
    "presence": {
        "free": _l("Free"), "busy": _l("Busy"), "absent": _l("Absent"), "gone": _l("Left the agency"),
    },
    "absence": {
        "out-of-office": _l("Out of office"), "vacation": _l("Vacation"), "sick": _l("Sick leave"),
        "travel": _l("Travelling"), "course": _l("Course"), "meeting": _l("Meeting"), "busy": _l("Busy"),
        "tentative": _l("Tentative"), "other": _l("Other"),
    },
    "recall": {
        "no_answer": _l("No answer"), "busy": _l("Busy"), "rejected": _l("Rejected"),
        "unregistered": _l("Phone not registered"), "failed": _l("Transfer failed"),
        "park_timeout": _l("Parked too long"),
        "campon_timeout": _l("The line stayed busy"),
        "taken_back": _l("Taken back"),
    },
    "channel": {"email": _l("E-mail"), "sms": _l("SMS"), "task": _l("Task"), "voice": _l("Calls")},
    "item_state": {"queued": _l("Waiting"), "offered": _l("Offered"), "open": _l("Open"), "closed": _l("Closed")},
    "recording": {"on": _l("Recording"), "paused": _l("Recording paused")},   # a recorded call (console)
    "talking_to": {"caller": _l("Talking to the caller"), "target": _l("Talking to the transfer target"),
                   "both": _l("Conference")},
    "error": {
        "engine.no_call": _l("You have no call."),
        "engine.not_your_call": _l("That is not your call."),
        "engine.call_state": _l("The call cannot do that now."),
        "engine.invalid_digits": _l("Only the digits 0-9, * and # can be sent."),
        "engine.invalid_target": _l("That number or target cannot be dialled."),
        "engine.no_remote_answer": _l("Your phone cannot be answered from the console: answer on the phone."),
        "engine.queue_not_served": _l("You do not serve that queue."),
        "engine.unknown_pause_reason": _l("Unknown pause reason."),
        "engine.unknown_result_code": _l("Unknown result code."),
        "engine.not_in_wrap_up": _l("You are not in wrap-up."),
        "engine.agent_on_call": _l("Not while a call rings or is talked."),
        "engine.consult_in_progress": _l("A consultation is already in progress."),
        "engine.no_consult": _l("There is no consultation to act on."),
        "engine.too_soon": _l("Too soon after the last change: try again."),
        "engine.illegal_transition": _l("Not possible in your current state."),
        "engine.command_refused": _l("The command was refused."),
        "engine.unknown_agent": _l("Unknown agent."),
        "engine.no_recording": _l("No recording is running on this call."),
        "recall.not_moved": _l("That call is not transferring, parked or waiting for a busy line."),
        "recall.not_yours": _l("Only the operator who moved the call can take it back."),
        "recall.answered": _l("Too late: the transfer target answered."),
        "recall.busy": _l("You cannot take the call back now (another call, a pause or no phone)."),
        "item.not_found": _l("That written item is closed or gone."),
        "item.not_yours": _l("That written item is not yours."),
        "item.refused": _l("The written item cannot do that now."),
        "item.empty": _l("Write a reply first."),
        "item.too_long": _l("The reply is too long."),
        "item.not_open": _l("Take the item before you reply."),
        "item.no_attachment": _l("No such attachment."),
        "console.not_bound": _l("Your login is not bound to an agent."),
        "console.bad_command": _l("Unknown or malformed command."),
        "console.engine_down": _l("The engine is not running."),
        "console.consult_failed": _l("The consultation call failed."),
    },
}


def label(kind: str, value: str) -> str:
    """The translated label of a category value (never the raw English value)."""
    if not value:
        return ""
    text = LABELS.get(kind, {}).get(value)
    if text is None:
        return gettext("Refused") if kind == "error" else gettext("Other")
    return str(text)


def all_msgids() -> set[str]:
    """Every msgid used through LABELS (the test of the catalogues reads the templates too)."""
    return {t._args[0] for table in LABELS.values() for t in table.values()}
