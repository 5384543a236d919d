"""The deployment's routing configuration as the domain sees it: frozen dataclasses.

`dialplan/` loads and validates the YAML that telecom engineers edit and builds these;
the engine only ever reads them. A reload swaps the whole `Deployment` object, so a
call in progress keeps the queue settings it was offered under until it ends.
Pure: standard library only.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Mapping
from zoneinfo import ZoneInfo


class Strategy(enum.Enum):
    LONGEST_IDLE = "longest-idle"
    ROUND_ROBIN = "round-robin"
    RING_ALL = "ring-all"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    TOP_DOWN = "top-down"
    RANDOM = "random"


class OverflowKind(enum.Enum):
    QUEUE = "queue"          # move to another queue, keeping the caller's entry time
    VOICEMAIL = "voicemail"  # leave a message (target = mailbox)
    CALLBACK = "callback"    # register a callback request, then a goodbye prompt
    MESSAGE = "message"      # play a closing message, then hang up
    TRANSFER = "transfer"    # transfer to a number (e.g. the agency's own reception)
    HANGUP = "hangup"


@dataclass(frozen=True)
class Overflow:
    kind: OverflowKind
    target: str = ""   # queue id, mailbox, number; empty for MESSAGE/HANGUP
    prompt: str = ""   # sound played first, if any


@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time  # exclusive; 24:00 is written as time.max

    def contains(self, t: time) -> bool:
        return self.start <= t < self.end or (self.end == time.max and t >= self.start)


@dataclass(frozen=True)
class OpeningHours:
    """Weekly hours (0 = Monday) in the tenant's time zone, minus holidays.

    `special` overrides a whole day (e.g. shortened hours on Christmas Eve);
    an empty tuple there means closed that day.
    """

    timezone: str = "Europe/Oslo"
    weekly: Mapping[int, tuple[TimeRange, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    special: Mapping[date, tuple[TimeRange, ...]] = field(default_factory=dict)
    always_open: bool = False

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        if at.tzinfo is None:
            raise ValueError("opening hours need an aware datetime")
        local = at.astimezone(ZoneInfo(self.timezone))
        day = local.date()
        if day in self.special:
            ranges = self.special[day]
        elif day in self.holidays:
            return False
        else:
            ranges = self.weekly.get(local.weekday(), ())
        t = local.time().replace(tzinfo=None)
        return any(r.contains(t) for r in ranges)


@dataclass(frozen=True)
class QueueAlarms:
    """Thresholds that turn a queue red on the supervisor page (None = no such alarm):
    `waiting` callers or more waiting, the longest waiting `longest_wait` s or more,
    today's service level below `service_level` percent."""

    waiting: int | None = None
    longest_wait: float | None = None
    service_level: float | None = None


@dataclass(frozen=True)
class TierRule:
    """Agents of `level` become eligible once the call has waited `after_seconds`."""

    level: int
    after_seconds: float


@dataclass(frozen=True)
class QueueRecording:
    """A queue's own recording settings over its tenant's; each None = the tenant's
    (engine/recording.policy merges them)."""

    enabled: bool | None = None
    notice: str | None = None
    retention_days: int | None = None
    roles: frozenset[str] | None = None


VOICE = "voice"
WRITTEN_CHANNELS = ("email", "sms", "task")    # interaction kinds that are no call (engine.written)
CHANNELS = (VOICE,) + WRITTEN_CHANNELS


@dataclass(frozen=True)
class Capacity:
    """What one agent carries at once (engine.written). Written items are held up to
    `written` units, each costing its channel's entry in `costs`; a call is offered only
    while her written units, offered and open items alike, are at most `calls_up_to`
    (None: always, a call interrupts written work); new written items reach an agent on a call (offered,
    talking or in wrap-up) only with `written_during_call`."""

    written: float = 3.0
    calls_up_to: float | None = None
    costs: Mapping[str, float] = field(default_factory=lambda: {"email": 1.0, "sms": 1.0, "task": 1.0})
    written_during_call: bool = False

    def cost(self, channel: str) -> float:
        return float(self.costs.get(channel, 1.0))


