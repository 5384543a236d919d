"""`sentral run` in its own process, as an operator starts it: the test's configuration
file and SQLite database, the web listener on a free loopback port (--web 127.0.0.1:0),
the FreeSWITCH node pointed at a closed loopback port (the engine starts without it after
--ready-timeout). For the tests that need the real listener: TLS, the recordings page in
a browser."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from tests.helpers import free_port, stop_process, until

ROOT = pathlib.Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"^web listener on (https?)://127\.0\.0\.1:(\d+)/$", re.M)


class RunProcess:
    def __init__(self, tmp: pathlib.Path, config: str | pathlib.Path, *flags: str, env: dict | None = None):
        self.tmp = tmp
        self.db_url = f"sqlite:///{tmp / 'run.db'}"
        self.out_path = tmp / "run.out"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SENTRAL_")}
        environ.update(PYTHONUNBUFFERED="1", SENTRAL_FREESWITCH_PASSWORD="not-used",
                       SENTRAL_FREESWITCH_HOST="127.0.0.1", SENTRAL_FREESWITCH_PORT=str(free_port()),
                       SENTRAL_RECORDINGS_DIR=str(tmp.resolve() / "recordings"))
        environ.update(env or {})
        with open(self.out_path, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sentral.cli", "run", "--config", str(config), "--db", self.db_url,
                 "--web", "127.0.0.1:0", "--ready-timeout", "0.5", "--status-every", "0", *flags],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=environ, text=True)

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8")

    def wait_listening(self, timeout: float = 60) -> tuple[str, int]:
        """(scheme, port) of the web listener once it serves; fails with the output if it ends."""
        until(lambda: LISTENING.search(self.output()) or self.proc.poll() is not None, timeout=timeout,
              message=lambda: self.output()[-3000:])
        found = LISTENING.search(self.output())
        assert found and self.proc.poll() is None, self.output()[-3000:]
        self.scheme, self.port = found.group(1), int(found.group(2))
        return self.scheme, self.port

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc, timeout=30)
