"""Tier (d): the operator's console in a real Chromium, through `sentral demo`.

The demo runs as its own process (`--manual`: no generated callers, nobody logged in;
calls are typed on its standard input), with its SQLite in the test's tmp dir, the
console on a free loopback port and an SMTP server (aiosmtpd) of the test's own for
message taking. Playwright drives Debian's Chromium (never a downloaded browser) as the
demo operator `kari`: log in, choose queues, go available, receive calls, answer, find
people with the keyboard only, transfer (no answer -> recall; answered; announced),
park and pick up, take a message, wrap up with a result code, pause with a reason, pause
and resume a call's recording (Alt+O, the button; refused on a call not recorded); a
caller name made of markup is shown as text.

The simulated softphone of the demo operator answers by itself after OPERATOR_RING
seconds: FreeSWITCH's `uuid_answer` (what the console's Answer sends) does nothing to a
ringing outbound leg (sentral/demo.py), so "answer from the console" is checked as far
as it can be: F4 is accepted (no refusal) while the call rings, and the call is then
talked.

Screenshots (console-offered.png, console-directory.png, console-recall.png,
console-wrapup.png) are written to the module's tmp dir; the README shows copies in
docs/img/.
"""
from __future__ import annotations

import email
import email.policy
import os
import pathlib
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from sentral.demo import OPERATOR_RING
from tests.helpers import chromium, smtp_server, stop_process, until

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
TIME_FACTOR = 0.2        # the demo's default: nordlys' 25 s transfer timeout lasts 5 s
# the longest a browser wait may take: a recall (nordlys' 25 s, scaled) plus the operator's ring, with slack
WAIT_MS = int((25 * TIME_FACTOR + OPERATOR_RING) * 1000) + 20000


@pytest.fixture(scope="module")
def smtp():
    with smtp_server() as inbox:
        yield inbox, inbox.port


class DemoProcess:
    """`sentral demo --manual` in its own process: its output, its users, its calls."""

    def __init__(self, tmp: pathlib.Path, smtp_port: int):
        self.tmp = tmp
        self.db_url = f"sqlite:///{tmp / 'demo.db'}"
        self.out_path = tmp / "demo.out"
        out = open(self.out_path, "w", encoding="utf-8")
        env = dict(os.environ, PYTHONUNBUFFERED="1", SENTRAL_SMTP_HOST="127.0.0.1",
                   SENTRAL_SMTP_PORT=str(smtp_port))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sentral.cli", "demo", "--manual", "--http", "0", "--duration", "900",
             "--time-factor", str(TIME_FACTOR), "--db", self.db_url, "--log", str(tmp / "demo.log"),
             "--view-every", "0"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
        out.close()
        self._numbers = iter(range(1000, 10000))

    def wait_started(self) -> None:
        until(lambda: "manual calls:" in self.output() or self.proc.poll() is not None, timeout=120,
              message="demo started")
        assert self.proc.poll() is None, self.output()[-3000:]
        text = self.output()
        self.base = re.search(r"^console: (http://127\.0\.0\.1:\d+)/console/$", text, re.M).group(1)
        self.passwords = dict(re.findall(r"^  (?:operator|supervisor) (\w+), password (\S+) ", text, re.M))

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8")

    def call(self, agency: str, name: str = "") -> str:
        """A caller dials the agency's main number; returns the caller's number (unique per call)."""
        number = f"47915{next(self._numbers):05d}"
        self.proc.stdin.write(f"call {agency} {number} {name}\n")
        self.proc.stdin.flush()
        until(lambda: f"from {number} to" in self.output(), timeout=10, message=lambda: self.output()[-2000:])
        return number

    def journal(self, caller_number: str) -> list[tuple[str, str, dict]]:
        """(kind, agent, data) of the journal rows of that caller's calls (one per test)."""
        from store.store import Store

        store = Store(self.db_url)
        try:
            records = store.contacts_since(caller_number, datetime.now(timezone.utc) - timedelta(hours=1))
            return [(row.kind, row.agent, dict(row.data)) for r in records for row in store.journal(interaction=r.id)]
        finally:
            store.close()

    def kinds(self, caller_number: str) -> list[str]:
        return [kind for kind, _, _ in self.journal(caller_number)]

    def rows(self, caller_number: str, kind: str) -> list[dict]:
        return [data for k, _, data in self.journal(caller_number) if k == kind]

    def stop(self) -> None:
        stop_process(self.proc, timeout=30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, smtp):
    d = DemoProcess(tmp_path_factory.mktemp("console-demo"), smtp[1])
    try:
        d.wait_started()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


