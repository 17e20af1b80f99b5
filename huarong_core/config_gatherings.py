"""The gatherings part of the community file: clubs, venues, salons, events, timing.

```toml
[gatherings]
reminders = ["24h", "1h"]          # before each session or event, to those going
checkin_opens_before = "30m"
checkin_closes_after = "30m"        # after the end; then attendance is settled
horizon_days = 60                   # how far ahead salon sessions exist

[[salons]]
key = "english"
organizer = "club:english"
[salons.schedule]                   # RFC 5545: the second Thursday of every month
rrule = "FREQ=MONTHLY;BYDAY=2TH"
start = "19:00"
end = "21:00"
starts_on = 2026-01-01
```
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import attrs

from huarong_core.domain.clubs import Club, JoinPolicy
from huarong_core.domain.gatherings import (
    EventType,
    GatheringSettings,
    Organizer,
    OrganizerKind,
    Ranking,
    Salon,
)
from huarong_core.domain.recurrence import Recurrence
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.venues import Venue
from huarong_core.errors import InvalidValue, Problem

if TYPE_CHECKING:
    from huarong_core.config import CommunityConfig

_DURATION = re.compile(r"^(\d{1,5})\s*([mhd])\Z")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
MAX_HORIZON_DAYS = 366


def parse_duration(field: str, text: str) -> timedelta:
    """`30m`, `24h`, `2d`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidValue(field=field, value=text, reason="bad_duration")
    return int(match.group(1)) * _UNITS[match.group(2)]


@attrs.frozen
class GatheringsSection:
    reminders: tuple[str, ...] = ("24h", "1h")
    checkin_opens_before: str = "30m"
    checkin_closes_after: str = "30m"
    horizon_days: int = 60


@attrs.frozen
class ChatEntry:
    platform: str
    id: str


@attrs.frozen
class ClubEntry:
    key: str
    name: LocalizedText
    description: LocalizedText | None = None
    station: str | None = None
    join: str = "open"
    chats: tuple[ChatEntry, ...] = ()


@attrs.frozen
class VenueEntry:
    key: str
    name: LocalizedText
    capacity: int
    equipment: tuple[str, ...] = ()
    station: str | None = None
    floor: str | None = None


@attrs.frozen
class ScheduleEntry:
    rrule: str
    start: str
    end: str
    starts_on: date
    until: date | None = None


@attrs.frozen
class SalonEntry:
    key: str
    name: LocalizedText
    organizer: str
    schedule: ScheduleEntry
    venue: str | None = None
    capacity: int | None = None
    description: LocalizedText | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True


@attrs.frozen
class CheckpointEntry:
    name: str
    code: str


@attrs.frozen
class EventEntry:
    key: str
    title: LocalizedText
    type: str
    starts: datetime
    ends: datetime
    organizer: str = "community"
    venue: str | None = None
    capacity: int | None = None
    description: LocalizedText | None = None
    tags: tuple[str, ...] = ()
    ranking: str = "high"
    speaker: str | None = None
    checkpoints: tuple[CheckpointEntry, ...] = ()


ENTRY_TYPES = (
    GatheringsSection,
    ChatEntry,
    ClubEntry,
    VenueEntry,
    ScheduleEntry,
    SalonEntry,
    CheckpointEntry,
    EventEntry,
)


def settings_from(section: GatheringsSection) -> GatheringSettings:
    if not 1 <= section.horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidValue(
            field="horizon_days", value=str(section.horizon_days), reason="out_of_range"
        )
    return GatheringSettings(
        reminders=tuple(
            sorted({parse_duration("reminders", r) for r in section.reminders}, reverse=True)
        ),
        checkin_opens_before=parse_duration("checkin_opens_before", section.checkin_opens_before),
        checkin_closes_after=parse_duration("checkin_closes_after", section.checkin_closes_after),
        horizon=timedelta(days=section.horizon_days),
    )


def club_from(entry: ClubEntry) -> Club:
    try:
        policy = JoinPolicy(entry.join)
    except ValueError:
        raise InvalidValue(field="join", value=entry.join, reason="bad_join_policy") from None
    return Club(entry.key, entry.name, entry.description, entry.station, policy)


