"""A real IMAP server for the channel tests: Debian's dovecot-imapd on 127.0.0.1.

The fixture writes a throwaway dovecot.conf (passwd-file users, maildir store, no SSL),
starts `dovecot -F -c CONF` on a free port, waits until it answers, and stops it by PID at
teardown. It fails loudly (never skips) when dovecot is missing: scripts/system-packages
installs it. Mail is delivered the way a mail server would leave it: IMAP APPEND.

`dovecot_xoauth2` is the same server that also takes AUTHENTICATE XOAUTH2: dovecot's oauth2
passdb asks the test's stand-in for Entra ID (fake_entra.py, `entra`) about each token by
introspection; the passwd-file user still logs in with its password.
"""
from __future__ import annotations

import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.helpers import free_port, until

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "queue", "secret"
TENANT, CLIENT_ID = "6f1c1b7e-0000-4000-8000-00000000beef", "3e2a9d10-0000-4000-8000-00000000c11e"

CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{mechanisms}
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {uid}
mail_location = maildir:{mail}/%u
{oauth2_passdb}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

# Only XOAUTH2 logins go to the oauth2 passdb (they carry a token, not a password); passwd-file
# answers only PLAIN and LOGIN, so a token is never compared with a password. The tests refuse tokens on purpose: no
# failure delay (2 s) and no auth penalty (2, 4, 8... s per failure from the same IP; without
# anvil's penalty socket the auth process disables it).
OAUTH2_PASSDB = """\
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {d}/dovecot-oauth2.conf.ext
}}
"""

OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _kill_with_children(proc) -> None:
    """SIGKILL the master and the processes it started (imap, imap-login, auth, anvil, log...).
    SIGTERM would do the same but dovecot then waits a second for them, every test."""
    children = []
    for status in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue                      # the process ended while we looked
        if fields.get("PPid", "").strip() == str(proc.pid):
            children.append(int(status.parent.name))
    proc.kill()
    proc.wait(timeout=10)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class Dovecot:
    host: str
    port: int
    username: str
    password: str
    pid: int
    log: pathlib.Path

    def client(self):
        from imapclient import IMAPClient

        c = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        c.login(self.username, self.password)
        return c

    def deliver(self, raw: bytes, folder: str = "INBOX", flags=()) -> int:
        """APPEND one message as a mail server would; returns its UID (UIDPLUS APPENDUID)."""
        with self.client() as c:
            reply = c.append(folder, raw, flags=flags)
        m = re.search(rb"APPENDUID \d+ (\d+)", reply)
        assert m, f"dovecot answered APPEND without APPENDUID: {reply!r}"
        return int(m.group(1))

    def flags(self, uid: int, folder: str = "INBOX") -> tuple:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            return tuple(c.get_flags([uid]).get(uid, ()))


@pytest.fixture
def dovecot(tmp_path):
    """A real dovecot IMAP server with one user (queue/secret) and an empty INBOX."""
    with _running_dovecot(tmp_path) as server:
        yield server


@pytest.fixture
def entra(tmp_path):
    """The stand-in for Entra ID: issues client-credentials tokens for the `queue` mailbox to
    CLIENT_ID with the secret "app-secret" (fake_entra.py)."""
    from tests.channels.fake_entra import FakeEntra

    d = tmp_path / "entra"
    d.mkdir()
    with FakeEntra(d, tenant=TENANT, client_id=CLIENT_ID, client_secret="app-secret",
                   mailbox=USER) as server:
        yield server


@pytest.fixture
def dovecot_xoauth2(tmp_path, entra):
    """`dovecot` that also accepts XOAUTH2 with tokens `entra` issued (checked by introspection)."""
    with _running_dovecot(tmp_path, oauth2_introspection_url=entra.introspection_url) as server:
        yield server


@contextmanager
def _running_dovecot(tmp_path, oauth2_introspection_url: str | None = None):
    if not os.path.exists(DOVECOT):
        pytest.fail("dovecot is not installed: run scripts/system-packages (installs dovecot-imapd)")
    if os.geteuid() == 0:
        # Dovecot refuses mail access as uid 0, so as root the mail processes run as the
        # package's `dovecot` user and its login processes as `dovenull`: they must reach the
        # directory, which pytest's own tmp dir (0700 root) forbids. Use a private dir in
        # the system temp dir instead, removed at teardown.
        d = pathlib.Path(tempfile.mkdtemp(prefix="sentral-dovecot-"))
        os.chmod(d, 0o755)
        mail_user = pwd.getpwnam("dovecot")
        internal_user, login_user = "dovecot", "dovenull"
    else:
        d = tmp_path / "dovecot"
        d.mkdir()
        mail_user = pwd.getpwuid(os.getuid())
        internal_user = login_user = mail_user.pw_name
    try:
        mail = d / "mail"
        mail.mkdir()
        os.chown(mail, mail_user.pw_uid, mail_user.pw_gid) if os.geteuid() == 0 else None
        (d / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        port = free_port()
        conf = d / "dovecot.conf"
        oauth2_passdb = mechanisms = ""
        if oauth2_introspection_url:
            (d / "dovecot-oauth2.conf.ext").write_text(OAUTH2_CONF.format(url=oauth2_introspection_url))
            oauth2_passdb, mechanisms = OAUTH2_PASSDB.format(d=d), " xoauth2"
        conf.write_text(CONF.format(d=d, mail=mail, port=port, uid=mail_user.pw_uid,
                                    gid=mail_user.pw_gid, internal_user=internal_user,
                                    login_user=login_user, mechanisms=mechanisms,
                                    oauth2_passdb=oauth2_passdb))
        out = open(d / "stdout.log", "w")
        proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        log = d / "dovecot.log"

        def logs() -> str:
            return "\n".join(p.read_text(errors="replace") for p in (d / "stdout.log", log) if p.exists())
        try:
            until(lambda: proc.poll() is not None or _listening(port), timeout=15,
                  message="dovecot listening")
            if proc.poll() is not None:
                pytest.fail(f"dovecot exited with {proc.returncode}: {logs()}")
            yield Dovecot("127.0.0.1", port, USER, PASSWORD, proc.pid, log)
        finally:
            _kill_with_children(proc)
            out.close()
    finally:
        if os.geteuid() == 0:
            shutil.rmtree(d, ignore_errors=True)