class Console:
    """The operator's page, with what a test needs to say about it."""

    def __init__(self, page, demo):
        self.page = page
        self.demo = demo
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def tid(self, testid: str):
        return self.page.locator(f"[data-testid='{testid}']")

    def state(self) -> str:
        return self.tid("agent-state").get_attribute("data-state") or ""

    def wait_state(self, *states: str, timeout: int = WAIT_MS) -> str:
        self.page.wait_for_function(
            "states => states.includes(document.getElementById('agent-state').dataset.state)",
            arg=list(states), timeout=timeout)
        return self.state()

    def wait_text(self, testid: str, pattern: str, timeout: int = WAIT_MS) -> str:
        self.page.wait_for_function(
            "([id, re]) => { const n = document.querySelector(`[data-testid='${id}']`);"
            " return !!n && new RegExp(re).test(n.textContent); }", arg=[testid, pattern], timeout=timeout)
        return self.tid(testid).text_content()

    def available(self) -> None:
        """Logged in to both queues, available, no call: where every test starts."""
        state = self.state()
        if state == "wrap_up":
            self.tid("result-code").select_option("besvart")
            self.tid("btn-wrapup-end").click()
        elif state == "logged_out":
            for queue in ("fjordvik-switchboard", "nordlys-switchboard"):
                self.tid(f"queue-{queue}").check()
            self.tid("btn-login").click()
        elif state == "paused":
            self.tid("btn-available").click()
        self.wait_state("available")
        self.page.wait_for_selector("[data-testid='no-call']", state="visible", timeout=WAIT_MS)

    def screenshot(self, path: pathlib.Path) -> None:
        self.page.screenshot(path=str(path))
        assert path.stat().st_size > 10000, path

    def message(self) -> str:
        box = self.tid("console-message")
        return box.text_content() if box.is_visible() else ""

    def incoming(self, agency: str, name: str = "") -> str:
        """A call to the agency rings on the operator's phone; returns the caller's number."""
        number = self.demo.call(agency, name)
        self.wait_state("offered", "on_call")
        self.page.wait_for_selector("[data-testid='call-details']", state="visible", timeout=WAIT_MS)
        return number

    def talking(self, agency: str, name: str = "") -> str:
        number = self.incoming(agency, name)
        self.wait_state("on_call")
        return number

    def search(self, text: str, first: str) -> None:
        """Keyboard only: F2 focuses the search (its old text selected), the text is typed;
        waits until the first hit is `first`."""
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("F2")
        self.page.keyboard.type(text)
        self.page.wait_for_function(
            "name => { const n = document.querySelector('#result-0 .hit-head strong');"
            " return !!n && n.textContent === name; }", arg=first, timeout=WAIT_MS)

    def hang_up_and_wrap_up(self, code: str = "besvart") -> None:
        self.page.keyboard.press("F8")
        self.wait_state("wrap_up")
        self.tid("result-code").select_option(code)
        self.tid("btn-wrapup-end").click()
        self.wait_state("available")


@pytest.fixture(scope="module")
def console(demo, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="nb-NO")
    c = Console(page, demo)
    page.goto(demo.base + "/console/")
    assert "/login" in page.url
    page.fill("input[name=username]", "kari")
    page.fill("input[name=password]", demo.passwords["kari"])
    page.click("form button, form input[type=submit]")
    page.goto(demo.base + "/console/")
    page.wait_for_selector("#status.online", timeout=WAIT_MS)
    yield c
    page.close()


@pytest.fixture
def kari(console):
    """The operator's console, and after the test: no page error, no dialog."""
    yield console
    assert not console.errors, console.errors
    assert not console.dialogs, console.dialogs


