"""The service catalogue in the community file: `[[services]]`, each with its form.

```toml
[[stations]]
key = "enterprise"
name = { zh_CN = "企业服务站", en = "Enterprise service station" }
hours = [{ days = "mon-fri", opens = "08:30", closes = "17:30" }]
lead = "enterprise_desk"              # a member key: breached SLAs escalate to them

[[services]]
key = "legal_aid"
station = "enterprise"
name = { zh_CN = "法律援助", en = "Legal aid" }
affair = "legal"                      # party, government, community, commercial, legal
open_to = ["organization"]            # member, organization, resident
sla_hours = 72
form = [
  { key = "matter", label = { zh_CN = "事项", en = "Matter" } },
  { key = "phone", label = { zh_CN = "联系电话", en = "Phone" }, type = "phone" },
  { key = "kind", label = "类别", type = "choice", choices = ["合同", "劳动"] },
]
```

Stations and services named here must exist when the file is applied:
a service may name a station the file no longer lists (stations are kept),
and a lead may be a member imported from CSV, so those references are
checked against the database, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from huarong_core.domain.communities import OpeningHours, Station
from huarong_core.domain.services import Affair, FieldType, FormField, Requester, Service
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key
from huarong_core.errors import HuarongError, InvalidValue, Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig, StationEntry


@attrs.frozen
class HoursEntry:
    """One opening rule of a station: `{ days = "mon-fri", opens = "08:30", closes = "17:30" }`."""

    days: str
    opens: str
    closes: str


@attrs.frozen
class FormFieldEntry:
    key: str
    label: LocalizedText
    type: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()


@attrs.frozen
class ServiceEntry:
    """A service a station offers."""

    key: str
    station: str
    name: LocalizedText
    affair: str
    sla_hours: int
    open_to: tuple[str, ...] = ("member",)
    form: tuple[FormFieldEntry, ...] = ()
    description: LocalizedText | None = None
    enabled: bool = True


ENTRY_TYPES: tuple[type, ...] = (ServiceEntry, HoursEntry, FormFieldEntry)


def station_from(entry: StationEntry) -> Station:
    """The station an entry describes; raises `InvalidValue` naming a bad field."""
    if entry.lead is not None:
        require_key("lead", entry.lead)
    return Station(
        entry.key,
        entry.name,
        entry.floor,
        entry.description,
        tuple(OpeningHours.parse(h.days, h.opens, h.closes) for h in entry.hours),
        entry.lead,
    )


def _field_from(entry: FormFieldEntry) -> FormField:
    try:
        kind = FieldType(entry.type)
    except ValueError:
        raise InvalidValue(field="type", value=entry.type, reason="bad_field_type") from None
    return FormField(entry.key, entry.label, kind, entry.required, entry.choices)


def service_from(entry: ServiceEntry) -> Service:
    """The service an entry describes; raises `InvalidValue` naming a bad field."""
    try:
        affair = Affair(entry.affair)
    except ValueError:
        raise InvalidValue(field="affair", value=entry.affair, reason="bad_affair") from None
    open_to = set()
    for who in entry.open_to:
        try:
            open_to.add(Requester(who))
        except ValueError:
            raise InvalidValue(field="open_to", value=who, reason="bad_requester") from None
    return Service(
        key=entry.key,
        station=entry.station,
        name=entry.name,
        affair=affair,
        sla_hours=entry.sla_hours,
        open_to=frozenset(open_to),
        form=tuple(_field_from(f) for f in entry.form),
        description=entry.description,
        enabled=entry.enabled,
    )


def check_services(config: CommunityConfig) -> Iterator[Problem]:
    """Values within the file: station hours and leads, services and their forms."""
    from huarong_core.config import _duplicates

    for i, station in enumerate(config.stations):
        for j, hours in enumerate(station.hours):
            try:
                OpeningHours.parse(hours.days, hours.opens, hours.closes)
            except HuarongError as exc:
                yield Problem.from_error(f"stations[{i}].hours[{j}]", exc)
        if station.lead is not None:
            try:
                require_key("lead", station.lead)
            except HuarongError as exc:
                yield Problem.from_error(f"stations[{i}].lead", exc)
    for i, service in enumerate(config.services):
        try:
            service_from(service)
        except HuarongError as exc:
            yield Problem.from_error(f"services[{i}]", exc)
    yield from _duplicates("services", [s.key for s in config.services])
