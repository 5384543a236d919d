"""Directory import from two files (R17), organisation units and persons, and an optional
third, the agency's services ("tjeneste- og nummerinformasjon": Lønn, Servicedesk).

Rules:
- Formats: see docs/directory.md ("Import format") and `sync.formats`.
- Everything is validated before anything is written: duplicate ids, unknown parent
  unit, a cycle in the hierarchy, unknown unit or substitute of a person, a bad phone
  number → `ImportFileError` listing every problem as `file:line: what`.
- The import is one transaction (all-or-nothing). Units no longer in the file are
  deleted; persons no longer in the file are marked gone (kept findable).
  `dry_run=True` runs the same transaction and rolls it back, so the report says
  exactly what a real run would change.
- Services (optional file): like units, those no longer in the file are deleted; a
  service's unit must be in the units file. Without a services file the stored services
  are not touched.
- Re-importing the same files changes nothing (the report is empty).
- An import that would mark more than `max_removal_share` (default 20 %) of a tenant's
  persons gone is refused (MassRemovalRefused, nothing written): a persons file with
  only a header is a broken export, not the end of the agency. The same share guards the
  services: removing more than it of a tenant's imported services is refused the same way.
- The source name is "import"; LDAP/other syncs of the same tenant use their own.
"""
from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass, field
from typing import Callable

from engine.directory.model import (
    DEFAULT_MAX_REMOVAL_SHARE, ChangeSummary, MassRemovalRefused, OrgUnit, Person, Service,
)
from store.phones import PhoneNumberError, to_e164
from sync.formats import ImportFileError, Problem, Record, read_records

log = logging.getLogger(__name__)

SOURCE = "import"
ALL = "*"
UNIT_COLUMNS = ("tenant", "id", "name", "parent_id", "phone", "email", "location")
UNIT_REQUIRED = ("id", "name")
PERSON_COLUMNS = ("tenant", "id", "given_name", "family_name", "title", "unit_id", "direct_phone", "mobile_phone",
                  "switchboard_phone", "email", "location", "keywords", "substitute_id")
PERSON_REQUIRED = ("id", "given_name", "family_name")
PHONE_COLUMNS = ("direct_phone", "mobile_phone", "switchboard_phone")
SERVICE_COLUMNS = ("tenant", "id", "name", "phone", "unit_id", "email", "keywords", "opening_hours", "description")
SERVICE_REQUIRED = ("id", "name")


class ServiceRemovalRefused(MassRemovalRefused):
    """An import would delete more than the allowed share of a tenant's imported services."""

    def __init__(self, tenant: str, source: str, removing: int, active: int, max_share: float):
        super().__init__(tenant, source, removing, active, max_share)
        self.args = (f"tenant {tenant}: {source} would remove {removing} of {active} services "
                     f"({removing / active:.0%}, more than the {max_share:.0%} allowed); refused, nothing written. "
                     "Check the services file; if the removal is intended, allow it (--allow-mass-removal)",)

    def __str__(self) -> str:
        return self.args[0]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ImportReport:
    tenant: str
    dry_run: bool
    units: ChangeSummary
    persons: ChangeSummary
    names: dict = field(default_factory=dict)  # external id -> display name, for examples
    services: ChangeSummary | None = None      # None: no services file given

    @property
    def is_empty(self) -> bool:
        return self.units.is_empty and self.persons.is_empty and (self.services is None or self.services.is_empty)

    def lines(self, examples: int = 5) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        out = [f"tenant {self.tenant}: " + ("no changes" if self.is_empty else
                                            f"changes {verb} made" + (" (dry run: nothing written)" if self.dry_run else ""))]
        parts = [("units", self.units), ("persons", self.persons)]
        if self.services is not None:
            parts.append(("services", self.services))
        for label, s in parts:
            removed = "marked gone" if label == "persons" else "removed"
            out.append(f"  {label}: {len(s.added)} added, {len(s.changed)} changed, "
                       f"{len(s.removed)} {removed}, {s.unchanged} unchanged")
            for kind, ids in (("added", s.added), ("changed", s.changed), (removed, s.removed)):
                for i in ids[:examples]:
                    out.append(f"    {kind}: {i} {self.names.get((label, i), '')}".rstrip())
                if len(ids) > examples:
                    out.append(f"    ... and {len(ids) - examples} more {kind}")
        return out


def read_units(path) -> list[Record]:
    return read_records(path, UNIT_COLUMNS, UNIT_REQUIRED)


def read_persons(path) -> list[Record]:
    return read_records(path, PERSON_COLUMNS, PERSON_REQUIRED, list_columns=("keywords",))


def read_services(path) -> list[Record]:
    return read_records(path, SERVICE_COLUMNS, SERVICE_REQUIRED, list_columns=("keywords",))


