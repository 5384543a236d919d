"""`Store(url)`: the runtime's one handle on the database (sync SQLAlchemy 2.x Core).

Rules:
- Every method is one transaction; `write(...)` puts journal rows, interaction and
  agent-state upserts of one batch into a single transaction (what the writer uses).
- The clock is injected (`clock=`) for the `updated_at`/`created_at` stamps.
- Bad input raises `InvalidRecord` before anything is committed.
- Under gevent with PostgreSQL call `store.gevent_support.make_psycopg2_green()` first.
"""
from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Callable, Iterable, Iterator

import sqlalchemy as sa

from engine.effects import Journal
from store import journal as journal_rows
from store import runtime, users, written
from store.database import create_engine, safe_url
from store.errors import InvalidRecord
from store.records import AgentStateRecord, AuditRecord, CallbackRecord, InteractionRecord, UserRecord
from engine.clock import utcnow

log = logging.getLogger(__name__)



class Store:
    def __init__(self, url: str | None = None, *, clock: Callable[[], datetime] = utcnow,
                 migrate: bool = False, **engine_options) -> None:
        self.engine = create_engine(url, **engine_options)
        self.url = safe_url(self.engine.url)
        self.clock = clock
        if migrate:
            from store.migrate import migrate as upgrade

            upgrade(self.engine.url.render_as_string(hide_password=False))

    def __repr__(self) -> str:
        return f"Store({self.url})"

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One transaction; a bad value in a record becomes `InvalidRecord`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.StatementError as exc:
            if isinstance(exc.orig, (ValueError, TypeError)):
                raise InvalidRecord(str(exc.orig)) from exc
            raise

    # -- journal -------------------------------------------------------------
    def append_journal(self, rows: Iterable[Journal]) -> int:
        """Append rows in one batch; a row whose (interaction, seq) exists is dropped. Returns new rows."""
        with self.transaction() as conn:
            return journal_rows.append(conn, rows)

    def journal(self, interaction: str | None = None, since: datetime | None = None,
                until: datetime | None = None, tenant: str | None = None) -> list[Journal]:
        with self.engine.connect() as conn:
            return journal_rows.read(conn, interaction=interaction, since=since, until=until, tenant=tenant)

    def iter_journal(self, **filters) -> Iterator[Journal]:
        with self.engine.connect() as conn:
            yield from journal_rows.stream(conn, **filters)

    def journal_of_period(self, start: datetime, end: datetime) -> Iterator[Journal]:
        """Every row of the interactions that arrived or entered a queue in [start, end)."""
        with self.engine.connect() as conn:
            yield from journal_rows.stream_period(conn, start, end)

    def last_seqs(self, interactions: Iterable[str] | None = None) -> dict[str, int]:
        """Highest stored seq per interaction (default: every open one), to resume numbering."""
        with self.engine.connect() as conn:
            return journal_rows.last_seqs(conn, interactions)

    def verify_journal(self, interaction: str | None = None,
                       period: tuple[datetime, datetime] | None = None) -> list[journal_rows.JournalProblem]:
        """Interactions whose seqs are not 1..n; `period`: only those with a row in [start, end)."""
        with self.engine.connect() as conn:
            return journal_rows.verify(conn, interaction, period)

    # -- one batch of runtime writes ------------------------------------------
    def write(self, journal: Iterable[Journal] = (), interactions: Iterable[InteractionRecord] = (),
              agent_states: Iterable[AgentStateRecord] = ()) -> int:
        """Journal rows + interaction and agent-state upserts in one transaction; returns new journal rows."""
        now = self.clock()
        interactions = list(interactions)
        with self.transaction() as conn:
            new = journal_rows.append(conn, journal)
            runtime.upsert_interactions(conn, interactions, now)
            for record in interactions:          # a written item files its messages with its record
                if record.kind != "call" and record.data.get("messages"):
                    written.file_messages(conn, record.id, record.data["messages"])
            runtime.save_agent_states(conn, agent_states, now)
            return new

    # -- interactions, agents, callbacks --------------------------------------
    def upsert_interaction(self, *records: InteractionRecord) -> None:
        with self.transaction() as conn:
            runtime.upsert_interactions(conn, records, self.clock())

    def open_interactions(self, tenant: str | None = None) -> list[InteractionRecord]:
        with self.engine.connect() as conn:
            return runtime.open_interactions(conn, tenant)

    def interaction(self, interaction_id: str) -> InteractionRecord | None:
        with self.engine.connect() as conn:
            return runtime.get_interaction(conn, interaction_id)

    def save_agent_states(self, records: Iterable[AgentStateRecord]) -> None:
        with self.transaction() as conn:
            runtime.save_agent_states(conn, records, self.clock())

    def load_agent_states(self) -> dict[str, AgentStateRecord]:
        with self.engine.connect() as conn:
            return runtime.load_agent_states(conn)

    def save_callbacks(self, *records: CallbackRecord) -> None:
        with self.transaction() as conn:
            runtime.save_callbacks(conn, records)

    def callbacks(self, state: str | None = "pending", queue: str | None = None,
                  tenant: str | None = None) -> list[CallbackRecord]:
        with self.engine.connect() as conn:
            return runtime.callbacks(conn, state=state, queue=queue, tenant=tenant)

    # -- web users and audit ---------------------------------------------------
    def create_user(self, username: str, password: str, *, display_name: str = "",
                    roles: Iterable[tuple[str, str]] = ()) -> UserRecord:
        with self.transaction() as conn:
            return users.create_user(conn, username, password, self.clock(), display_name=display_name, roles=roles)

    def user(self, username: str) -> UserRecord | None:
        with self.engine.connect() as conn:
            return users.get_user(conn, username)

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        with self.transaction() as conn:
            return users.authenticate(conn, username, password, self.clock())

    def set_password(self, username: str, password: str) -> None:
        with self.transaction() as conn:
            users.set_password(conn, username, password)

    def set_roles(self, username: str, roles: Iterable[tuple[str, str]]) -> None:
        with self.transaction() as conn:
            users.set_roles(conn, username, roles)

    def set_active(self, username: str, active: bool) -> None:
        with self.transaction() as conn:
            users.set_active(conn, username, active)

    def bind_agent(self, username: str, agent: str | None) -> None:
        """Bind a web user to an engine agent (None unbinds); store.users.bind_agent."""
        with self.transaction() as conn:
            users.bind_agent(conn, username, agent)

    def users(self, tenant: str | None = None) -> list[UserRecord]:
        """Every web user, or those with a role in `tenant` (store.users.list_users)."""
        with self.engine.connect() as conn:
            return users.list_users(conn, tenant)

    def user_of_agent(self, agent: str) -> str | None:
        with self.engine.connect() as conn:
            return users.user_of_agent(conn, agent)

    def contacts_since(self, caller_number: str, since: datetime, limit: int = 20) -> list[InteractionRecord]:
        """Interactions from this caller number that entered at or after `since`, newest first
        (the console's "previous contacts today")."""
        with self.engine.connect() as conn:
            return runtime.contacts_since(conn, caller_number, since, limit)

    def audit(self, actor: str, action: str, target_kind: str, target_id: str, *,
              tenant: str = "", detail: dict | None = None, at: datetime | None = None) -> None:
        entry = AuditRecord(at=at or self.clock(), actor=actor, action=action, target_kind=target_kind,
                            target_id=target_id, tenant=tenant, detail=detail or {})
        with self.transaction() as conn:
            users.audit(conn, [entry])

    def audit_entries(self, **filters) -> list[AuditRecord]:
        with self.engine.connect() as conn:
            return users.audit_entries(conn, **filters)

    # -- API tokens and webhooks (store/tokens.py) -------------------------------
    def create_token(self, name: str, tenant: str, role: str, created_by: str):
        """(TokenRecord, the whole token string): the string is shown once, never stored."""
        from store import tokens
        with self.transaction() as conn:
            return tokens.create_token(conn, name, tenant, role, created_by, self.clock())

    def revoke_token(self, token_id: int):
        from store import tokens
        with self.transaction() as conn:
            return tokens.revoke_token(conn, token_id, self.clock())

    def tokens(self, tenant: str | None = None):
        from store import tokens
        with self.engine.connect() as conn:
            return tokens.tokens(conn, tenant)

    def token_by_secret(self, token: str):
        """The active token this bearer string is, or None (stamps last_used_at)."""
        from store import tokens
        with self.transaction() as conn:
            return tokens.token_by_secret(conn, token, self.clock())

    def add_webhook(self, url: str, tenant: str, secret: str, events=(), created_by: str = ""):
        from store import tokens
        with self.transaction() as conn:
            return tokens.add_webhook(conn, url, tenant, secret, events, created_by, self.clock())

    def remove_webhook(self, webhook_id: int) -> None:
        from store import tokens
        with self.transaction() as conn:
            tokens.remove_webhook(conn, webhook_id)

    def webhooks(self, tenant: str | None = None, active_only: bool = False):
        from store import tokens
        with self.engine.connect() as conn:
            return tokens.webhooks(conn, tenant, active_only)

    # -- call recordings and their access log (store/recordings.py) ----------------
    def create_recording(self, record):
        from store import recordings
        with self.transaction() as conn:
            return recordings.create(conn, record)

    def recording(self, recording_id: str):
        from store import recordings
        with self.engine.connect() as conn:
            return recordings.get(conn, recording_id)

    def change_recording(self, recording_id: str, status: str | None = None, **values):
        from store import recordings
        with self.transaction() as conn:
            return recordings.change(conn, recording_id, status, **values)

    def add_recording_agent(self, recording_id: str, agent: str):
        from store import recordings
        with self.transaction() as conn:
            return recordings.add_agent(conn, recording_id, agent)

    def search_recordings(self, tenants=None, **filters):
        """store.recordings.search: tenants None = every tenant."""
        from store import recordings
        with self.engine.connect() as conn:
            return recordings.search(conn, tenants, **filters)

    def hold_recording(self, recording_id: str, reason: str, by: str):
        """Legal hold, audited in the same transaction."""
        from store import recordings
        now = self.clock()
        with self.transaction() as conn:
            record = recordings.set_hold(conn, recording_id, reason, by, now)
            recordings.append_audit(conn, by, "recording.hold", recording_id, record.tenant, {"reason": reason}, now)
            return record

    def release_recording(self, recording_id: str, by: str):
        from store import recordings
        now = self.clock()
        with self.transaction() as conn:
            record = recordings.lift_hold(conn, recording_id, by, now)
            recordings.append_audit(conn, by, "recording.release", recording_id, record.tenant, {}, now)
            return record

    def audit_recording(self, actor: str, action: str, recording: str = "", tenant: str = "",
                        detail: dict | None = None):
        """One row of the recordings' append-only, hash-chained access log."""
        from store import recordings
        with self.transaction() as conn:
            return recordings.append_audit(conn, actor, action, recording, tenant, detail, self.clock())

    def recording_audit(self, **filters):
        from store import recordings
        with self.engine.connect() as conn:
            return recordings.audit_rows(conn, **filters)

    def verify_recording_audit(self) -> list[int]:
        """Ids where the access log's hash chain breaks (empty = intact)."""
        from store import recordings
        with self.engine.connect() as conn:
            return recordings.verify_audit(conn)

    # -- the system event log (store/system_events.py) -----------------------------
    def append_system_events(self, events) -> int:
        """Append SystemEvents in one transaction; returns how many."""
        from store import system_events
        with self.transaction() as conn:
            return system_events.append(conn, events)

    def system_events(self, start: datetime | None = None, end: datetime | None = None,
                      source: str | None = None, kinds=None):
        """SystemEvents with start <= at < end, in time order."""
        from store import system_events
        with self.engine.connect() as conn:
            return system_events.read(conn, start, end, source=source, kinds=kinds)

    def last_system_events(self, before: datetime):
        """Each source's last SystemEvent before `before`: {source: event}."""
        from store import system_events
        with self.engine.connect() as conn:
            return system_events.last_before(conn, before)

    def journal_of_kinds(self, kinds, start: datetime, end: datetime) -> list[Journal]:
        """Journal rows of these kinds with start <= at < end, in time order."""
        with self.engine.connect() as conn:
            return journal_rows.read(conn, since=start, until=end, kinds=tuple(kinds))

    # -- written channels (store/written.py) ------------------------------------
    def save_inbound_message(self, record) -> tuple[str, bool]:
        with self.transaction() as conn:
            return written.save_inbound(conn, record)

    def save_outbound_message(self, record) -> None:
        with self.transaction() as conn:
            written.save_outbound(conn, record)

    def written_message(self, message_id: str):
        with self.engine.connect() as conn:
            return written.message(conn, message_id)

    def written_messages(self, *, item: str | None = None, case: str | None = None):
        with self.engine.connect() as conn:
            return written.messages(conn, item=item, case=case)

    def unfiled_messages(self, limit: int = 1000):
        with self.engine.connect() as conn:
            return written.unfiled(conn, limit)

    def cases_of(self, tenant: str, external_ids) -> dict[str, str]:
        with self.engine.connect() as conn:
            return written.cases_of(conn, tenant, external_ids)

    def new_case(self, tenant: str, channel: str, contact: str = "", subject: str = "") -> str:
        with self.transaction() as conn:
            return written.new_case(conn, tenant, channel, self.clock(), contact, subject)

    def case_exists(self, tenant: str, case: str) -> bool:
        with self.engine.connect() as conn:
            return written.case_exists(conn, tenant, case)

    def claim_outbound(self, message_id: str):
        with self.transaction() as conn:
            return written.claim_outbound(conn, message_id)

    def release_outbound(self, message_id: str) -> None:
        with self.transaction() as conn:
            written.release_outbound(conn, message_id)

    def mark_sent(self, message_id: str, external_id: str) -> None:
        with self.transaction() as conn:
            written.mark_sent(conn, message_id, external_id, self.clock())

    def mark_failed(self, message_id: str, error: str) -> None:
        with self.transaction() as conn:
            written.mark_failed(conn, message_id, error)

    def pending_outbound(self):
        with self.engine.connect() as conn:
            return written.pending_outbound(conn)

    def accepted_replies(self, replies) -> set[str]:
        """The ids of `replies` their item's stored record lists (written.accepted_replies)."""
        with self.engine.connect() as conn:
            return written.accepted_replies(conn, replies)

    def mailbox_state(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            return written.mailbox_state(conn, key)

    def save_mailbox_state(self, key: str, state) -> None:
        with self.transaction() as conn:
            written.save_mailbox_state(conn, key, state, self.clock())
