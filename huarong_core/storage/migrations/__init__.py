"""Numbered schema upgrades.

Each upgrade is a module `mNNNN_name.py` with an `upgrade(conn)` coroutine;
the registry below lists them in order. Most SQL is shared; the few column
types the dialects spell differently come from `types_for`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from huarong_core.storage.base import Connection, Dialect
from huarong_core.storage.migrations import (
    m0001_foundation,
    m0002_points,
    m0003_gatherings,
    m0004_services,
    m0005_library,
    m0006_volunteering,
    m0007_aid,
    m0008_announcements,
    m0009_conversation,
    m0010_linking,
    m0011_adapters,
    m0012_notifications,
    m0013_access,
    m0014_lookups,
    m0015_member_lookups,
    m0016_longest_spans,
)


@attrs.frozen
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], Awaitable[None]]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "foundation", m0001_foundation.upgrade),
    Migration(2, "points", m0002_points.upgrade),
    Migration(3, "gatherings", m0003_gatherings.upgrade),
    Migration(4, "services", m0004_services.upgrade),
    Migration(5, "library", m0005_library.upgrade),
    Migration(6, "volunteering", m0006_volunteering.upgrade),
    Migration(7, "aid", m0007_aid.upgrade),
    Migration(8, "announcements", m0008_announcements.upgrade),
    Migration(9, "conversation", m0009_conversation.upgrade),
    Migration(10, "linking", m0010_linking.upgrade),
    Migration(11, "adapters", m0011_adapters.upgrade),
    Migration(12, "notifications", m0012_notifications.upgrade),
    Migration(13, "access", m0013_access.upgrade),
    Migration(14, "lookups", m0014_lookups.upgrade),
    Migration(15, "member_lookups", m0015_member_lookups.upgrade),
    Migration(16, "longest_spans", m0016_longest_spans.upgrade),
)
LATEST_VERSION = MIGRATIONS[-1].version


@attrs.frozen
class ColumnTypes:
    """Spellings that differ between SQLite and PostgreSQL."""

    timestamp: str
    json: str
    auto_id: str
    auto_id_key: str
    auto_id_unique_index: bool
    """SQLite keys such tables by the rowid alone; references to (community_id, id)
    need a unique index on that pair there (PostgreSQL's primary key is that pair)."""

    def auto_id_unique(self, table: str) -> str:
        if not self.auto_id_unique_index:
            return ""
        return f"CREATE UNIQUE INDEX {table}_community_id ON {table} (community_id, id);"


def types_for(dialect: Dialect) -> ColumnTypes:
    if dialect == "postgres":
        return ColumnTypes(
            timestamp="TIMESTAMPTZ",
            json="JSONB",
            auto_id="id BIGINT GENERATED ALWAYS AS IDENTITY",
            auto_id_key="PRIMARY KEY (community_id, id)",
            auto_id_unique_index=False,
        )
    return ColumnTypes(
        timestamp="TEXT",
        json="TEXT",
        # The rowid itself: no AUTOINCREMENT bookkeeping and no second index, since
        # every write of an append-only table pays for each page it touches.
        auto_id="id INTEGER PRIMARY KEY",
        auto_id_key="CHECK (id > 0)",
        auto_id_unique_index=True,
    )
