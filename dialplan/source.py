"""Configuration files as YAML node trees: the deployment file, its includes, env refs.

Rules: a file that cannot be read or parsed is a Problem at the place the parser
stopped (never an exception escaping). `include:` entries are paths relative to the
including file: a file, a glob (`tenants/*.yaml`) or a directory (every *.yaml/*.yml
in it, sorted); each included file holds one tenant. A value written `{env: NAME}`
is read from the environment at load time (secrets never live in the files); an unset
variable is a problem unless the caller only checks the file (`require_env=False`).
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Mapping

import yaml

from dialplan import yamlnodes as y
from dialplan.errors import Problem


# libyaml's composer when PyYAML was built with it (same nodes and marks, several times faster)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    path: str
    root: object  # yaml.Node


def compose_file(path: str, problems: list[Problem]) -> Document | None:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, 1, "unreadable", f"cannot read the file: {exc}", "a UTF-8 YAML file"))
        return None
    try:
        root = yaml.compose(text, Loader=LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(path, line, column, "yaml-syntax", f"{exc.context or ''} {exc.problem or ''}".strip(),
                                "valid YAML"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(path, 1, 1, "yaml-syntax", str(exc), "valid YAML"))
        return None
    if root is None:
        problems.append(Problem(path, 1, 1, "empty-file", "the file is empty", "a mapping of settings"))
        return None
    return Document(path, root)


def include_paths(ctx: y.Ctx, node, base_dir: str) -> list[str]:
    """Expand the `include:` list into file paths, in order, each once."""
    out: list[str] = []
    for entry_node, entry in y.text_list(ctx, node, "include") or ():
        pattern = os.path.join(base_dir, entry)
        if os.path.isdir(pattern):
            found = sorted(glob.glob(os.path.join(pattern, "*.yaml")) + glob.glob(os.path.join(pattern, "*.yml")))
        elif glob.has_magic(entry):
            found = sorted(glob.glob(pattern))
        else:
            found = [pattern] if os.path.isfile(pattern) else []
        if not found:
            ctx.at(entry_node, "include-missing", f"include {entry!r} matches no file",
                   f"a file, glob or directory relative to {base_dir or '.'}")
        out.extend(p for p in found if p not in out)
    return out


@dataclass
class EnvReader:
    """Resolves `{env: NAME}` values; remembers which variables were unset."""

    env: Mapping[str, str]
    require: bool = True
    unset: list[str] = field(default_factory=list)

    def value(self, ctx: y.Ctx, node, what: str, *, secret: bool = False) -> str | None:
        if isinstance(node, yaml.MappingNode):
            m = y.mapping(ctx, node, what, ("env",), ("env",))
            if not m or "env" not in m:
                return None
            name = y.scalar(ctx, m["env"][1], f"{what} env")
            if name is None:
                return None
            if name in self.env:
                return self.env[name]
            if self.require:
                ctx.at(node, "env-unset", f"{what}: environment variable {name} is not set",
                       f"{name} set in the engine's environment")
            self.unset.append(name)
            return ""
        if secret:
            ctx.at(node, "literal-secret", f"{what} is written in the file",
                   "a reference to the environment: {env: VARIABLE_NAME}")
            return None
        return y.text(ctx, node, what)