def venue_from(entry: VenueEntry) -> Venue:
    return Venue(
        entry.key,
        entry.name,
        entry.capacity,
        frozenset(entry.equipment),
        entry.station,
        entry.floor,
    )


def salon_from(entry: SalonEntry) -> Salon:
    schedule = entry.schedule
    recurrence = Recurrence.from_clock(
        schedule.rrule, schedule.starts_on, schedule.start, schedule.end, schedule.until
    )
    return Salon(
        key=entry.key,
        name=entry.name,
        organizer=Organizer.parse(entry.organizer),
        recurrence=recurrence,
        venue_key=entry.venue,
        capacity=entry.capacity,
        description=entry.description,
        tags=frozenset(entry.tags),
        enabled=entry.enabled,
    )


def event_type_of(entry: EventEntry) -> EventType:
    try:
        return EventType(entry.type)
    except ValueError:
        raise InvalidValue(field="type", value=entry.type, reason="bad_event_type") from None


def ranking_of(entry: EventEntry) -> Ranking:
    try:
        return Ranking(entry.ranking)
    except ValueError:
        raise InvalidValue(field="ranking", value=entry.ranking, reason="bad_ranking") from None


def _checked(where: str, build: Callable[[], object]) -> Iterator[Problem]:
    try:
        build()
    except InvalidValue as exc:
        yield Problem.from_error(where, exc)


def check_gatherings(config: CommunityConfig) -> Iterator[Problem]:
    """Values and references within the file (clubs, stations, venues it names)."""
    from huarong_core.config import _duplicates

    yield from _checked("gatherings", partial(settings_from, config.gatherings))
    stations = {s.key for s in config.stations}
    clubs = {c.key for c in config.clubs}
    venues = {v.key for v in config.venues}

    def station_problem(where: str, station: str | None) -> Iterator[Problem]:
        if station is not None and station not in stations:
            yield Problem(where, "config.unknown_station", {"value": station})

    def organizer_problems(where: str, text: str) -> Iterator[Problem]:
        try:
            organizer = Organizer.parse(text)
        except InvalidValue as exc:
            yield Problem.from_error(where, exc)
            return
        if organizer.kind is OrganizerKind.CLUB and organizer.key not in clubs:
            yield Problem(where, "config.unknown_club", {"value": organizer.key})
        if organizer.kind is OrganizerKind.STATION:
            yield from station_problem(where, organizer.key)

    def venue_problem(where: str, venue: str | None) -> Iterator[Problem]:
        if venue is not None and venue not in venues:
            yield Problem(where, "config.unknown_venue", {"value": venue})

    for i, club in enumerate(config.clubs):
        yield from _checked(f"clubs[{i}]", partial(club_from, club))
        yield from station_problem(f"clubs[{i}].station", club.station)
    yield from _duplicates("clubs", [c.key for c in config.clubs])
    chats = [f"{chat.platform}:{chat.id}" for c in config.clubs for chat in c.chats]
    yield from _duplicates("clubs.chats", chats)
    for i, venue in enumerate(config.venues):
        yield from _checked(f"venues[{i}]", partial(venue_from, venue))
        yield from station_problem(f"venues[{i}].station", venue.station)
    yield from _duplicates("venues", [v.key for v in config.venues])
    for i, salon in enumerate(config.salons):
        yield from _checked(f"salons[{i}]", partial(salon_from, salon))
        yield from organizer_problems(f"salons[{i}].organizer", salon.organizer)
        yield from venue_problem(f"salons[{i}].venue", salon.venue)
    yield from _duplicates("salons", [s.key for s in config.salons])
    for i, event in enumerate(config.events):
        where = f"events[{i}]"
        yield from _checked(where, partial(event_type_of, event))
        yield from _checked(where, partial(ranking_of, event))
        if event.ends <= event.starts:
            yield Problem(f"{where}.ends", "config.ends_before_start", {"value": str(event.ends)})
        yield from organizer_problems(f"{where}.organizer", event.organizer)
        yield from venue_problem(f"{where}.venue", event.venue)
    yield from _duplicates("events", [e.key for e in config.events])
