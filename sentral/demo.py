"""The demo's composition: simulator + engine + SQLite + sample configuration + callers
+ the console, so a new user can work calls as an operator.

The simulator plays FreeSWITCH over real TCP on a free loopback port, so the engine runs
exactly as in production (`sentral run`); only the far ends are simulated.

Rules:
* the first lines printed are the console's address and the demo users with their
  passwords (new ones every run): operators `kari` and `ola`, each bound to the demo
  agent of that name and `operator` of every agency their queues belong to, the
  supervisor `demo` (admin of every agency: wallboard, directory, the console's
  directory pane), the supervisor `siri` (supervisor of every agency, bound to the demo
  agent `siri`, a softphone serving no queue that answers after OPERATOR_RING seconds:
  the supervisor page listens, whispers and barges in from it) and the team lead `tor`
  (supervisor of nordlys only, no phone: he steers nordlys' own agents and calls back
  its abandoned calls). The rest of the start-up report follows them;
* the two operators' agents are NOT logged in at start: the person logs in from the
  console and chooses queues. Every other agent is logged in at start (not with
  `--manual`);
* the operators' softphones ring OPERATOR_RING real seconds and then answer by
  themselves. The console's Answer sends `uuid_answer`, which FreeSWITCH (and the
  simulator, as it) accepts and ignores for a ringing outbound leg; only a phone asked
  for auto-answer (`sip_auto_answer`) answers at once, and the engine does not ask. So
  the demo's choice is the phone answering after a few seconds, Answer pressed or not;
* the other agents' softphones: most answer after a few rings, one rejects, one never
  answers (so no-answer pauses and reject delays can be watched);
* the directory's people (sync/examples/persons.csv) can be called: each direct and
  mobile number is a simulated phone (esl.sim.phones: most answer after 2-6 simulated
  seconds, some never answer, one is busy, one unregistered), so every outcome of a
  transfer (answered, recall on no answer / busy / unregistered) can be tried; the
  start-up report says which number does what;
* two absences make presence visible: Kari Nordmann (nordlys) is in a meeting for the
  next two hours (her direct line never answers: transfer, recall, offer the
  substitute or take a message), Åse Sørli (nordlys) is on holiday for a week;
* simulated time: `--time-factor` scales the callers' waits and every phone's ringing;
  the engine measures real seconds, so the service-level target (also the short-abandon
  threshold), the agencies' transfer timeout and park timeout are scaled the same way
  (a 20 s transfer timeout lasts 4 s at 0.2);
* recordings: every agency whose calls the configuration records gets a new key pair each
  run: the private key in `<recordings>/identities` (as `sentral recordings keygen`), its
  public key written into the demo's configuration copy in place of the example's, so the
  recorder in the engine process encrypts the demo's recorded calls (nordlys'
  switchboard) into `<recordings>/store` and `sentral recordings get` opens them;
* `--manual`: no generated callers and no other agent logged in; calls are placed by
  typing `call <agency or number> [caller number] [caller name]` on standard input (one
  line each), so the operator in the console gets exactly the calls asked for.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shutil
import sys
import time
from datetime import datetime, timedelta

from dialplan.simulated import sim_dialplan
from sentral.demo_written import WrittenDesk, WrittenTraffic
from dialplan.loader import apply_overrides, load
from engine import views
from engine.config import OpeningHours
from engine.statistics import DAY_ZONE as ZONE
from esl.sim.server import Simulator
from esl.sim.traffic import Poisson
from sentral.app import EngineProcess
from sentral import web as webserver
from sentral.process import (
    DatabaseInUse, DatabaseLock, PortInUse, check_port_free, open_store, run_until_stopped,
)

log = logging.getLogger(__name__)

CALLER_PATIENCE = 90.0   # simulated seconds a demo caller waits before hanging up
SOFTPHONE_SCRIPTS = ("answer", "answer", "answer", "reject", "answer", "answer", "noanswer", "answer")
OPERATORS = ("kari", "ola")   # demo agents a person works as from the console
OPERATOR_RING = 3.0           # real seconds an operator's simulated softphone rings before it answers
SUPERVISOR = "demo"
SUPERVISOR_PHONE = "siri"     # the supervisor page's user, bound to the demo agent of that name (no queues)
TEAM_LEAD = ("tor", "nordlys")
API_TENANT = "nordlys"        # the demo's API token is a supervisor's of this agency


def softphone_script(index: int) -> str:
    return SOFTPHONE_SCRIPTS[index % len(SOFTPHONE_SCRIPTS)]


@dataclasses.dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str        # "operator" | "supervisor"
    about: str       # what the line after the password says


class Demo:
    def __init__(self, args):
        self.args = args
        self.config = args.config     # the working copy once the demo runs (working_config)
        self.report: list[str] = []   # start-up lines, printed after the users

    def _deployment(self, password: str):
        env = dict(os.environ, SENTRAL_FREESWITCH_PASSWORD=password)
        deployment = load(self.config, env=env)
        factor = self.args.time_factor
        # The simulated callers' waits and phones' rings run `time_factor` times faster than
        # written (a caller's 90 s patience lasts 18 s at 0.2), while the engine measures real
        # seconds: the service-level target, which is also the short-abandon threshold, is
        # scaled the same way, or every abandon would be "short" and the level 100 %; so
        # are the agencies' transfer and park timeouts (a phone that "rings 6 s" must not
        # outlast a 20 s transfer timeout that is really 20 s).
        tenants = {}
        for tid, t in deployment.tenants.items():
            changes = dict(transfer_timeout=t.transfer_timeout * factor, park_timeout=t.park_timeout * factor)
            if not self.args.real_hours:
                changes["opening_hours"] = OpeningHours(always_open=True)
            tenants[tid] = dataclasses.replace(t, **changes)
        queues = {qid: dataclasses.replace(q, service_level_seconds=q.service_level_seconds * factor)
                  for qid, q in deployment.queues.items()}
        return dataclasses.replace(deployment, tenants=tenants, queues=queues)

    def run(self) -> int:
        args = self.args
        # before anything is touched: another demo's database and log, or a taken port
        try:
            lock = DatabaseLock(args.db).acquire()
            check_port_free("127.0.0.1", args.http)
        except (DatabaseInUse, PortInUse) as exc:
            print(f"sentral demo: {exc}", file=sys.stderr, flush=True)
            return 1
        try:
            return self._run(args)
        finally:
            lock.release()

    def _run(self, args) -> int:
        os.makedirs(os.path.dirname(args.log) or ".", exist_ok=True)
        _log_to_file(args.log)
        self.report.append(f"engine log: {args.log}")
        started = datetime.now(ZONE).replace(second=0, microsecond=0)
        self.config = working_config(args.config, args.db, keep=args.keep_db)
        recordings = getattr(args, "recordings", None) or recordings_folder(args.db)
        identities = os.path.join(recordings, "identities")
        point_copy_at(self.config, args.db, recordings, identities)
        self.report.append(demo_recording_keys(self.config, identities, recordings))
        esl_password = secrets.token_urlsafe(12)
        deployment = self._deployment(esl_password)
        sim = Simulator(password=esl_password, time_factor=args.time_factor,
                        dialplan=sim_dialplan(deployment))
        sim.start()
        deployment = apply_overrides(deployment, database_url=args.db, freeswitch_host="127.0.0.1",
                                     freeswitch_port=sim.port, freeswitch_password=esl_password,
                                     recordings_dir=recordings, recordings_identities=identities)
        self.report.append(f"simulator (FreeSWITCH Event Socket) on 127.0.0.1:{sim.port}")
        add_softphones(sim, deployment, args.time_factor)
        self.report.append(add_directory_phones(sim))
        if not args.keep_db:
            reset_sqlite(deployment.database_url)
        store = open_store(deployment.database_url)
        proc = EngineProcess(deployment, store, login_all=not args.manual,
                             login_except=OPERATORS + (SUPERVISOR_PHONE,)).start(ready_timeout=10)
        self.report.append(f"engine ready in {proc.ready_at:.2f}s; database {args.db}")
        self.report.append(import_directory(store))
        self.report.append(add_absences(store))
        users = create_users(store, deployment)
        _, api_token = store.create_token("demo", API_TENANT, "supervisor", created_by="demo")
        server = webserver.start(store, proc, host="127.0.0.1", port=args.http, secure_cookies=False,
                                 config_path=self.config)
        base = f"http://127.0.0.1:{server.server_port}"
        print("\n".join(header(base, users) + api_lines(base, api_token) + self.report), flush=True)
        traffic, reader = [], None
        written = WrittenTraffic(store, proc, deployment, getattr(args, "written_per_hour", 30.0),
                                 args.time_factor, seed=args.seed)
        desk = WrittenDesk(store, proc, deployment, OPERATORS, args.time_factor, seed=args.seed).start()
        if args.manual:
            print(MANUAL_HELP, flush=True)
            reader = CallCommands(sim, deployment, written=written).start()
        else:
            traffic = start_traffic(sim, deployment, args)
            written.start()
        try:
            run_until_stopped(lambda: print(render(proc.engine, traffic), flush=True), args.view_every,
                              args.duration)
        finally:
            for gen in traffic:
                gen.stop()
            written.stop()
            desk.stop()
            if reader is not None:
                reader.stop()
            server.stop(timeout=2)
            proc.stop()
            sim.stop()
            store.close()
        print(f"demo stopped; journal rows: {len(store.journal())}", flush=True)
        print(f"its figures: sentral report agency --db {args.db} --from {started:%Y-%m-%dT%H:%M} "
              f"(or traffic, queue, agent; --format csv|xlsx --out FILE)", flush=True)
        return 0


def working_config(config: str, db_url: str, keep: bool = False) -> str:
    """The demo runs on a copy of its configuration's folder, next to its SQLite database
    (`<db>.config/`; var/demo-config for another database), fresh each run and kept with
    --keep-db, so agents added on the web (files in `<config>.d/`) land there and never in
    the repository's examples. Made under the database's lock: one demo per copy."""
    sqlite = db_url[len("sqlite:///"):] if db_url.startswith("sqlite:///") else ""
    folder = os.path.splitext(sqlite)[0] + ".config" if sqlite else os.path.join("var", "demo-config")
    if not keep and os.path.isdir(folder):
        shutil.rmtree(folder)
    shutil.copytree(os.path.dirname(os.path.abspath(config)), folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
    return os.path.join(folder, os.path.basename(config))


def point_copy_at(config: str, db_url: str, recordings: str, identities: str) -> None:
    """The configuration copy names the demo's own database and recordings (its top-level
    `database:` and `recordings:` sections replaced), so `sentral recordings ... --config
    <copy>` works on what this demo recorded."""
    sections = {"database": {"url": db_url},
                "recordings": {"dir": os.path.abspath(recordings), "identities": os.path.abspath(identities)}}
    lines, out, skipping = open(config, encoding="utf-8").read().splitlines(), [], False
    for line in lines:
        name = line.split(":", 1)[0] if line and not line[0].isspace() and ":" in line else None
        if name is not None:
            skipping = name in sections
            if skipping:
                out.append(f"{name}: {json.dumps(sections.pop(name))}")
                continue
        if not skipping:
            out.append(line)
    out += [f"{name}: {json.dumps(values)}" for name, values in sections.items()]
    with open(config, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def recordings_folder(db_url: str) -> str:
    """The demo's recordings, next to its SQLite database (var/demo-recordings otherwise)."""
    sqlite = db_url[len("sqlite:///"):] if db_url.startswith("sqlite:///") else ""
    return os.path.splitext(sqlite)[0] + ".recordings" if sqlite else os.path.join("var", "demo-recordings")


