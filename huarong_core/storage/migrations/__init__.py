"""Numbered schema upgrades.

Each upgrade is a module `mNNNN_name.py` with an `upgrade(conn)` coroutine;
the registry below lists them in order. Most SQL is shared; the few column
types the dialects spell differently come from `types_for`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from huarong_core.storage.base import Connection, Dialect
from huarong_core.storage.migrations import m0001_foundation, m0002_points


@attrs.frozen
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], Awaitable[None]]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "foundation", m0001_foundation.upgrade),
    Migration(2, "points", m0002_points.upgrade),
)
LATEST_VERSION = MIGRATIONS[-1].version


@attrs.frozen
class ColumnTypes:
    """Spellings that differ between SQLite and PostgreSQL."""

    timestamp: str
    json: str
    auto_id: str
    auto_id_key: str


def types_for(dialect: Dialect) -> ColumnTypes:
    if dialect == "postgres":
        return ColumnTypes(
            timestamp="TIMESTAMPTZ",
            json="JSONB",
            auto_id="id BIGINT GENERATED ALWAYS AS IDENTITY",
            auto_id_key="PRIMARY KEY (community_id, id)",
        )
    return ColumnTypes(
        timestamp="TEXT",
        json="TEXT",
        # The rowid itself: no AUTOINCREMENT bookkeeping and no second index, since
        # every write of an append-only table pays for each page it touches.
        auto_id="id INTEGER PRIMARY KEY",
        auto_id_key="CHECK (id > 0)",
    )
