"""RFC 5545 recurrence for salons and venue series: "every second Thursday, 19:00-21:00".

A recurrence is a rule (the RRULE value, e.g. `FREQ=MONTHLY;BYDAY=2TH`), the
first day it may fall on, a local start time and a duration. Occurrences are
computed in the community's wall-clock time and then placed in its time
zone, so 19:00 stays 19:00 across daylight-saving changes where there are
any. python-dateutil does the rule arithmetic; we only validate and place.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

import attrs
from dateutil.rrule import rrule, rrulestr

from huarong_core.errors import InvalidValue

MAX_DURATION = timedelta(days=7)
MAX_OCCURRENCES = 1000
"""Guards a listing window against a rule such as `FREQ=MINUTELY`."""

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\Z")
_FORBIDDEN = re.compile(r"(^|;)\s*DTSTART", re.IGNORECASE)


def parse_clock(field: str, text: str) -> time:
    """`19:00` (24-hour clock) as a time of day."""
    match = _TIME.match(text.strip())
    if match is None:
        raise InvalidValue(field=field, value=text, reason="bad_time")
    return time(int(match.group(1)), int(match.group(2)))


def _normalized(rule: str) -> str:
    text = " ".join(rule.split())
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    return text.upper()


def _build(rule: str, first: datetime) -> rrule:
    if not rule or _FORBIDDEN.search(rule) or "\n" in rule:
        raise InvalidValue(field="rrule", value=rule, reason="bad_rrule")
    try:
        parsed = rrulestr(rule, dtstart=first)
        # A bad UNTIL (aware against our wall-clock start) only fails when iterated.
        next(iter(parsed), None)
    except (ValueError, TypeError, KeyError, IndexError):
        raise InvalidValue(field="rrule", value=rule, reason="bad_rrule") from None
    if not isinstance(parsed, rrule):
        raise InvalidValue(field="rrule", value=rule, reason="bad_rrule")
    return parsed


@attrs.frozen
class Recurrence:
    rule: str = attrs.field(converter=_normalized)
    first_day: date
    start: time
    duration: timedelta
    until: date | None = None
    """The last day an occurrence may fall on (besides any UNTIL or COUNT in the rule)."""

    def __attrs_post_init__(self) -> None:
        if not timedelta(0) < self.duration <= MAX_DURATION:
            raise InvalidValue(field="duration", value=str(self.duration), reason="bad_duration")
        if self.until is not None and self.until < self.first_day:
            raise InvalidValue(field="until", value=str(self.until), reason="ends_before_start")
        first = next(iter(self._rule()), None)
        if first is None or (self.until is not None and first.date() > self.until):
            raise InvalidValue(field="rrule", value=self.rule, reason="no_occurrences")

    @classmethod
    def from_clock(
        cls, rule: str, first_day: date, start: str, end: str, until: date | None = None
    ) -> Recurrence:
        """`from_clock("FREQ=WEEKLY;BYDAY=TH", day, "19:00", "21:00")`; an end before the
        start runs past midnight."""
        begins = parse_clock("start", start)
        finishes = parse_clock("end", end)
        span = datetime.combine(first_day, finishes) - datetime.combine(first_day, begins)
        if span <= timedelta(0):
            span += timedelta(days=1)
        return cls(rule, first_day, begins, span, until)

    def _rule(self) -> rrule:
        return _build(self.rule, datetime.combine(self.first_day, self.start))

    def occurrences(
        self, tz: tzinfo, after: datetime, before: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(start, end) of each occurrence starting in [after, before), in `tz`."""
        if after.tzinfo is None or before.tzinfo is None:
            raise InvalidValue(field="window", value=str(after), reason="naive_time")
        low = after.astimezone(tz).replace(tzinfo=None)
        high = before.astimezone(tz).replace(tzinfo=None)
        found: list[tuple[datetime, datetime]] = []
        for local in self._rule().xafter(low - timedelta(seconds=1), inc=True):
            if local >= high or (self.until is not None and local.date() > self.until):
                break
            if local < low:
                continue
            begins = local.replace(tzinfo=tz)
            found.append((begins, begins + self.duration))
            if len(found) >= MAX_OCCURRENCES:
                break
        return found

    def end_time(self) -> time:
        return (datetime.combine(self.first_day, self.start) + self.duration).time()
