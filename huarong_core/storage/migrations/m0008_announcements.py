"""Announcements to an audience, delivered to each recipient once."""

from __future__ import annotations

from huarong_core.storage.base import Connection


async def upgrade(conn: Connection) -> None:
    from huarong_core.storage.migrations import types_for

    t = types_for(conn.dialect)
    del t  # the tables arrive with the area's implementation
