"""Venues (the 29F multi-function hall, club rooms) and their bookings.

Bookings are half-open spans `[starts_at, ends_at)`: one ending at 19:00 does
not clash with one starting then. The rule that two confirmed bookings of one
venue never overlap is checked by the service under a per-venue lock; this
module holds the pure parts (spans, series planning, clash detection) so they
can be tested without a database.
"""

from __future__ import annotations

import bisect
import enum
import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

import attrs

from huarong_core.domain.recurrence import MAX_DURATION, MAX_OCCURRENCES, Recurrence
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import require_key, require_name
from huarong_core.errors import InvalidValue

Span = tuple[datetime, datetime]

MAX_DAYS_AHEAD = 731
"""How far ahead a booking or the last day of a series may lie: two years."""
MAX_PURPOSE_LENGTH = 200
MAX_EQUIPMENT_LENGTH = 40
CONFLICT_FORMAT = "%Y-%m-%d %H:%M"
"""How a clashing occurrence is named in `VenueUnavailable.conflicts` (local time)."""


def _strings(value: object) -> frozenset[str]:
    """One word or several; inner whitespace collapsed, so "audio " and "audio" are one."""
    words = [value] if isinstance(value, str) else [str(v) for v in value]  # type: ignore[attr-defined]
    return frozenset(" ".join(word.split()) for word in words)


@attrs.frozen
class Venue:
    key: str
    name: LocalizedText
    capacity: int
    equipment: frozenset[str] = attrs.field(default=frozenset(), converter=_strings)
    """Projector, microphones, lights, audio: free words the community chooses."""
    station: str | None = None
    floor: str | None = None

    def __attrs_post_init__(self) -> None:
        require_key("key", self.key)
        if self.capacity < 1:
            raise InvalidValue(field="capacity", value=str(self.capacity), reason="not_positive")
        for word in self.equipment:
            require_name("equipment", word, max_length=MAX_EQUIPMENT_LENGTH)
        if self.station is not None:
            require_key("station", self.station)


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


@attrs.frozen
class Booking:
    id: int
    venue_key: str
    starts_at: datetime
    ends_at: datetime
    status: BookingStatus
    purpose: str
    holder: str | None
    """What holds it: `gathering:12` for a session or event, `None` for a plain booking."""
    series: str | None
    """Shared by every occurrence booked together as one recurring series."""
    booked_by: str
    booked_by_member: int | None = None
    """The member who booked it (may cancel it), `None` for the system."""

    @property
    def span(self) -> Span:
        return (self.starts_at, self.ends_at)

    @property
    def is_confirmed(self) -> bool:
        return self.status is BookingStatus.CONFIRMED


def require_span(starts_at: datetime, ends_at: datetime) -> None:
    """A booking, session or event must end after it starts (and carry a time zone)."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidValue(field="starts_at", value=str(starts_at), reason="naive_time")
    if ends_at <= starts_at:
        raise InvalidValue(field="ends_at", value=ends_at.isoformat(), reason="ends_before_start")


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Half-open spans: a booking ending at 19:00 does not clash with one starting then."""
    return a[0] < b[1] and b[0] < a[1]


def _latest_day(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date() + timedelta(days=MAX_DAYS_AHEAD)


def require_bookable(starts_at: datetime, ends_at: datetime, now: datetime, tz: tzinfo) -> Span:
    """One booking made by a person: a real span, not in the past, not absurdly long or far."""
    require_span(starts_at, ends_at)
    if starts_at < now:
        raise InvalidValue(field="starts_at", value=starts_at.isoformat(), reason="in_the_past")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidValue(field="duration", value=str(ends_at - starts_at), reason="bad_duration")
    if starts_at.astimezone(tz).date() > _latest_day(now, tz):
        raise InvalidValue(field="starts_at", value=starts_at.isoformat(), reason="too_far_ahead")
    return (starts_at, ends_at)


def plan_series(recurrence: Recurrence, until: date, now: datetime, tz: tzinfo) -> list[Span]:
    """Every occurrence of `recurrence` from its first day to `until` (inclusive), in `tz`.

    Occurrences that already started are left out (a series booked today
    after its start time begins next time). The series may reach at most
    two years ahead, and its own occurrences must not overlap each other.
    """
    if until < recurrence.first_day:
        raise InvalidValue(field="until", value=until.isoformat(), reason="ends_before_start")
    if until > _latest_day(now, tz):
        raise InvalidValue(field="until", value=until.isoformat(), reason="too_far_ahead")
    window_start = datetime.combine(recurrence.first_day, time(0), tzinfo=tz)
    window_end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz)
    found = recurrence.occurrences(tz, window_start, window_end)
    if len(found) >= MAX_OCCURRENCES:
        raise InvalidValue(field="rrule", value=recurrence.rule, reason="too_many_occurrences")
    spans = [span for span in found if span[0] >= now]
    if not spans:
        raise InvalidValue(field="rrule", value=recurrence.rule, reason="no_occurrences")
    if self_overlapping(spans):
        raise InvalidValue(field="rrule", value=recurrence.rule, reason="series_overlaps")
    return spans


def self_overlapping(spans: Sequence[Span]) -> bool:
    """Whether any two of `spans` overlap each other."""
    ordered = sorted(spans)
    return any(overlaps(a, b) for a, b in itertools.pairwise(ordered))


def clashing(wanted: Iterable[Span], taken: Iterable[Span]) -> list[Span]:
    """The spans of `wanted` that overlap any span of `taken`, in the order given.

    Sorted starts of `taken` with a running maximum of their ends: among the
    taken spans starting before a wanted one ends, one clashes exactly when
    the latest of their ends lies after the wanted start. O((n + m) log m).
    """
    ordered = sorted(taken)
    starts = [span[0] for span in ordered]
    latest_end: list[datetime] = []
    for _, end in ordered:
        latest_end.append(end if not latest_end or end > latest_end[-1] else latest_end[-1])
    found: list[Span] = []
    for span in wanted:
        before_end = bisect.bisect_left(starts, span[1])
        if before_end and latest_end[before_end - 1] > span[0]:
            found.append(span)
    return found


def conflict_text(starts: Iterable[datetime], tz: tzinfo) -> str:
    """`2026-12-03 19:00, 2026-12-10 19:00`: the form `VenueUnavailable` carries."""
    return ", ".join(start.astimezone(tz).strftime(CONFLICT_FORMAT) for start in starts)
