"""The console's catalogues are complete: every msgid in its Python modules and templates
has a bokmål and an English translation, and every category value an operator can see
(agent, call and presence states, absence and recall reasons, the engine's error ids)
has a label, so no raw English value reaches a page."""
from __future__ import annotations

import pathlib
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from agent_ui import i18n
from engine import errors
from engine.agents import AgentState
from engine.directory.model import AbsenceCategory, PresenceState
from engine.interactions import CallState

ROOT = pathlib.Path(i18n.__file__).resolve().parent.parent
CFG = ROOT / "agent_ui" / "babel.cfg"


def used_msgids() -> set[str]:
    from babel.messages.frontend import parse_mapping_cfg

    with open(CFG, encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    return {msg[2] for msg in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
            if isinstance(msg[2], str)}


def catalog(locale: str):
    with open(i18n.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_msgid_has_a_translation(locale):
    used = used_msgids()
    assert len(used) > 100
    cat = catalog(locale)
    missing = sorted(m for m in used if not (cat.get(m) and cat.get(m).string))
    assert missing == []
    fuzzy = sorted(m.id for m in cat if m.id and m.fuzzy)
    assert fuzzy == []


def test_bokmal_is_not_english():
    cat = catalog("nb")
    same = [m.id for m in cat if m.id and m.string == m.id and not re.fullmatch(r"[%()\w\s]*s", m.id)]
    # words spelt alike in both languages are allowed, but only those
    assert set(same) <= {"Pause", "SMS", "%(m)s min"}, same       # the same words in both


def test_placeholders_survive_translation():
    for locale in i18n.LOCALES:
        for m in catalog(locale):
            if m.id:
                assert set(re.findall(r"%\(\w+\)", m.id)) == set(re.findall(r"%\(\w+\)", m.string)), (locale, m.id)


@pytest.mark.parametrize("kind,values", [
    ("agent_state", [s.value for s in AgentState] + ["no_phone"]),
    ("call_state", [s.value for s in CallState]),
    ("presence", [s.value for s in PresenceState]),
    ("absence", [c.value for c in AbsenceCategory]),
    ("recall", ["no_answer", "busy", "rejected", "unregistered", "failed", "park_timeout"]),
    ("error", [cls.error_id for cls in vars(errors).values()
               if isinstance(cls, type) and issubclass(cls, errors.DomainError) and cls is not errors.DomainError]),
])
def test_every_category_value_has_a_label(kind, values):
    assert set(values) <= set(i18n.LABELS[kind]), set(values) - set(i18n.LABELS[kind])


def test_labels_are_translated_in_both_languages():
    from flask import Flask

    app = Flask(__name__)
    i18n.init_app(app)
    with i18n.in_locale(app, "nb"):
        assert i18n.label("agent_state", "paused") == "Pause"
        assert i18n.label("presence", "absent") == "Fraværende"
        assert i18n.label("error", "engine.not_your_call") == "Det er ikke din samtale."
        assert i18n.label("error", "something.new") == "Avvist", "an unknown id is still translated"
        assert i18n.number(1234567) == "1\xa0234\xa0567"
        assert i18n.duration(65) == "1 min 05 s"
    with i18n.in_locale(app, "en"):
        assert i18n.label("presence", "absent") == "Absent"
        assert i18n.number(1234567) == "1,234,567"
