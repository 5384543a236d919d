"""A slow, second implementation of docs/metrics.md, for the property tests only.

Written from the text of docs/metrics.md alone (not from reports/figures.py) and on
purpose in another shape: first every interaction is cut into explicit objects (the call,
its rows before any queue, its segments with their own rows), then every figure is its
own list comprehension over those objects. Nothing here is meant to be fast.

Readings of the text this file takes (the doc is silent or loose there; each is named in
the report of the property tests that compare it with reports/figures.py):

* "answered" rows with `callback=1` are excluded from `answered` and therefore also from
  what is read "of the answered": `answered_in_sl`, `wait_answered` and, for
  `longest_wait`, the answered part ("answered and abandoned");
* `transferred_in`: the row just before the segment's `entered_queue` (by seq) is a
  `transferred` row with `to_queue`;
* `hold`: from an agent's `hold` row to the next row naming her that is an `unhold` or a
  talk end (`talk_ended`, `transferred`, `parked`, `transfer_started`), whichever comes
  first; a `hold` while her hold runs counts 0; a hold with no end after it counts 0;
* `wrapup`: `wrapup_end.at` minus the `at` of the last row before it, in the interaction,
  that is a talk end (as for hold) naming the same agent; none: 0;
* durations from `at` differences are truncated to whole milliseconds; `waited` and
  `talk` strings are exact milliseconds;
* agent figures come from rows with a non-empty `agent` inside a segment; a row before
  any segment belongs to no interval of an agent;
* a call's own figures (calls, after_hours, direct_dial, abandoned_before_queue) go to
  the agency of its `arrived` row's `tenant`, in the interval of its `arrived` row (a
  call with no `arrived` row has no own figures);
* written items (docs/metrics.md "Written items"): an `arrived` row whose `channel` is
  there and not "voice" makes no own figures; only the first `answered` (not a
  callback's) of an item's segment (its `entered_queue` has such a `channel`) is its
  answer (a call's segment counts every one: an operator takes a recalled call again) (for the queue and for the agent it names); a
  segment's outcome is looked for only after its last `returned` row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable

QUEUE_FIGURES = ("offered", "transferred_in", "answered", "answered_in_sl", "abandoned", "short_abandoned",
                 "abandoned_after_sl", "overflowed", "callbacks_requested", "callbacks_made", "transferred_out",
                 "recalled", "rona", "messages_taken", "wait_answered", "longest_wait", "talk", "hold", "wrapup",
                 "in_progress")
AGENCY_OWN_FIGURES = ("calls", "after_hours", "direct_dial", "abandoned_before_queue")
AGENCY_FIGURES = QUEUE_FIGURES + AGENCY_OWN_FIGURES
AGENT_FIGURES = ("answered", "rona", "talk", "hold", "wrapup", "transferred_out", "messages_taken", "recalled")
MAX_FIGURES = frozenset({"longest_wait"})          # every other figure is a sum

TALK_ENDS = ("talk_ended", "transferred", "parked")              # the rows whose `talk` counts
AGENT_TALK_ENDS = TALK_ENDS + ("transfer_started",)            # an agent's talk end (hold, wrap-up)
OUTCOMES = ("answered", "abandoned", "overflowed", "callback_requested")


# -- small exact helpers ------------------------------------------------------------------------
def quarter_of(at: datetime) -> datetime:
    """The UTC start of the quarter-hour `at` lies in."""
    utc = at.astimezone(timezone.utc)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def exact_ms(text: str) -> int:
    """'12.345' -> 12345 (the journal writes seconds with 3 decimals)."""
    value = Decimal(text) * 1000
    assert value == value.to_integral_value(), f"not whole milliseconds: {text!r}"
    return int(value)


def truncated_ms(later: datetime, earlier: datetime) -> int:
    delta = later - earlier
    microseconds = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if microseconds >= 0:
        return microseconds // 1000
    return -((-microseconds) // 1000)


def limit_ms(seconds: float) -> Decimal:
    return Decimal(str(seconds)) * 1000


# -- the objects ------------------------------------------------------------------------------------
@dataclass
class Segment:
    entry: object                                    # the entered_queue row
    rows: list = field(default_factory=list)         # every row after it, up to the next entered_queue
    before: object | None = None                     # the row just before `entry` (by seq), if any
    is_last: bool = False

    @property
    def queue(self) -> str:
        return self.entry.queue

    @property
    def agency(self) -> str:
        return self.entry.data.get("agency") or self.entry.tenant

    @property
    def quarter(self) -> datetime:
        return quarter_of(self.entry.at)

    def of(self, *kinds: str) -> list:
        return [r for r in self.rows if r.kind in kinds]


@dataclass
class Call:
    interaction: str
    rows: list                                       # all rows, seq order, one per seq
    before_queue: list = field(default_factory=list)  # rows before the first entered_queue
    segments: list = field(default_factory=list)

    @property
    def arrived(self):
        found = [r for r in self.rows if r.kind == "arrived"]
        return found[0] if found else None

    @property
    def has_ended(self) -> bool:
        return any(r.kind == "ended" for r in self.rows)


def build_calls(rows: Iterable) -> list[Call]:
    unique: dict[tuple[str, int], object] = {}
    for row in rows:
        unique.setdefault((row.interaction, row.seq), row)
    by_interaction: dict[str, list] = {}
    for (interaction, _seq), row in unique.items():
        by_interaction.setdefault(interaction, []).append(row)
    calls = []
    for interaction in sorted(by_interaction):
        ordered = sorted(by_interaction[interaction], key=lambda r: r.seq)
        call = Call(interaction, ordered)
        current = None
        for position, row in enumerate(ordered):
            if row.kind == "entered_queue":
                current = Segment(entry=row, before=ordered[position - 1] if position > 0 else None)
                call.segments.append(current)
            elif current is None:
                call.before_queue.append(row)
            else:
                current.rows.append(row)
        if call.segments:
            call.segments[-1].is_last = True
        calls.append(call)
    return calls


# -- durations that need the rest of the interaction ------------------------------------------------
def ends_hold_of(row, agent: str) -> bool:
    return row.agent == agent and (row.kind == "unhold" or row.kind in AGENT_TALK_ENDS)


def hold_ms(call: Call, hold_row) -> int:
    agent = hold_row.agent
    if not agent:
        return 0
    earlier = [r for r in call.rows if r.seq < hold_row.seq and r.agent == agent
               and (r.kind == "hold" or ends_hold_of(r, agent))]
    if earlier and earlier[-1].kind == "hold":
        return 0                                   # her hold already runs: this one changes nothing
    after = [r for r in call.rows if r.seq > hold_row.seq and ends_hold_of(r, agent)]
    return truncated_ms(after[0].at, hold_row.at) if after else 0


def wrapup_ms(call: Call, end_row) -> int:
    talk_ends = [r for r in call.rows
                 if r.seq < end_row.seq and r.kind in AGENT_TALK_ENDS and r.agent == end_row.agent]
    return truncated_ms(end_row.at, talk_ends[-1].at) if talk_ends else 0


def talk_ms(row) -> int:
    return exact_ms(row.data["talk"]) if row.data.get("talk") else 0


def not_callback(row) -> bool:
    return row.data.get("callback") != "1"


def the_answer(seg: Segment) -> list:
    """The segment's answers: its `answered` rows that are not a callback's; an item's
    segment only the first."""
    answers = [r for r in seg.of("answered") if not_callback(r)]
    return answers[:1] if seg.entry.data.get("channel", "voice") != "voice" else answers


def after_last_return(seg: Segment) -> list:
    returns = [i for i, r in enumerate(seg.rows) if r.kind == "returned"]
    return seg.rows[returns[-1] + 1:] if returns else seg.rows


def is_written(arrived) -> bool:
    return arrived.data.get("channel", "voice") != "voice"


# -- the figures of one segment ---------------------------------------------------------------------
def segment_figures(call: Call, seg: Segment, limits) -> dict[str, int]:
    sl = limit_ms(limits.service_level.get(seg.queue, limits.default_service_level))
    short = limit_ms(limits.short_abandon)
    answered = the_answer(seg)
    abandoned = seg.of("abandoned")
    waits = [exact_ms(r.data["waited"]) for r in answered + abandoned]
    transfers_out = [r for r in seg.of("transferred") if r.data.get("to_queue")]
    outcome_rows = [r for r in after_last_return(seg) if r.kind in OUTCOMES]
    came_by_transfer = (seg.before is not None and seg.before.kind == "transferred"
                        and bool(seg.before.data.get("to_queue")))
    return {
        "offered": 1,
        "transferred_in": 1 if came_by_transfer else 0,
        "answered": len(answered),
        "answered_in_sl": len([r for r in answered if exact_ms(r.data["waited"]) <= sl]),
        "abandoned": len(abandoned),
        "short_abandoned": len([r for r in abandoned if exact_ms(r.data["waited"]) < short]),
        "abandoned_after_sl": len([r for r in abandoned if exact_ms(r.data["waited"]) > sl]),
        "overflowed": len(seg.of("overflowed")),
        "callbacks_requested": len(seg.of("callback_requested")),
        "callbacks_made": len(seg.of("callback_connected")),
        "transferred_out": len(transfers_out),
        "recalled": len(seg.of("recalled")),
        "rona": len(seg.of("no_answer")),
        "messages_taken": len(seg.of("message_taken")),
        "wait_answered": sum(exact_ms(r.data["waited"]) for r in answered),
        "longest_wait": max(waits) if waits else 0,
        "talk": sum(talk_ms(r) for r in seg.of(*TALK_ENDS)),
        "hold": sum(hold_ms(call, r) for r in seg.of("hold")),
        "wrapup": sum(wrapup_ms(call, r) for r in seg.of("wrapup_end")),
        "in_progress": 1 if (seg.is_last and not call.has_ended and not outcome_rows) else 0,
    }


def agent_rows_figures(call: Call, seg: Segment, agent: str) -> dict[str, int]:
    mine = [r for r in seg.rows if r.agent == agent]
    return {
        "answered": len([r for r in the_answer(seg) if r.agent == agent]),
        "rona": len([r for r in mine if r.kind == "no_answer"]),
        "talk": sum(talk_ms(r) for r in mine if r.kind in TALK_ENDS),
        "hold": sum(hold_ms(call, r) for r in mine if r.kind == "hold"),
        "wrapup": sum(wrapup_ms(call, r) for r in mine if r.kind == "wrapup_end"),
        "transferred_out": len([r for r in mine if r.kind == "transferred" and r.data.get("to_queue")]),
        "messages_taken": len([r for r in mine if r.kind == "message_taken"]),
        "recalled": len([r for r in mine if r.kind == "recalled"]),
    }


def own_figures(call: Call) -> dict[str, int]:
    arrived = call.arrived
    return {
        "calls": 1,
        "after_hours": len([r for r in call.rows
                            if r.kind == "overflowed" and r.data.get("reason") == "after_hours"]),
        "direct_dial": 1 if arrived.data.get("direct_dial") else 0,
        "abandoned_before_queue": len([r for r in call.before_queue if r.kind == "abandoned"]),
    }


# -- adding up ---------------------------------------------------------------------------------------
def combine(into: dict[str, int], figures: dict[str, int]) -> None:
    for name, value in figures.items():
        if name in MAX_FIGURES:
            into[name] = max(into.get(name, 0), value)
        else:
            into[name] = into.get(name, 0) + value


@dataclass
class ReferenceFigures:
    queues: dict = field(default_factory=dict)
    agencies: dict = field(default_factory=dict)
    agents: dict = field(default_factory=dict)


def reference_count(rows: Iterable, limits) -> ReferenceFigures:
    calls = build_calls(rows)
    out = ReferenceFigures()
    for call in calls:
        for seg in call.segments:
            figures = segment_figures(call, seg, limits)
            combine(out.queues.setdefault((seg.quarter, seg.agency, seg.queue), {}), figures)
            combine(out.agencies.setdefault((seg.quarter, seg.agency), {}), figures)
            named = sorted({r.agent for r in seg.rows if r.agent})
            for agent in named:
                combine(out.agents.setdefault((seg.quarter, agent), {}), agent_rows_figures(call, seg, agent))
        if call.arrived is not None and not is_written(call.arrived):
            key = (quarter_of(call.arrived.at), call.arrived.tenant)
            combine(out.agencies.setdefault(key, {}), own_figures(call))
    return out


def without_zeros(table: dict) -> dict:
    """{key: {figure: value}} with zero figures and then empty keys left out: missing = 0."""
    out = {}
    for key, figures in table.items():
        kept = {name: value for name, value in figures.items() if value != 0}
        if kept:
            out[key] = kept
    return out
