"""Quiet by default (issue 8, item 11): commands print their result, not library chatter;
`-v` shows more; `scripts/setup` does not reinstall after a test install of the same
files and keeps pip's and setuptools' output in a log."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sentral(*args, **kw):
    return subprocess.run([sys.executable, "-m", "sentral.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, **kw)


def test_given_a_command_without_v_then_no_alembic_info_lines(tmp_path):
    out = sentral("db", "upgrade", "--url", f"sqlite:///{tmp_path}/a.db")
    assert out.returncode == 0, out.stderr
    assert "alembic" not in out.stderr and "INFO" not in out.stderr, out.stderr
    assert "database is at revision" in out.stdout


def test_given_v_then_migration_steps_are_shown_but_not_plugin_setup(tmp_path):
    out = sentral("-v", "db", "upgrade", "--url", f"sqlite:///{tmp_path}/a.db")
    assert out.returncode == 0, out.stderr
    assert "Running upgrade" in out.stderr
    assert "alembic.runtime.plugins" not in out.stderr


def _fake_checkout(tmp_path):
    """scripts/setup in a copy whose pip records its calls (nothing is installed)."""
    root = tmp_path / "co"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", root / "scripts" / "setup")
    for name in ("setup.cfg", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    bin_ = root / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "python").write_text("#!/bin/sh\nexit 0\n")
    (bin_ / "pip").write_text(f"#!/bin/sh\necho \"$@\" >> {root}/pip-calls\n"
                              "echo 'BuildBackendWarning: a screen of setuptools text' >&2\n")
    for f in bin_.iterdir():
        f.chmod(0o755)
    modules = root / "agent_ui" / "node_modules"
    modules.mkdir(parents=True)
    (root / "agent_ui" / "package-lock.json").write_text("{}")
    os.utime(root / "agent_ui" / "package-lock.json", (1, 1))
    (modules / ".package-lock.json").write_text("{}")
    return root


def _installs(root) -> list[str]:
    calls = root / "pip-calls"
    return [c for c in calls.read_text().splitlines() if "-e" in c] if calls.exists() else []


def test_given_a_test_install_when_plain_setup_runs_then_nothing_is_reinstalled(tmp_path):
    root = _fake_checkout(tmp_path)
    # what scripts/test leaves: the test extras installed (system packages are not the point here)
    first = subprocess.run(["bash", "-c", "scripts/setup --test || true"], cwd=root, capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, PATH="/nonexistent:" + os.environ["PATH"]))
    assert len(_installs(root)) == 1, first.stderr
    assert (root / ".venv" / ".sentral-installed").read_text().strip().endswith("--test")
    out = subprocess.run(["scripts/setup"], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(_installs(root)) == 1, "scripts/demo after scripts/test reinstalled everything"
    assert out.stdout == "" and out.stderr == ""


def test_given_a_first_install_then_setuptools_output_goes_to_the_log(tmp_path):
    root = _fake_checkout(tmp_path)
    out = subprocess.run(["scripts/setup"], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "BuildBackendWarning" not in out.stdout + out.stderr
    assert "BuildBackendWarning" in (root / ".venv" / "setup.log").read_text()
    # and a test install after a plain one does install the test extras
    subprocess.run(["bash", "-c", "scripts/setup --test || true"], cwd=root, capture_output=True, timeout=60)
    assert [c for c in _installs(root) if "[test]" in c]


def test_dialplan_examples_is_a_package_so_setuptools_does_not_warn():
    # setuptools warns "Package 'dialplan.examples' is absent from the packages configuration"
    # for a data folder Python could import; making it a package (found by `dialplan*`) ends it
    assert (ROOT / "dialplan" / "examples" / "__init__.py").exists()
