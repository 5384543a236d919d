"""`sentral run`'s composition on the simulator, for tests/api/test_api_live.py: the engine
process on PostgreSQL, the listeners of sentral.web.start_run on a free port, the simulator
in the same process (monkey-patched like `sentral run`), and a control port (127.0.0.1,
free) taking one line per request: `call <caller number>` places a simulated call to the
main number (the reply is its uuid), `channels` lists the switch's channel uuids (JSON).
The REST client, the event-stream client and the webhook receiver are the test's.
Prints one JSON line {"web": port, "control": port}. Run: python -m tests.api.live_stack DB_URL
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import gevent.server  # noqa: E402

TRANSFER_TARGET = "22334455"


def main(db_url: str) -> int:
    from esl.sim.server import Simulator
    from sentral import web
    from sentral.app import EngineProcess
    from sentral.process import open_store
    from tests.acd.conftest import MAIN_NUMBER, PASSWORD, a_deployment, sim_dialplan
    from tests.console.conftest import console_deployment

    sim = Simulator(password=PASSWORD, time_factor=0.02, heartbeat_interval=1.0, dialplan=sim_dialplan(a_deployment(0)))
    sim.start()
    sim.add_user("1000", action="answer", ring=5000.0, auto_answer=True)   # answered through the API
    sim.add_user("1001", action="answer")
    sim.add_phone(TRANSFER_TARGET, action="answer", ring=0.5, talk=20.0)   # the transfer target talks, hangs up
    deployment = console_deployment(sim.port, database_url=db_url, ring_timeout=30)
    store = open_store(db_url)
    proc = EngineProcess(deployment, store).start(ready_timeout=10)
    listeners = web.start_run(store, proc, deployment, web.WebOptions(web=("127.0.0.1", 0), secure_cookies=False))

    def control(sock, _address):
        with sock.makefile("rwb") as lines:
            for line in lines:
                words = line.decode().split()
                if words[:1] == ["call"]:
                    channel = sim.place_call(MAIN_NUMBER, caller_number=words[1], talk=None)
                    reply = channel.uuid
                elif words[:1] == ["channels"]:
                    reply = json.dumps(sorted(sim.channels))
                else:
                    reply = "?"
                lines.write(reply.encode() + b"\n")
                lines.flush()

    server = gevent.server.StreamServer(("127.0.0.1", 0), control)
    server.start()
    print(json.dumps({"web": listeners.servers["web"].server_port, "control": server.server_port}), flush=True)
    try:
        while True:
            gevent.sleep(3600)
    finally:
        listeners.stop(timeout=0)
        proc.stop()
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