def demo_recording_keys(config: str, identities: str, recordings: str) -> str:
    """A new key pair for every agency of the configuration copy that has a public key:
    the private key into `identities`, the public key into the copy's files in place of
    the example's (whose private key nobody has). Returns the report line."""
    import pathlib

    from recordings.crypto import generate

    deployment = load(config, env=dict(os.environ), require_env=False)
    files = [p for p in pathlib.Path(config).parent.rglob("*.yaml")]
    tenants = []
    for tid, tenant in sorted(deployment.tenants.items()):
        if not tenant.recording_key:
            continue
        recipient, _kid, _path = generate(tid, identities)
        for path in files:
            text = path.read_text(encoding="utf-8")
            if tenant.recording_key in text:
                path.write_text(text.replace(tenant.recording_key, recipient), encoding="utf-8")
        tenants.append(tid)
    recorded = [q.id for q in deployment.queues.values() if q.tenant in tenants and _records(deployment, q)]
    return (f"recordings: {', '.join(recorded) or 'no queue'} recorded, encrypted into {recordings}/store; "
            f"private keys of {', '.join(tenants) or 'no agency'} in {identities}; "
            f"sentral recordings list --config {config} / "
            f"get ID --config {config} --identity {identities}/<agency>-<key id>.key --out call.wav")


