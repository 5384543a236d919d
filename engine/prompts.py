"""Prompt names the engine asks FreeSWITCH to play (Play effects).

Rules: live figures are spoken through FreeSWITCH phrase macros that
freeswitch-conf/ defines (`cc_position` says "you are number N in the queue",
`cc_wait` says "expected wait about N minutes"); everything else is a sound path from
the configuration, passed through untouched.
"""
from __future__ import annotations

import math


def position(n: int) -> str:
    return f"phrase:cc_position:{n}"


def wait_minutes(seconds: float) -> str:
    return f"phrase:cc_wait:{max(1, math.ceil(seconds / 60))}"
