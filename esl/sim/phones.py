"""Simulated phones of the directory's employees, so the demo and tests can transfer to
them: their direct numbers and mobiles, each with a fixed behaviour.

Rules: numbers are dialled as digits (`22 24 16 00` -> `22241600`, `+47...` too); the
behaviour is a pure function of the number's place in the sorted list, so a demo run is
reproducible: most answer (after 2-6 s), every fourth never answers, exactly one is busy
and one is not registered (when there are at least six numbers).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable


def dialled(number: str) -> str:
    """A directory number as a caller dials it: digits only (a leading + kept)."""
    text = number.strip()
    digits = "".join(c for c in text if c.isdigit())
    return ("+" + digits) if text.startswith("+") else digits


def behaviours(numbers: Iterable[str]) -> dict[str, tuple[str, float]]:
    """number -> (action, ring seconds) for each distinct dialled number."""
    ordered = sorted({dialled(n) for n in numbers if dialled(n)})
    out: dict[str, tuple[str, float]] = {}
    for i, number in enumerate(ordered):
        if i == 1 and len(ordered) >= 6:
            out[number] = ("busy", 0.5)
        elif i == 4 and len(ordered) >= 6:
            out[number] = ("unregistered", 0.0)
        elif i % 4 == 3:
            out[number] = ("noanswer", 0.0)
        else:
            out[number] = ("answer", 2.0 + i % 5)
    return out


def numbers_from_persons(path: str | Path) -> list[str]:
    """The direct and mobile numbers in a persons file (sync/examples/persons.csv format)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter=";")
        return [row[k] for row in rows for k in ("direct_phone", "mobile_phone") if row.get(k, "").strip()]


def add_employee_phones(sim, numbers: Iterable[str]) -> dict[str, tuple[str, float]]:
    """Give the simulator a phone for each number, with both the national and the
    +47 form dialable; returns what each one does (for the demo to print)."""
    table = behaviours(numbers)
    for number, (action, ring) in table.items():
        for form in {number, number if number.startswith("+") else "+47" + number}:
            sim.add_phone(form, action, ring=ring)
    return table
