"""``show channels as json`` -> a list of channel rows (dicts of strings): the resync data.

Shapes seen on real FreeSWITCH (tests/data/esl-corpus/FACTS.md): with rows
``{"row_count":6,"rows":[{...},...]}`` (no spaces, no trailing newline); with none
``{"row_count": 0}\\n`` (no ``rows`` key at all). Anything else is a ProtocolError, so the
connection is reset and the resync retried rather than acting on a guess.
"""
from __future__ import annotations

import json

from esl.errors import ProtocolError


def parse_show_channels(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"show channels as json: not JSON: {text[:80]!r}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("row_count"), int):
        raise ProtocolError(f"show channels as json: no row_count: {text[:80]!r}")
    rows = data.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ProtocolError("show channels as json: rows is not a list of objects")
    if len(rows) != data["row_count"]:
        raise ProtocolError(f"show channels as json: row_count {data['row_count']} but {len(rows)} rows")
    return rows
