"""Builders for store tests: domain rows that read like the scenario they stand for."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.effects import Journal

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def a_call_journal(interaction="call-1", n=5, tenant="helsedir", queue="sentralbord", start=T0, first=1):
    """The journal rows of one call: seq first..first+n-1, one second apart."""
    kinds = ["entered_queue", "offered", "answered", "hangup", "wrapup_end"]
    return [Journal(interaction=interaction, seq=seq, kind=kinds[(seq - 1) % len(kinds)],
                    at=start + timedelta(seconds=seq), tenant=tenant, queue=queue,
                    agent="agent-7" if seq > 1 else "", data={"n": str(seq)})
            for seq in range(first, first + n)]
