"""Bits of SQL building the repositories share."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from huarong_core.storage.base import Connection


def placeholders(first: int, count: int) -> str:
    """`$first, $first+1, ...` for an IN list of `count` values."""
    return ", ".join(f"${n}" for n in range(first, first + count))


def like_pattern(text: str) -> str:
    """A case-folded `LIKE` pattern matching `text` anywhere, with wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def next_id(conn: Connection, community_id: int, name: str) -> int:
    """The next number in a per-community sequence (member #1, #2, ...).

    An upsert on one counter row: atomic on both backends, and the row lock
    it takes lasts only for the creating transaction.
    """
    value = await conn.fetchval(
        "INSERT INTO id_counters (community_id, name, value) VALUES ($1, $2, 1)"
        " ON CONFLICT (community_id, name) DO UPDATE SET value = id_counters.value + 1"
        " RETURNING value",
        community_id,
        name,
    )
    return int(value)


def span_seconds(starts: datetime, ends: datetime) -> int:
    """A span's length in whole seconds, rounded up: a bound made from it may be
    loose, never too tight."""
    return max(0, math.ceil((ends - starts).total_seconds()))


async def note_span(
    conn: Connection, community_id: int, what: str, starts: datetime, ends: datetime
) -> None:
    """Raise the longest span kept for `what` (`longest_spans`) to this one's, if longer."""
    await conn.execute(
        "INSERT INTO longest_spans (community_id, what, longest_seconds) VALUES ($1, $2, $3)"
        " ON CONFLICT (community_id, what) DO UPDATE SET longest_seconds = CASE"
        " WHEN excluded.longest_seconds > longest_spans.longest_seconds"
        " THEN excluded.longest_seconds ELSE longest_spans.longest_seconds END",
        community_id,
        what,
        span_seconds(starts, ends),
    )


async def earliest_start(
    conn: Connection, community_id: int, what: str, opens: datetime
) -> datetime | None:
    """The earliest start of anything of `what` still going on at `opens`: nothing
    lasts longer than the longest kept, so nothing that started before this ends
    after `opens`. None when nothing of `what` was ever kept (no bound then)."""
    longest = await conn.fetchval(
        "SELECT longest_seconds FROM longest_spans WHERE community_id = $1 AND what = $2",
        community_id,
        what,
    )
    return None if longest is None else opens - timedelta(seconds=int(longest))
