"""Helpers: write a small deployment (and tenant files) into a temporary folder."""
from __future__ import annotations

import pathlib
import textwrap

import pytest

from dialplan.errors import ConfigError
from dialplan.loader import load

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO = ROOT / "dialplan" / "examples" / "demo.yaml"
PRODUCTION = ROOT / "dialplan" / "examples" / "production.yaml"
DEMO_ENV = {"SENTRAL_FREESWITCH_PASSWORD": "demo-secret"}

MINIMAL = """\
tenants:
  - id: acme
    name: Acme AS
    numbers: ["+4722000001"]
    recording: {enabled: false}
    queues:
      - {id: acme-main, name: Main}
agents:
  - {id: kari, name: Kari, extension: "1000", queues: {acme-main: 1}}
"""


def write(tmp_path, text: str, name: str = "deploy.yaml") -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def problems(tmp_path, text: str, env=None, **kwargs):
    """Load the text and return the problems as (line, column, code) plus the error."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, env or {}, **kwargs)
    return [(p.line, p.column, p.code) for p in info.value.problems], info.value


def codes(tmp_path, text: str, env=None) -> set[str]:
    found, _ = problems(tmp_path, text, env)
    return {code for _, _, code in found}