def _records(deployment, queue) -> bool:
    from engine.recording import policy
    return policy(deployment, queue.tenant, queue.id).record


def add_softphones(sim, deployment, time_factor: float) -> None:
    """Every agent's softphone: the operators' answer after OPERATOR_RING real seconds (the
    simulator scales rings by the time factor), the others follow SOFTPHONE_SCRIPTS."""
    for i, agent in enumerate(sorted(deployment.agents.values(), key=lambda a: a.sip_user)):
        if agent.id in OPERATORS or agent.id == SUPERVISOR_PHONE:
            sim.add_user(agent.sip_user, action="answer", ring=OPERATOR_RING / time_factor)
        else:
            sim.add_user(agent.sip_user, action=softphone_script(i), ring=2.0 + i % 3)


def add_directory_phones(sim) -> str:
    """A simulated phone for each direct and mobile number of the demo's directory;
    returns the report line naming the numbers that do not answer."""
    from esl.sim.phones import add_employee_phones, dialled, numbers_from_persons
    from sync.importer import default_examples

    persons, _ = default_examples()
    numbers = numbers_from_persons(persons)
    shown = {dialled(n): n.strip() for n in numbers}
    table = add_employee_phones(sim, numbers)
    said = {"noanswer": "never answer", "busy": "busy", "unregistered": "not registered"}
    parts = [f"{what}: {', '.join(shown[n] for n, (a, _) in sorted(table.items()) if a == action)}"
             for action, what in said.items() if any(a == action for a, _ in table.values())]
    answering = sum(1 for a, _ in table.values() if a == "answer")
    return f"directory phones: {answering} answer; " + "; ".join(parts)