@dataclass(frozen=True)
class QueueConfig:
    id: str
    tenant: str
    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout: float = 20.0
    max_wait: float = 600.0
    wrapup: float = 10.0
    max_no_answer: int = 3
    reject_delay: float = 10.0
    busy_delay: float = 30.0
    no_answer_delay: float = 0.0
    moh: str = "local_stream://moh"
    announce_every: float = 30.0          # 0 = no periodic announcement
    announce_position: bool = True
    announce_wait_time: bool = True
    periodic_prompt: str = ""
    overflow: Overflow = Overflow(OverflowKind.MESSAGE)
    no_agents: Overflow = Overflow(OverflowKind.MESSAGE)
    tiers: tuple[TierRule, ...] = ()      # empty = all levels at once
    required_skills: frozenset[str] = frozenset()
    priority: int = 0                     # higher is served first across queues
    service_level_seconds: float = 20.0
    callback_enabled: bool = False
    callback_digit: str = "1"             # the caller presses it to keep the place and hang up
    callback_prompt: str = ""             # confirmation played before the engine hangs up
    alarms: QueueAlarms = QueueAlarms()   # the supervisor page's thresholds (agent_ui.alarms)
    recording: QueueRecording | None = None  # None = the tenant's recording policy as it is
    channel: str = VOICE                  # voice, or a written channel (email, sms, task): engine.written
    reply_from: str = ""                  # written queues: the address / number replies are sent from

    @property
    def written(self) -> bool:
        return self.channel != VOICE


@dataclass(frozen=True)
class AgentConfig:
    id: str
    name: str
    sip_user: str                          # user/<sip_user> in FreeSWITCH's directory
    queues: Mapping[str, int] = field(default_factory=dict)  # queue id -> level (1 = first)
    skills: frozenset[str] = frozenset()
    password_hash: str = ""                # for the softphone directory (a1-hash), never plain
    auto_answer: bool = False              # the phone answers on the console's word (uuid_phone_event talk)
    capacity: Capacity = Capacity()        # the deployment's `capacity` unless the agent has its own


@dataclass(frozen=True)
class EntryPoint:
    number: str                            # the dialled main number (destination)
    tenant: str
    queue: str
    pattern: str = ""                      # a regex over the destination instead of one number
    priority: int = 0                      # caller priority of calls entering here (cc_priority)
    tags: Mapping[str, str] = field(default_factory=dict)  # extra cc_<name> channel variables


@dataclass(frozen=True)
class TenantConfig:
    id: str
    name: str
    caller_id_name: str = ""               # shown on the agent's phone ("Helsedir.")
    opening_hours: OpeningHours = OpeningHours(always_open=True)
    after_hours: Overflow = Overflow(OverflowKind.MESSAGE)
    record_calls: bool = True
    recording_notice: str = ""             # prompt played before anything else (R6)
    recording_key: str = ""                # the agency's age public key ("age1..."): files are encrypted to it
    recording_retention_days: int = 90     # recordings are deleted this many days after the call
    recording_roles: frozenset[str] = frozenset({"supervisor", "tenant_admin"})  # who may listen
    welcome_prompt: str = ""
    greeting: str = ""                     # what the operator says on answering for this agency
    transfer_timeout: float = 20.0         # s a supervised transfer rings before the call comes back
    park_timeout: float = 120.0            # s a parked call waits before it comes back
    message_from: str = ""                 # sender address of messages taken for its employees
    campon_retry: float = 15.0             # s between a camped-on transfer's tries of a busy target
    campon_timeout: float = 120.0          # s a camped-on caller waits for a busy target before the recall
    campon_prompt: str = ""                # played to the caller when the camp-on starts (then music)
    reply_templates: tuple["ReplyTemplate", ...] = ()   # the console's reply texts for written items


@dataclass(frozen=True)
class ReplyTemplate:
    """A reply text of an agency for written items; the console fills in `{name}` (the
    sender's name), `{case}` (the case id) and `{agency}` (the agency's name). `channels`:
    the written channels it is offered for (empty: every one)."""

    id: str
    name: str
    text: str
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """A pause reason or a wrap-up result code: an id and its label in bokmål and English."""

    id: str
    nb: str
    en: str = ""


@dataclass(frozen=True)
class NodeConfig:
    """One FreeSWITCH node the engine drives over the Event Socket."""

    name: str
    host: str = "127.0.0.1"
    port: int = 8021
    password: str = field(default="", repr=False)  # resolved from the environment at load, never in files


@dataclass(frozen=True)
class Trunk:
    """A SIP trunk (a sofia gateway of the external profile): the carrier, or an agency's
    own PBX. Its password is never held here: only the name of the environment variable
    FreeSWITCH reads it from (`password_env`)."""

    name: str
    proxy: str                             # host[:port]
    register: bool = False
    username: str = ""
    password_env: str = ""                 # environment variable holding the password
    transport: str = "udp"                 # udp | tcp | tls
    caller_id: str = "pass"                # pass (the caller's number) | trunk (its account) | a fixed number


