"""The longest gathering and venue booking of each community, so a time window is a
narrow range.

A gathering (or booking) overlaps a window when it ends after the window
opens and starts before it closes. Indexed by start time, "ends after the
window opens" bounds nothing: the query walked everything that ever started
before the window closed, the building's whole history (2.5 ms at 20,000
past gatherings for a week's "what's on"; every new booking's clash check
walked its venue's whole history). Nothing lasts longer than the longest of
its kind, so what ends after the window opens started after `opening -
longest`: with that second bound the walk covers the window and one longest
span before it. `longest_spans` keeps that span per kind; it only grows (a
gathering made shorter or a booking cancelled leaves it as it was, which
stays correct). `venue_bookings_by_start` serves windows over every venue
(`venue_bookings_by_time` leads with the venue).
"""

from __future__ import annotations

from huarong_core.storage.base import Connection
from huarong_core.storage.codec import as_datetime
from huarong_core.storage.repositories._helpers import span_seconds

TIMED = ("gatherings", "venue_bookings")
"""The tables whose rows' longest span is kept, each under its own name."""


async def upgrade(conn: Connection) -> None:
    await conn.execute_script("""
CREATE TABLE longest_spans (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    what TEXT NOT NULL,
    longest_seconds BIGINT NOT NULL,
    PRIMARY KEY (community_id, what)
);
CREATE INDEX venue_bookings_by_start ON venue_bookings (community_id, starts_at);
""")
    for table in TIMED:
        longest: dict[int, int] = {}
        for row in await conn.fetch(f"SELECT community_id, starts_at, ends_at FROM {table}"):
            community = int(row["community_id"])
            seconds = span_seconds(as_datetime(row["starts_at"]), as_datetime(row["ends_at"]))
            longest[community] = max(seconds, longest.get(community, 0))
        for community, seconds in longest.items():
            await conn.execute(
                "INSERT INTO longest_spans (community_id, what, longest_seconds)"
                " VALUES ($1, $2, $3)",
                community,
                table,
                seconds,
            )