def test_operator_logs_in_to_chosen_queues_and_goes_available(kari):
    page = kari.page
    assert kari.state() == "logged_out"                 # the demo does not log the operators in
    # her call queues and Vestland's e-mail and SMS (she is blended: dialplan/examples/demo.yaml)
    assert sorted(page.locator("#queue-list input[type=checkbox]").evaluate_all("bs => bs.map((b) => b.value)")) == [
        "fjordvik-switchboard", "nordlys-switchboard", "vestland-post", "vestland-sms"]
    kari.tid("queue-nordlys-switchboard").check()
    kari.tid("queue-fjordvik-switchboard").uncheck()
    kari.tid("btn-login").click()
    kari.wait_state("available")
    assert kari.tid("agent-state").text_content() == "Ledig"
    # blended: both queues chosen the second time
    kari.tid("btn-logout").click()
    kari.wait_state("logged_out")
    kari.tid("queue-fjordvik-switchboard").check()
    kari.tid("btn-available").click()                    # Available when logged out logs in to the chosen
    kari.wait_state("available")
    kari.demo.call("fjordvik")                           # a fjordvik call now reaches her
    kari.wait_state("offered", "on_call")
    assert kari.tid("call-tenant").text_content() == "Fjordvik kommune"
    kari.wait_state("on_call")
    kari.hang_up_and_wrap_up()


def test_offered_call_shows_agency_queue_number_and_greeting_then_answer_and_wrap_up(kari, shots):
    kari.available()
    number = kari.incoming("nordlys", "Ola Nordmann")
    assert number.startswith("47915")
    assert kari.state() == "offered", "the operator's phone rings for a few seconds"
    assert kari.tid("call-tenant").text_content() == "Nordlys helseforetak"
    assert kari.tid("call-queue").text_content() == "Sentralbord"
    assert kari.tid("call-number").text_content() == f"{number[2:5]} {number[5:7]} {number[7:]}"   # 915 20 431
    assert kari.tid("call-name").text_content() == "Ola Nordmann"
    assert "Nordlys helseforetak, sentralbordet, du snakker med" in kari.tid("call-greeting").text_content()
    assert kari.tid("agent-state").text_content() == "Ringer"
    kari.screenshot(shots / "console-offered.png")
    kari.page.keyboard.press("F4")                       # answer: accepted while it rings (no refusal)
    kari.wait_state("on_call")
    assert kari.message() == ""
    until(lambda: "answered" in kari.demo.kinds(number), timeout=10, message="answered in the journal")
    kari.page.keyboard.press("F8")
    kari.wait_state("wrap_up")
    assert kari.tid("wrapup-panel").is_visible()
    assert int(kari.tid("wrapup-left").text_content()) >= 0
    kari.tid("result-code").select_option("besvart")
    kari.screenshot(shots / "console-wrapup.png")
    kari.tid("btn-wrapup-end").click()
    kari.wait_state("available")
    until(lambda: kari.demo.rows(number, "result"), timeout=10, message="result journaled")
    assert [r.get("code") for r in kari.demo.rows(number, "result")] == ["besvart"]


def test_directory_search_by_keyboard_shows_presence_and_a_blind_transfer_not_answered_comes_back(kari, shots):
    kari.available()
    number = kari.talking("nordlys", "Per Ringer")
    kari.search("kari", "Kari Nordmann")
    presence = kari.tid("presence-0").text_content()
    assert presence.startswith("Opptatt") and "Møte" in presence and "Tilbake" in presence, presence
    assert "Ola Hansen" in kari.tid("substitute-0").text_content()
    kari.screenshot(shots / "console-directory.png")
    kari.page.keyboard.press("Enter")                    # the transfer choices
    assert kari.tid("absent-warning").is_visible()
    # the substitute is offered first; the operator transfers to Kari's own line anyway
    assert kari.tid("choice-substitute-direct").get_attribute("aria-pressed") == "true"
    kari.page.keyboard.press("ArrowDown")
    assert kari.tid("choice-direct").get_attribute("aria-pressed") == "true"
    kari.page.keyboard.press("t")                        # 22 24 16 00 never answers
    kari.wait_state("wrap_up")
    until(lambda: "transfer_started" in kari.demo.kinds(number), timeout=10, message="transfer started")
    # after nordlys' transfer timeout the call comes back to her, marked as a recall with the reason
    until(lambda: "recalled" in kari.demo.kinds(number), timeout=20, message="recalled")
    kari.wait_state("offered", "on_call")
    assert kari.tid("call-name").text_content() == "Per Ringer"
    kari.wait_state("on_call")
    assert kari.tid("recall-banner").text_content() == "Tilbakekall: Ikke svar"
    kari.screenshot(shots / "console-recall.png")
    kinds = kari.demo.kinds(number)
    assert kinds.count("answered") == 2 and kinds.index("transfer_failed") < kinds.index("recalled")
    assert [r.get("reason") for r in kari.demo.rows(number, "transfer_failed")] == ["no_answer"]
    journal = kari.demo.journal(number)
    after = journal[[kind for kind, _, _ in journal].index("recalled"):]
    assert [agent for kind, agent, _ in after if kind == "offered"] == ["kari"]   # the same operator
    kari.hang_up_and_wrap_up()