def create_users(store, deployment) -> list[DemoUser]:
    """The operators (bound to their agents, operator of their queues' agencies) and the
    supervisor, each with a new password."""
    users = []
    for aid in OPERATORS:
        agent = deployment.agents[aid]
        tenants = sorted({deployment.queues[q].tenant for q in agent.queues if q in deployment.queues})
        password = secrets.token_urlsafe(9)
        store.create_user(aid, password, display_name=agent.name, roles=[(t, "operator") for t in tenants])
        store.bind_agent(aid, aid)
        users.append(DemoUser(aid, password, "operator",
                              f"{agent.name}, extension {agent.sip_user}, agencies {', '.join(tenants)}"))
    password = secrets.token_urlsafe(9)
    store.create_user(SUPERVISOR, password, display_name="Demo supervisor", roles=[("*", "admin")])
    users.append(DemoUser(SUPERVISOR, password, "supervisor", "every agency: wallboard, directory"))
    if SUPERVISOR_PHONE in deployment.agents:
        phone = deployment.agents[SUPERVISOR_PHONE]
        password = secrets.token_urlsafe(9)
        store.create_user(SUPERVISOR_PHONE, password, display_name=phone.name,
                          roles=[(t, "supervisor") for t in sorted(deployment.tenants)])
        store.bind_agent(SUPERVISOR_PHONE, SUPERVISOR_PHONE)
        users.append(DemoUser(SUPERVISOR_PHONE, password, "supervisor",
                              f"every agency: supervisor page, listens on extension {phone.sip_user}"))
    lead, tenant = TEAM_LEAD
    if tenant in deployment.tenants:
        password = secrets.token_urlsafe(9)
        store.create_user(lead, password, display_name="Tor Teamleder", roles=[(tenant, "supervisor")])
        users.append(DemoUser(lead, password, "supervisor", f"team lead of {tenant} only: supervisor page, no phone"))
    return users


