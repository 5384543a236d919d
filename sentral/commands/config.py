"""`sentral config ...`: validate and compile the routing configuration.

    sentral config check FILE [--sounds DIR]  # OK + summary, or every problem as file:line:col
    sentral config compile FILE --out DIR     # writes the generated files of DIR (freeswitch-conf)

Exit codes: 0 done, 1 invalid configuration (every problem printed), 2 usage.
Warnings (`FILE:LINE:COLUMN: warning: CODE: ...` on stderr) never change the exit code:
recording enabled although it is not built yet, and, when a sounds directory is given
(`--sounds DIR` or SENTRAL_SOUNDS_DIR), every prompt file that is not in it.
Neither needs the secrets the file refers to ({env: NAME}): unset ones are listed (an
agent whose password variable is unset gets no a1-hash in the compiled directory).
"""
from __future__ import annotations

import os
import sys


def register(sub) -> None:
    p = sub.add_parser("config", help="routing configuration: check it, compile it to FreeSWITCH XML",
                       description="Validate the routing configuration (docs/dialplan.md) or compile it "
                                   "to FreeSWITCH XML files.")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    check = csub.add_parser("check", help="validate a configuration file (and its includes)",
                            description="Validate FILE and its includes; print OK and a summary, or every "
                                        "problem as file:line:column (exit status 1).")
    check.add_argument("file", help="deployment file (YAML), e.g. dialplan/examples/demo.yaml")
    check.add_argument("--sounds", metavar="DIR", default=os.environ.get("SENTRAL_SOUNDS_DIR") or None,
                       help="FreeSWITCH's sound_prefix directory (default $SENTRAL_SOUNDS_DIR): warn about "
                            "every prompt file not in it (exit status stays 0)")
    check.set_defaults(handler=check_command)
    comp = csub.add_parser("compile", help="compile the entry dialplan and SIP directory to XML files",
                           description="Write DIR/dialplan/default.xml, DIR/directory/default.xml and "
                                       "DIR/vars_sentral.xml (e.g. --out freeswitch-conf), and a placeholder in "
                                       "an empty DIR/dialplan/public/ or DIR/dialplan/default/ (the site's own "
                                       "routes, never overwritten).")
    comp.add_argument("file", help="deployment file (YAML)")
    comp.add_argument("--out", required=True, metavar="DIR", help="configuration directory to write into")
    comp.set_defaults(handler=compile_command)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def _load(path: str, unset: list, findings=None):
    from dialplan.errors import ConfigError
    from dialplan.loader import load

    try:
        return load(path, os.environ, require_env=False, unset_env=unset, findings=findings)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        print(f"{path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return None


def summary(deployment) -> str:
    lines = [f"tenants: {len(deployment.tenants)}, queues: {len(deployment.queues)}, "
             f"agents: {len(deployment.agents)}, numbers: {len(deployment.entry_points)}, "
             f"nodes: {len(deployment.nodes)}"]
    for tenant in deployment.tenants.values():
        queues = [q.id for q in deployment.queues.values() if q.tenant == tenant.id]
        nums = [e.pattern or e.number for e in deployment.entry_points.values() if e.tenant == tenant.id]
        lines.append(f"  {tenant.id}: {tenant.name}; queues {', '.join(queues) or '-'}; "
                     f"numbers {', '.join(nums) or '-'}")
    return "\n".join(lines)


def _notes(deployment, unset: list) -> None:
    if unset:
        print("note: not set in this environment (needed to run): " + ", ".join(sorted(set(unset))))
    for agent in deployment.agents.values():
        if not agent.password_hash:
            print(f"note: agent {agent.id} ({agent.sip_user}) has no password: its softphone cannot register")


def _warn(warnings: list) -> None:
    for w in warnings:
        text = f"{w.file}:{w.line}:{w.column}: warning: {w.code}: {w.message}"
        print(f"{text} (expected {w.expected})" if w.expected else text, file=sys.stderr)
    if warnings:
        print(f"{len(warnings)} warning(s)", file=sys.stderr)


def check_command(args) -> int:
    from dialplan import sounds
    from dialplan.yamlnodes import Findings

    if args.sounds and not os.path.isdir(args.sounds):
        print(f"sentral config check: --sounds {args.sounds}: not a directory", file=sys.stderr)
        return 2
    unset: list = []
    findings = Findings()
    deployment = _load(args.file, unset, findings)
    if deployment is None:
        return 1
    print(f"OK {args.file}")
    print(summary(deployment))
    _notes(deployment, unset)
    warnings = list(findings.warnings)
    if args.sounds:
        warnings += sounds.missing(deployment, findings.prompts, args.sounds)
    _warn(warnings)
    return 0


def compile_command(args) -> int:
    from dialplan.compile import write_files
    from dialplan.yamlnodes import Findings

    unset: list = []
    findings = Findings()
    deployment = _load(args.file, unset, findings)
    if deployment is None:
        return 1
    for path in write_files(deployment, args.out):
        print(f"wrote {path}")
    _notes(deployment, unset)
    _warn(findings.warnings)
    return 0
