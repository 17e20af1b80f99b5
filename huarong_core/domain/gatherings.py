"""Salons, their sessions, and one-off events: one kind of gathering for all of them.

A salon session and a themed activity day share everything that matters to a
member: a time, a venue, a capacity, RSVPs with a waitlist, a check-in code,
attendance and feedback. Events add contests (scores, a ranking) and
challenges (teams and checkpoints); sessions belong to a salon series.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from huarong_core.domain.recurrence import Recurrence
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key
from huarong_core.errors import InvalidValue


class GatheringKind(enum.StrEnum):
    SESSION = "session"
    """One occurrence of a salon series."""
    EVENT = "event"
    """A one-off gathering."""


class EventType(enum.StrEnum):
    SALON = "salon"
    ACTIVITY_DAY = "activity_day"
    LECTURE = "lecture"
    DRIVE = "drive"
    CAMPAIGN = "campaign"
    CONTEST = "contest"
    CHALLENGE = "challenge"
    OTHER = "other"


class GatheringStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    """Attendance is settled: no-shows recorded, feedback requested."""


class Answer(enum.StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NOT_GOING = "not_going"


class RsvpStatus(enum.StrEnum):
    GOING = "going"
    """Holds a seat."""
    WAITLISTED = "waitlisted"
    MAYBE = "maybe"
    NOT_GOING = "not_going"
    WALK_IN = "walk_in"
    """Checked in without having a seat (came anyway, or off the waitlist)."""


class Attendance(enum.StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Ranking(enum.StrEnum):
    """How a contest ranks scores."""

    HIGH = "high"
    LOW = "low"
    """Lower is better: times, strokes, penalties."""


class OrganizerKind(enum.StrEnum):
    CLUB = "club"
    STATION = "station"
    ORGANIZATION = "organization"
    COMMUNITY = "community"


@attrs.frozen
class Organizer:
    """Who runs a salon or event: `club:english`, `station:huaying`, `organization:x`."""

    kind: OrganizerKind
    key: str = ""

    @classmethod
    def parse(cls, text: str) -> Organizer:
        kind_text, _, key = text.strip().partition(":")
        try:
            kind = OrganizerKind(kind_text)
        except ValueError:
            raise InvalidValue(field="organizer", value=text, reason="bad_organizer") from None
        if (kind is OrganizerKind.COMMUNITY) != (key == ""):
            raise InvalidValue(field="organizer", value=text, reason="bad_organizer")
        if key:
            require_key("organizer", key)
        return cls(kind, key)

    def __str__(self) -> str:
        return (
            self.kind.value if self.kind is OrganizerKind.COMMUNITY else f"{self.kind}:{self.key}"
        )


def _tags(value: object) -> frozenset[str]:
    return frozenset(str(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen
class Salon:
    """A series (English salon, 汇金融 forum, Red Coffee salon) that meets on a rhythm."""

    key: str
    name: LocalizedText
    organizer: Organizer
    recurrence: Recurrence
    venue_key: str | None = None
    capacity: int | None = None
    description: LocalizedText | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        require_key("key", self.key)
        require_capacity(self.capacity)


def require_capacity(capacity: int | None) -> None:
    if capacity is not None and capacity < 1:
        raise InvalidValue(field="capacity", value=str(capacity), reason="not_positive")


@attrs.frozen
class Gathering:
    id: int
    kind: GatheringKind
    event_type: EventType
    title: LocalizedText
    organizer: Organizer
    starts_at: datetime
    ends_at: datetime
    status: GatheringStatus
    club_key: str | None = None
    station: str | None = None
    salon_key: str | None = None
    event_key: str | None = None
    occurrence: datetime | None = None
    """A session's original start: moving it keeps its place in the series."""
    venue_key: str | None = None
    capacity: int | None = None
    """`None`: no limit (an open activity day)."""
    topic: str | None = None
    speaker: str | None = None
    description: LocalizedText | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    ranking: Ranking = Ranking.HIGH
    finalized_at: datetime | None = None
    updated_at: datetime | None = attrs.field(default=None, eq=False)
    """When it was last changed (None for a draft not yet stored). Not compared: a
    gathering is the same gathering whenever it was saved."""

    @property
    def host_club(self) -> str | None:
        """The club a gathering belongs to: its own, or the club that organizes it."""
        if self.club_key is not None:
            return self.club_key
        return self.organizer.key if self.organizer.kind is OrganizerKind.CLUB else None

    @property
    def trigger_prefix(self) -> str:
        """Points triggers are `salon.*` for sessions and `event.*` (or the type) for events."""
        return "salon" if self.kind is GatheringKind.SESSION else "event"

    @property
    def target(self) -> str:
        """What points rules count `once_per_target` by."""
        return f"{self.kind.value}:{self.id}"

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    def is_over(self, now: datetime) -> bool:
        return now >= self.ends_at


@attrs.frozen
class Rsvp:
    gathering_id: int
    member_id: int
    answer: Answer
    status: RsvpStatus
    seq: int
    """Arrival order: the waitlist is served by it."""
    responded_at: datetime
    checked_in_at: datetime | None = None
    attendance: Attendance | None = None
    position: int | None = None
    """1-based place on the waitlist, when waitlisted."""


@attrs.frozen
class GatheringSettings:
    """The `[gatherings]` section: reminders, the check-in window, how far ahead to plan."""

    reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    checkin_opens_before: timedelta = timedelta(minutes=30)
    checkin_closes_after: timedelta = timedelta(minutes=30)
    horizon: timedelta = timedelta(days=60)
    """How far ahead salon sessions are generated."""

    def checkin_window(self, gathering: Gathering) -> tuple[datetime, datetime]:
        return (
            gathering.starts_at - self.checkin_opens_before,
            gathering.ends_at + self.checkin_closes_after,
        )


def rank_places(scores: list[tuple[str, float]], ranking: Ranking) -> list[tuple[int, str, float]]:
    """Standard competition ranking (1, 2, 2, 4): equal scores share a place; ties list
    in entrant order so the result is deterministic."""
    ordered = sorted(scores, key=lambda s: (s[1] if ranking is Ranking.LOW else -s[1], s[0]))
    placed: list[tuple[int, str, float]] = []
    for index, (entrant, score) in enumerate(ordered):
        place = placed[-1][0] if placed and placed[-1][2] == score else index + 1
        placed.append((place, entrant, score))
    return placed
