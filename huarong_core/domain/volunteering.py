"""The volunteer team (爱心志愿队): tasks, their shifts with slots, sign-ups, confirmed hours.

Hours are exact decimals (`2.5`), kept as hundredths of an hour so sums
never drift; they travel as text (`"2.5"`) like the points engine's units.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import attrs

from huarong_core.domain.text import LocalizedText
from huarong_core.errors import InvalidValue

MAX_SLOTS = 1000
MAX_SHIFT = timedelta(hours=24)
HUNDREDTHS_PER_HOUR = 100
DEFAULT_REMINDERS: tuple[timedelta, ...] = (timedelta(hours=24),)
MAX_REMINDER = timedelta(days=14)


class VolunteerStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class ShiftStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class SignupStatus(enum.StrEnum):
    SIGNED_UP = "signed_up"
    WITHDRAWN = "withdrawn"


@attrs.frozen
class Volunteer:
    """A member of the team: joined (or added by staff), or holding the `volunteer` role."""

    member_id: int
    status: VolunteerStatus
    joined_at: datetime | None
    left_at: datetime | None = None
    by_role: bool = False
    """The member holds the `volunteer` role, which makes them one whatever their row says."""

    @property
    def is_active(self) -> bool:
        return self.by_role or self.status is VolunteerStatus.ACTIVE


@attrs.frozen
class VolunteerTask:
    id: int
    title: LocalizedText
    key: str | None = None
    description: LocalizedText | None = None
    station: str | None = None
    active: bool = True

    @property
    def ref(self) -> str:
        return self.key or f"#{self.id}"


@attrs.frozen
class Shift:
    id: int
    task_id: int
    starts_at: datetime
    ends_at: datetime
    slots: int
    taken: int = 0
    status: ShiftStatus = ShiftStatus.SCHEDULED

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    @property
    def slots_left(self) -> int:
        return max(0, self.slots - self.taken)

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at

    def has_started(self, now: datetime) -> bool:
        return now >= self.starts_at


@attrs.frozen
class ShiftSignup:
    shift_id: int
    member_id: int
    status: SignupStatus
    signed_up_at: datetime
    withdrawn_at: datetime | None = None
    hours: str | None = None
    """Confirmed hours as exact decimal text (`"2.5"`); None until staff confirm them."""
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None


@attrs.frozen
class VolunteeringSettings:
    """The `[volunteering]` section as applied."""

    team_name: LocalizedText | None = None
    reminders: tuple[timedelta, ...] = DEFAULT_REMINDERS
    """Before each shift, to those signed up; longest first."""

    def as_dict(self) -> dict[str, object]:
        return {
            "team_name": None if self.team_name is None else self.team_name.as_dict(),
            "reminders": [int(r.total_seconds() // 60) for r in self.reminders],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> VolunteeringSettings:
        if data is None:
            return cls()
        name = data.get("team_name")
        reminders = data.get("reminders")
        return cls(
            team_name=LocalizedText(name) if isinstance(name, dict) else None,
            reminders=tuple(timedelta(minutes=int(m)) for m in reminders)
            if isinstance(reminders, list)
            else DEFAULT_REMINDERS,
        )


def require_reminders(reminders: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
    """Distinct, longest first, each more than nothing and at most two weeks."""
    for reminder in reminders:
        if not timedelta(0) < reminder <= MAX_REMINDER:
            minutes = int(reminder.total_seconds() // 60)
            raise InvalidValue(field="reminders", value=f"{minutes}m", reason="out_of_range")
    return tuple(sorted(set(reminders), reverse=True))


def require_slots(slots: int) -> int:
    if isinstance(slots, bool) or not 1 <= slots <= MAX_SLOTS:
        raise InvalidValue(field="slots", value=str(slots), reason="out_of_range")
    return slots


def require_shift_span(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidValue(field="starts_at", value=str(starts_at), reason="naive_time")
    if ends_at <= starts_at:
        raise InvalidValue(field="ends_at", value=ends_at.isoformat(), reason="ends_before_start")
    if ends_at - starts_at > MAX_SHIFT:
        raise InvalidValue(field="ends_at", value=ends_at.isoformat(), reason="shift_too_long")


def parse_hours(text: str) -> int:
    """Hours as written (`2.5`, `3`, `0.25`) to hundredths of an hour; refuses finer or <= 0."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidValue(field="hours", value=str(text), reason="not_a_number") from None
    if not value.is_finite():
        raise InvalidValue(field="hours", value=str(text), reason="not_a_number")
    if value <= 0:
        raise InvalidValue(field="hours", value=str(text), reason="not_positive")
    hundredths = value * HUNDREDTHS_PER_HOUR
    if hundredths != hundredths.to_integral_value():
        raise InvalidValue(field="hours", value=str(text), reason="too_precise")
    return int(hundredths)


def hours_text(hundredths: int) -> str:
    """Hundredths of an hour as the shortest exact decimal: 250 -> `2.5`, 300 -> `3`."""
    whole, part = divmod(abs(hundredths), HUNDREDTHS_PER_HOUR)
    sign = "-" if hundredths < 0 else ""
    if part == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:02d}".rstrip("0")


def require_hours_within(hundredths: int, shift: Shift) -> None:
    """Confirmed hours may not exceed the shift's own length."""
    seconds = shift.length.total_seconds()
    if hundredths * 36 > seconds:
        raise InvalidValue(
            field="hours", value=hours_text(hundredths), reason="exceeds_shift_length"
        )