def test_blind_transfer_to_a_person_who_answers(kari):
    kari.available()
    number = kari.talking("nordlys")
    kari.search("ola hansen", "Ola Hansen")
    assert kari.tid("presence-0").text_content().startswith("Ledig")
    kari.page.keyboard.press("Enter")
    assert not kari.tid("absent-warning").is_visible()
    assert kari.tid("choice-direct").get_attribute("aria-pressed") == "true"   # 22 24 16 01 answers
    kari.page.keyboard.press("t")
    kari.wait_state("wrap_up")
    until(lambda: "transfer_answered" in kari.demo.kinds(number), timeout=15, message="the target answered")
    assert "recalled" not in kari.demo.kinds(number)
    kari.tid("result-code").select_option("satt_over")
    kari.tid("btn-wrapup-end").click()
    kari.wait_state("available")
    assert kari.tid("no-call").is_visible()


def test_announced_transfer_consult_then_complete(kari):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    kari.available()
    number = kari.talking("nordlys")
    kari.search("aasen", "Bjørn Aasen")                  # 22 24 16 03 answers
    kari.page.keyboard.press("Enter")
    kari.page.keyboard.press("k")
    kari.page.wait_for_selector("[data-testid='consult-controls']", state="visible", timeout=WAIT_MS)
    until(lambda: "consult_answered" in kari.demo.kinds(number), timeout=15, message="the target answered")
    kari.wait_text("call-talking", "^Snakker med mottakeren$")
    # complete; right after the join the engine refuses a new bridge as a double click
    # (engine.consult: TooSoon) and the console says to try again, as a person would
    for _ in range(10):
        kari.tid("btn-consult-complete").click()
        try:
            kari.wait_state("wrap_up", timeout=2000)
            break
        except PlaywrightTimeout:
            assert kari.message() == "For kort tid siden forrige endring: prøv igjen.", kari.message()
    assert kari.state() == "wrap_up"
    until(lambda: "consult_completed" in kari.demo.kinds(number), timeout=10, message="consult completed")
    kari.tid("result-code").select_option("satt_over")
    kari.tid("btn-wrapup-end").click()
    kari.wait_state("available")


def test_park_and_pick_up(kari):
    kari.available()
    number = kari.talking("fjordvik", "Parkert Person")
    kari.tid("btn-park").click()
    kari.wait_state("wrap_up")
    item = kari.page.locator("#parked-list [data-testid^='parked-']")
    item.wait_for(timeout=WAIT_MS)
    assert "Parkert Person" in item.text_content()
    kari.tid("result-code").select_option("besvart")
    kari.tid("btn-wrapup-end").click()
    kari.wait_state("available")
    kari.page.locator("#parked-list [data-testid^='pickup-']").click()
    kari.wait_state("offered", "on_call")
    assert kari.tid("call-name").text_content() == "Parkert Person"
    kari.wait_state("on_call")
    kinds = kari.demo.kinds(number)
    assert "parked" in kinds and "picked_up" in kinds
    assert kari.page.locator("#parked-list [data-testid^='parked-']").count() == 0
    kari.hang_up_and_wrap_up()


