"""Per-tenant sync source configuration (YAML) → scheduler jobs writing to the store.

File format (documented with an example in docs/sync.md):

    state_dir: var/sync-state          # optional: change markers survive restarts
    tenants:
      hdir:
        timezone: Europe/Oslo
        sources:
          - {kind: openldap, name: "ldap:hdir", url: "ldap://…", base: "ou=people,…",
             bind_dn: "…", password_env: HDIR_LDAP_PW, interval: 300, full_every: 21600,
             mapping: {fields: {location: l}, unmap: [keywords]},
             max_removal_share: 0.2}   # a round marking more persons gone is refused;
                                       # allow_mass_removal: true lifts it (or `sync run --allow-mass-removal`)
          - {kind: ad, mode: usn|dirsync, …same keys…}
          - {kind: ical, name: "ical:hdir", interval: 300, days_ahead: 60,
             calendars: {kari: "https://…/kari.ics", ola: "https://…/ola.ics"}}
          - {kind: caldav, username: …, password_env: …, calendars: {kari: "https://…/kari/cal/"}}
          - {kind: graph, base_url: "https://graph.microsoft.com/v1.0", token_env: …,
             calendars: {kari: "kari@hdir.no"}}
          - {kind: domino, mode: ics|json, calendars: {kari: "https://…/mail/kari.nsf"}}

Rules: secrets are never in the file, only the names of environment variables holding
them (`password_env`, `token_env`). Unknown kinds or keys are a SourceConfigError
naming the tenant and source. Every source name is unique per tenant. States are kept
in memory and, with `state_dir`, saved as JSON after each successful round.
"""
from __future__ import annotations

import json
import logging
import os
import pathlib
from dataclasses import dataclass
from datetime import timedelta

import yaml

from engine.directory.model import DEFAULT_MAX_REMOVAL_SHARE
from sync.scheduler import Job

log = logging.getLogger(__name__)

DIRECTORY_KINDS = ("openldap", "ad")
CALENDAR_KINDS = ("ical", "caldav", "graph", "domino")
COMMON = {"kind", "name", "interval"}
ALLOWED = {
    "openldap": COMMON | {"url", "base", "bind_dn", "password_env", "filter", "mapping",
                          "full_every", "page_size", "change_attribute", "max_removal_share",
                          "allow_mass_removal"},
    "ad": COMMON | {"url", "base", "bind_dn", "password_env", "filter", "mapping", "full_every",
                    "mode", "max_removal_share", "allow_mass_removal"},
    "ical": COMMON | {"calendars", "days_ahead", "concurrency"},
    "caldav": COMMON | {"calendars", "days_ahead", "concurrency", "username", "password_env"},
    "graph": COMMON | {"calendars", "days_ahead", "concurrency", "base_url", "token_env",
                       "page_size"},
    "domino": COMMON | {"calendars", "days_ahead", "concurrency", "mode"},
}


class SourceConfigError(ValueError):
    error_id = "sync.config"


class EntriesRejected(RuntimeError):
    """A directory round was applied, but some entries were refused (named in the text)."""

    error_id = "ldap.entries_rejected"


@dataclass(frozen=True)
class SourceSpec:
    tenant: str
    name: str
    kind: str
    interval: float
    options: dict
    timezone: str = "Europe/Oslo"


def load_specs(path: str | pathlib.Path) -> tuple[list[SourceSpec], str | None]:
    try:
        data = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SourceConfigError(f"{path}: {exc}") from None
    specs, seen = [], set()
    for tenant, tconf in (data.get("tenants") or {}).items():
        tz = (tconf or {}).get("timezone", "Europe/Oslo")
        for i, s in enumerate((tconf or {}).get("sources") or ()):
            kind = s.get("kind")
            where = f"{path}: tenant {tenant}, source #{i + 1}"
            if kind not in ALLOWED:
                raise SourceConfigError(f"{where}: unknown kind {kind!r}; one of {sorted(ALLOWED)}")
            extra = set(s) - ALLOWED[kind]
            if extra:
                raise SourceConfigError(f"{where}: unknown keys {sorted(extra)}")
            name = s.get("name") or f"{kind}:{tenant}"
            if (tenant, name) in seen:
                raise SourceConfigError(f"{where}: duplicate source name {name!r}")
            seen.add((tenant, name))
            specs.append(SourceSpec(str(tenant), name, kind, float(s.get("interval", 300)),
                                    dict(s), tz))
    return specs, data.get("state_dir")


def _secret(options: dict, key: str) -> str:
    var = options.get(key)
    return os.environ.get(var, "") if var else ""


