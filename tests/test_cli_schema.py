"""Commands that read the schema say how to create it instead of crashing, and never
leave an empty database behind (issue 8, item 9)."""
from __future__ import annotations

import pathlib
import sqlite3
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sentral(*args):
    return subprocess.run([sys.executable, "-m", "sentral.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@pytest.mark.parametrize("command", [["directory", "search", "kari"], ["directory", "purge-gone"]])
def test_given_no_database_when_a_command_needs_the_schema_then_one_line_says_run_db_upgrade(tmp_path, command):
    db = tmp_path / "var" / "sentral.db"
    out = sentral(*command, "--db", f"sqlite:///{db}")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "no such table" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "sentral db upgrade" in out.stderr, out.stderr
    assert not db.exists(), "asking left an empty database behind"


def test_given_a_database_without_the_schema_then_it_says_run_db_upgrade(tmp_path):
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE unrelated (a)").connection.close()
    out = sentral("directory", "search", "kari", "--db", f"sqlite:///{db}")
    assert out.returncode == 1 and "has no schema yet" in out.stderr and "sentral db upgrade" in out.stderr


def test_given_an_upgraded_database_then_search_answers(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    assert sentral("db", "upgrade", "--url", url).returncode == 0
    out = sentral("directory", "search", "kari", "--db", url)
    assert out.returncode == 0 and out.stdout.strip() == "no hits", out.stderr
