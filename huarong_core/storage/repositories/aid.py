"""Storage of aid cases (帮扶): confidential records of help for members in difficulty."""

from __future__ import annotations

from huarong_core.storage.base import Connection


class AidRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id
