"""The `recording` sections → TenantConfig / QueueConfig keyword arguments.

Rules: recording is off unless asked for. A tenant that records needs a notice (callers
must hear it first, R6) and the agency's age public key (files are encrypted to it at
once; the private key stays with the retrieval side: `sentral recordings keygen`). A
queue may override `enabled`, `notice`, `retention_days` and `listen_roles`; a queue
that records under a tenant without a key or without any notice is an error too.
"""
from __future__ import annotations

import pyrage

from dialplan import yamlnodes as y
from engine.config import QueueRecording, TenantConfig

TENANT_KEYS = ("enabled", "notice", "public_key", "retention_days", "listen_roles")
QUEUE_KEYS = ("enabled", "notice", "retention_days", "listen_roles")
# The account roles (store/accounts.ROLES; dialplan may not import store/).
ROLES = ("admin", "tenant_admin", "supervisor", "operator", "employee")
KEYGEN = "recordings are encrypted to the agency's public key: sentral recordings keygen --tenant {tenant}"


def _common(ctx, r: dict, out: dict, names: dict) -> None:
    """enabled, notice, retention_days, listen_roles into `out` under `names`' field names."""
    if "enabled" in r and (v := y.boolean(ctx, r["enabled"][1], "recording enabled")) is not None:
        out[names["enabled"]] = v
    if "notice" in r and (v := y.prompt(ctx, r["notice"][1], "recording notice")) is not None:
        out[names["notice"]] = v
    if "retention_days" in r and (v := y.integer(ctx, r["retention_days"][1], "recording retention_days",
                                                 low=1, high=36500)) is not None:
        out[names["retention_days"]] = v
    if "listen_roles" in r and (roles := y.text_list(ctx, r["listen_roles"][1], "listen_roles", y.ident)) is not None:
        for node, role in roles:
            if role not in ROLES:
                ctx.at(node, "bad-value", f"unknown role {role!r} in listen_roles", "one of: " + ", ".join(ROLES))
        out[names["listen_roles"]] = frozenset(role for _, role in roles if role in ROLES)


def _public_key(ctx, node) -> str | None:
    value = y.scalar(ctx, node, "recording public_key")
    if value is None:
        return None
    try:
        pyrage.x25519.Recipient.from_str(value)
    except (pyrage.RecipientError, ValueError) as exc:
        ctx.at(node, "bad-key", f"recording public_key {value[:20]!r} is not an age public key ({exc})",
               "an age X25519 recipient, age1... (sentral recordings keygen --tenant T prints one)")
        return None
    return value


def tenant_settings(ctx, m: dict, tenant_id: str) -> dict:
    """The TenantConfig keyword arguments of a tenant's `recording` key (off without it)."""
    out: dict = {"record_calls": False}
    if "recording" not in m:
        return out
    node = m["recording"][1]
    r = y.mapping(ctx, node, "recording", TENANT_KEYS)
    if r is None:
        return out
    _common(ctx, r, out, {"enabled": "record_calls", "notice": "recording_notice",
                          "retention_days": "recording_retention_days", "listen_roles": "recording_roles"})
    if "public_key" in r and (key := _public_key(ctx, r["public_key"][1])) is not None:
        out["recording_key"] = key
    if out["record_calls"] and not out.get("recording_notice"):
        ctx.at(node, "missing-key", "calls are recorded but no notice prompt is set",
               "recording: {notice: PROMPT} (callers must hear that the call is recorded)")
    if out["record_calls"] and "public_key" not in r:
        ctx.at(node, "missing-key", f"tenant {tenant_id} records calls but has no recording public_key",
               "recording: {public_key: age1...} (" + KEYGEN.format(tenant=tenant_id) + ")")
    return out


def queue_recording(ctx, node, tenant: TenantConfig | None) -> QueueRecording | None:
    """A queue's `recording` overrides; checked against its tenant's key and notice."""
    r = y.mapping(ctx, node, "queue recording", QUEUE_KEYS)
    if r is None:
        return None
    out: dict = {}
    _common(ctx, r, out, {k: k for k in QUEUE_KEYS})
    enabled = out.get("enabled", tenant.record_calls if tenant else False)
    notice = out.get("notice", tenant.recording_notice if tenant else "")
    if enabled and not notice:
        ctx.at(node, "missing-key", "the queue records calls but no notice prompt is set (nor its tenant's)",
               "recording: {notice: PROMPT} (callers must hear that the call is recorded)")
    if enabled and tenant is not None and not tenant.recording_key and "enabled" in out:
        ctx.at(node, "missing-key", f"the queue records calls but tenant {tenant.id} has no recording public_key",
               "the tenant's recording: {public_key: age1...} (" + KEYGEN.format(tenant=tenant.id) + ")")
    return QueueRecording(enabled=out.get("enabled"), notice=out.get("notice"),
                          retention_days=out.get("retention_days"), roles=out.get("listen_roles"))
