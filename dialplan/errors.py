"""Typed configuration errors: every problem with its place (file:line:column).

Rules: validation never stops at the first problem; it collects `Problem`s and raises
one `ConfigError` holding all of them (sorted by file and position). Each problem has
a stable `code` (part of the interface, like `error_id`), says what is wrong and what
was expected. Lines and columns are 1-based, as editors show them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    code: str          # stable: unknown-key, wrong-type, missing-key, unknown-reference, ...
    message: str       # what is wrong
    expected: str = ""  # what was expected instead

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.code}: {self.message}"
        return f"{text} (expected {self.expected})" if self.expected else text

    def sort_key(self):
        return (self.file, self.line, self.column, self.code, self.message)


class ConfigError(Exception):
    """The configuration is invalid; `problems` lists every problem found."""

    error_id = "dialplan.invalid_config"

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=Problem.sort_key)
        count = len(self.problems)
        head = "; ".join(str(p) for p in self.problems[:3])
        more = f" (+{count - 3} more)" if count > 3 else ""
        super().__init__(f"{count} configuration problem(s): {head}{more}")

    def report(self) -> str:
        return "\n".join(str(p) for p in self.problems)
