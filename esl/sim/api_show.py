"""Listing api commands: ``show channels|calls [as json|count]``, ``show registrations``,
``sofia status profile internal reg`` and ``sofia_contact``, with FreeSWITCH's row keys
(as in the corpus) and its empty-result quirk (``{"row_count": 0}\\n`` with a space and a
newline; rows: compact JSON, no newline).
"""
from __future__ import annotations

import json
import time


def _row(ch):
    created = ch.times["created"]
    codec = ch.codec or ("", "", "")
    return {
        "uuid": ch.uuid, "direction": ch.direction,
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
        "created_epoch": str(int(created)), "name": ch.name, "state": ch.state,
        "cid_name": ch.profile["caller_name"], "cid_num": ch.profile["caller_number"],
        "ip_addr": ch.profile["network_addr"], "dest": ch.profile["destination"],
        "application": ch.current_app, "application_data": ch.current_app_data,
        "dialplan": "", "context": ch.profile["context"],
        "read_codec": codec[0], "read_rate": codec[1], "read_bit_rate": codec[2],
        "write_codec": codec[0], "write_rate": codec[1], "write_bit_rate": codec[2],
        "secure": "", "hostname": switch_host(ch), "presence_id": ch.variables.get("presence_id", ""),
        "presence_data": "", "accountcode": "", "callstate": ch.callstate,
        "callee_name": ch.profile["callee_name"], "callee_num": ch.profile["callee_number"],
        "callee_direction": "", "call_uuid": ch.uuid, "sent_callee_name": "", "sent_callee_num": "",
        "initial_cid_name": ch.profile["orig_name"], "initial_cid_num": ch.profile["orig_number"],
        "initial_ip_addr": ch.profile["network_addr"], "initial_dest": ch.profile["destination"],
        "initial_dialplan": ch.profile["dialplan"].lower(), "initial_context": ch.profile["context"],
    }


CALL_KEYS = ("uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num",
             "ip_addr", "dest", "presence_id", "presence_data", "accountcode", "callstate",
             "callee_name", "callee_num", "callee_direction", "call_uuid", "hostname",
             "sent_callee_name", "sent_callee_num")


def switch_host(ch):
    return ch.switch.bus.hostname


def _json(rows):
    if not rows:
        return '{"row_count": 0}\n'
    return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))


def show(switch, arg):
    words = arg.split()
    what = words[0] if words else ""
    chans = sorted(switch.races.listed(switch.channels.values()), key=lambda c: c.times["created"])
    if what in ("channels", "calls"):
        if what == "calls":
            rows = []
            for ch in chans:
                row = {k: _row(ch)[k] for k in CALL_KEYS}
                peer = ch.bridged
                prow = _row(peer) if peer is not None else dict.fromkeys(CALL_KEYS, "")
                row.update({f"b_{k}": prow[k] for k in CALL_KEYS if k not in ("call_uuid", "hostname")})
                row["call_created_epoch"] = row["created_epoch"]
                rows.append(row)
        else:
            rows = [_row(ch) for ch in chans]
        if words[-2:] == ["as", "json"]:
            return _json(rows)
        if "count" in words:
            return f"\n{len(rows)} total.\n"
        if not rows:
            return "\n0 total.\n"
        keys = list(rows[0])
        lines = [",".join(keys)] + [",".join(str(r[k]) for k in keys) for r in rows]
        return "\n".join(lines) + f"\n\n{len(rows)} total.\n"
    if what == "registrations":
        return _json([]) if words[-2:] == ["as", "json"] else "\n0 total.\n"
    return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"


def sofia(switch, arg):
    if arg.split()[:4] == ["status", "profile", "internal", "reg"]:
        users = switch.users.registered()
        out = ["", "Registrations:", "=" * 97]
        for u in users:
            out += [f"Call-ID:    \t{u.call_id}", f"User:       \t{u.ext}@{u.domain}",
                    f"Contact:    \t{u.contact}", "Agent:      \tsentral-sim",
                    "Status:     \tRegistered(UDP)(unknown) EXP(2099-01-01 00:00:00) EXPSECS(120)",
                    "Ping-Status:\tReachable", "Ping-Time:\t0.00", f"Host:       \t{switch.bus.hostname}",
                    "IP:         \t127.0.0.1", f"Port:       \t{u.port}", f"Auth-User:  \t{u.ext}",
                    f"Auth-Realm: \t{u.domain}", f"MWI-Account:\t{u.ext}@{u.domain}", ""]
        out += [f"Total items returned: {len(users)}", "=" * 97, ""]
        return "\n".join(out)
    return "+OK\n"


def sofia_contact(switch, arg):
    user = switch.users.users.get(arg.split("@")[0].split("/")[-1])
    if user is None or not user.registered:
        return "error/user_not_registered"
    return f"sofia/internal/sip:{user.ext}@127.0.0.1:{user.port}"
