"""Tier (d): the supervisor page in a real Chromium, through `sentral demo --manual`.

The demo runs as its own process (as the console's browser test runs it: its SQLite in
the test's tmp dir, the web listener on a free loopback port). The operator `kari` works
from her console in one page; the supervisor `siri` (bound to the demo agent `siri`, a
simulated softphone that answers after OPERATOR_RING seconds) watches from the supervisor
page in another; the team lead `tor` (nordlys only) in a third. Checked: siri sees kari's
call (caller number the Norwegian way), listens, whispers and barges in (the page shows
the mode; the journal gets monitor_started / monitor_changed / monitor_ended), stops,
forces a pause with a reason (kari's console and the page change), calls an abandoned
caller back (the callback request is journaled with its origin and the call leaves the
list); tor does not see agents of other agencies, and a forged Socket.IO request from his
browser for one of them, or for kari (who also serves fjordvik), is refused; every action
is in the audit log (who, what, whom, when) and on the page.
"""
from __future__ import annotations

import pytest

from tests.e2e.test_console_in_browser import WAIT_MS, Console, DemoProcess
from tests.helpers import chromium, until


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = DemoProcess(tmp_path_factory.mktemp("supervisor-demo"), smtp_port=9)   # no message is sent here
    try:
        d.wait_started()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def logged_in(browser, demo, user: str, path: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="nb-NO")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(demo.base + path)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", demo.passwords[user])
    page.click("form button, form input[type=submit]")
    page.goto(demo.base + path)
    page.wait_for_selector("#status.online", timeout=WAIT_MS)
    page.errors = errors
    return page


def tid(page, testid: str):
    return page.locator(f"[data-testid='{testid}']")


def wait_js(page, script: str, arg=None):
    page.wait_for_function(script, arg=arg, timeout=WAIT_MS)


def audit(demo) -> list[tuple[str, str, str]]:
    from store.store import Store

    store = Store(demo.db_url)
    try:
        return [(e.actor, e.action, e.target_id) for e in store.audit_entries() if e.action.startswith(("agent.", "call."))]
    finally:
        store.close()


