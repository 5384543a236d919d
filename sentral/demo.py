"""The demo's composition: simulator + engine + SQLite + sample configuration + callers.

The simulator plays FreeSWITCH over real TCP on a free loopback port, so the engine runs
exactly as in production (`sentral run`); only the far ends are simulated. Softphones:
most answer after a few rings, one rejects, one never answers (so no-answer pauses and
reject delays can be watched).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import sys
import time


from dialplan.compile import entry_variables
from dialplan.loader import apply_overrides, load
from engine import views
from engine.config import OpeningHours
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


def softphone_script(index: int) -> str:
    return SOFTPHONE_SCRIPTS[index % len(SOFTPHONE_SCRIPTS)]


class Demo:
    def __init__(self, args):
        self.args = args

    def _deployment(self, password: str):
        env = dict(os.environ, SENTRAL_FREESWITCH_PASSWORD=password)
        deployment = load(self.args.config, env=env)
        if not self.args.real_hours:
            tenants = {tid: dataclasses.replace(t, opening_hours=OpeningHours(always_open=True))
                       for tid, t in deployment.tenants.items()}
            deployment = dataclasses.replace(deployment, tenants=tenants)
        # The simulated callers' waits run `time_factor` times faster than written (a
        # caller's 90 s patience lasts 18 s at 0.2), while the engine measures real
        # seconds: the service-level target, which is also the short-abandon threshold,
        # is scaled the same way, or every abandon would be "short" and the level 100 %.
        factor = self.args.time_factor
        queues = {qid: dataclasses.replace(q, service_level_seconds=q.service_level_seconds * factor)
                  for qid, q in deployment.queues.items()}
        return dataclasses.replace(deployment, queues=queues)

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
        esl_password = secrets.token_urlsafe(12)
        deployment = self._deployment(esl_password)
        sim = Simulator(password=esl_password, time_factor=args.time_factor,
                        dialplan={n: entry_variables(e) for n, e in deployment.entry_points.items()})
        sim.start()
        deployment = apply_overrides(deployment, database_url=args.db, freeswitch_host="127.0.0.1",
                                     freeswitch_port=sim.port, freeswitch_password=esl_password)
        print(f"simulator (FreeSWITCH Event Socket) on 127.0.0.1:{sim.port}", flush=True)
        for i, agent in enumerate(sorted(deployment.agents.values(), key=lambda a: a.sip_user)):
            sim.add_user(agent.sip_user, action=softphone_script(i), ring=2.0 + i % 3)
        if not args.keep_db:
            reset_sqlite(deployment.database_url)
        store = open_store(deployment.database_url)
        proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
        print(f"engine ready in {proc.ready_at:.2f}s; database {args.db}", flush=True)
        import_directory(store)
        console_password = secrets.token_urlsafe(9)
        store.create_user("demo", console_password, display_name="Demo supervisor", roles=[("*", "admin")])
        server = webserver.start(store, proc, host="127.0.0.1", port=args.http, secure_cookies=False)
        base = f"http://127.0.0.1:{server.server_port}"
        print(f"console: {base}/wallboard (user demo, password {console_password}); directory search: {base}/directory/",
              flush=True)
        traffic = []
        for i, number in enumerate(deployment.entry_points):
            # the simulator scales its waits by the time factor: ask for the rate in simulated time
            gen = Poisson(sim, number, args.calls_per_minute * args.time_factor, patience=CALLER_PATIENCE, talk=60.0,
                          seed=args.seed + i)
            gen.start()
            traffic.append(gen)
        try:
            run_until_stopped(lambda: print(render(proc.engine, traffic), flush=True), args.view_every,
                              args.duration)
        finally:
            for gen in traffic:
                gen.stop()
            server.stop(timeout=2)
            proc.stop()
            sim.stop()
            store.close()
        print(f"demo stopped; journal rows: {len(store.journal())}", flush=True)
        return 0


def import_directory(store) -> None:
    """The demo's directory comes through the same import path as production files."""
    from store.directory_store import DirectoryStore
    from sync.importer import default_examples, import_files

    persons, units = default_examples()
    reports = import_files(DirectoryStore(store.engine), "*", persons, units)
    counts = ", ".join(f"{r.tenant} {len(r.persons.added) + len(r.persons.changed) + r.persons.unchanged} persons"
                       for r in reports)
    print(f"directory imported from {persons.parent}: {counts}", flush=True)


def _log_to_file(path: str) -> None:
    """The terminal shows the live view; the engine's log goes to a file."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    print(f"engine log: {path}", flush=True)


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
    return "\n".join(lines)
