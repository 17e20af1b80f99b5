"""A community: one building (campus, park, co-working space) and its settings."""

from __future__ import annotations

import re
from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

import attrs

from huarong_core.domain.text import LocalizedText
from huarong_core.errors import InvalidValue
from huarong_core.i18n import DEFAULT_LOCALE

DEFAULT_TIMEZONE = "Asia/Shanghai"


@attrs.frozen
class Community:
    id: int
    key: str
    name: LocalizedText
    timezone: str = DEFAULT_TIMEZONE
    locale: str = DEFAULT_LOCALE
    default_category: str | None = None
    """The category of members who join by simply talking to a bot (`None`: none)."""

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def local(self, instant: datetime) -> datetime:
        """An instant in the community's own time: what "today" means there."""
        return instant.astimezone(self.tz)


@attrs.frozen
class Category:
    """A kind of member the community distinguishes (party member, resident, ...)."""

    key: str
    name: LocalizedText


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\Z")


def parse_clock(field: str, text: str) -> time:
    """A 24-hour local time of day: `08:30`."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise InvalidValue(field=field, value=text, reason="bad_time")
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(field: str, text: str) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `mon-wed,fri` or `daily`: weekday numbers, Monday 0.

    A range may wrap around the week (`fri-mon`); days are English
    three-letter names, case-insensitive.
    """
    words = [w.strip() for w in text.lower().split(",")]
    if words == ["daily"]:
        return frozenset(range(7))
    days: set[int] = set()
    for word in words:
        first, dash, last = (part.strip() for part in word.partition("-"))
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise InvalidValue(field=field, value=text, reason="bad_days")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if dash else start
        days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    return frozenset(days)


def days_text(days: frozenset[int]) -> str:
    """The canonical spelling of a set of weekdays: `mon-fri`, `mon,wed,fri`, `daily`."""
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}")
        else:
            parts.extend(WEEKDAYS[d] for d in run)
    return ",".join(parts)


@attrs.frozen
class OpeningHours:
    """One opening rule of a station: these weekdays, from `opens` to `closes` (local time).

    A station may list several (`mon-fri 08:30-12:00`, `mon-fri 14:00-17:30`,
    `sat 09:00-12:00`); it is open when any of them covers the moment.
    """

    days: frozenset[int]
    opens: time
    closes: time

    def __attrs_post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise InvalidValue(field="days", value=days_text(self.days), reason="bad_days")
        if self.closes <= self.opens:
            raise InvalidValue(
                field="closes", value=self.closes.isoformat("minutes"), reason="ends_before_start"
            )

    @classmethod
    def parse(cls, days: str, opens: str, closes: str) -> OpeningHours:
        return cls(
            parse_days("days", days), parse_clock("opens", opens), parse_clock("closes", closes)
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "days": days_text(self.days),
            "opens": self.opens.isoformat("minutes"),
            "closes": self.closes.isoformat("minutes"),
        }

    def covers(self, local: datetime) -> bool:
        """Whether a local (wall-clock) moment falls inside these hours."""
        return local.weekday() in self.days and self.opens <= local.time() < self.closes


@attrs.frozen
class Station:
    """A service station: groups services, events and staff (DOMAIN.md's four stations).

    Its staff are role grants (`station_staff` in the station's scope); the
    `lead` (a member key) is who SLA escalations go to.
    """

    key: str
    name: LocalizedText
    floor: str | None = None
    description: LocalizedText | None = None
    hours: tuple[OpeningHours, ...] = ()
    lead: str | None = None

    def is_open(self, instant: datetime, tz: tzinfo) -> bool:
        """Open at `instant` by its hours; a station without hours is never "open"."""
        local = instant.astimezone(tz)
        return any(rule.covers(local) for rule in self.hours)