def test_supervisor_listens_whispers_barges_steers_and_calls_back(demo, browser, tmp_path):
    kari = Console(logged_in(browser, demo, "kari", "/console/"), demo)
    kari.available()
    siri = logged_in(browser, demo, "siri", "/supervisor/")
    assert tid(siri, "phone").text_content().startswith("Du lytter på Siri Strand")
    number = kari.talking("nordlys", "Per Ringer")
    shown = f"{number[2:5]} {number[5:7]} {number[7:]}"
    wait_js(siri, "n => (document.querySelector(\"[data-testid='agent-kari-call']\") || {}).textContent"
                  "?.startsWith(n)", shown)
    assert "Nordlys helseforetak" in tid(siri, "agent-kari-call").text_content()
    # listen (keyboard: choose the agent with the arrows, then l), whisper, barge
    tid(siri, "agent-kari").click()
    siri.keyboard.press("l")
    wait_js(siri, "() => document.getElementById('my-monitor').dataset.mode === 'listen'")
    until(lambda: "monitor_started" in demo.kinds(number), timeout=15, message="monitor started in the journal")
    wait_js(siri, "() => /Lytter/.test(document.querySelector(\"[data-testid='agent-kari-monitored']\").textContent)")
    for mode, label in (("whisper", "Hvisker"), ("barge", "Bryter inn")):
        tid(siri, f"btn-{mode}").click()
        wait_js(siri, "m => document.getElementById('my-monitor').dataset.mode === m", mode)
        assert tid(siri, "my-monitor").text_content().startswith(label)
    siri.screenshot(path=str(tmp_path / "supervisor.png"), full_page=True)   # docs/img/supervisor.png
    until(lambda: [r.get("mode") for r in demo.rows(number, "monitor_changed")] == ["whisper", "barge"], timeout=15,
          message=lambda: demo.kinds(number))
    tid(siri, "btn-stop").click()
    wait_js(siri, "() => document.getElementById('my-monitor').dataset.mode === ''")
    until(lambda: "monitor_ended" in demo.kinds(number), timeout=15, message="monitor ended")
    # a forced pause with a reason: kari's console and the page change
    kari.hang_up_and_wrap_up()
    tid(siri, "pause-reason").select_option("mote")
    tid(siri, "agent-kari").click()
    tid(siri, "btn-pause").click()
    kari.wait_state("paused")
    assert kari.tid("agent-reason").text_content() == "Møte"
    wait_js(siri, "() => document.querySelector(\"[data-testid='agent-kari-state']\").dataset.state === 'paused'")
    # an abandoned call: nobody free, the caller hangs up; one click calls them back
    lost = demo.call("nordlys", "Tapt Innringer")
    until(lambda: "entered_queue" in demo.kinds(lost), timeout=15, message="the caller queued")
    demo.proc.stdin.write(f"hangup {lost}\n")
    demo.proc.stdin.flush()
    until(lambda: "abandoned" in demo.kinds(lost), timeout=15, message="abandoned")
    origin = next(r.id for r in _contacts(demo, lost))
    item = tid(siri, f"abandoned-{origin}")
    item.wait_for(timeout=WAIT_MS)
    assert tid(siri, f"abandoned-{origin}-number").text_content() == f"{lost[2:5]} {lost[5:7]} {lost[7:]}"
    tid(siri, f"callback-{origin}").click()
    until(lambda: [r.get("origin") for r in demo.rows(lost, "callback_requested")] == [origin], timeout=15,
          message=lambda: demo.kinds(lost))
    item.wait_for(state="detached", timeout=WAIT_MS)       # called back: off the list
    # the audit log: every action, who, whom; the page shows them too
    actions = audit(demo)
    assert actions == [("siri", "call.listen", "kari"), ("siri", "call.whisper", "kari"),
                       ("siri", "call.barge", "kari"), ("siri", "call.monitor_end", "siri"),
                       ("siri", "agent.pause", "kari"), ("siri", "call.callback", "nordlys-switchboard")]
    wait_js(siri, "() => document.querySelectorAll(\"#audit tbody tr[data-action]\").length === 6")
    assert tid(siri, "audit-0").get_attribute("data-action") == "call.callback"
    assert "siri" in tid(siri, "audit-0").text_content() and "Ringte tilbake" in tid(siri, "audit-0").text_content()
    assert not siri.errors and not kari.errors
    kari.tid("btn-available").click()                     # the callback is offered to her, then done
    siri.close()
    kari.page.close()


def _contacts(demo, number):
    from datetime import datetime, timedelta, timezone

    from store.store import Store

    store = Store(demo.db_url)
    try:
        return store.contacts_since(number, datetime.now(timezone.utc) - timedelta(hours=1))
    finally:
        store.close()


def test_team_lead_sees_only_his_agency_and_a_forged_request_is_refused(demo, browser):
    tor = logged_in(browser, demo, "tor", "/supervisor/")
    assert tid(tor, "no-phone").is_visible() and tid(tor, "btn-listen").count() == 0
    wait_js(tor, "() => document.querySelectorAll('#agents tbody tr').length > 0")
    shown = set(tor.eval_on_selector_all("#agents tbody tr", "rows => rows.map(r => r.dataset.agent)"))
    assert "kari" in shown and "ingrid" in shown                # they serve nordlys
    assert not shown & {"lars", "sofie", "emil", "nora"}       # vestland / fjordvik only
    before = len(audit(demo))
    forged = """async ([agent, name]) => await new Promise((done) => {
        const s = io('/supervisor', {transports: ['websocket']});
        s.on('connect', () => s.emit('action', {name: name, agent: agent, reason: 'lunsj'}, (r) => { s.close(); done(r); }));
    })"""
    for agent in ("lars", "kari"):                # lars: vestland only; kari also serves fjordvik
        reply = tor.evaluate(forged, [agent, "pause"])
        assert reply["ok"] is False and reply["error"] == "action.denied", reply
        assert reply["message"] == "Du har ikke lov til å gjøre dette for denne agenten eller virksomheten."
    assert audit(demo)[before:] == [("tor", "agent.pause.denied", "lars"), ("tor", "agent.pause.denied", "kari")]
    assert not tor.errors
    tor.close()
