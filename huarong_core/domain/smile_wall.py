"""The smile wall (笑脸墙): photos members submit, staff approve, shown in rotation.

The rotation is a pure function of the approved photos and the time, so
any process answers "what is on the wall now" (or on any day) alike:

- Time is cut into periods (local days, or ISO weeks starting Monday) in
  the community's time zone; period `i` is numbered from a fixed origin,
  so consecutive periods have consecutive numbers.
- The *pool* of a period is every photo approved before the period began,
  in approval order (approval time, then id): the wall does not change
  within a period.
- With `n` photos in the pool and `k` places, period `i` shows `k`
  consecutive photos of the pool starting at `(i * k) mod n`, wrapping
  round: every photo gets its turn, and each period continues where the
  last one stopped. A pool of `k` or fewer shows every photo.
- Photos approved during the current period join the pool at the next
  period; until then they fill places that would otherwise be empty (a
  young wall shows its newest approvals at once).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVar

import attrs

from huarong_core.domain.validation import require_name
from huarong_core.errors import InvalidValue
from huarong_core.media import MediaRef

T = TypeVar("T")
MAX_CAPTION = 200
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_PHOTOS_PER_PERIOD = 100
MAX_REASON = 500


class PhotoStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REMOVED = "removed"


class WallPeriod(enum.StrEnum):
    DAY = "day"
    WEEK = "week"


@attrs.frozen
class Photo:
    id: int
    member_id: int
    media: MediaRef
    caption: str
    status: PhotoStatus
    submitted_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    """Why it was rejected or removed (shown to the member)."""

    @property
    def ref(self) -> str:
        return f"#{self.id}"


@attrs.frozen
class SmileWallSettings:
    photos_per_period: int = 12
    period: WallPeriod = WallPeriod.WEEK
    max_bytes: int = DEFAULT_MAX_BYTES

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.photos_per_period <= MAX_PHOTOS_PER_PERIOD:
            raise InvalidValue(
                field="photos_per_period", value=str(self.photos_per_period), reason="out_of_range"
            )
        if not 1024 <= self.max_bytes <= 100 * 1024 * 1024:
            raise InvalidValue(field="max_bytes", value=str(self.max_bytes), reason="out_of_range")


def parse_period(text: str) -> WallPeriod:
    try:
        return WallPeriod(text)
    except ValueError:
        raise InvalidValue(field="period", value=text, reason="unknown_period") from None


def check_caption(caption: str, max_length: int = MAX_CAPTION) -> str:
    """A caption: trimmed, not empty, at most `max_length` characters, no control characters."""
    return require_name("caption", caption, max_length=max_length)


def period_index(instant: datetime, tz: tzinfo, period: WallPeriod) -> int:
    """The number of the local day or ISO week containing `instant` (the next one is +1)."""
    ordinal = instant.astimezone(tz).date().toordinal()
    if period is WallPeriod.DAY:
        return ordinal
    return (ordinal - 1) // 7  # 0001-01-01 is a Monday


def period_bounds(instant: datetime, tz: tzinfo, period: WallPeriod) -> tuple[datetime, datetime]:
    """`[start, end)` of the local day or ISO week containing `instant`, in UTC."""
    day = instant.astimezone(tz).date()
    if period is WallPeriod.WEEK:
        day -= timedelta(days=day.weekday())
    length = 1 if period is WallPeriod.DAY else 7
    end_day = day + timedelta(days=length)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz).astimezone(UTC)
    return start, end


def rotation_window(pool: Sequence[T], index: int, places: int) -> list[T]:
    """The `places` items of `pool` shown in period `index` (see the module docstring)."""
    count = len(pool)
    if count <= places:
        return list(pool)
    first = (index * places) % count
    return [pool[(first + offset) % count] for offset in range(places)]


def wall(pool: Sequence[T], newcomers: Sequence[T], index: int, places: int) -> list[T]:
    """The wall of one period: its window of the pool, topped up with this period's newcomers."""
    shown = rotation_window(pool, index, places)
    return shown + list(newcomers[: max(0, places - len(shown))])