def header(base: str, users: list[DemoUser]) -> list[str]:
    """The demo's first lines: where to log in, and as whom."""
    lines = [f"console: {base}/console/"]
    lines += [f"  {u.role} {u.username}, password {u.password} ({u.about})" for u in users]
    sup = next(u for u in users if u.role == "supervisor")
    lines.append(f"wallboard: {base}/wallboard (user {sup.username}, password {sup.password}); "
                 f"directory search: {base}/directory/")
    lines.append(f"supervisor page: {base}/supervisor/ (users {SUPERVISOR_PHONE} and {TEAM_LEAD[0]})")
    lines.append(f"reports: {base}/reports/ (user {sup.username}; 15-minute figures of today, CSV, XLSX, PDF)")
    return lines


def api_lines(base: str, token: str) -> list[str]:
    """Where the REST API is, and a token to try it with (docs/api.md)."""
    return [f"REST API: {base}/api/openapi.json; token ({API_TENANT} supervisor, new every run): {token}",
            f"  e.g. curl -H 'Authorization: Bearer {token}' {base}/api/v1/tenants/{API_TENANT}/agents"]


def start_traffic(sim, deployment, args) -> list[Poisson]:
    traffic = []
    for i, number in enumerate(deployment.entry_points):
        # the simulator scales its waits by the time factor: ask for the rate in simulated time
        gen = Poisson(sim, number, args.calls_per_minute * args.time_factor, patience=CALLER_PATIENCE, talk=60.0,
                      seed=args.seed + i)
        gen.start()
        traffic.append(gen)
    return traffic


MANUAL_HELP = ("manual calls: type `call <agency or main number> [caller number] [caller name]` and Enter, "
               "e.g. `call nordlys 91520431 Ola Nordmann`; `hangup <caller number>` hangs that caller up; "
               "`mail <queue> [subject]`, `sms <queue> [text]` or `task <queue> [subject]` files a written "
               "message into a written queue, e.g. `mail vestland-post Byggesøknad`")


class CallCommands:
    """`--manual`: places a simulated caller for each `call ...` line on standard input.
    The caller waits until someone answers and stays until the other side hangs up.
    Standard input is read in a thread (a blocking read must not stop the engine's loop)."""

    def __init__(self, sim, deployment, stream=None, written=None):
        self.sim = sim
        self.written = written
        self.deployment = deployment
        self.numbers = {t: next((n for n, e in deployment.entry_points.items() if e.tenant == t), None)
                        for t in deployment.tenants}
        self.entry_points = set(deployment.entry_points)
        self.stream = stream or sys.stdin
        self._greenlet = None

    def start(self) -> "CallCommands":
        import gevent

        self._greenlet = gevent.spawn(self._read)
        return self

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _read(self) -> None:
        import gevent

        pool = gevent.get_hub().threadpool
        while True:
            line = pool.apply(self.stream.readline)
            if not line:
                return   # end of input: the demo goes on without manual calls
            print(self.handle(line), flush=True)

    def handle(self, line: str) -> str:
        """One input line -> the reply printed (the call placed, or what was wrong)."""
        words = line.strip().split(None, 3)
        if not words:
            return ""
        if words[0] in ("mail", "sms", "task") and self.written is not None:
            return self._written(words[0], line.strip().split(None, 2)[1:])
        if words[0] == "hangup" and len(words) == 2:
            gone = [uuid for uuid, ch in list(self.sim.channels.items())
                    if ch.direction == "inbound" and ch.variables.get("sip_from_user") == words[1]]
            for uuid in gone:
                self.sim.hangup(uuid)
            return f"hung up {len(gone)} caller(s) from {words[1]}"
        if words[0] != "call" or len(words) < 2:
            return f"unknown command {words[0]!r}: {MANUAL_HELP}"
        target = self.numbers.get(words[1]) or (words[1] if words[1] in self.entry_points else None)
        if target is None:
            known = ", ".join(sorted(t for t, n in self.numbers.items() if n) + sorted(self.entry_points))
            return f"no agency or main number {words[1]!r} (one of {known})"
        caller = words[2] if len(words) > 2 else "4790000000"
        if not caller.lstrip("+").isdigit():
            return f"caller number {caller!r}: digits only"
        name = words[3] if len(words) > 3 else ""
        ch = self.sim.place_call(target, caller_number=caller, caller_name=name)
        return f"call {ch.uuid} from {caller} to {target} placed"


    def _written(self, word: str, rest: list[str]) -> str:
        channel = {"mail": "email"}.get(word, word)
        queues = sorted(q.id for q in self.deployment.queues.values() if q.channel == channel)
        if not rest or rest[0] not in queues:
            return f"{word} needs a {channel} queue: one of {', '.join(queues) or '(none configured)'}"
        queue = self.deployment.queues[rest[0]]
        text = rest[1] if len(rest) > 1 else ""
        message = self.written.file(queue, subject=text if channel != "sms" else "", text=text if channel == "sms" else "")
        return f"{channel} {message} filed into {queue.id}"


