"""A real FreeSWITCH fetches its directory from `sentral run` over mod_xml_curl.

The switch must be prepared as tests/freeswitch/README.md says and started with
SENTRAL_XML_CURL_PASSWORD in its environment (freeswitch-conf sends it as HTTP basic auth);
the test is told the same password in SENTRAL_TEST_XML_CURL_PASSWORD. The engine serves a
deployment with one agent more than the switch's compiled static files hold: FreeSWITCH
finds that user only if its own request (form POST, basic auth) is answered by the
xml_curl listener `sentral run` serves, so a refused request (the CSRF 400 of old, a wrong
password) shows as the user not existing.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from tests.freeswitch.lab import EslApi
from tests.helpers import free_port, stop_process, until

TARGET = os.environ.get("SENTRAL_TEST_FREESWITCH", "")
PASSWORD = os.environ.get("SENTRAL_TEST_XML_CURL_PASSWORD", "")
ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
LOAD = ROOT / "tests" / "data" / "freeswitch" / "load.yaml"
EXTRA = "2999"     # in no static file: only the engine knows this user

pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.skipif(not (TARGET and PASSWORD), reason="set SENTRAL_TEST_FREESWITCH and "
                       "SENTRAL_TEST_XML_CURL_PASSWORD (the switch's SENTRAL_XML_CURL_PASSWORD)"),
]


def test_freeswitch_gets_its_directory_from_the_engine_over_xml_curl(tmp_path, pg_url):
    host, port, esl_password = TARGET.rsplit(":", 2)
    config = tmp_path / "deployment.yaml"
    config.write_text(LOAD.read_text(encoding="utf-8") + f'  - {{id: a{EXTRA}, name: Agent {EXTRA}, '
                      f'extension: "{EXTRA}", a1_hash: {"0" * 31}1, queues: [lasttest-main]}}\n', encoding="utf-8")
    log_path = tmp_path / "engine.log"
    env = dict(os.environ, SENTRAL_FREESWITCH_HOST=host, SENTRAL_FREESWITCH_PORT=port,
               SENTRAL_FREESWITCH_PASSWORD=esl_password, SENTRAL_DATABASE_URL=pg_url,
               SENTRAL_XML_CURL_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    esl = EslApi(host, int(port), esl_password)
    with open(log_path, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sentral.cli", "-v", "run", "--config", str(config),
                                 "--web", f"127.0.0.1:{free_port()}", "--status-every", "0"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        until(lambda: "xml_curl listener on" in log_path.read_text() or proc.poll() is not None,
              timeout=60, message="xml_curl listener up")
        assert proc.poll() is None, log_path.read_text()[-3000:]
        assert esl.api(f"user_exists id {EXTRA} 127.0.0.1").strip() == "true", \
            "FreeSWITCH did not get the engine's directory (its request was refused?)"
        assert esl.api("user_exists id 1000 127.0.0.1").strip() == "true"
        assert esl.api("user_exists id 2998 127.0.0.1").strip() == "false"
    finally:
        esl.close()
        stop_process(proc)
