"""Reloading: what changed is named; an invalid file leaves the running configuration."""
from __future__ import annotations

import logging

from dialplan.loader import load
from dialplan.reload import Reloader, diff
from tests.dialplan.files import DEMO, DEMO_ENV, MINIMAL, write


def test_diff_names_every_change_and_hides_secrets(tmp_path):
    old = load(write(tmp_path, MINIMAL + "freeswitch: {nodes: [{name: fs1, password: {env: PW}}]}\n"), {"PW": "a"})
    changed = MINIMAL.replace("queues:\n      - {id: acme-main, name: Main}",
                              "queues:\n      - {id: acme-main, name: Main, ring_timeout: 45, strategy: ring-all}\n"
                              "      - {id: acme-orders}")
    changed = changed.replace('"+4722000001"', '"+4722000002"').replace('name: Kari,', 'name: Kari N,')
    new = load(write(tmp_path, changed + "freeswitch: {nodes: [{name: fs1, password: {env: PW}}]}\n",
                     "new.yaml"), {"PW": "b"})
    lines = diff(old, new)
    assert "node fs1: password (changed)" in lines
    assert "queue acme-main: ring_timeout 20 -> 45" in lines
    assert "queue acme-main: strategy longest-idle -> ring-all" in lines
    assert "queue acme-orders added" in lines
    assert "number +4722000002 added" in lines and "number +4722000001 removed" in lines
    assert "agent kari: name 'Kari' -> 'Kari N'" in lines
    assert not any("'a'" in line or "'b'" in line for line in lines)
    assert diff(new, new) == []


def test_an_invalid_reload_keeps_the_running_configuration(tmp_path, caplog):
    path = write(tmp_path, MINIMAL)
    seen = []
    reloader = Reloader(lambda: load(path, {}), on_change=lambda old, new, changes: seen.append(changes))
    first = reloader.current
    write(tmp_path, MINIMAL.replace("acme-main, name: Main", "acme-main, strategy: fastest"))
    with caplog.at_level(logging.ERROR, logger="dialplan.reload"):
        result = reloader.reload()
    assert not result.ok and result.error.problems[0].code == "bad-value"
    assert reloader.current is first and seen == []
    assert "stays in force" in caplog.text and "fastest" in caplog.text

    write(tmp_path, MINIMAL.replace("acme-main, name: Main", "acme-main, name: Main, wrapup: 30"))
    result = reloader.reload()
    assert result.ok and result.changes == ["queue acme-main: wrapup 10 -> 30"]
    assert reloader.current.queues["acme-main"].wrapup == 30.0 and seen == [result.changes]
    assert first.queues["acme-main"].wrapup == 10.0   # the old object is untouched (calls keep it)


def test_reloading_an_unchanged_file_changes_nothing():
    reloader = Reloader(lambda: load(str(DEMO), DEMO_ENV))
    result = reloader.reload()
    assert result.ok and result.changes == []


def test_diff_names_changes_of_the_written_channels(tmp_path):
    base = MINIMAL.replace("      - {id: acme-main, name: Main}",
                           "      - {id: acme-main, name: Main}\n"
                           "      - {id: acme-post, channel: email, mailbox: {host: imap.acme.no, username: post, "
                           "password: {env: IMAP_PW}}}\n      - {id: acme-sms, channel: sms}")
    sms = "sms: {gateway: http, url: 'https://gw.example.org/send', webhook_secret: {env: HOOK}, numbers: {'2020': acme-sms}}\n"
    old = load(write(tmp_path, base + sms), {}, require_env=False)
    new = load(write(tmp_path, base.replace("imap.acme.no", "imap2.acme.no") + "capacity: {written: 5}\n" +
                     sms.replace("'2020'", "'2021'"), "new.yaml"), {}, require_env=False)
    lines = diff(old, new)
    assert "mailbox acme-post: host 'imap.acme.no' -> 'imap2.acme.no'" in lines
    assert any(line.startswith("sms gateway: numbers (SmsNumber(number='2020'") for line in lines)
    assert any(line.startswith("capacity: Capacity(written=3.0") for line in lines)
    assert any(line.startswith("agent kari: capacity ") for line in lines)
    assert diff(new, new) == []
