"""The transfer and recordings benchmarks run end to end at a tiny size, so they cannot rot
(their figures are BENCHMARKS.md's business: nothing here asserts a timing). The transfer
one needs PostgreSQL for its scratch database. (scripts/bench_console.py at its smallest takes ~25 s: 5 processes, a
scratch database, a baseline replay; it is run by hand: `scripts/bench console --clients 4
--calls-per-minute 240 --duration 1 --client-procs 1`.)"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*args: str, timeout: float = 180) -> str:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def _row(text: str, label: str) -> list[str]:
    line = next((ln for ln in text.splitlines() if ln.startswith(f"| {label}")), None)
    assert line is not None, f"no row {label!r} in:\n{text}"
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_transfer_benchmark_times_each_recall_and_the_floor():
    text = _run("scripts/bench_transfer.py", "--calls", "2")
    engine = _row(text, "engine (EngineProcess over TCP")
    floor = _row(text, "floor: bare ESL client")
    assert engine[1] == "2" and floor[1] == "2", "each transfer's recall and each probe were timed"
    assert all(re.fullmatch(r"[\d.]+", v) for v in engine[2:] + floor[2:])
    assert re.search(r"Goal < 100 ms over the simulator's latency: (met|\*\*not met\*\*)", text)


def test_the_recordings_benchmark_measures_every_operation_against_the_copy():
    text = _run("scripts/bench_recordings.py", "--seconds", "3", "--repeat", "1", "--rates", "8000")
    for label in ("floor: shutil.copyfile", "floor: Python 64 KiB", "ceiling: pyrage.encrypt_io", "encrypt_stream",
                  "ceiling: pyrage.decrypt_io", "decrypt_stream (.age",
                  "decrypt_stream to nothing", "playback.plaintext"):
        row = _row(text.replace("| 3 s 8 kHz stereo (0.1 MB) | ", "| "), label)
        assert all(re.fullmatch(r"-?[\d,.]+x?", v) for v in row[1:]), row
    assert _row(text.replace("| 3 s 8 kHz stereo (0.1 MB) | ", "| "), "floor: shutil.copyfile")[2] == "1.00x"
    assert re.search(r"Goal >= 500 MB/s encrypt and decrypt: (met|\*\*not met\*\*)", text)
    assert re.search(r"Goal peak memory < 50 MB: (met|\*\*not met\*\*)", text)


def test_the_reports_benchmark_checks_the_aggregates_against_the_group_by_and_times_both():
    text = _run("scripts/bench_reports.py", "--days", "2", "--calls-per-year", "20000", "--repeat", "1", "--rebuild")
    fold = _row(text, "fold (batch")
    assert int(fold[1].replace(",", "")) > 0 and fold[3].endswith("rows/s")
    for period in ("one day (96 quarter-hours)", "all 2 days (192 quarter-hours)"):
        assert _row(text, f"{period} | GROUP BY baseline")[-1] == "1.00x"
        aggregates = _row(text, f"{period} | figures_between")
        assert re.fullmatch(r"[\d,.]+", aggregates[2]) and re.fullmatch(r"[\d.]+x", aggregates[-1]), aggregates
        for asked in ("traffic report at 15m: figures_between(scopes=(agency,), summed)",
                      "traffic report at 15m: figures_between(scopes=(agency,)), every agency's rows",
                      "agency report at 15m", "agency report at 1d"):
            assert re.fullmatch(r"[\d.]+x", _row(text, f"{period} | {asked}")[-1]), (period, asked)
    assert re.fullmatch(r"[\d.]+x", _row(text, "one day (96 quarter-hours) | count(journal_of_period)")[-1])
    assert _row(text, "everything | rebuild")[3].endswith("rows/s")
