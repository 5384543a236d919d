"""Layer boundaries: engine/ imports only the standard library and itself; every other
folder only the project packages the architecture allows it."""
from __future__ import annotations

import ast
import pathlib
import sys

ENGINE = pathlib.Path(__file__).resolve().parent.parent / "engine"
FORBIDDEN = {"gevent", "socket", "greenswitch", "sqlalchemy", "psycopg2", "flask", "flask_socketio",
             "ldap3", "requests", "esl", "agent_ui", "sync", "recordings", "reports", "channels", "store",
             "dialplan", "sentral",
             "select", "selectors", "asyncio", "threading", "subprocess", "yaml"}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_engine_imports_only_stdlib_and_itself():
    offenders = []
    files = sorted(ENGINE.rglob("*.py"))
    assert files, "engine/ has modules"
    for path in files:
        for lineno, top in _imports(path):
            if top == "engine":
                continue
            if top in FORBIDDEN or top not in sys.stdlib_module_names:
                offenders.append(f"{path.relative_to(ENGINE.parent)}:{lineno} imports {top}")
    assert not offenders, "\n".join(offenders)


# Which of the project's own packages each folder may import (ARCHITECTURE: the design
# card's table; store/ as the README's layout adds it; sentral/ is the composition root).
PROJECT = {"engine", "esl", "dialplan", "agent_ui", "sync", "recordings", "reports", "channels", "store",
           "sentral"}
MAY_IMPORT = {
    "engine": {"engine"},
    "esl": {"esl", "engine"},
    "dialplan": {"dialplan", "engine"},
    "store": {"store", "engine"},
    "agent_ui": {"agent_ui", "engine", "store", "reports", "channels"},   # reports' pure parts; one SMTP sender
    "sync": {"sync", "engine", "store"},
    "recordings": {"recordings", "engine", "store"},
    "reports": {"reports", "engine", "store"},
    "channels": {"channels", "engine", "store"},
    "sentral": PROJECT,
}


def test_every_layer_imports_only_what_the_architecture_allows():
    root = ENGINE.parent
    offenders = []
    for layer, allowed in MAY_IMPORT.items():
        files = [p for p in sorted((root / layer).rglob("*.py")) if "node_modules" not in p.parts]
        assert files, f"{layer}/ has modules"
        for path in files:
            for lineno, top in _imports(path):
                if top in PROJECT and top not in allowed:
                    offenders.append(f"{path.relative_to(root)}:{lineno} imports {top}")
    assert not offenders, "\n".join(offenders)


def test_the_wall_clock_is_defined_once_and_never_read_by_the_engine():
    root = ENGINE.parent
    copies, readers = [], []
    for layer in MAY_IMPORT:
        for path in sorted((root / layer).rglob("*.py")):
            if "node_modules" in path.parts or path == ENGINE / "clock.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name.strip("_") in ("utcnow", "now") \
                        and "datetime.now(timezone.utc)" in ast.unparse(node):
                    copies.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
            if layer == "engine":
                readers += [f"{path.relative_to(root)}:{n}" for n, top in _imports_full(path)
                            if top == "engine.clock"]
    assert not copies, "use engine.clock.utcnow: " + ", ".join(copies)
    assert not readers, "the engine's decisions take their time from events: " + ", ".join(readers)


def _imports_full(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module if node.module != "engine" else \
                ("engine.clock" if any(a.name == "clock" for a in node.names) else "engine")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
