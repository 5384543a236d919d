"""`sentral` command line: one entry point, one module per subcommand group.

Each module in COMMANDS has `register(subparsers)` that adds its parser and sets
`handler=callable(args) -> int`. Modules import their heavy dependencies inside the
handler, so `sentral --help` stays fast and works even when a service is down.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from sentral import __version__

COMMANDS = (
    "sentral.commands.directory",
    "sentral.commands.demo",
    "sentral.commands.run",
    "sentral.commands.simulate",
    "sentral.commands.db",
    "sentral.commands.config",
    "sentral.commands.calendar",
    "sentral.commands.sync",
    "sentral.commands.users",
    "sentral.commands.api",
    "sentral.commands.agents",
    "sentral.commands.tenant",
    "sentral.commands.recordings",
    "sentral.commands.report",
)
SERVERS = frozenset({"run", "demo"})   # their log (to stderr or the demo's file) starts at info


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentral",
        description="Sentral: a SIP-native contact-centre and switchboard engine for FreeSWITCH.",
    )
    parser.add_argument("--version", action="version", version=f"sentral {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    configure_logging(args.verbose, server=args.command in SERVERS)
    return int(args.handler(args) or 0)


def configure_logging(verbose: int, server: bool = False) -> None:
    """Quiet by default: warnings only (`-v` info, `-vv` debug). The long-running
    commands (SERVERS) log at info by default: their status lines are the output.
    Alembic's migration steps are shown from -v, its plugin set-up chatter only with -vv."""
    level = logging.DEBUG if verbose >= 2 else logging.INFO if verbose or server else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.NOTSET if verbose else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.NOTSET if verbose >= 2 else logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
