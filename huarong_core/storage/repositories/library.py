"""Storage of the red-reading library: books, copies, loans, holds, donations, reflections."""

from __future__ import annotations

from huarong_core.storage.base import Connection


class LibraryRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id
