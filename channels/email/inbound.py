"""Reading one IMAP mailbox (a tenant's or queue's inbox) without losing or repeating mail.

Rules this module keeps:
- The caller owns a `MailboxState` (UIDVALIDITY + the highest UID it has stored) and persists
  it; the reader only proposes a new one after `confirm()`.
- Messages are fetched with BODY.PEEK[] (a plain RFC822 fetch would set \\Seen at once);
  \\Seen is set only by `confirm(uid)`, after the caller has stored the message. A process
  that dies in between fetches the same message again (at least once; the caller dedups on
  Message-ID), never loses it.
- A changed UIDVALIDITY (mailbox recreated or renumbered) stops fetching and is reported
  as a `UidValidityChanged` event until the caller decides with `accept_uidvalidity()`:
  take only the messages it has not marked \\Seen, or take everything again.
- `wait(timeout)` blocks in IDLE when the server advertises it, otherwise polls.
- Login is a password, or XOAUTH2 with a token from an `oauth.TokenSource` (Microsoft 365).
  A refused token is dropped and a fresh one tried once; a second refusal, like a refused
  password, raises `MailboxLoginRefused`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Union

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

if TYPE_CHECKING:
    from channels.email.oauth import TokenSource

log = logging.getLogger(__name__)

SEEN = b"\\Seen"


@dataclass(frozen=True)
class MailboxState:
    """What the caller persists between runs.

    last_uid: every UID <= last_uid has been stored by the caller (or deliberately passed over).
    seen_only_upto: after a UIDVALIDITY change taken as "unseen": UIDs <= this are taken only
    if they are not \\Seen (they may be mail stored under the old numbering).
    """
    uidvalidity: int | None = None
    last_uid: int = 0
    seen_only_upto: int = 0

    def as_dict(self) -> dict:
        return {"uidvalidity": self.uidvalidity, "last_uid": self.last_uid,
                "seen_only_upto": self.seen_only_upto}

    @classmethod
    def from_dict(cls, data: dict | None) -> "MailboxState":
        data = data or {}
        return cls(data.get("uidvalidity"), int(data.get("last_uid", 0)),
                   int(data.get("seen_only_upto", 0)))


@dataclass(frozen=True)
class NewMessage:
    uid: int
    raw: bytes
    flags: tuple[bytes, ...]


@dataclass(frozen=True)
class UidValidityChanged:
    """The mailbox's UIDs no longer mean what the stored state says. Nothing is fetched
    until the caller calls `MailboxReader.accept_uidvalidity(event, take=...)`."""
    folder: str
    old: int
    new: int
    uidnext: int        # UIDs below this existed when the change was seen
    exists: int         # messages in the mailbox then


MailEvent = Union[NewMessage, UidValidityChanged]


class MailboxError(Exception):
    error_id = "mailbox_error"


class MailboxMissing(MailboxError):
    """The folder does not exist (deleted, renamed, or never created)."""
    error_id = "mailbox_missing"


class MailboxConnectionLost(MailboxError):
    """The server closed the connection or stopped answering; open() again."""
    error_id = "mailbox_connection_lost"


class MailboxLoginRefused(MailboxError):
    """The server refused the password, or refused XOAUTH2 with a freshly fetched token too
    (the app lacks the mailbox permission, or the token is for another mailbox). Not fixed by
    opening again; a token that could not be fetched raises `oauth.OAuth2Failed` instead."""
    error_id = "mailbox_login_refused"


class MailboxReader:
    def __init__(self, host: str, port: int, username: str, password: str | None = None,
                 folder: str = "INBOX", *, oauth2: "TokenSource | None" = None,
                 state: MailboxState | None = None, ssl: bool = False, starttls: bool = False,
                 ssl_context=None, timeout: float = 30.0, idle: bool = True,
                 poll_interval: float = 60.0, on_idle: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if ssl and starttls:
            raise ValueError("ssl (implicit TLS) and starttls exclude each other")
        if (password is None) == (oauth2 is None):
            raise ValueError("give a password or oauth2 (a TokenSource), not both or neither")
        self.host, self.port, self.folder = host, port, folder
        self._username, self._password, self._oauth2 = username, password, oauth2
        self._ssl, self._starttls, self._ssl_context = ssl, starttls, ssl_context
        self._timeout = timeout
        self._want_idle = idle
        self._poll_interval = poll_interval
        self._on_idle = on_idle
        self._clock, self._sleep = clock, sleep
        self.state = state or MailboxState()
        self._client: IMAPClient | None = None
        self._changed: UidValidityChanged | None = None
        self._outstanding: set[int] = set()   # handed out, not yet confirmed
        self._high = self.state.last_uid      # highest UID handed out or passed over

    # -- connection ----------------------------------------------------------------------
    def open(self) -> "MailboxReader":
        try:
            client = IMAPClient(self.host, self.port, ssl=self._ssl, ssl_context=self._ssl_context,
                                timeout=self._timeout)
            if self._starttls:
                client.starttls(self._ssl_context)
        except (OSError, IMAPClientError) as exc:
            raise MailboxConnectionLost(f"{self.host}:{self.port}: {exc}") from exc
        try:
            self._login(client)
        except BaseException:
            self._drop(client)
            raise
        self._client = client
        self._outstanding.clear()
        self._high = self.state.last_uid
        self._select()
        return self

    def _login(self, client: IMAPClient) -> None:
        try:
            if self._oauth2 is None:
                try:
                    client.login(self._username, self._password)
                except LoginError as exc:
                    self._raise_if_lost(exc)
                    raise MailboxLoginRefused(f"{self.host}:{self.port}: {self._username}: "
                                              f"password refused: {exc}") from None
                return
            token = self._oauth2.token()
            try:
                client.oauth2_login(self._username, token)
                return
            except LoginError as exc:
                self._raise_if_lost(exc)
                log.info("%s:%s: XOAUTH2 token refused for %s (%s); fetching a new one",
                         self.host, self.port, self._username, exc)
            self._oauth2.invalidate(token)
            token = self._oauth2.token()
            try:
                client.oauth2_login(self._username, token)
            except LoginError as exc:
                self._raise_if_lost(exc)
                self._oauth2.invalidate(token)
                raise MailboxLoginRefused(f"{self.host}:{self.port}: {self._username}: XOAUTH2 "
                                          f"refused with a fresh token too: {exc}") from None
        except (OSError, IMAPClientError) as exc:
            raise MailboxConnectionLost(f"{self.host}:{self.port}: {exc}") from exc

    def _raise_if_lost(self, exc: LoginError) -> None:
        # imapclient turns every error during LOGIN/AUTHENTICATE into LoginError, a dropped
        # connection too; only a server's NO/BAD is a refusal.
        if isinstance(exc.__context__, (IMAPClient.AbortError, OSError)):
            raise MailboxConnectionLost(f"{self.host}:{self.port}: {exc}") from exc

    @staticmethod
    def _drop(client: IMAPClient) -> None:
        try:
            client.shutdown()
        except (OSError, IMAPClientError):
            pass

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except (OSError, IMAPClientError):
                log.debug("logout from %s failed; connection dropped", self.host)

    def __enter__(self) -> "MailboxReader":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def uses_idle(self) -> bool:
        return self._want_idle and self._call(lambda c: c.has_capability("IDLE"))

    # -- reading -------------------------------------------------------------------------
    def fetch_new(self, limit: int = 100) -> list[MailEvent]:
        """Up to `limit` messages not yet stored, oldest first; or [UidValidityChanged]."""
        status = self._select()
        if self._changed is not None:
            return [self._changed]
        after = max(self.state.last_uid, self._high)
        candidates = sorted(u for u in self._uids_after(after) if u not in self._outstanding)
        upto = self.state.seen_only_upto
        unseen: set[int] = set()
        if upto > after and candidates and candidates[0] <= upto:
            unseen = set(self._call(lambda c: c.search(["UID", f"{after + 1}:{upto}", "UNSEEN"])))
        batch, passed, considered = [], 0, after
        for uid in candidates:
            if len(batch) == limit:
                break
            considered = uid
            if uid <= upto and uid not in unseen:
                passed += 1          # \Seen under the old numbering: stored before the change
            else:
                batch.append(uid)
        if passed:
            log.info("%s: passed over %d \\Seen messages from before the UIDVALIDITY change",
                     self.folder, passed)
        if not candidates:
            # Nothing exists above `after` below the UIDNEXT seen at SELECT (expunged UIDs).
            considered = max(considered, int(status.get(b"UIDNEXT", 1)) - 1)
        self._high = max(self._high, considered)
        if not batch:
            self._advance()
            return []
        data = self._call(lambda c: c.fetch(batch, ["BODY.PEEK[]", "FLAGS"]))
        events = []
        for uid in batch:
            item = data.get(uid)
            if item is None or b"BODY[]" not in item:
                log.info("%s: UID %d vanished between SEARCH and FETCH", self.folder, uid)
                continue
            events.append(NewMessage(uid, bytes(item[b"BODY[]"]), tuple(item.get(b"FLAGS", ()))))
            self._outstanding.add(uid)
        self._advance()
        return events

    def confirm(self, uid: int) -> MailboxState:
        """The caller has stored message `uid`: mark it \\Seen and move the state on.
        Returns the state to persist."""
        if uid not in self._outstanding:
            raise ValueError(f"{self.folder}: UID {uid} was not handed out by fetch_new or is confirmed")
        self._call(lambda c: c.add_flags([uid], [SEEN], silent=True))
        self._outstanding.discard(uid)
        self._advance()
        return self.state

    def accept_uidvalidity(self, event: UidValidityChanged, take: str = "unseen") -> MailboxState:
        """Start over under the new UIDVALIDITY. take="unseen": messages that existed at the
        change are taken only if not \\Seen (we mark what we stored \\Seen); take="all": every
        message is fetched again (the caller dedups on Message-ID)."""
        if take not in ("unseen", "all"):
            raise ValueError("take is 'unseen' or 'all'")
        if event is not self._changed and event != self._changed:
            raise ValueError("not the pending UIDVALIDITY change")
        log.warning("%s: UIDVALIDITY %s -> %s accepted, taking %s", self.folder, event.old,
                    event.new, take)
        upto = event.uidnext - 1 if take == "unseen" else 0
        self.state = MailboxState(event.new, 0, upto)
        self._changed = None
        self._outstanding.clear()
        self._high = 0
        return self.state

    def wait(self, timeout: float) -> bool:
        """Block until the mailbox may have new mail (True) or `timeout` seconds pass (False).
        IDLE if the server has it, else a poll every poll_interval. A message arriving in
        the instant between the check and IDLE is found at the latest when the next wait
        starts; keep timeouts bounded (RFC 2177: re-IDLE within 29 minutes)."""
        if self._changed is not None or self._has_new():
            return True
        if self.uses_idle:
            return self._idle(timeout)
        deadline = self._clock() + timeout
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            self._sleep(min(self._poll_interval, remaining))
            self._call(lambda c: c.noop())
            if self._has_new():
                return True

    # -- internals -----------------------------------------------------------------------
    def _idle(self, timeout: float) -> bool:
        client = self._require()
        deadline = self._clock() + timeout
        woke = False
        try:
            client.idle()
        except (OSError, IMAPClientError) as exc:
            raise MailboxConnectionLost(f"{self.folder}: IDLE failed: {exc}") from exc
        try:
            if self._on_idle is not None:
                self._on_idle()
            while not woke:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                responses = client.idle_check(timeout=remaining)
                if any(r[:1] == (b"BYE",) for r in responses):
                    raise MailboxConnectionLost(f"{self.folder}: server said BYE during IDLE")
                woke = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        finally:
            try:
                _, responses = client.idle_done()
            except (OSError, IMAPClientError) as exc:
                raise MailboxConnectionLost(f"{self.folder}: leaving IDLE failed: {exc}") from exc
        return woke or any(len(r) > 1 and r[1] == b"EXISTS" for r in responses) or self._has_new()

    def _select(self) -> dict:
        try:
            status = self._require().select_folder(self.folder)
        except IMAPClientError as exc:
            if isinstance(exc, IMAPClient.AbortError):
                raise MailboxConnectionLost(f"{self.folder}: {exc}") from exc
            raise MailboxMissing(f"{self.folder}: {exc}") from exc
        except OSError as exc:
            raise MailboxConnectionLost(f"{self.folder}: {exc}") from exc
        validity = int(status[b"UIDVALIDITY"])
        if self.state.uidvalidity is None:
            self.state = replace(self.state, uidvalidity=validity)
        elif validity != self.state.uidvalidity and self._changed is None:
            self._changed = UidValidityChanged(self.folder, self.state.uidvalidity, validity,
                                               int(status.get(b"UIDNEXT", 1)), int(status.get(b"EXISTS", 0)))
            log.warning("%s: UIDVALIDITY changed %s -> %s (%d messages); fetching stopped until accepted",
                        self.folder, self.state.uidvalidity, validity, self._changed.exists)
        return status

    def _uids_after(self, after: int) -> list[int]:
        # "UID n:*" always matches the highest UID, even when it is below n: filter.
        return [u for u in self._call(lambda c: c.search(["UID", f"{after + 1}:*"])) if u > after]

    def _has_new(self) -> bool:
        after = max(self.state.last_uid, self._high)
        return bool(self._uids_after(after))

    def _advance(self) -> None:
        done_upto = min(self._outstanding) - 1 if self._outstanding else self._high
        if done_upto > self.state.last_uid:
            self.state = replace(self.state, last_uid=done_upto)

    def _require(self) -> IMAPClient:
        if self._client is None:
            raise MailboxConnectionLost(f"{self.folder}: not connected (call open())")
        return self._client

    def _call(self, fn):
        client = self._require()
        try:
            return fn(client)
        except IMAPClient.AbortError as exc:
            raise MailboxConnectionLost(f"{self.folder}: {exc}") from exc
        except OSError as exc:
            raise MailboxConnectionLost(f"{self.folder}: {exc}") from exc