def import_directory(store) -> str:
    """The demo's directory comes through the same import path as production files."""
    from store.directory_store import DirectoryStore
    from sync.importer import default_examples, example_services, import_files

    persons, units = default_examples()
    reports = import_files(DirectoryStore(store.engine), "*", persons, units, services_path=example_services())

    def count(summary) -> int:
        return len(summary.added) + len(summary.changed) + summary.unchanged if summary else 0
    counts = ", ".join(f"{r.tenant} {count(r.persons)} persons, {count(r.services)} services" for r in reports)
    return f"directory imported from {persons.parent}: {counts}"


def add_absences(store) -> str:
    """Kari Nordmann in a meeting for two hours, Åse Sørli on holiday for a week (web
    registrations by the supervisor, as an operator would make them)."""
    from engine.clock import utcnow
    from engine.directory.model import Absence, AbsenceCategory
    from store.directory_store import DirectoryStore

    now = utcnow().replace(second=0, microsecond=0)
    directory = DirectoryStore(store.engine)
    meeting_end = now + timedelta(hours=2)
    directory.add_absence(Absence("nordlys", "nl1001", now - timedelta(minutes=30), meeting_end,
                                  AbsenceCategory.MEETING, subject="Ledermøte", back_at=meeting_end,
                                  created_by=SUPERVISOR))
    directory.add_absence(Absence("nordlys", "nl1003", now - timedelta(days=1), now + timedelta(days=7),
                                  AbsenceCategory.VACATION, created_by=SUPERVISOR))
    return "absences: Kari Nordmann (nordlys) in a meeting for 2 hours, Åse Sørli (nordlys) on holiday for a week"


def _log_to_file(path: str) -> None:
    """The terminal shows the live view; the engine's log goes to a file."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def reset_sqlite(url: str) -> None:
    """A fresh demo database each run: the previous run's calls died with its simulator."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


def render(engine, traffic) -> str:
    """A plain-text live view: one line per queue, then agents by state."""
    lines = [f"\n{time.strftime('%H:%M:%S')}  {'queue':28} {'wait':>4} {'ring':>4} {'longest':>7} "
             f"{'avail':>5} {'in':>3} {'answ':>5} {'aband':>5} {'SL':>5}"]
    for q in views.queues(engine):
        sl = q["service_level"]
        lines.append(f"          {q['queue'][:28]:28} {q['waiting']:>4} {q['ringing']:>4} {q['longest_wait']:>6.0f}s "
                     f"{q['available']:>5} {q['logged_in']:>3} {q['answered']:>5} {q['abandoned']:>5} "
                     f"{'-' if sl is None else f'{sl:.0%}':>5}")
    states = views.agents_by_state(engine)
    lines.append("          agents: " + "  ".join(f"{s}: {', '.join(sorted(ids))}" for s, ids in sorted(states.items()) if ids))
    placed = sum(g.stats["placed"] for g in traffic)
    lines.append(f"          callers placed {placed}, live calls {len(engine.calls)}")
    written = [q for q in engine.deployment.queues.values() if q.written]
    if written:
        held = {s: sum(1 for i in engine.items.values() if i.state.value == s) for s in ("offered", "open")}
        lines.append("          written: " + "  ".join(f"{q.id} {engine.written.count(q.id)} waiting" for q in written)
                     + f"; offered {held['offered']}, open {held['open']}")
    return "\n".join(lines)