@dataclass(frozen=True)
class OutboundRoute:
    """Numbers the outbound context dials through a trunk: `pattern` over the dialled
    number, `dial` the number the trunk gets (`$1`.. captures)."""

    pattern: str
    trunk: str
    dial: str = ""                         # empty = the dialled number as it is


@dataclass(frozen=True)
class DirectDial:
    """An agency's employees' numbers (DIDs) that ring the employee directly (their PBX
    through `trunk`, or a SIP user here when `trunk` is empty) and fall back to the
    agency's switchboard queue on no answer, busy or failure."""

    tenant: str
    pattern: str
    dial: str                              # the target: the number the trunk gets, or the SIP user
    trunk: str = ""                        # empty = user/<dial> on this FreeSWITCH
    ring_timeout: float = 20.0
    fallback_queue: str = ""


@dataclass(frozen=True)
class RecordingStorage:
    """Where encrypted recordings are kept: the local filesystem under `recordings_dir`,
    or an S3-compatible bucket (credentials only from boto3's usual environment)."""

    kind: str = "local"                    # local | s3
    bucket: str = ""
    prefix: str = ""
    endpoint_url: str = ""                 # empty = AWS; a MinIO or a provider's URL otherwise
    region: str = ""


@dataclass(frozen=True)
class Mailbox:
    """An IMAP mailbox whose mail becomes items of the written (email) queue `queue`. Its
    secrets are never held here: only the names of the environment variables the process
    reads when it connects (`password_env`, or `oauth2_secret_env` for Microsoft 365's
    XOAUTH2 with client credentials)."""

    queue: str
    host: str
    username: str
    port: int = 993
    folder: str = "INBOX"
    security: str = "ssl"                  # ssl | starttls | none (none only for 127.0.0.1 / ::1)
    password_env: str = ""                 # the environment variable holding the password
    oauth2_tenant: str = ""                # Microsoft 365 XOAUTH2 instead of a password
    oauth2_client_id: str = ""
    oauth2_secret_env: str = ""
    poll_seconds: float = 60.0             # when the server has no IDLE
    max_message_bytes: int = 26214400


@dataclass(frozen=True)
class SmsNumber:
    """An inbound number (E.164, "+4722334455") or short code (digits) and its sms queue."""

    number: str
    queue: str


@dataclass(frozen=True)
class SmsGateway:
    """The SMS gateway: SMPP (`host`, `port`, `system_id`) or an HTTP gateway (`url` to
    send, webhooks in signed with the secret in `webhook_secret_env`). Secrets only as the
    names of environment variables."""

    kind: str                              # smpp | http
    host: str = ""                         # smpp
    port: int = 2775
    system_id: str = ""
    password_env: str = ""
    url: str = ""                          # http: the gateway's REST send URL
    token_env: str = ""                    # http: bearer token for sending
    webhook_secret_env: str = ""           # http: HMAC secret of inbound webhooks
    sender: str = ""                       # the default sender id / number of replies
    numbers: tuple[SmsNumber, ...] = ()


@dataclass(frozen=True)
class Deployment:
    tenants: Mapping[str, TenantConfig] = field(default_factory=dict)
    queues: Mapping[str, QueueConfig] = field(default_factory=dict)
    agents: Mapping[str, AgentConfig] = field(default_factory=dict)
    entry_points: Mapping[str, EntryPoint] = field(default_factory=dict)  # by number
    nodes: tuple[NodeConfig, ...] = ()
    database_url: str = ""                 # empty = the embedded default (SQLite)
    recordings_dir: str = "var/recordings"
    recordings_identities: str = ""        # folder of private keys: only the retrieval side reads it
    recordings_storage: RecordingStorage = RecordingStorage()
    sip_domain: str = "127.0.0.1"          # directory domain of the agents' softphones (a1-hash realm)
    engine_url: str = "http://127.0.0.1:8080"  # where FreeSWITCH's mod_xml_curl reaches the engine
    pause_reasons: tuple[Reason, ...] = ()      # the console offers these; empty = a free text reason
    result_codes: tuple[Reason, ...] = ()       # wrap-up result codes
    outbound_context: str = "public"            # the dialplan context transfers to numbers are dialled through
    trunks: Mapping[str, Trunk] = field(default_factory=dict)     # by name: sofia gateways
    outbound_routes: tuple[OutboundRoute, ...] = ()             # the outbound context's routes, in order
    direct_dials: tuple[DirectDial, ...] = ()                   # employees' numbers, in order
    capacity: Capacity = Capacity()                             # every agent's, unless their own
    mailboxes: tuple[Mailbox, ...] = ()                         # email queues' IMAP mailboxes
    sms: SmsGateway | None = None                               # the SMS gateway and its numbers
