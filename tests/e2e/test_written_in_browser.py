"""Tier (d): written work in the operator's console, in a real Chromium, through `sentral demo --manual`.

The demo runs as its own process (as tests/e2e/test_console_in_browser.py runs it: its
SQLite in the test's tmp dir, the web listener on a free loopback port, an SMTP server of
the test's own, aiosmtpd, which the channel sender sends replies to). The operator `kari`
serves Vestland's e-mail and SMS queues beside her calls (dialplan/examples/demo.yaml).
A `mail vestland-post <subject>` line typed on the demo's standard input files a sample
e-mail through channels/filing (sentral/demo.py CallCommands); with the keyboard only she
finds it offered in her Skriftlig panel, takes it (Alt+A), writes a reply from the second
of Vestland's e-mail templates (Alt+T, ArrowDown twice, Enter; a mouse choice is checked
too) with a line of her own (Alt+R), sends it (Ctrl+Enter)
and closes the item with a result code (Alt+L). Checked in the demo's store: the outbound
message with her text, sent to the citizen (the SMTP server received it from the queue's
reply_from), and the item's journal (answered, reply_queued, replied, talk_ended, ended
with the result code).
"""
from __future__ import annotations

import email
import email.policy
import re

import pytest

from tests.e2e.test_console_in_browser import WAIT_MS, Console, DemoProcess
from tests.helpers import chromium, smtp_server, until


@pytest.fixture(scope="module")
def smtp():
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def demo(tmp_path_factory, smtp):
    d = DemoProcess(tmp_path_factory.mktemp("written-demo"), smtp.port)
    try:
        d.wait_started()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def kari(demo, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, locale="nb-NO")
    c = Console(page, demo)
    page.goto(demo.base + "/console/")
    assert "/login" in page.url
    page.fill("input[name=username]", "kari")
    page.fill("input[name=password]", demo.passwords["kari"])
    page.click("form button, form input[type=submit]")
    page.goto(demo.base + "/console/")
    page.wait_for_selector("#status.online", timeout=WAIT_MS)
    yield c
    assert not c.errors, c.errors
    assert not c.dialogs, c.dialogs
    page.close()


def file_mail(demo, subject: str) -> str:
    """A citizen's e-mail into vestland-post, typed on the demo's standard input; the message's id."""
    demo.proc.stdin.write(f"mail vestland-post {subject}\n")
    demo.proc.stdin.flush()
    found = until(lambda: re.search(r"^email (\S+) filed into vestland-post$", demo.output(), re.M),
                  timeout=10, message=lambda: demo.output()[-2000:])
    return found.group(1)


def stored(demo, fn):
    from store.store import Store

    store = Store(demo.db_url)
    try:
        return fn(store)
    finally:
        store.close()


def journal(demo, item: str) -> list[tuple[str, str, dict]]:
    return stored(demo, lambda s: [(row.kind, row.agent, dict(row.data)) for row in s.journal(interaction=item)])


