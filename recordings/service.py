"""The recorder: turns the engine's recording notices into stored, encrypted recordings.

It runs in the engine process beside the engine and never delays it:
- `notice()` (called from the engine's notify) only queues the notice; one greenlet of the
  recorder does the database work in order (start -> parties -> stop);
- each stopped file goes into a queue of its own that ENCRYPTIONS worker greenlets take
  from, their CPU and disk work in gevent's thread pool (`gevent.get_hub().threadpool`), so
  the loop stays free and the next calls' notices never wait behind a long encryption.

Subscriptions (every notice the recorder consumes, engine/recording notices):
  recording_started {id, interaction, tenant, queue, agent, caller_number, node, uuid, path,
                     started_at, retention_days, key_id, public_key}  -> row, status recording
  recording_party   {id, agent}                                       -> agent added
  recording_stopped {id, path, node, ended_at, cause}                 -> status stopped, encrypt

Encryption of a spool file `<spool>/<tenant>/<id>.wav` (FreeSWITCH's plaintext):
1. age-encrypt it to `<file>.age.part` (pyrage, streaming; digest of the plaintext on the way);
2. put the ciphertext into the storage under `<tenant>/<YYYY>/<MM>/<id>.wav.age`;
3. the row becomes `stored` (sha256, sizes, key id, location) and an audit entry says so;
4. only then the plaintext and the part are removed.
A crash anywhere leaves a state `recovery.recover` finishes: a `.part` is removed, a
plaintext whose row is not stored is encrypted again, one whose row is stored is removed.
Faults (the file is missing at stop, a disk is full, the storage refuses) make the row
`fault` with the reason, write an audit entry (actor `system:recorder`) and keep the
plaintext for `recover()` to retry: never a silent loss.

Retention runs here too: `recordings.retention.purge` once every PURGE_EVERY seconds
with the deployment the engine runs now.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import gevent
import gevent.queue

from engine.clock import utcnow
from engine.config import Deployment
from engine.recording import key_id, policy
from recordings.crypto import encrypt_stream
from store.recordings import RecordingRecord

log = logging.getLogger(__name__)

ACTOR = "system:recorder"
TOPICS = frozenset({"recording_started", "recording_party", "recording_stopped"})
PURGE_EVERY = 3600.0     # s between retention runs in the engine process
ENCRYPTIONS = 2          # files encrypted at the same time (each in a thread of gevent's pool)


def storage_key(record: RecordingRecord) -> str:
    at = record.started_at
    return f"{record.tenant}/{at:%Y}/{at:%m}/{record.id}.wav.age"


def part_path(spool_path: str) -> str:
    return spool_path + ".age.part"


def parse_time(value, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return default


def encrypt_file(plaintext: str, part: str, recipient: str):
    """Plaintext file -> age file (runs in a thread). The part is fsynced before it is used:
    after a power cut a stored row never names a ciphertext the disk did not keep."""
    with open(plaintext, "rb") as src, open(part, "wb") as dst:
        digest = encrypt_stream(src, dst, [recipient])
        dst.flush()
        os.fsync(dst.fileno())
    return digest


@dataclass(frozen=True)
class Outcome:
    recording: str
    status: str          # stored | fault
    fault: str = ""


class Recorder:
    def __init__(self, store, storage, deployment: Callable[[], Deployment], *,
                 clock: Callable[[], datetime] = utcnow, storage_kind: str = "local",
                 purge_every: float | None = PURGE_EVERY):
        self.store = store
        self.storage = storage
        self.deployment = deployment            # the CURRENT deployment (it changes on reload)
        self.clock = clock
        self.storage_kind = storage_kind
        self.purge_every = purge_every
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._stopped: gevent.queue.Queue = gevent.queue.Queue()   # stopped records waiting for a worker
        self._encrypting: set[gevent.Greenlet] = set()   # workers encrypting now
        self._workers: list[gevent.Greenlet] = []
        self._stopping = False
        self._keys: dict[str, str] = {}          # recording id -> the public key its start named
        self._greenlets: list[gevent.Greenlet] = []
        self.outcomes: list[Outcome] = []        # what the jobs did (the fault report reads faults from the store)
        self._busy = False                       # a notice is being handled

    # -- engine side ------------------------------------------------------------------
    def notice(self, notify) -> None:
        """Called with every Notify; never blocks (the engine's greenlet calls it)."""
        if notify.topic in TOPICS:
            self._inbox.put((notify.topic, dict(notify.payload)))

    # -- lifecycle --------------------------------------------------------------------
    def start(self, recover: bool = True) -> "Recorder":
        self._stopping = False
        self._greenlets.append(gevent.spawn(self._consume, recover))
        if self.purge_every:
            self._greenlets.append(gevent.spawn(self._purge_hourly))
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking notices; let running encryptions finish within `timeout` (what is
        cut short is finished by the next start's recover())."""
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self._stopping = True                    # a worker ends after the file it encrypts now
        workers, self._workers = self._workers, []
        busy = [w for w in workers if w in self._encrypting]
        for worker in workers:
            if worker not in busy:
                worker.kill(block=False)
        gevent.joinall(busy, timeout=timeout)
        for worker in busy:
            worker.kill(block=False)

    def idle(self) -> bool:
        return self._inbox.empty() and self._stopped.empty() and not self._encrypting and not self._busy

    def _consume(self, recover: bool) -> None:
        if recover:
            from recordings.recovery import recover as run_recovery
            try:
                run_recovery(self, defer=True)      # the backlog goes to the workers: notices flow at once
            except Exception:
                log.exception("recording recovery failed; the next start tries again")
        while True:
            topic, payload = self._inbox.get()
            self._busy = True
            try:
                self.handle(topic, payload)
            except Exception:   # one bad notice must not stop recording the next calls
                log.exception("recorder could not handle %s %s", topic, payload.get("id"))
            finally:
                self._busy = False

    def _encrypt_next(self) -> None:
        me = gevent.getcurrent()
        while not self._stopping:
            record = self._stopped.get()
            self._encrypting.add(me)
            try:
                self.encrypt(record)
            except Exception:   # the row stays `stopped`: recover() at the next start retries it
                log.exception("recorder could not encrypt %s", record.id)
            finally:
                self._encrypting.discard(me)

    def _purge_hourly(self) -> None:
        from recordings.retention import purge
        while True:
            gevent.sleep(self.purge_every)
            try:
                report = purge(self.store, self.storage, self.deployment(), self.clock())
                if report.deleted or report.failed:
                    log.info("retention: %d recording(s) deleted, %d failed, %d on legal hold",
                             len(report.deleted), len(report.failed), len(report.held))
            except Exception:
                log.exception("retention run failed; next try in %.0f s", self.purge_every)

    # -- the notices, in order --------------------------------------------------------
    def handle(self, topic: str, p: dict) -> None:
        now = self.clock()
        if topic == "recording_started":
            if p.get("public_key"):
                self._keys[p["id"]] = p["public_key"]
            self.store.create_recording(RecordingRecord(
                id=p["id"], interaction=p.get("interaction", ""), tenant=p["tenant"], queue=p.get("queue", ""),
                agents=(p["agent"],) if p.get("agent") else (), caller_number=p.get("caller_number", ""),
                node=p.get("node", ""), started_at=parse_time(p.get("started_at"), now), status="recording",
                key_id=p.get("key_id", ""), storage=self.storage_kind, spool_path=p.get("path", ""),
                retention_days=int(p.get("retention_days") or 90)))
        elif topic == "recording_party":
            self.store.add_recording_agent(p["id"], p.get("agent", ""))
        elif topic == "recording_stopped":
            record = self.store.recording(p["id"])
            if record is None or record.status not in ("recording",):
                log.info("recording %s stopped again or unknown (%s): ignored", p["id"],
                         record.status if record else "no row")
                return
            ended = parse_time(p.get("ended_at"), now)
            record = self.store.change_recording(record.id, "stopped", ended_at=ended,
                                                 duration=max(0.0, (ended - record.started_at).total_seconds()))
            self.submit(record)

    # -- encryption -------------------------------------------------------------------
    def submit(self, record: RecordingRecord) -> None:
        """Queued for the encryption workers (started with the first file); never blocks the notices."""
        if not self._workers:
            self._workers = [gevent.spawn(self._encrypt_next) for _ in range(ENCRYPTIONS)]
        self._stopped.put(record)

    @property
    def spool_root(self) -> str:
        return os.path.join(self.deployment().recordings_dir, "spool")

    def recipient(self, record: RecordingRecord) -> str:
        """The key the start named, else the tenant's current one (after a restart)."""
        return self._keys.get(record.id) or policy(self.deployment(), record.tenant, record.queue).public_key

    def fault(self, record: RecordingRecord, reason: str) -> Outcome:
        log.warning("recording %s fault: %s", record.id, reason)
        self.store.change_recording(record.id, "fault", fault=reason[:512])
        self.store.audit_recording(ACTOR, "recording.fault", record.id, record.tenant,
                                   {"fault": reason[:512], "spool_path": record.spool_path, "node": record.node})
        outcome = Outcome(record.id, "fault", reason)
        self.outcomes.append(outcome)
        return outcome

    def encrypt(self, record: RecordingRecord) -> Outcome:
        """Spool file -> encrypted, stored, plaintext removed; or a fault, plaintext kept."""
        path = record.spool_path
        if not path or not os.path.exists(path):
            return self.fault(record, f"plaintext missing: {path or '(no path)'} (node {record.node or '?'})")
        recipient = self.recipient(record)
        if not recipient:
            return self.fault(record, f"no public key for tenant {record.tenant}: plaintext kept")
        part, key = part_path(path), storage_key(record)
        result = gevent.get_hub().threadpool.apply(_encrypt_and_put, (path, part, recipient, self.storage, key))
        if isinstance(result, OSError):   # ENOSPC, EIO, a storage that went away: plaintext kept for recover()
            _remove(part)
            return self.fault(record, f"encryption or storage failed: {result.__class__.__name__}: {result}")
        digest, stored_size = result
        self.store.change_recording(record.id, "stored", sha256=digest.sha256, size=digest.size,
                                    stored_size=stored_size, key_id=key_id(recipient), location=key,
                                    storage=self.storage_kind, fault="")
        self.store.audit_recording(ACTOR, "recording.stored", record.id, record.tenant,
                                   {"sha256": digest.sha256, "size": digest.size, "location": key,
                                    "key_id": key_id(recipient)})
        _remove(path)
        _remove(part)
        self._keys.pop(record.id, None)
        outcome = Outcome(record.id, "stored")
        self.outcomes.append(outcome)
        return outcome


def _encrypt_and_put(path: str, part: str, recipient: str, storage, key: str):
    """(digest, encrypted size), or the OSError that stopped it (returned, not raised: gevent's
    thread pool would print a raised one as if it were unexpected)."""
    try:
        digest = encrypt_file(path, part, recipient)
        stored_size = os.path.getsize(part)
        storage.put_file(key, part)
    except OSError as exc:
        return exc
    return digest, stored_size


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
