"""The report figures of docs/metrics.md, counted from journal rows in one pass.

Rules:
* rows are grouped by interaction and read in `seq` order; a (interaction, seq) seen twice
  counts once, whatever order the rows came in;
* a segment (one stay in one queue) starts at an `entered_queue` row: its figures are keyed
  by (UTC start of the row's quarter-hour, the queue's agency, the queue); a call's own
  figures (`arrived`, after hours, abandoned before any queue) by its `arrived` row's
  quarter and tenant;
* every value is an int: counts, and times in whole milliseconds (the journal writes
  `waited` and `talk` with three decimals; durations between two rows' `at` are truncated
  to the millisecond); `longest_wait` is a maximum, every other figure a sum;
* agency figures hold the sums of their queues' figures (and their maxima) plus the call
  figures; agent figures are keyed by (segment quarter, agent);
* written items (e-mail, SMS, task: engine/written.py) journal the calls' row kinds and are
  counted by the same rules, except: their `arrived` (with a `channel` other than voice)
  counts no call figure, and an item's segment is answered once (an item given back,
  `returned`, waits again in the same segment: in progress again, its next acceptance no
  second answer; a call's segment counts each answer, e.g. a recalled call taken back).
  docs/metrics.md "Written items".
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping

from engine.effects import Journal

QUEUE_FIGURES = ("offered", "transferred_in", "answered", "answered_in_sl", "abandoned", "short_abandoned",
                 "abandoned_after_sl", "overflowed", "callbacks_requested", "callbacks_made", "transferred_out",
                 "recalled", "rona", "messages_taken", "wait_answered", "longest_wait", "talk", "hold", "wrapup",
                 "in_progress")
CALL_FIGURES = ("calls", "after_hours", "direct_dial", "abandoned_before_queue")
AGENCY_FIGURES = CALL_FIGURES + QUEUE_FIGURES
AGENT_FIGURES = ("answered", "rona", "talk", "hold", "wrapup", "transferred_out", "messages_taken", "recalled")
MAXIMA = frozenset({"longest_wait"})
TIMES = frozenset({"wait_answered", "longest_wait", "talk", "hold", "wrapup"})   # milliseconds
QUARTER = timedelta(minutes=15)
COUNTED = {"recalled": "recalled", "no_answer": "rona", "message_taken": "messages_taken"}   # row kind -> figure
_EPOCH = datetime(2000, 1, 3, tzinfo=timezone.utc)
VOICE = "voice"
CHANNELS = ("voice", "email", "sms", "task")

Counts = dict[str, int]


@dataclass(frozen=True)
class Limits:
    service_level: Mapping[str, float] = field(default_factory=dict)   # queue id -> target seconds
    default_service_level: float = 20.0
    short_abandon: float = 5.0

    def target_ms(self, queue: str) -> int:
        return round(self.service_level.get(queue, self.default_service_level) * 1000)


@dataclass
class Figures:
    queues: dict[tuple[datetime, str, str], Counts] = field(default_factory=lambda: defaultdict(dict))
    agencies: dict[tuple[datetime, str], Counts] = field(default_factory=lambda: defaultdict(dict))
    agents: dict[tuple[datetime, str], Counts] = field(default_factory=lambda: defaultdict(dict))


def quarter(at: datetime) -> datetime:
    """UTC start of the quarter-hour containing `at` (Europe/Oslo's quarters start on the same instants)."""
    return _EPOCH + (at - _EPOCH) // QUARTER * QUARTER


def ms(text: str | None) -> int:
    """A journal duration ("12.345") in whole milliseconds, exactly."""
    if not text:
        return 0
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole or "0")) * 1000 + int((frac + "000")[:3]))


