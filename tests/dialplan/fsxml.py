"""A faithful-enough emulation of FreeSWITCH's XML pre-processor (src/switch_xml.c).

Line by line: `$${name}` is expanded first (unknown names vanish), lines holding
`<include>`, `</include>` or `<?` are dropped, an X-PRE-PROCESS line runs its command
(`set`, `env-set` with data "name=$ENV", `include` of a glob relative to the including
file's folder) and is not copied; a line naming the command word without `<` before it
is dropped (as FreeSWITCH does, silently; we list it in `dropped`). Everything else is copied to the output.
"""
from __future__ import annotations

import glob
import os
import re

PRE = re.compile(r'<X-PRE-PROCESS\s+cmd="([^"]+)"\s+data="([^"]*)"\s*/>', re.I)
VAR = re.compile(r"\$\$\{([^}]+)\}")
BUILTINS = {"local_ip_v4": "127.0.0.1", "sounds_dir": "/usr/share/freeswitch/sounds",
            "storage_dir": "/var/lib/freeswitch/storage", "base_dir": "/usr"}


class Preprocessed:
    def __init__(self, root: str, env: dict):
        self.env = env
        self.variables = dict(BUILTINS)
        self.undefined: list[str] = []
        self.dropped: list[str] = []
        self.files: list[str] = []
        self.lines: list[str] = []
        self._file(root, os.path.dirname(root))

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def _expand(self, line: str) -> str:
        def sub(match):
            name = match.group(1)
            if name not in self.variables:
                self.undefined.append(name)
            return self.variables.get(name, "")
        return VAR.sub(sub, line)

    def _file(self, path: str, cwd: str) -> None:
        self.files.append(path)
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                line = self._expand(raw)
                if "<include>" in line or "</include>" in line or "<?" in line:
                    continue
                at = line.lower().find("x-pre-process")
                if at >= 0:
                    match = PRE.search(line)
                    if at == 0 or line[at - 1] != "<" or not match:
                        self.dropped.append(f"{path}: {raw.strip()}")   # FreeSWITCH drops it silently
                    else:
                        self._command(match.group(1).lower(), match.group(2), cwd)
                    continue
                self.lines.append(line)

    def _command(self, cmd: str, data: str, cwd: str) -> None:
        if cmd == "set":
            name, _, value = data.partition("=")
            self.variables[name.strip()] = value.strip()
        elif cmd == "env-set":
            name, _, value = data.partition("=")
            assert value.startswith("$"), f"env-set needs data 'name=$ENV', not {data!r}"
            if value[1:] in self.env:
                self.variables[name] = self.env[value[1:]]
        elif cmd == "include":
            pattern = data if os.path.isabs(data) else os.path.join(cwd, data)
            for path in sorted(glob.glob(pattern)):
                self._file(path, os.path.dirname(path))
        else:
            raise AssertionError(f"unknown pre-processor command {cmd!r}")
