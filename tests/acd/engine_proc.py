"""`sentral run` as a child process for the engine-process tests (restart, chaos)."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

from tests.acd.conftest import PASSWORD
from tests.helpers import stop_process, until

CONFIG = pathlib.Path(__file__).resolve().parent.parent / "data" / "acd" / "restart.yaml"
ROOT = CONFIG.parent.parent.parent.parent


class EngineProc:
    """`sentral run` as a child process; output goes to a file we poll (never a blocking pipe)."""

    def __init__(self, port: int, db_url: str, log_path: pathlib.Path, config: pathlib.Path = CONFIG,
                 console: bool = False):
        self.config = config
        self.console = console          # tests/acd/console_engine.py: console commands over TCP
        self.env = dict(os.environ, SENTRAL_FREESWITCH_PORT=str(port), SENTRAL_FREESWITCH_PASSWORD=PASSWORD,
                        SENTRAL_DATABASE_URL=db_url, PYTHONUNBUFFERED="1",
                        # the switch writes recorded calls here, the recorder encrypts them here
                        SENTRAL_RECORDINGS_DIR=str(log_path.parent.resolve() / "recordings"))
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        out = open(self.log_path, "a", encoding="utf-8")
        out.write(f"--- start {self.starts}\n")
        out.flush()
        argv = ([sys.executable, "-m", "tests.acd.console_engine", str(self.config)] if self.console else
                [sys.executable, "-m", "sentral.cli", "-v", "run", "--config", str(self.config), "--login-all",
                 "--no-web", "--status-every", "0"])
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        until(lambda: self.readies() >= self.starts or self.proc.poll() is not None,
              timeout=60, message="engine ready")
        assert self.proc.poll() is None, self.log()[-3000:]

    def readies(self) -> int:
        """How many starts printed their ready line (`engine ready in 0.15s` at a line's start;
        the log line `... INFO sentral.app: engine ready in 0.15 s: ...` says the same and
        must not count, or every start after the first would be taken as ready at once)."""
        return sum(line.startswith("engine ready in ") for line in self.log().splitlines())

    def console_port(self) -> int:
        """The console listener of the running process (console=True)."""
        return int(self.log().rsplit("console port ", 1)[1].split()[0])

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)
