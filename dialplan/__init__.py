"""dialplan: the routing configuration telecom engineers edit.

    from dialplan import load, ConfigError, Reloader, diff
    deployment = load("dialplan/examples/demo.yaml")        # raises ConfigError (all problems)
    reloader = Reloader(lambda: load(path))                  # keeps the last good one

Compilation to FreeSWITCH XML: dialplan.compile; the mod_xml_curl app:
dialplan.xml_curl.make_app(current, access). Format: docs/dialplan.md.
"""
from pathlib import Path

from dialplan.errors import ConfigError, Problem
from dialplan.loader import apply_overrides, load
from dialplan.reload import Reloader, ReloadResult, diff

EXAMPLES = Path(__file__).parent / "examples"
DEMO_CONFIG = EXAMPLES / "demo.yaml"             # the demo's deployment (needs SENTRAL_FREESWITCH_PASSWORD)
PRODUCTION_EXAMPLE = EXAMPLES / "production.yaml"

__all__ = ["DEMO_CONFIG", "EXAMPLES", "PRODUCTION_EXAMPLE", "ConfigError", "Problem", "Reloader", "ReloadResult", "apply_overrides", "diff", "load"]
