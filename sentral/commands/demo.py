"""`sentral demo`: the main job on the embedded default (grown by later issues)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the demo on the embedded default (SQLite + simulator)")
    p.add_argument("--duration", type=float, default=0, help="stop after N seconds (0 = until Ctrl-C)")
    p.set_defaults(handler=run)


def run(args) -> int:
    raise SystemExit("demo: not built yet")