def between(start: datetime, end: datetime) -> int:
    return max(0, (end - start) // timedelta(milliseconds=1))


def _add(counts: Counts, name: str, value: int = 1) -> None:
    if name in MAXIMA:
        counts[name] = max(counts.get(name, 0), value)
    elif value:
        counts[name] = counts.get(name, 0) + value


def merge(into: Counts, counts: Counts) -> None:
    """`counts` added into `into`: sums, and the larger of the two for the MAXIMA."""
    for name, value in counts.items():
        _add(into, name, value)


class _Segment:
    __slots__ = ("key", "queue_counts", "outcome", "agent", "answered", "written")

    def __init__(self, key, queue_counts, written=False):
        self.key, self.queue_counts, self.outcome, self.agent = key, queue_counts, False, ""
        self.answered, self.written = False, written


def count(rows: Iterable[Journal], limits: Limits = Limits()) -> Figures:
    by_interaction: dict[str, dict[int, Journal]] = defaultdict(dict)
    for row in rows:
        by_interaction[row.interaction].setdefault(row.seq, row)
    figures = Figures()
    for journal in by_interaction.values():
        _interaction(figures, [journal[seq] for seq in sorted(journal)], limits)
    _roll_up(figures)
    figures.queues, figures.agencies, figures.agents = (
        dict(figures.queues), dict(figures.agencies), dict(figures.agents))
    return figures


def _interaction(figures: Figures, rows: list[Journal], limits: Limits) -> None:
    call_key: tuple[datetime, str] | None = None
    seg: _Segment | None = None
    transfer_pending = False
    talk_end: dict[str, tuple[datetime, _Segment | None]] = {}    # agent -> its last talk end
    hold_from: dict[str, tuple[datetime, _Segment | None]] = {}
    ended = False

    def queue_counts(row: Journal) -> tuple[Counts, tuple]:
        if seg is not None:
            return seg.queue_counts, seg.key
        key = (call_key[0] if call_key else quarter(row.at), row.tenant, "")
        return figures.queues[key], key

    def agent_counts(agent: str, key) -> Counts | None:
        return figures.agents[(key[0], agent)] if agent else None

    def end_talk(agent: str, row: Journal) -> None:
        talk_end[agent] = (row.at, seg)
        if agent in hold_from:
            stop_hold(agent, row)

    def stop_hold(agent: str, row: Journal) -> None:
        """Her hold ends at `row`: counted where it began (or, before any queue, where `row` is)."""
        start, where = hold_from.pop(agent)
        counts, key = (where.queue_counts, where.key) if where else queue_counts(row)
        held = between(start, row.at)
        _add(counts, "hold", held)
        _add(figures.agents[(key[0], agent)], "hold", held)

    for row in rows:
        kind, data = row.kind, row.data
        if kind == "arrived":
            if data.get("channel", VOICE) != VOICE:
                continue                              # a written item: no call
            call_key = (quarter(row.at), row.tenant)
            call = figures.agencies[call_key]
            _add(call, "calls")
            if data.get("direct_dial"):
                _add(call, "direct_dial")
        elif kind == "entered_queue":
            agency = data.get("agency") or row.tenant
            key = (quarter(row.at), agency, row.queue)
            seg = _Segment(key, figures.queues[key], data.get("channel", VOICE) != VOICE)
            _add(seg.queue_counts, "offered")
            if transfer_pending:
                _add(seg.queue_counts, "transferred_in")
                transfer_pending = False
        elif kind == "answered":
            if data.get("callback") == "1":
                continue
            if seg is not None and seg.written and seg.answered:   # an item taken again after a return
                seg.outcome = True
                continue
            counts, key = queue_counts(row)
            waited = ms(data.get("waited"))
            _add(counts, "answered")
            _add(counts, "wait_answered", waited)
            _add(counts, "longest_wait", waited)
            if waited <= limits.target_ms(key[2]):
                _add(counts, "answered_in_sl")
            if seg is not None:
                seg.outcome, seg.agent, seg.answered = True, row.agent, True
            if (agent := agent_counts(row.agent, key)) is not None:
                _add(agent, "answered")
        elif kind == "abandoned":
            if seg is None:
                _add(figures.agencies[call_key or (quarter(row.at), row.tenant)], "abandoned_before_queue")
                continue
            waited = ms(data.get("waited"))
            _add(seg.queue_counts, "abandoned")
            _add(seg.queue_counts, "longest_wait", waited)
            if waited < round(limits.short_abandon * 1000):
                _add(seg.queue_counts, "short_abandoned")
            if waited > limits.target_ms(seg.key[2]):
                _add(seg.queue_counts, "abandoned_after_sl")
            seg.outcome = True
        elif kind == "overflowed":
            if data.get("reason") == "after_hours":
                _add(figures.agencies[call_key or (quarter(row.at), row.tenant)], "after_hours")
            elif seg is not None:
                _add(seg.queue_counts, "overflowed")
                seg.outcome = True
        elif kind == "callback_requested":
            counts, _ = queue_counts(row)
            _add(counts, "callbacks_requested")
            if seg is not None:
                seg.outcome = True
        elif kind == "callback_connected":
            _add(queue_counts(row)[0], "callbacks_made")
        elif kind == "transfer_started":
            if row.agent:                        # the operator leaves the call: her talk (and hold) end
                end_talk(row.agent, row)
        elif kind in ("transferred", "talk_ended", "parked"):
            counts, key = queue_counts(row)
            talked = ms(data.get("talk"))
            _add(counts, "talk", talked)
            agent = agent_counts(row.agent, key)     # a blind transfer's target is no agent: the queue's only
            if agent is not None:
                _add(agent, "talk", talked)
                end_talk(row.agent, row)
            if kind == "transferred" and data.get("to_queue"):
                _add(counts, "transferred_out")
                if agent is not None:
                    _add(agent, "transferred_out")
                transfer_pending = True
        elif kind in COUNTED:                         # one each for the segment and the agent the row names
            counts, key = queue_counts(row)
            _add(counts, COUNTED[kind])
            if (agent := agent_counts(row.agent, key)) is not None:
                _add(agent, COUNTED[kind])
        elif kind == "hold":
            if row.agent:
                hold_from.setdefault(row.agent, (row.at, seg))   # a repeated hold does not restart it
        elif kind == "unhold":
            if row.agent in hold_from:
                stop_hold(row.agent, row)
        elif kind == "wrapup_end":
            if row.agent in talk_end:
                start, where = talk_end.pop(row.agent)
                counts, key = (where.queue_counts, where.key) if where else queue_counts(row)
                spent = between(start, row.at)
                _add(counts, "wrapup", spent)
                _add(figures.agents[(key[0], row.agent)], "wrapup", spent)
        elif kind == "returned":
            if seg is not None:                       # a written item given back waits again
                seg.outcome = False
        elif kind == "ended":
            ended = True
    if seg is not None and not seg.outcome and not ended:
        _add(seg.queue_counts, "in_progress")


def _roll_up(figures: Figures) -> None:
    """Each agency's figures += the sums (maxima) of its queues' figures."""
    for (at, agency, _queue), counts in figures.queues.items():
        merge(figures.agencies[(at, agency)], counts)
