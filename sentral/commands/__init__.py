"""Subcommands of `sentral`, one module per group (see sentral/cli.py)."""
