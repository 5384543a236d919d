"""Two console processes' web apps sharing Redis, for tests/console/test_redis_fanout.py.

Run as `python -m tests.console.redis_pair <redis url> <channel> <sqlite path>` (gevent
monkey-patched like `sentral run`): app A holds the engine (its notices and its inbox), app
B only relays (no notices, no inbox); both serve on free ports printed as one JSON line.
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402

from agent_ui.notices import Notices  # noqa: E402
from engine.core import Engine  # noqa: E402
from sentral import web  # noqa: E402
from store.store import Store  # noqa: E402
from tests.console.conftest import NOW, PureInbox, _registered, console_deployment, users  # noqa: E402


def main(url: str, channel: str, db: str) -> None:
    store = Store(f"sqlite:///{db}", migrate=True)
    users(store)
    deployment = console_deployment()
    engine = Engine(deployment)
    for ext in ("1000", "1001"):
        engine.handle(_registered(ext))
    notices = Notices()
    inbox = PureInbox(engine, notices, lambda: NOW)
    app_a, _ = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False, notices=notices,
                             post=inbox, message_queue=url, channel=channel)
    app_b, _ = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False, notices=None,
                             post=None, message_queue=url, channel=channel)
    a = web.serve(app_a, "127.0.0.1", 0, "a")
    b = web.serve(app_b, "127.0.0.1", 0, "b")
    print(json.dumps({"a": a.server_port, "b": b.server_port}), flush=True)
    while True:
        gevent.sleep(3600)


if __name__ == "__main__":
    main(*sys.argv[1:4])
