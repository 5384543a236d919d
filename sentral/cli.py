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
)


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
    level = logging.WARNING - 10 * min(args.verbose + 1, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
