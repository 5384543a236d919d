"""`sentral demo` guards (issue 8): a database in use is never deleted (item 8), a taken
HTTP port fails at once with one line (item 9), and the service level the wallboard
shows counts the demo's abandons (item 12: the target scales with --time-factor).
Issue 9: its first lines are the console's address and users who can log in, the two
operators start logged out, the directory's phones are transfer targets, `--manual`
places the calls typed in."""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from engine.statistics import Statistics
from sentral.demo import CALLER_PATIENCE, Demo
from sentral.process import DatabaseLock
from tests.helpers import stop_process

ROOT = pathlib.Path(__file__).resolve().parent.parent


def demo(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "sentral.cli", "demo", "--duration", "1", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_given_a_running_demo_on_a_database_when_a_second_starts_then_it_refuses_and_deletes_nothing(tmp_path):
    db = tmp_path / "demo.db"
    db.write_bytes(b"the running demo's data")
    log = tmp_path / "demo.log"
    log.write_text("the running demo's log")
    held = DatabaseLock(f"sqlite:///{db}").acquire()     # what the first demo holds while it runs
    try:
        out = demo("--db", f"sqlite:///{db}", "--http", "0", "--log", str(log))
    finally:
        held.release()
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use by another process" in lines[0] and str(db) in lines[0], out.stderr
    assert db.read_bytes() == b"the running demo's data"
    assert log.read_text() == "the running demo's log"
    assert "engine ready" not in out.stdout


def test_given_the_lock_is_free_again_then_it_can_be_taken(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    DatabaseLock(url).acquire().release()
    again = DatabaseLock(url).acquire()
    again.release()


def test_given_a_taken_http_port_when_the_demo_starts_then_one_line_before_the_engine_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = demo("--db", f"sqlite:///{tmp_path}/d.db", "--http", str(port), "--log", str(tmp_path / "d.log"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert f"port {port}" in out.stderr and "taken" in out.stderr
    assert "Traceback" not in out.stderr and "engine ready" not in out.stdout
    assert not (tmp_path / "d.db").exists()


def _demo_deployment(time_factor):
    args = argparse.Namespace(config=str(ROOT / "dialplan/examples/demo.yaml"), real_hours=False,
                              time_factor=time_factor)
    return Demo(args)._deployment("pw")


def test_given_time_factor_then_the_service_level_target_is_scaled_like_the_callers():
    deployment = _demo_deployment(0.2)
    unscaled = _demo_deployment(1.0)
    for qid, queue in deployment.queues.items():
        assert queue.service_level_seconds == unscaled.queues[qid].service_level_seconds * 0.2


def test_given_time_factor_then_transfer_and_park_timeouts_are_scaled_like_the_phones():
    deployment = _demo_deployment(0.2)
    unscaled = _demo_deployment(1.0)
    for tid, tenant in deployment.tenants.items():
        assert tenant.transfer_timeout == unscaled.tenants[tid].transfer_timeout * 0.2
        assert tenant.park_timeout == unscaled.tenants[tid].park_timeout * 0.2
    assert unscaled.tenants["fjordvik"].transfer_timeout == 20.0


def test_given_16_abandoned_and_40_answered_in_the_demo_then_the_level_is_not_100_percent():
    tf = 0.2
    queue = next(iter(_demo_deployment(tf).queues.values()))
    stats = Statistics()
    for _ in range(40):
        stats.answered(queue.id, waited=1.0, target=queue.service_level_seconds)
    for _ in range(16):   # demo callers give up after their patience, in real seconds
        stats.abandoned(queue.id, waited=CALLER_PATIENCE * tf, target=queue.service_level_seconds)
    assert stats.of(queue.id).service_level() == 40 / 56


# -- issue 9: the demo as an operator's console -------------------------------------------
def _run_demo(tmp_path, *args, duration="3"):
    return subprocess.run([sys.executable, "-m", "sentral.cli", "demo", "--duration", duration, "--http", "0",
                           "--db", f"sqlite:///{tmp_path}/d.db", "--log", str(tmp_path / "d.log"), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)


def test_given_the_demo_then_its_first_lines_are_the_console_url_and_the_users_who_can_log_in(tmp_path):
    from store.store import Store

    out = _run_demo(tmp_path, "--view-every", "1", "--keep-db")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert re.fullmatch(r"console: http://127\.0\.0\.1:\d+/console/", lines[0]), lines[:5]
    users = {}
    for line in lines[1:6]:
        m = re.fullmatch(r"  (operator|supervisor) (\w+), password (\S+) \((.*)\)", line)
        assert m, line
        users[m.group(2)] = (m.group(1), m.group(3), m.group(4))
    assert {u: role for u, (role, _, _) in users.items()} == {"kari": "operator", "ola": "operator",
                                                              "demo": "supervisor", "siri": "supervisor",
                                                              "tor": "supervisor"}
    assert users["kari"][2] == "Kari Nordmann, extension 1000, agencies fjordvik, nordlys, vestland"
    assert re.fullmatch(r"wallboard: http://127\.0\.0\.1:\d+/wallboard \(user demo, password "
                        + re.escape(users["demo"][1]) + r"\); directory search: http://127\.0\.0\.1:\d+/directory/",
                        lines[6])
    assert re.fullmatch(r"supervisor page: http://127\.0\.0\.1:\d+/supervisor/ \(users siri and tor\)", lines[7])
    # the passwords printed are the stored ones; the operators are bound to their agents
    store = Store(f"sqlite:///{tmp_path}/d.db")
    try:
        for name, (role, password, _) in users.items():
            user = store.authenticate(name, password)
            assert user is not None, name
            assert user.agent == (name if role == "operator" or name == "siri" else None) or (
                role == "supervisor" and name != "siri" and not user.agent)
        assert set(store.user("ola").roles) == {("fjordvik", "operator"), ("nordlys", "operator")}
        assert set(store.user("demo").roles) == {("*", "admin")}
        assert set(store.user("tor").roles) == {("nordlys", "supervisor")}
        assert {t for t, _ in store.user("siri").roles} == {"fjordvik", "nordlys", "vestland"}
    finally:
        store.close()
    # the operators are not logged in at start (the person does it from the console); the others are
    views = [line for line in lines if line.strip().startswith("agents:")]
    assert views, out.stdout
    assert all("logged_out: kari, ola" in v for v in views), views
    assert "ingrid" in views[0] and "logged_out: kari, ola" in views[0] and "logged_out: ingrid" not in views[0]
    # the directory's phones are transfer targets, and the demo says which do not answer
    assert "never answer: " in out.stdout and "22 24 16 00" in out.stdout and "busy: 21 07 01 00" in out.stdout


def test_given_manual_mode_then_no_caller_and_no_agent_logged_in_and_a_typed_call_reaches_the_switch(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sentral.cli", "demo", "--manual", "--duration", "30",
                             "--http", "0", "--view-every", "0.5", "--db", f"sqlite:///{tmp_path}/d.db",
                             "--log", str(tmp_path / "d.log")],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        seen = []

        def read_until(pattern):
            for line in proc.stdout:
                seen.append(line)
                if re.search(pattern, line):
                    return line
            raise AssertionError("".join(seen))

        read_until(r"manual calls: type `call")
        first_view = read_until(r"agents:")
        assert "logged_out: emil, emma, henrik, ingrid, jonas, kari, lars, nora, ola, siri, sofie" in first_view
        proc.stdin.write("call nowhere\ncall nordlys 4791520431 <b>Ola</b> Nordmann\n")
        proc.stdin.flush()
        assert "no agency or main number 'nowhere'" in read_until(r"no agency")
        assert re.search(r"call [0-9a-f-]{36} from 4791520431 to \+?\d+ placed", read_until(r"placed"))
        proc.stdin.write("mail nowhere\nmail vestland-post Byggesøknad i Fjellveien\n")
        proc.stdin.flush()
        assert "mail needs a email queue: one of vestland-post" in read_until(r"needs a email queue")
        filed = re.search(r"email ([0-9a-f-]{36}) filed into vestland-post", read_until(r"filed into")).group(1)
        # the engine took the call (nobody is logged in: nordlys' no-agents handling ends it)
        from store.store import Store
        from tests.helpers import until

        store = Store(f"sqlite:///{tmp_path}/d.db")
        try:
            since = datetime.now(timezone.utc) - timedelta(minutes=5)
            records = until(lambda: store.contacts_since("4791520431", since), timeout=20,
                            message="the typed call stored")
            assert [(r.tenant, r.caller_name) for r in records] == [("nordlys", "<b>Ola</b> Nordmann")]
            # the typed e-mail is stored, filed into an item of the e-mail queue (nobody logged in: it waits)
            message = until(lambda: (m := store.written_message(filed)) is not None and m.item and m, timeout=20,
                            message="the typed e-mail filed into an item")
            assert message.subject == "Byggesøknad i Fjellveien" and message.queue == "vestland-post"
            item = store.interaction(message.item)
            assert (item.kind, item.state, item.queue) == ("email", "queued", "vestland-post")
        finally:
            store.close()
    finally:
        stop_process(proc, timeout=30)


REPLY_FROM = {"vestland-post": "post@vestland-eiendom.no", "vestland-sms": "Vestland", "vestland-skjema": ""}


def test_given_the_demo_then_written_items_reach_the_blended_agents_who_answer_and_close_them(tmp_path):
    from store.store import Store

    out = _run_demo(tmp_path, "--keep-db", "--written-per-hour", "300", "--time-factor", "0.05", duration="20")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"written: vestland-post \d+ waiting", out.stdout), out.stdout[-2000:]
    store = Store(f"sqlite:///{tmp_path}/d.db")
    try:
        rows = store.journal()
        kinds = {}
        for r in rows:
            kinds.setdefault(r.interaction, []).append(r)
        written = {ix: rs for ix, rs in kinds.items() if rs[0].kind == "arrived" and rs[0].data.get("channel")}
        channels = {rs[0].data["channel"] for rs in written.values()}
        assert channels == {"email", "sms", "task"}, channels
        closed = [rs for rs in written.values() if rs[-1].kind == "ended" and rs[-1].data.get("reason") == "closed"]
        assert closed, "no written item was worked and closed"
        for rs in closed:
            worked = [r.kind for r in rs]
            assert worked.index("offered") < worked.index("answered") < worked.index("talk_ended"), worked
            assert rs[-1].data["result"] == "besvart" and rs[-1].agent in {"lars", "sofie"}
            assert "reply_queued" in worked
            # the reply went the one reply path (channels/replies.queue_reply): to the item's
            # sender, from the queue's reply_from, subject Re: for e-mail only
            queued = next(r for r in rs if r.kind == "reply_queued")
            reply = store.written_message(queued.data["message"])
            asked = next(m for m in store.written_messages(item=rs[0].interaction) if m.direction == "in")
            assert reply.id.startswith("out-") and reply.author == rs[-1].agent, reply
            assert list(reply.recipients) == [asked.sender] and reply.case == asked.case, reply
            assert reply.sender == REPLY_FROM[reply.queue], reply
            assert reply.subject == ("Re: " + asked.subject if reply.channel == "email" else ""), reply
        assert store.verify_journal() == []
    finally:
        store.close()


def test_the_demo_works_on_a_copy_of_its_configuration_so_web_added_agents_never_land_in_the_repository(tmp_path):
    from dialplan.agent_files import AgentSpec, add_agent
    from sentral.demo import working_config

    shipped = ROOT / "dialplan" / "examples"
    before = sorted(p.relative_to(shipped) for p in shipped.rglob("*") if "__pycache__" not in p.parts)
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    config = working_config(str(shipped / "demo.yaml"), db)
    assert pathlib.Path(config) == tmp_path / "demo.config" / "demo.yaml"
    written = add_agent(config, AgentSpec(id="nina", extension="1077", name="Nina Nilsen", password="nina-secret-77"),
                        env={"SENTRAL_FREESWITCH_PASSWORD": "x"})
    assert pathlib.Path(written).is_relative_to(tmp_path / "demo.config")
    assert sorted(p.relative_to(shipped) for p in shipped.rglob("*") if "__pycache__" not in p.parts) == before
    assert working_config(str(shipped / "demo.yaml"), db, keep=True) == config and pathlib.Path(written).exists()
    working_config(str(shipped / "demo.yaml"), db)                 # a new run starts from the shipped files
    assert not pathlib.Path(written).exists()


def test_given_the_demo_then_its_recorded_queue_leaves_encrypted_files_that_only_the_agencys_key_opens(tmp_path):
    """Issue 11's interface contract: `sentral demo --recordings DIR` records the calls of
    its recorded queue (nordlys' switchboard), encrypted; `sentral recordings list/get` on
    the demo's configuration copy finds and opens them with the key the demo made."""
    import hashlib
    import json
    import sqlite3
    import wave

    from tests.helpers import until

    db, rec = tmp_path / "d.db", tmp_path / "rec"
    out = (tmp_path / "out.txt").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sentral.cli", "demo", "--duration", "150", "--http", "0",
                             "--time-factor", "0.05", "--calls-per-minute", "30", "--view-every", "5",
                             "--db", f"sqlite:///{db}", "--recordings", str(rec), "--log", str(tmp_path / "d.log")],
                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def stored():
        try:
            with sqlite3.connect(db) as c:
                return c.execute("select count(*) from recordings where status = 'stored'").fetchone()[0]
        except sqlite3.Error:          # not migrated yet
            return 0
    try:
        until(stored, timeout=120, message=lambda: "a stored recording; demo said:\n" + (tmp_path / "out.txt").read_text())
    finally:
        stop_process(proc, timeout=30)
        out.close()
    config = str(tmp_path / "d.config" / "demo.yaml")
    listed = subprocess.run([sys.executable, "-m", "sentral.cli", "recordings", "list", "--config", config, "--json"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    row = next(r for r in rows if r["status"] == "stored")
    assert (row["tenant"], row["queue"]) == ("nordlys", "nordlys-switchboard") and row["duration"] > 0
    encrypted = rec / "store" / row["path"]
    assert encrypted.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert not [p for p in rec.rglob("*.wav")], "no plaintext recording left on disk"
    keys = list((rec / "identities").glob("nordlys-*.key"))
    assert [k.name for k in keys] == [f"nordlys-{row['key_id']}.key"]

    def get(identity, target):
        return subprocess.run([sys.executable, "-m", "sentral.cli", "recordings", "get", row["id"], "--config", config,
                               "--identity", str(identity), "--out", str(target)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60)
    opened = get(keys[0], tmp_path / "call.wav")
    assert opened.returncode == 0, opened.stderr
    assert hashlib.sha256((tmp_path / "call.wav").read_bytes()).hexdigest() == row["sha256"]
    with wave.open(str(tmp_path / "call.wav")) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)     # caller and agent on separate channels
    refused = get(ROOT / "tests" / "data" / "acd" / "recording-test-identity.txt", tmp_path / "other.wav")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr and refused.stderr.strip()
    assert not (tmp_path / "other.wav").exists()
    # issue 12: the demo's calls in the agency report, the same count the journal holds
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    report = subprocess.run([sys.executable, "-m", "sentral.cli", "report", "agency", "--db", f"sqlite:///{db}",
                             "--from", since.isoformat(), "--format", "json"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert report.returncode == 0, report.stderr
    rows = [json.loads(line) for line in report.stdout.splitlines()]
    with sqlite3.connect(db) as c:
        arrived = c.execute("select tenant, count(*) from journal where kind = 'arrived' "
                               "and json_extract(data, '$.channel') is null group by tenant").fetchall()   # calls, not written items
    assert rows[-1]["calls"] == sum(n for _, n in arrived) > 0
    nordlys = [r for r in rows[:-1] if r["agency"] == "nordlys"]
    assert sum(r["calls"] for r in nordlys) == dict(arrived)["nordlys"] and sum(r["answered"] for r in nordlys) >= 1