def by_tenant(records: list[Record]) -> dict[str, list[Record]]:
    """Rows grouped by their tenant column ("" = no tenant column: the tenant imported)."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(r.values.get("tenant", ""), []).append(r)
    return groups


def parse_units(records: list[Record], tenant: str) -> list[tuple[Record, OrgUnit]]:
    """Validate the unit rows of one tenant."""
    problems, out, seen = [], [], {}
    for r in records:
        v = r.values
        if v["id"] in seen:
            problems.append(Problem(r.file, r.line, f"duplicate unit id {v['id']!r} (first on line {seen[v['id']]})"))
            continue
        seen[v["id"]] = r.line
        phone = _phone(r, "phone", problems)
        out.append((r, OrgUnit(tenant, v["id"], v["name"], v.get("parent_id") or None, phone,
                               v.get("email", ""), v.get("location", ""), SOURCE)))
    ids = {u.external_id for _, u in out}
    for r, u in out:
        if u.parent_id and u.parent_id not in ids:
            problems.append(Problem(r.file, r.line, f"unit {u.external_id!r}: unknown parent_id {u.parent_id!r}"))
    problems += _cycles(out)
    if problems:
        raise ImportFileError(problems)
    return out


def _cycles(units: list[tuple[Record, OrgUnit]]) -> list[Problem]:
    parent = {u.external_id: u.parent_id for _, u in units}
    where = {u.external_id: r for r, u in units}
    problems, reported = [], set()
    for start in parent:
        path, node = [], start
        while node and node in parent and node not in path:
            path.append(node)
            node = parent[node]
        if node and node in path:
            cycle = path[path.index(node):]
            if not reported & set(cycle):
                reported |= set(cycle)
                r = where[min(cycle, key=lambda i: where[i].line)]
                problems.append(Problem(r.file, r.line, "cycle in the unit hierarchy: "
                                        + " -> ".join(cycle + [node])))
    return problems


def parse_persons(records: list[Record], tenant: str, unit_ids: set[str]) -> list[tuple[Record, Person]]:
    """Validate the person rows of one tenant."""
    problems, out, seen = [], [], {}
    for r in records:
        v = r.values
        if v["id"] in seen:
            problems.append(Problem(r.file, r.line, f"duplicate person id {v['id']!r} (first on line {seen[v['id']]})"))
            continue
        seen[v["id"]] = r.line
        unit = v.get("unit_id") or None
        if unit and unit not in unit_ids:
            problems.append(Problem(r.file, r.line, f"unknown unit_id {unit!r} (not in the units file)"))
        phones = {c: _phone(r, c, problems) for c in PHONE_COLUMNS}
        email = v.get("email", "")
        if email and ("@" not in email or " " in email):
            problems.append(Problem(r.file, r.line, f"email {email!r} is not an e-mail address"))
        kw = v.get("keywords", "")
        keywords = tuple(k.strip() for k in (kw if isinstance(kw, list) else kw.split("|")) if k.strip())
        out.append((r, Person(tenant, v["id"], v["given_name"], v["family_name"], v.get("title", ""), unit,
                              email=email, location=v.get("location", ""), keywords=keywords,
                              substitute_id=v.get("substitute_id") or None, source=SOURCE, **phones)))
    for r, p in out:
        if p.substitute_id and p.substitute_id not in seen:
            problems.append(Problem(r.file, r.line, f"unknown substitute_id {p.substitute_id!r}"))
    if problems:
        raise ImportFileError(problems)
    return out


def parse_services(records: list[Record], tenant: str, unit_ids: set[str]) -> list[tuple[Record, Service]]:
    """Validate the service rows of one tenant."""
    problems, out, seen = [], [], {}
    for r in records:
        v = r.values
        if v["id"] in seen:
            problems.append(Problem(r.file, r.line, f"duplicate service id {v['id']!r} (first on line {seen[v['id']]})"))
            continue
        seen[v["id"]] = r.line
        unit = v.get("unit_id") or None
        if unit and unit not in unit_ids:
            problems.append(Problem(r.file, r.line, f"unknown unit_id {unit!r} (not in the units file)"))
        phone = _phone(r, "phone", problems)
        email = v.get("email", "")
        if email and ("@" not in email or " " in email):
            problems.append(Problem(r.file, r.line, f"email {email!r} is not an e-mail address"))
        kw = v.get("keywords", "")
        keywords = tuple(k.strip() for k in (kw if isinstance(kw, list) else kw.split("|")) if k.strip())
        out.append((r, Service(tenant, v["id"], v["name"], unit, phone, email, v.get("opening_hours", ""),
                               v.get("description", ""), keywords, SOURCE)))
    if problems:
        raise ImportFileError(problems)
    return out


def _phone(r: Record, column: str, problems: list[Problem]) -> str:
    try:
        return to_e164(r.values.get(column, ""))
    except PhoneNumberError as exc:
        problems.append(Problem(r.file, r.line, f"{column}: {exc}"))
        return ""


def import_files(store, tenant: str, persons_path, units_path, dry_run: bool = False,
                 tenant_name: str = "", progress: Progress | None = None,
                 max_removal_share: float | None = DEFAULT_MAX_REMOVAL_SHARE,
                 services_path=None, connection=None) -> list[ImportReport]:
    """Validate the files, then apply them in one transaction (rolled back if dry_run).
    `connection`: apply in this open transaction instead (the caller commits or rolls
    back; `dry_run` then only changes the report's wording).

    `tenant` "*" imports every tenant named in the files' `tenant` column. An import that
    would mark more than `max_removal_share` of a tenant's imported persons gone raises
    MassRemovalRefused and writes nothing (None = no limit: --allow-mass-removal)."""
    progress = progress or (lambda stage, done, total: None)
    unit_records = read_units(units_path)
    progress("units read", len(unit_records), len(unit_records))
    person_records = read_persons(persons_path)
    progress("persons read", len(person_records), len(person_records))
    service_records = read_services(services_path) if services_path is not None else None
    if service_records is not None:
        progress("services read", len(service_records), len(service_records))
    if tenant == ALL:
        tenants = sorted({r.values.get("tenant", "") for r in unit_records + person_records + (service_records or [])})
        if "" in tenants:
            raise ImportFileError([Problem(str(units_path), 1, "--tenant '*' needs a tenant column on every row")])
    else:
        tenants = [tenant]
    parsed, problems = {}, []
    unit_groups, person_groups = by_tenant(unit_records), by_tenant(person_records)
    service_groups = by_tenant(service_records or [])
    for t in tenants:
        try:
            units = parse_units(unit_groups.get(t, []) + unit_groups.get("", []), t)
            unit_ids = {u.external_id for _, u in units}
            people = person_groups.get(t, []) + person_groups.get("", [])
            try:
                persons = parse_persons(people, t, unit_ids)
            except ImportFileError as exc:
                problems += exc.problems
                persons = []
            services = None
            if service_records is not None:
                services = parse_services(service_groups.get(t, []) + service_groups.get("", []), t, unit_ids)
            parsed[t] = (units, persons, services)
        except ImportFileError as exc:
            problems += exc.problems
    if problems:
        raise ImportFileError(problems)
    from store.directory_writer import DirectoryWriter

    def apply_all(conn) -> list[ImportReport]:
        w = DirectoryWriter(conn, store.clock)
        return [_apply(w, t, units, persons, services, dry_run, tenant_name, progress, max_removal_share)
                for t, (units, persons, services) in parsed.items()]
    if connection is not None:
        return apply_all(connection)
    with store.engine.connect() as conn:
        trans = conn.begin()
        try:
            reports = apply_all(conn)
        except BaseException:
            trans.rollback()
            raise
        if dry_run:
            trans.rollback()
        else:
            trans.commit()
    return reports


def _apply_services(w, tenant, services, max_removal_share) -> ChangeSummary:
    incoming = {s.external_id for _, s in services}
    imported = [s.external_id for s in w.services(tenant) if s.source == SOURCE]
    removing = sum(1 for i in imported if i not in incoming)
    if max_removal_share is not None and imported and removing > max_removal_share * len(imported):
        raise ServiceRemovalRefused(tenant, SOURCE, removing, len(imported), max_removal_share)
    return w.upsert_services(tenant, [s for _, s in services], SOURCE, remove_missing=True)


def _apply(w, tenant, units, persons, services, dry_run, tenant_name, progress, max_removal_share) -> ImportReport:
    names = {("units", u.external_id): u.name for _, u in units}
    names.update({("persons", p.external_id): p.display_name for _, p in persons})
    w.ensure_tenant(tenant, tenant_name)
    unit_summary = w.upsert_units(tenant, [u for _, u in units], SOURCE, remove_missing=True)
    progress(f"{tenant}: units written", len(units), len(units))
    person_summary = w.upsert_persons(tenant, [p for _, p in persons], SOURCE)
    gone = w.delete_missing(tenant, SOURCE, [p.external_id for _, p in persons], max_share=max_removal_share)
    progress(f"{tenant}: persons written", len(persons), len(persons))
    service_summary = None
    if services is not None:
        service_summary = _apply_services(w, tenant, services, max_removal_share)
        names.update({("services", s.external_id): s.name for _, s in services})
        progress(f"{tenant}: services written", len(services), len(services))
    if not dry_run:
        w.record_source_status(tenant, SOURCE, ok=True)
    log.info("directory import for %s: %d persons, %d units (dry run: %s)", tenant, len(persons), len(units), dry_run)
    return ImportReport(tenant, dry_run, unit_summary, person_summary.merged(gone), names, service_summary)


def default_examples() -> tuple[pathlib.Path, pathlib.Path]:
    here = pathlib.Path(__file__).resolve().parent / "examples"
    return here / "persons.csv", here / "units.csv"


def example_services() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parent / "examples" / "services.csv"
