"""`sentral config check|compile` as an engineer uses them."""
from __future__ import annotations

import pytest

from sentral.cli import main
from tests.dialplan.files import DEMO, MINIMAL, write

KEY = "age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh"   # tests/data/acd's test-only key


def test_check_prints_ok_and_a_summary(capsys, monkeypatch):
    monkeypatch.delenv("SENTRAL_FREESWITCH_PASSWORD", raising=False)
    assert main(["config", "check", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {DEMO}\n")
    assert "tenants: 3, queues: 8, agents: 11, numbers: 5, nodes: 1" in out
    assert ("vestland: Vestland eiendomsforvaltning; queues vestland-switchboard, vestland-orders, vestland-post, "
            "vestland-sms, vestland-skjema") in out
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


def test_check_warns_with_the_place_of_every_prompt_missing_from_the_sounds_directory(tmp_path, capsys):
    sounds = tmp_path / "sounds"
    (sounds / "sentral" / "8000").mkdir(parents=True)
    (sounds / "sentral" / "8000" / "here.wav").write_bytes(b"")     # a rate folder counts, as in FreeSWITCH
    path = write(tmp_path, MINIMAL.replace("{id: acme-main, name: Main}",
                                           "{id: acme-main, name: Main, no_agents: {message: sentral/gone.wav},\n"
                                           "         overflow: {message: sentral/here.wav}, announcements: {every: 0}}"))
    assert main(["config", "check", path, "--sounds", str(sounds)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{path}:7:58: warning: missing-sound: no_agents message 'sentral/gone.wav' is not in {sounds} "
                   "(expected the file there, or in a sample-rate folder beside its name: sentral/8000/NAME.wav)",
                   "1 warning(s)"]


def test_the_sounds_directory_may_come_from_the_environment_and_must_exist(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SENTRAL_SOUNDS_DIR", str(tmp_path / "nowhere"))
    assert main(["config", "check", str(DEMO)]) == 2
    assert "not a directory" in capsys.readouterr().err
    monkeypatch.setenv("SENTRAL_SOUNDS_DIR", str(tmp_path))
    assert main(["config", "check", str(DEMO)]) == 0
    err = capsys.readouterr().err
    assert "phrase cc_wait plays 'sentral/estimated-wait.wav'" in err and "lang/en/en.xml:" in err


def test_check_refuses_recording_without_a_public_key_with_its_place_and_the_keygen_hint(tmp_path, capsys):
    path = write(tmp_path, MINIMAL.replace("recording: {enabled: false}",
                                           "recording: {enabled: true, notice: sentral/notice.wav}"))
    assert main(["config", "check", path]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5:16: missing-key: tenant acme records calls but has no recording public_key" in err
    assert "sentral recordings keygen --tenant acme" in err


def test_check_accepts_recording_with_a_notice_and_a_key_without_warning(tmp_path, capsys):
    path = write(tmp_path, MINIMAL.replace("recording: {enabled: false}", "recording: {enabled: true, "
                                           f"notice: sentral/notice.wav, public_key: {KEY}}}"))
    assert main(["config", "check", path]) == 0
    assert "recording" not in capsys.readouterr().err


def test_the_phrase_sounds_checked_are_those_the_shipped_macros_play():
    import re
    import xml.etree.ElementTree as ET

    from dialplan.sounds import PHRASE_SOUNDS, PHRASES_FILE
    text = re.sub(r"<X-PRE-PROCESS[^>]*/>", "", PHRASES_FILE.read_text())
    macros = ET.fromstring(text).iter("macro")
    assert {m.get("name"): tuple(dict.fromkeys(a.get("data") for a in m.iter("action")
                                              if a.get("function") == "play-file")) for m in macros} == PHRASE_SOUNDS


def test_run_help_says_what_login_all_does_with_stored_state(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "stored as paused" in text and "keeps that state" in text and "registered" in text
    assert "that has no stored state" not in text
