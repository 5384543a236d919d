"""`sentral config check|compile` as an engineer uses them."""
from __future__ import annotations

import pytest

from sentral.cli import main
from tests.dialplan.files import DEMO, MINIMAL, write


def test_check_prints_ok_and_a_summary(capsys, monkeypatch):
    monkeypatch.delenv("SENTRAL_FREESWITCH_PASSWORD", raising=False)
    assert main(["config", "check", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {DEMO}\n")
    assert "tenants: 3, queues: 5, agents: 10, numbers: 5, nodes: 1" in out
    assert "vestland: Vestland eiendomsforvaltning; queues vestland-switchboard, vestland-orders" in out
    assert "not set in this environment (needed to run): SENTRAL_FREESWITCH_PASSWORD" in out
    assert "has no password" not in out


def test_check_notes_agents_whose_softphone_cannot_register(tmp_path, capsys):
    assert main(["config", "check", write(tmp_path, MINIMAL)]) == 0
    assert "note: agent kari (1000) has no password: its softphone cannot register" in capsys.readouterr().out


def test_check_prints_every_problem_and_fails(tmp_path, capsys):
    path = write(tmp_path, MINIMAL.replace("{id: acme-main, name: Main}", "{id: acme-main, wrapup: -5, moh: x}"))
    assert main(["config", "check", path]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:7:") and "wrapup" in err[0]
    assert err[1].startswith(f"{path}:7:") and "unknown key 'moh'" in err[1]
    assert err[-1] == f"{path}: 2 problem(s)"


def test_compile_writes_the_xml_files(tmp_path, capsys):
    assert main(["config", "compile", str(DEMO), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path}/dialplan/default.xml" in out
    assert "cc_queue=vestland-orders" in (tmp_path / "dialplan/default.xml").read_text()
    assert '<user id="1009">' in (tmp_path / "directory/default.xml").read_text()


def test_compile_refuses_an_invalid_file_and_writes_nothing(tmp_path):
    path = write(tmp_path, "tenants: 3\n")
    assert main(["config", "compile", path, "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["config", "--help"], ["config", "check", "--help"], ["config", "compile", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0 and "usage: sentral config" in capsys.readouterr().out
