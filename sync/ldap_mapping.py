"""LDAP entry → `Person`: a per-tenant attribute mapping, and refusal of hostile values.

Rules:
- `LdapMapping.fields` maps a Person field to one LDAP attribute name (case-insensitive).
  `keywords` takes every value of its attribute; other fields the first value.
  Unmapped fields stay empty; local-only fields (operator notes...) are never mapped.
- The stable key is `LdapMapping.key` (OpenLDAP `entryUUID`, AD `objectGUID`): a person
  keeps their identity across renames/moves (the DN is not the key).
- `unit_id` may be mapped to an attribute holding a unit id, or (`unit_from_dn=True`)
  taken from the first `ou=` of the DN.
- A value with a control character (C0/C1 except TAB) or longer than `max_value`
  characters, a phone number that is not one, or a missing key/name refuses the whole
  entry with LdapEntryRejected naming the source, the DN and the attribute. The rest of
  the batch goes on; the refused person keeps their last good data in the store.
- Phone numbers are stored E.164 (`store.phones.to_e164`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from engine.directory.model import Person
from store.phones import PhoneNumberError, to_e164

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
PHONE_FIELDS = ("direct_phone", "mobile_phone", "switchboard_phone")
MAPPABLE = ("given_name", "family_name", "title", "unit_id", "direct_phone", "mobile_phone",
            "switchboard_phone", "email", "location", "keywords", "substitute_id")


class LdapEntryRejected(ValueError):
    """One directory entry was refused; the batch goes on without it."""

    error_id = "ldap.entry_rejected"

    def __init__(self, source: str, dn: str, attribute: str, reason: str, key: str = ""):
        self.source, self.dn, self.attribute, self.reason, self.key = source, dn, attribute, reason, key
        super().__init__(f"{source}: entry {dn!r}: attribute {attribute}: {reason}")


@dataclass(frozen=True)
class LdapMapping:
    key: str = "entryUUID"
    fields: Mapping[str, str] = field(default_factory=lambda: dict(OPENLDAP_FIELDS))
    unit_from_dn: bool = False
    max_value: int = 4096
    default_country: str = "47"

    def __post_init__(self):
        unknown = set(self.fields) - set(MAPPABLE)
        if unknown:
            raise ValueError(f"cannot map LDAP attributes onto {sorted(unknown)}; "
                             f"mappable fields: {', '.join(MAPPABLE)}")

    @property
    def attributes(self) -> list[str]:
        return sorted({self.key, *self.fields.values()})

    @classmethod
    def from_config(cls, data: Mapping[str, object], base: "LdapMapping | None" = None) -> "LdapMapping":
        base = base or cls()
        fields = dict(base.fields)
        fields.update({str(k): str(v) for k, v in dict(data.get("fields") or {}).items()})
        for name in data.get("unmap") or ():
            fields.pop(str(name), None)
        return cls(key=str(data.get("key") or base.key), fields=fields,
                   unit_from_dn=bool(data.get("unit_from_dn", base.unit_from_dn)),
                   max_value=int(data.get("max_value") or base.max_value),
                   default_country=str(data.get("default_country") or base.default_country))


OPENLDAP_FIELDS = {
    "given_name": "givenName", "family_name": "sn", "title": "title",
    "unit_id": "departmentNumber", "direct_phone": "telephoneNumber", "mobile_phone": "mobile",
    "email": "mail", "location": "roomNumber", "keywords": "businessCategory",
}
AD_FIELDS = {
    "given_name": "givenName", "family_name": "sn", "title": "title", "unit_id": "department",
    "direct_phone": "telephoneNumber", "mobile_phone": "mobile", "email": "mail",
    "location": "physicalDeliveryOfficeName", "keywords": "info",
}
OPENLDAP = LdapMapping()
ACTIVE_DIRECTORY = LdapMapping(key="objectGUID", fields=AD_FIELDS)


def _values(attributes: Mapping[str, object], name: str) -> list[str]:
    lowered = {k.lower(): v for k, v in attributes.items()}
    value = lowered.get(name.lower())
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        out.append(str(item))
    return out


def _check(values: list[str], mapping: LdapMapping, source: str, dn: str, attr: str,
           key: str) -> None:
    for value in values:
        if len(value) > mapping.max_value:
            raise LdapEntryRejected(source, dn, attr, f"value of {len(value)} characters exceeds "
                                                      f"the limit of {mapping.max_value}", key)
        bad = _CONTROL.search(value)
        if bad:
            raise LdapEntryRejected(source, dn, attr, f"control character U+{ord(bad.group()):04X} "
                                                      f"at position {bad.start()}", key)


def entry_key(attributes: Mapping[str, object], mapping: LdapMapping) -> str:
    found = _values(attributes, mapping.key)
    return found[0].strip("{}").lower() if found else ""


def person_from_entry(dn: str, attributes: Mapping[str, object], *, tenant: str, source: str,
                      mapping: LdapMapping) -> Person:
    """Map one entry; raise LdapEntryRejected for anything hostile (rules above)."""
    key = entry_key(attributes, mapping)
    if not key:
        raise LdapEntryRejected(source, dn, mapping.key, "missing stable key")
    _check(_values(attributes, mapping.key), mapping, source, dn, mapping.key, key)
    values: dict[str, object] = {}
    for fname, attr in mapping.fields.items():
        found = _values(attributes, attr)
        _check(found, mapping, source, dn, attr, key)
        if fname == "keywords":
            values[fname] = tuple(v.strip() for v in found if v.strip())
            continue
        first = found[0].strip() if found else ""
        if fname in PHONE_FIELDS and first:
            try:
                first = to_e164(first, mapping.default_country)
            except PhoneNumberError as exc:
                raise LdapEntryRejected(source, dn, attr, str(exc), key) from None
        if fname in ("unit_id", "substitute_id"):
            values[fname] = first or None
        else:
            values[fname] = first
    if mapping.unit_from_dn and not values.get("unit_id"):
        ous = [part.split("=", 1)[1] for part in dn.split(",") if part.strip().lower().startswith("ou=")]
        values["unit_id"] = ous[0].strip() if ous else None
    if not (values.get("given_name") or values.get("family_name")):
        raise LdapEntryRejected(source, dn, mapping.fields.get("family_name", "sn"), "no name", key)
    return Person(tenant=tenant, external_id=key, source=source, **values)
