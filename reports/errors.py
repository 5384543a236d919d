"""Errors of the reports that a user can correct (a period, a resolution), shown as they are.

Rules:
* every error here is a ValueError whose message is a complete sentence for the CLI user:
  it names the option or the text that was wrong and what would be accepted.
"""
from __future__ import annotations


class BadPeriod(ValueError):
    """A report period, time or resolution the reports cannot use."""


class BadAddress(ValueError):
    """An e-mail address a monthly report cannot be sent from or to."""
