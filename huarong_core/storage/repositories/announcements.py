"""Storage of announcements to an audience, delivered to each recipient once."""

from __future__ import annotations

from huarong_core.storage.base import Connection


class AnnouncementRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id