def test_message_for_an_absent_person_is_sent_by_email(kari, smtp):
    inbox, _ = smtp
    kari.available()
    kari.talking("nordlys", "Siv Sørensen")
    kari.search("kari", "Kari Nordmann")
    kari.page.keyboard.press("Enter")
    kari.page.keyboard.press("m")
    assert kari.tid("message-to").text_content() == "Kari Nordmann"
    assert "Siv Sørensen" in kari.tid("message-caller").input_value()   # filled in from the call
    kari.page.keyboard.type("Ring tilbake om søknaden, gjerne før 15.")
    kari.page.keyboard.press("Tab")                      # to Send
    kari.page.keyboard.press("Enter")
    kari.wait_text("message-status", "Beskjeden er sendt")
    until(lambda: inbox.messages, timeout=10, message="the message reached the SMTP server")
    sender, recipients, content = inbox.messages[-1]
    assert recipients == ["kari.nordmann@nordlys.no"]
    assert sender == "sentralbord@nordlys.no"
    body = email.message_from_bytes(content, policy=email.policy.default).get_body().get_content()
    assert "Ring tilbake om søknaden, gjerne før 15." in body
    kari.hang_up_and_wrap_up("melding")


def test_pause_with_a_reason_then_available_again(kari):
    kari.available()
    kari.tid("pause-reason").select_option("lunsj")
    kari.tid("btn-pause").click()
    kari.wait_state("paused")
    assert kari.tid("agent-state").text_content() == "Pause"
    assert kari.tid("agent-reason").text_content() == "Lunsj"
    number = kari.demo.call("nordlys")                   # a paused operator is not offered calls
    until(lambda: kari.demo.kinds(number), timeout=10, message="the call entered")
    assert kari.state() == "paused" and kari.tid("no-call").is_visible()
    kari.tid("btn-available").click()
    kari.wait_state("offered", "on_call")                # the waiting call comes to her once available
    kari.wait_state("on_call")
    kari.hang_up_and_wrap_up()


def test_a_caller_name_made_of_markup_is_shown_as_text(kari):
    name = "<img src=x onerror=alert(1)>"
    kari.available()
    kari.incoming("nordlys", name)
    assert kari.tid("call-name").text_content() == name
    assert kari.page.locator("#call-panel img, #parked-panel img").count() == 0
    kari.wait_state("on_call")
    kari.hang_up_and_wrap_up()
    assert not kari.dialogs                              # no alert fired (the fixture checks again)


def test_transfer_to_another_agencys_queue_from_the_search(kari):
    kari.available()
    number = kari.talking("nordlys", "Bestiller Berit")
    kari.page.keyboard.press("Escape")
    kari.page.keyboard.press("F2")
    kari.page.keyboard.type("bestilling")                # the queue is listed after the people, with its agency
    kari.page.wait_for_function("() => !!document.querySelector('#results .target-kind')", timeout=WAIT_MS)
    index = kari.page.evaluate("() => Array.from(document.querySelectorAll('#results > li'))"
                               ".findIndex((li) => !!li.querySelector('.target-kind'))")
    for _ in range(index):
        kari.page.keyboard.press("ArrowDown")
    head = kari.page.locator(f"#result-{index} .hit-head").text_content()
    assert head.startswith("Bestilling") and "Kø" in head and "Vestland eiendomsforvaltning" in head, head
    kari.page.keyboard.press("Enter")
    assert kari.tid("choice-target").is_visible() and not kari.tid("choice-consult").is_visible()
    kari.page.keyboard.press("t")
    kari.wait_state("wrap_up")
    until(lambda: "transferred" in kari.demo.kinds(number), timeout=10, message="transferred to the queue")
    (row,) = kari.demo.rows(number, "transferred")
    assert (row["to_queue"], row["from_queue"]) == ("vestland-orders", "nordlys-switchboard")
    assert "error" not in (kari.tid("console-message").get_attribute("class") or "")   # no refusal
    assert not kari.tid("takeback-row").is_visible()     # a queue's agents have it now: nothing to take back
    # her wrap-up is her own queue's, with its countdown and the result codes
    kari.page.wait_for_function("() => !document.querySelector('[data-testid=wrapup-panel]').hidden",
                                timeout=WAIT_MS)
    assert kari.tid("wrapup-panel").is_visible() and kari.tid("result-code").is_visible()
    assert kari.tid("result-code").input_value()
    kari.tid("btn-wrapup-end").click()
    kari.wait_state("available")
    assert "error" not in (kari.tid("console-message").get_attribute("class") or "")