def test_an_email_offered_taken_answered_from_a_template_and_closed_with_the_keyboard(kari, demo, smtp):
    page = kari.page
    # her queues: calls and Vestland's written ones; she logs in to all of them
    for queue in ("fjordvik-switchboard", "nordlys-switchboard", "vestland-post", "vestland-sms"):
        kari.tid(f"queue-{queue}").check()
    kari.tid("btn-login").click()
    kari.wait_state("available")
    assert kari.tid("written-panel").is_visible() and kari.tid("written-none").is_visible()

    message = file_mail(demo, "Parkering ved Fjellveien 3")
    item = until(lambda: stored(demo, lambda s: s.written_message(message).item), timeout=10,
                 message="the e-mail filed into an item")
    row = kari.tid(f"item-{item}")
    row.wait_for(timeout=WAIT_MS)
    assert row.get_attribute("data-state") == "offered"
    assert "Tilbudt" in row.text_content() and "Parkering ved Fjellveien 3" in row.text_content(), row.text_content()
    assert kari.tid("item-subject").text_content() == "Parkering ved Fjellveien 3"
    assert kari.tid("item-tenant").text_content() == "Vestland eiendomsforvaltning"
    assert kari.tid("item-queue").text_content() == "E-post"
    assert kari.tid("item-offer").is_visible() and not kari.tid("item-work").is_visible()
    citizen = kari.tid("item-sender").text_content()
    assert re.fullmatch(r"innbygger\d+@example\.org", citizen), citizen
    case = kari.tid("item-case").text_content()

    # take it: Alt+S to the list, Alt+A takes the offered item
    page.keyboard.press("Alt+S")
    assert page.evaluate("() => document.activeElement.id") == "written-list"
    page.keyboard.press("Alt+A")
    page.wait_for_selector(f"[data-testid='item-{item}'][data-state='open']", timeout=WAIT_MS)
    kari.tid("item-work").wait_for(timeout=WAIT_MS)
    assert not kari.tid("item-offer").is_visible()
    kari.wait_text("item-messages", "Parkering ved Fjellveien 3")      # the citizen's e-mail, shown
    until(lambda: "answered" in [k for k, _, _ in journal(demo, item)], timeout=10, message="answered")

    # a mouse choice (a pointer on the list, then its `change`) puts the template in at once
    templates = kari.tid("reply-template")
    templates.dispatch_event("pointerdown")
    templates.select_option("mottatt")
    page.wait_for_function("() => document.getElementById('reply-text').value !== ''", timeout=WAIT_MS)
    assert kari.tid("reply-text").input_value().startswith(f"Hei {citizen}! Takk for henvendelsen.")
    assert page.evaluate("() => document.activeElement.id") == "reply-text"
    kari.tid("reply-text").fill("")
    templates.select_option("")                # a `change` with no pointer before it: nothing taken
    assert kari.tid("reply-text").input_value() == ""

    # Alt+T: Vestland's templates for e-mail (not the SMS one); the arrows choose, Enter takes one
    page.keyboard.press("Alt+T")
    assert page.evaluate("() => document.activeElement.id") == "reply-template"
    names = kari.tid("reply-template").locator("option").all_text_contents()
    assert names[1:] == ["Mottatt", "Under behandling"], names
    # (Chromium fires `change` on ArrowDown in the closed list: it only moves the choice)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.id") == "reply-template"
    assert kari.tid("reply-template").input_value() == "under-behandling"
    assert kari.tid("reply-text").input_value() == ""
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('reply-text').value !== ''", timeout=WAIT_MS)
    assert page.evaluate("() => document.activeElement.id") == "reply-text"
    text = kari.tid("reply-text").input_value().rstrip()
    assert text.startswith(f"Hei {citizen}! Saken din ({case}) er under behandling."), text   # the second alone
    assert text.endswith("Vennlig hilsen\nVestland eiendomsforvaltning"), text
    assert "{" not in text and "Takk for henvendelsen" not in text

    # Alt+R: her own line after the template, then Ctrl+Enter sends
    page.keyboard.press("Alt+R")
    assert page.evaluate("() => document.activeElement.id") == "reply-text"
    page.keyboard.press("Control+End")
    page.keyboard.type("\n\nPS: Parkeringstillatelsen sendes i posten.")
    page.keyboard.press("Control+Enter")
    kari.wait_text("reply-status", "^Svaret er lagt i kø for sending\\.$")
    assert kari.tid("reply-text").input_value() == ""
    (reply,) = until(lambda: [m for m in stored(demo, lambda s: s.written_messages(item=item)) if m.direction == "out"],
                     timeout=10, message="the reply stored")
    assert reply.author == "kari" and list(reply.recipients) == [citizen]
    assert reply.body.startswith(f"Hei {citizen}! Saken din ({case}) er under behandling.")
    assert re.search(r"Vennlig hilsen\nVestland eiendomsforvaltning\n+PS: Parkeringstillatelsen sendes i posten\.$",
                     reply.body), reply.body
    assert reply.subject == "Re: Parkering ved Fjellveien 3"
    # the channel sender sent it to the citizen from the queue's reply_from
    until(lambda: smtp.messages, timeout=15, message="the reply reached the SMTP server")
    sender, recipients, content = smtp.messages[-1]
    assert (sender, recipients) == ("post@vestland-eiendom.no", [citizen])
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert "Parkering ved Fjellveien 3" in mail["Subject"]
    assert "PS: Parkeringstillatelsen sendes i posten." in mail.get_body().get_content()
    until(lambda: stored(demo, lambda s: s.written_message(reply.id).status) == "sent", timeout=10,
          message="the reply marked sent")
    kari.wait_text("item-messages", "PS: Parkeringstillatelsen sendes i posten\\.")   # her reply in the thread

    # Alt+L: the result code by the keyboard, Tab to Close, Enter
    page.keyboard.press("Alt+L")
    assert page.evaluate("() => document.activeElement.id") == "item-result"
    page.keyboard.type("Besvart")
    assert kari.tid("item-result").input_value() == "besvart"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "btn-item-close"
    page.keyboard.press("Enter")
    row.wait_for(state="detached", timeout=WAIT_MS)
    kari.tid("written-none").wait_for(timeout=WAIT_MS)
    assert kari.state() == "available"

    rows = until(lambda: (j := journal(demo, item)) and j[-1][0] == "ended" and j, timeout=10,
                 message="the item ended in the journal")
    kinds = [k for k, _, _ in rows]
    for kind in ("offered", "answered", "reply_queued", "replied", "talk_ended", "ended"):
        assert kind in kinds, kinds
    assert kinds.index("answered") < kinds.index("reply_queued") < kinds.index("talk_ended") < kinds.index("ended")
    assert "offer_declined" not in kinds and "no_answer" not in kinds
    by_kind = {k: (agent, data) for k, agent, data in rows}
    assert by_kind["answered"][0] == "kari" and by_kind["answered"][1]["channel"] == "email"
    assert by_kind["reply_queued"][1]["message"] == reply.id
    assert by_kind["ended"][1]["result"] == "besvart" and by_kind["ended"][1]["reason"] == "closed"
    assert by_kind["ended"][0] == "kari"
