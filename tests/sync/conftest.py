"""Real servers for the sync tests: OpenLDAP slapd and Radicale (CalDAV), on 127.0.0.1.

Each fixture starts its server in a temp dir on a free port, waits until it answers,
and kills it by PID at teardown. It fails loudly (never skips) when the server cannot
start: scripts/system-packages installs slapd; Radicale is in the test extra.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.helpers import free_port, until

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "secret"

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
pidfile {d}/run/slapd.pid
sizelimit unlimited
database mdb
maxsize 104857600
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {d}/db
index objectClass,entryCSN,entryUUID eq
overlay syncprov
"""

SEED = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people
"""


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Slapd:
    url: str
    base: str
    bind_dn: str
    password: str
    pid: int


@pytest.fixture
def slapd(tmp_path):
    """A real OpenLDAP slapd with an empty ou=people, dc=example,dc=test."""
    d = tmp_path / "slapd"
    for sub in ("run", "db"):
        (d / sub).mkdir(parents=True)
    conf = d / "slapd.conf"
    conf.write_text(SLAPD_CONF.format(d=d, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PW))
    seed = d / "seed.ldif"
    seed.write_text(SEED)
    if not os.path.exists(SLAPD):
        pytest.fail("slapd is not installed: run scripts/system-packages")
    added = subprocess.run([SLAPADD, "-f", str(conf), "-l", str(seed), "-q"],
                           capture_output=True, text=True)
    if added.returncode:
        pytest.fail(f"slapadd failed: {added.stderr}")
    port = free_port()
    log = open(d / "slapd.log", "w")
    proc = subprocess.Popen([SLAPD, "-f", str(conf), "-h", f"ldap://127.0.0.1:{port}/", "-d", "0"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        until(lambda: proc.poll() is not None or _listening(port), timeout=15,
              message="slapd listening")
        if proc.poll() is not None:
            pytest.fail(f"slapd exited with {proc.returncode}: {(d / 'slapd.log').read_text()}")
        yield Slapd(f"ldap://127.0.0.1:{port}", f"ou=people,{SUFFIX}", ROOT_DN, ROOT_PW, proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


@dataclass
class Radicale:
    url: str
    pid: int


@pytest.fixture
def radicale(tmp_path):
    """A real Radicale CalDAV server; any Basic-auth user name becomes the principal."""
    store = tmp_path / "radicale"
    store.mkdir()
    port = free_port()
    log = open(tmp_path / "radicale.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
         "--auth-type", "none", "--rights-type", "authenticated",
         "--storage-filesystem-folder", str(store), "--logging-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        until(lambda: proc.poll() is not None or _listening(port), timeout=20,
              message="radicale listening")
        if proc.poll() is not None:
            pytest.fail(f"radicale exited with {proc.returncode}: "
                        f"{pathlib.Path(tmp_path / 'radicale.log').read_text()}")
        yield Radicale(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()