def test_take_back_a_transfer_that_is_ringing(kari):
    kari.available()
    number = kari.talking("nordlys", "Angrer Anne")
    kari.search("kari", "Kari Nordmann")
    kari.page.keyboard.press("Enter")
    kari.page.keyboard.press("ArrowDown")                # her own line, 22 24 16 00, never answers
    assert kari.tid("choice-direct").get_attribute("aria-pressed") == "true"
    kari.page.keyboard.press("t")
    kari.wait_state("wrap_up")
    label = kari.wait_text("moved-label", "^Satt over til Kari Nordmann: ringer$")
    assert label and kari.tid("btn-takeback").is_visible()
    kari.page.keyboard.press("F9")                       # take back before nordlys' transfer timeout
    kari.wait_state("offered", "on_call")
    assert kari.tid("call-name").text_content() == "Angrer Anne"
    kari.wait_text("recall-banner", "^Tilbakekall: Hentet tilbake$")
    assert not kari.tid("takeback-row").is_visible()
    kari.wait_state("on_call")
    kinds = kari.demo.kinds(number)
    assert "transfer_failed" not in kinds and kinds.index("taken_back") < kinds.index("recalled")
    assert [r.get("reason") for r in kari.demo.rows(number, "recalled")] == ["taken_back"]
    (taken,) = kari.demo.rows(number, "taken_back")
    assert taken["moved"] == "transferring" and taken["leg"]
    journal = kari.demo.journal(number)
    after = journal[[kind for kind, _, _ in journal].index("recalled"):]
    assert [agent for kind, agent, _ in after if kind == "offered"] == ["kari"]
    assert kinds.count("answered") == 2
    kari.hang_up_and_wrap_up()


def test_ending_wrap_up_without_a_result_code_asks_for_one_before_sending(kari):
    kari.available()
    kari.talking("nordlys", "Glemsom Gunnar")
    kari.page.keyboard.press("F8")
    kari.wait_state("wrap_up")
    kari.tid("result-code").select_option("")            # "–": nothing chosen
    kari.tid("btn-wrapup-end").click()
    assert kari.wait_text("console-message", "^Velg en resultatkode\\.$")
    assert "error" in (kari.tid("console-message").get_attribute("class") or "")
    assert kari.page.evaluate("() => document.activeElement.id") == "result-code"
    kari.available()                                     # ends the wrap-up with a code (unless it ran out)


def test_pause_and_resume_the_recording_with_alt_o_and_the_button(kari):
    """Nordlys' switchboard records (after its notice), Fjordvik's does not."""
    kari.available()
    before = kari.message()                              # an earlier test's message stays until the next
    number = kari.talking("nordlys", "Kort Karianne")
    assert kari.wait_text("recording-label", "^Opptak$")
    kari.page.keyboard.press("Alt+O")                    # before the caller reads out a card number
    kari.wait_text("recording-label", "^Opptak pauset$")
    assert kari.tid("btn-recording").text_content() == "Fortsett opptaket (Alt+O)"
    until(lambda: "recording_paused" in kari.demo.kinds(number), timeout=10, message="pause journaled")
    kari.tid("btn-recording").click()
    kari.wait_text("recording-label", "^Opptak$")
    until(lambda: "recording_resumed" in kari.demo.kinds(number), timeout=10, message="resume journaled")
    assert [k for k in kari.demo.kinds(number) if k in ("recording_paused", "recording_resumed")] == [
        "recording_paused", "recording_resumed"]
    assert kari.message() == before, "no refusal, and the recorder's notices are no message"
    kari.hang_up_and_wrap_up()

    kari.talking("fjordvik", "Uten Opptak")
    assert not kari.tid("recording-row").is_visible()
    kari.page.keyboard.press("Alt+O")
    kari.wait_text("console-message", "^Ingen opptak pågår i denne samtalen\\.$")
    kari.hang_up_and_wrap_up()
