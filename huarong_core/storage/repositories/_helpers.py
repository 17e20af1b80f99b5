"""Bits of SQL building the repositories share."""

from __future__ import annotations

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