def build_source(spec: SourceSpec):
    """The source object for one spec (an LDAP source or a CalendarSource)."""
    o = spec.options
    if spec.kind in DIRECTORY_KINDS:
        from sync.ldap_mapping import ACTIVE_DIRECTORY, OPENLDAP, LdapMapping
        base_map = OPENLDAP if spec.kind == "openldap" else ACTIVE_DIRECTORY
        mapping = LdapMapping.from_config(o.get("mapping") or {}, base_map)
        common = dict(url=o["url"], base=o["base"], tenant=spec.tenant, bind_dn=o.get("bind_dn", ""),
                      password=_secret(o, "password_env"), mapping=mapping, name=spec.name)
        if o.get("filter"):
            common["search_filter"] = o["filter"]
        if o.get("full_every") is not None:
            common["full_every"] = float(o["full_every"])
        if spec.kind == "openldap":
            from sync.ldap_openldap import OpenLdapSource
            return OpenLdapSource(**common, **({"change_attribute": o["change_attribute"]}
                                                if o.get("change_attribute") else {}))
        from sync.ldap_ad import ActiveDirectorySource
        return ActiveDirectorySource(**common, mode=o.get("mode", "usn"))
    from sync.calendar.runner import CalendarSource
    fetchers = {str(pid): _calendar(spec, str(pid), str(loc))
                for pid, loc in (o.get("calendars") or {}).items()}
    return CalendarSource(spec.tenant, spec.name, fetchers,
                          ahead=timedelta(days=float(o.get("days_ahead", 60))),
                          concurrency=int(o.get("concurrency", 10)))


def _calendar(spec: SourceSpec, pid: str, location: str):
    o, common = spec.options, dict(tenant=spec.tenant, person_id=pid, name=spec.name,
                                   default_tz=spec.timezone)
    if spec.kind == "ical":
        from sync.calendar.feed import IcsFeed
        return IcsFeed(location, **common)
    if spec.kind == "caldav":
        from sync.calendar.caldav_source import CalDavCalendar
        return CalDavCalendar(location, username=o.get("username", ""),
                              password=_secret(o, "password_env"), **common)
    if spec.kind == "graph":
        from sync.calendar.graph import GraphCalendar
        token = _secret(o, "token_env")
        del common["default_tz"]
        return GraphCalendar(location, token=lambda: token,
                             base_url=o.get("base_url", "https://graph.microsoft.com/v1.0"),
                             page_size=int(o.get("page_size", 100)), **common)
    from sync.calendar.domino import DominoCalendar
    return DominoCalendar(location, mode=o.get("mode", "ics"), **common)


def _state_file(state_dir: str, spec: SourceSpec) -> pathlib.Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{spec.tenant}__{spec.name}")
    return pathlib.Path(state_dir) / f"{safe}.json"


def removal_share(spec: SourceSpec, allow_mass_removal: bool = False) -> float | None:
    """The share of a directory source's persons one round may mark gone (None = any)."""
    if allow_mass_removal or spec.options.get("allow_mass_removal") is True:
        return None
    share = spec.options.get("max_removal_share", DEFAULT_MAX_REMOVAL_SHARE)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise SourceConfigError(f"tenant {spec.tenant}, source {spec.name}: max_removal_share is {share!r} "
                                "(expected a share between 0 and 1, e.g. 0.2)")
    return float(share)


def build_job(spec: SourceSpec, store, state_dir: str | None = None, allow_mass_removal: bool = False) -> Job:
    """A scheduler job running one round of `spec` against the directory store
    (`allow_mass_removal`: this run may mark any share of a directory source's persons gone)."""
    source = build_source(spec)
    path = _state_file(state_dir, spec) if state_dir else None
    saved = json.loads(path.read_text()) if path and path.exists() else {}

    def save(state):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(path)

    if spec.kind in DIRECTORY_KINDS:
        from sync.ldap_batch import apply_batch
        holder = {"state": saved}
        share = removal_share(spec, allow_mass_removal)

        def run_directory(now):
            batch = source.sync(holder["state"], now)
            apply_batch(store, spec.tenant, batch, max_removal_share=share)
            holder["state"] = batch.state
            save(batch.state)
            if batch.rejected:   # written and saved; still an error on the health page
                raise EntriesRejected(f"{batch.summary_line}; first: {batch.rejected[0]}")
            return batch.summary_line
        return Job(spec.tenant, spec.name, spec.interval, run_directory)

    source.states.update(saved)

    def run_calendar(now):
        try:
            return source.run(store, now).line(spec.name)
        finally:
            save(source.states)
    return Job(spec.tenant, spec.name, spec.interval, run_calendar)
