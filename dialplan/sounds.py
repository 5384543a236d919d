"""Prompts of a configuration that a sounds directory lacks: warnings, never problems.

Rules: a prompt is a path relative to FreeSWITCH's `sound_prefix`, an absolute path, or a
media URL (`tone_stream://`, `local_stream://`, `phrase:`...), which is not a file and is
not checked. A file is present the way FreeSWITCH's file formats look for it: the path
itself, or its folder + a sample-rate folder + its name (the stock sound packs are laid
out as `ivr/8000/ivr-in_line.wav`). The phrase macros of freeswitch-conf/lang/en/en.xml
play files too (`PHRASE_SOUNDS`, kept equal to that file by a test); they are checked
when a queue announces position or waiting time. The sounds directory is the one
`sound_prefix` names (e.g. /usr/share/freeswitch/sounds/en/us/callie).
"""
from __future__ import annotations

import os
from pathlib import Path

from dialplan.errors import Problem
from engine.config import Deployment

RATES = ("8000", "16000", "32000", "48000")
PHRASES_FILE = Path(__file__).resolve().parents[1] / "freeswitch-conf" / "lang" / "en" / "en.xml"
# macro -> the files it plays (play-file actions), then what the say module (mod_say_en) reads
PHRASE_SOUNDS = {
    "cc_position": ("ivr/ivr-you_are_number.wav", "ivr/ivr-in_line.wav"),
    "cc_wait": ("sentral/estimated-wait.wav", "time/minute.wav", "time/minutes.wav"),
}
SAY_SOUNDS = ("digits/1.wav", "digits/2.wav", "digits/20.wav")
EXPECTED = "the file there, or in a sample-rate folder beside its name: sentral/8000/NAME.wav"


def is_file_prompt(prompt: str) -> bool:
    return bool(prompt) and "://" not in prompt and not prompt.startswith(("phrase:", "say:"))


def present(sounds_dir: str, prompt: str) -> bool:
    path = prompt if os.path.isabs(prompt) else os.path.join(sounds_dir, prompt)
    folder, name = os.path.split(path)
    return os.path.isfile(path) or any(os.path.isfile(os.path.join(folder, rate, name)) for rate in RATES)


def _phrase_place(sound: str) -> tuple[str, int]:
    try:
        lines = PHRASES_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return str(PHRASES_FILE), 1
    needle = 'function="say"' if sound in SAY_SOUNDS else f'data="{sound}"'
    line = next((n for n, text in enumerate(lines, 1) if needle in text), 1)
    return str(PHRASES_FILE), line


def missing(deployment: Deployment, prompts: list[Problem], sounds_dir: str) -> list[Problem]:
    """A `missing-sound` warning for every prompt use (from `Findings.prompts`) whose file is
    not in `sounds_dir`, then for the phrase macros' files the queues will play."""
    warnings = [Problem(p.file, p.line, p.column, "missing-sound",
                        f"{p.code} {p.message!r} is not in {sounds_dir}", EXPECTED)
                for p in prompts if is_file_prompt(p.message) and not present(sounds_dir, p.message)]
    queues = [q for q in deployment.queues.values() if q.announce_every > 0]
    used = {"cc_position": any(q.announce_position for q in queues),
            "cc_wait": any(q.announce_wait_time for q in queues)}
    seen: set = set()
    for macro, sounds in PHRASE_SOUNDS.items():
        if not used[macro]:
            continue
        for sound in sounds + SAY_SOUNDS:
            if sound not in seen and not present(sounds_dir, sound):
                seen.add(sound)
                file, line = _phrase_place(sound)
                warnings.append(Problem(file, line, 1, "missing-sound",
                                        f"phrase {macro} plays {sound!r}, which is not in {sounds_dir}", EXPECTED))
    return warnings
