"""Camp-on: a blind transfer whose target is busy waits for it instead of coming back.

Rules (the transfer itself, and the recall it ends in: engine.transfer, engine.recall):
* asked per transfer (`CallTransfer.camp_on`, the console's "camp on if busy" and the
  recall's "wait for <target>" button, which transfers again with it); to a SIP user or a
  number, never to a queue. Only USER_BUSY camps; any other failure of a try (no answer,
  rejected, unregistered) recalls the call with that reason, as without camp-on;
* the first busy starts the camp-on: `camp_on_started` (target, until), the call is
  CAMPED, the caller hears the agency's `campon_prompt` (if any) and then music; the
  camp-on lasts the agency's `campon_timeout` from that moment (`camponend:<ix>`);
* every `campon_retry` s (`campon:<ix>`; `deadline` is the next try) the target is rung
  again exactly as the first time (`camp_on_retry`, attempt n, the new leg; the call is
  TRANSFERRING while it rings); busy again: `camp_on_busy` and the next try, as long as
  one starts before the end;
* the target answers a try: the transfer's answer (`transfer_answered` with
  camp_on_tries), bridged as a transferred call;
* the end comes first: a try still ringing is hung up (its later answer is hung up again
  and changes nothing, engine.cancelled), `camp_on_timeout`, then the recall to the
  operator with reason "campon_timeout";
* the caller hanging up meanwhile: `camp_on_abandoned`, the ringing try cancelled;
* after a restart: the caller channel's tags (cc_state camped, cc_camp_on,
  cc_camp_until, cc_deadline, cc_camp_tries) or the stored interaction give both times
  back; engine.recovery schedules them again (over already: the end or the try at once).
  A try's leg lost while the engine was away counts as busy: the camp-on goes on.
"""
from __future__ import annotations

from datetime import timedelta

from engine import callflow, recall, transfer
from engine import effects as fx
from engine.interactions import CallEvent, CallState, Interaction

CAMPING_CAUSES = frozenset({"USER_BUSY"})


def camps(eng, ix: Interaction, cause: str) -> bool:
    """A failed try of this transfer camps on (instead of a recall)."""
    if not ix.camp_on or ix.state is not CallState.TRANSFERRING or eng.tenant_of(ix) is None:
        return False
    if ix.camp_until is None:
        return cause in CAMPING_CAUSES
    return ix.camp_until > eng.now and (cause in CAMPING_CAUSES or cause == "LOST")


def wait(eng, ix: Interaction, cause: str) -> None:
    """The target was busy: wait CAMPED until the next try (the first busy starts the camp-on)."""
    tenant = eng.tenant_of(ix)
    ix.apply(CallEvent.CAMP, eng.now)
    if ix.camp_until is None:
        ix.camp_until = eng.now + timedelta(seconds=tenant.campon_timeout)
        eng.emit(fx.ScheduleTimer(f"camponend:{ix.id}", ix.camp_until))
        eng.journal(ix, "camp_on_started", agent=ix.recall_agent, target=ix.target, target_kind=ix.target_kind,
                    until=ix.camp_until.isoformat(), cause=cause)
        _prompt(eng, ix, tenant.campon_prompt)
    else:
        eng.journal(ix, "camp_on_busy", agent=ix.recall_agent, target=ix.target, attempt=ix.camp_tries, cause=cause)
    nxt = eng.now + timedelta(seconds=tenant.campon_retry)
    ix.deadline = min(nxt, ix.camp_until)
    if nxt < ix.camp_until:                       # else the end comes first: no try
        eng.emit(fx.ScheduleTimer(f"campon:{ix.id}", nxt))
    eng.emit(fx.SetVariables(ix.node, ix.uuid, recall.channel_tags(ix)))
    eng.touch_call(ix)


def _prompt(eng, ix: Interaction, prompt: str) -> None:
    """The camp-on prompt, then music: now if music plays, else first when it starts
    (recall.caller_music: the caller may still be in the operator's bridge)."""
    if not prompt or not ix.uuid:
        return
    if ix.playing and not ix.dropped_leg:
        eng.emit(fx.StopPlayback(ix.node, ix.uuid))
        callflow.play(eng, ix, [prompt], ("moh",))
    else:
        ix.playlist = [prompt]


def retry(eng, ix: Interaction) -> None:
    """`campon:<ix>`: ring the busy target again."""
    if ix.state is not CallState.CAMPED or ix.deadline is None or ix.deadline > eng.now:
        return
    if ix.camp_until is None or ix.camp_until <= eng.now:
        timeout(eng, ix)
        return
    ix.apply(CallEvent.RETRY, eng.now)
    ix.camp_tries += 1
    leg = transfer.new_target_leg(eng, ix)
    eng.journal(ix, "camp_on_retry", agent=ix.recall_agent, target=ix.target, attempt=ix.camp_tries, leg=leg)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, recall.channel_tags(ix)))
    transfer.ring_target(eng, ix, leg)


def timeout(eng, ix: Interaction) -> None:
    """`camponend:<ix>`: the camp-on is over; a try still ringing is hung up; the recall."""
    if ix.camp_until is None or ix.camp_until > eng.now or ix.state not in (CallState.CAMPED,
                                                                             CallState.TRANSFERRING):
        return
    leg = ix.target_leg
    if leg:
        eng.by_leg.pop(leg, None)
        eng.cancelled[leg] = ix.node
        eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL"))
        ix.target_leg = ""
    eng.emit(fx.CancelTimer(f"campon:{ix.id}"), fx.CancelTimer(f"xfer:{ix.id}"))
    eng.journal(ix, "camp_on_timeout", agent=ix.recall_agent, target=ix.target, tries=ix.camp_tries)
    recall.recall(eng, ix, "campon_timeout")


def overdue(eng, ix: Interaction) -> None:
    """After a restart: a camp-on whose end or next try passed while the engine was away."""
    if ix.camp_until is not None and ix.camp_until <= eng.now:
        timeout(eng, ix)
    elif ix.state is CallState.CAMPED and ix.deadline is not None and ix.deadline <= eng.now:
        retry(eng, ix)
