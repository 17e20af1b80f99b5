"""The longest gathering of each community, so a time window is a narrow range.

A gathering overlaps a window when it ends after the window opens and starts
before it closes. Indexed by start time, "ends after the window opens" bounds
nothing: the query walked every gathering that ever started before the window
closed, the building's whole history (4 ms at 20,000 past gatherings for a
week's "what's on"). No gathering lasts longer than the community's longest,
so one that ends after the window opens started after `opening - longest`:
with that second bound the walk covers the window and one longest span
before it. `gathering_spans` keeps that longest span; it only grows (a
gathering made shorter or removed leaves it as it was, which stays correct).
"""

from __future__ import annotations

from huarong_core.domain.gatherings import span_seconds
from huarong_core.storage.base import Connection
from huarong_core.storage.codec import as_datetime


async def upgrade(conn: Connection) -> None:
    await conn.execute_script("""
CREATE TABLE gathering_spans (
    community_id BIGINT PRIMARY KEY REFERENCES communities (id),
    longest_seconds BIGINT NOT NULL
);
""")
    longest: dict[int, int] = {}
    for row in await conn.fetch("SELECT community_id, starts_at, ends_at FROM gatherings"):
        community = int(row["community_id"])
        seconds = span_seconds(as_datetime(row["starts_at"]), as_datetime(row["ends_at"]))
        longest[community] = max(seconds, longest.get(community, 0))
    for community, seconds in longest.items():
        await conn.execute(
            "INSERT INTO gathering_spans (community_id, longest_seconds) VALUES ($1, $2)",
            community,
            seconds,
        )
