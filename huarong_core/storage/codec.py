"""Values that the two backends store differently.

PostgreSQL keeps `TIMESTAMPTZ` and hands back aware datetimes; SQLite keeps
the same instant as fixed-width ISO-8601 text in UTC, so text order is time
order and comparisons in SQL stay correct. Repositories read through these
helpers and never branch on the dialect.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from huarong_core.domain.text import LocalizedText
from huarong_core.json_text import to_json_text


@functools.lru_cache(maxsize=256)
def sqlite_timestamp(value: datetime) -> str:
    """Cached: one unit of work stores the same `now` in several rows."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware datetime")
    d = value.astimezone(UTC)
    # Written out by hand: strftime's %Y does not pad years before 1000 on every libc,
    # and a three-digit year neither reads back nor sorts.
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond:06d}Z"
    )


def as_datetime(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime, whichever backend it came from."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    raise TypeError(f"not a stored timestamp: {value!r}")


def as_optional_datetime(value: Any) -> datetime | None:
    return None if value is None else as_datetime(value)


def dumps(value: Any) -> str:
    """JSON as stored: compact, keys sorted (stable for ETags and comparisons), UTF-8 kept."""
    return to_json_text(value, sort_keys=True)


def loads(value: Any) -> Any:
    """Stored JSON as values; a value a driver already decoded passes through."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def optional_text(value: Any) -> LocalizedText | None:
    """A nullable stored per-locale text (a description, a title)."""
    decoded = loads(value)
    return None if decoded is None else LocalizedText(decoded)


def stored_text(text: LocalizedText | None) -> str | None:
    """A nullable per-locale text as stored (the inverse of `optional_text`)."""
    return None if text is None else dumps(text.as_dict())
